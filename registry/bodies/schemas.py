"""Schemas of certification bodies, their accreditations and their signing keys.

A key is shown by its public half only: the sealed secret has no field here at all, so no
variant of these schemas can ever put it on the wire. Status, ids, times the registry records
and the ``managed`` flag are server-owned (``dump_only``); a client sending them is refused.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.bodies.models import (
    Accreditation,
    AccreditationStatus,
    BodyStatus,
    CertificationBody,
)
from registry.db import db
from registry.fields import FullMatch
from registry.schemes.schemas import (
    CodeOf,
    UTCDateTime,
    code_field,
    names_field,
    region_field,
    text_field,
)
from registry.status_changes import StatusAction, StatusChangeSchema

__all__ = [
    "AccreditationSchema",
    "AccreditationStatusChangeSchema",
    "BodyKeySchema",
    "BodyStatusChangeSchema",
    "CertificationBodySchema",
    "accreditation_schema",
    "accreditation_status_change_schema",
    "accreditation_status_for",
    "body_detail_schema",
    "body_key_schema",
    "body_schema",
    "body_status_change_schema",
    "body_status_for",
    "key_action_schema",
]

# Ed25519 Multikeys are "z6Mk" + 44 base58 characters; the service checks the key itself.
_EXAMPLE_KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
_MULTIBASE = FullMatch(r"^z[1-9A-HJ-NP-Za-km-z]{1,63}$", error="A base58btc multibase key.")


class BodyKeySchema(Schema):
    """An Ed25519 key: send nothing to have the registry generate and seal one, or send the
    ``public_key_multibase`` of a key the body holds itself."""

    public_key_multibase = fields.String(
        validate=_MULTIBASE,
        metadata={
            "description": "The Ed25519 public key as a Multikey (omit to have one generated)",
            "example": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        },
    )
    did = fields.String(
        dump_only=True,
        metadata={
            "description": "The key's did:key, the issuer of the credentials it signs",
            "example": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        },
    )
    verification_method = fields.String(
        dump_only=True,
        metadata={
            "description": "The verification method id proofs name",
            "example": f"did:key:{_EXAMPLE_KEY}#{_EXAMPLE_KEY}",
        },
    )
    active_from = fields.DateTime(dump_only=True, metadata={"description": "From when it may sign"})
    retired_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When it was retired; null while it is active"},
    )
    managed = fields.Boolean(
        dump_only=True, metadata={"description": "The registry holds the (sealed) secret."}
    )


class AccreditationSchema(Schema):
    """An accreditation of a body for one scheme and some product categories, for a period."""

    id = fields.Integer(
        dump_only=True, metadata={"description": "The accreditation's registry id", "example": 1}
    )
    body = fields.Method(
        "_body_code",
        dump_only=True,
        metadata={
            "type": "string",
            "description": "The accredited body's code",
            "example": "lingnan-pcc",
        },
    )
    scheme = code_field(
        32,
        required=True,
        field_cls=CodeOf,
        metadata={"description": "The scheme it covers (its code)", "example": "CN-GD"},
    )
    categories = fields.List(
        code_field(64),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The product categories it covers", "example": ["battery"]},
    )
    accreditation_body = text_field(
        120,
        required=True,
        metadata={"description": "Who accredited the body", "example": "CNAS"},
    )
    reference = text_field(
        120,
        required=True,
        metadata={"description": "The accreditation's reference there", "example": "CNAS C0123-P"},
    )
    valid_from = UTCDateTime(
        required=True,
        dates=True,
        metadata={"description": "Valid from this instant"},
    )
    valid_until = UTCDateTime(
        load_default=None,
        allow_none=True,
        dates=True,
        metadata={"description": "Valid until this instant; null: open-ended"},
    )
    # A category no rule of the scheme covers lets the body issue nothing for it (a typo,
    # usually): granted only when asked for explicitly.
    allow_uncovered_category = fields.Boolean(
        load_default=False,
        load_only=True,
        metadata={
            "description": "Grant categories for which the scheme has no rule yet (refused "
            "otherwise)."
        },
    )
    status = fields.Enum(
        AccreditationStatus,
        by_value=True,
        dump_only=True,
        metadata={"description": "Its status now; only an active one lets the body issue"},
    )
    created_at = fields.DateTime(dump_only=True, metadata={"description": "When it was ledgered"})

    def _body_code(self, accreditation: Accreditation) -> str:
        # A primary-key get: answered from the identity map, where the service left the body.
        return db.session.get_one(CertificationBody, accreditation.body_id).code


class CertificationBodySchema(Schema):
    """A certification body; ``accreditations`` and ``keys`` only in the detailed view."""

    code = code_field(
        64,
        required=True,
        metadata={
            "description": "The body's code, unique in the registry",
            "example": "lingnan-pcc",
        },
    )
    name = text_field(
        200,
        required=True,
        metadata={
            "description": "The issuer name its credentials state.",
            "example": "Lingnan Product Carbon Certification",
        },
    )
    names = names_field(required=False)
    region = region_field(
        required=True,
        metadata={"description": "ISO 3166 code of where it is based", "example": "CN-GD"},
    )
    status = fields.Enum(
        BodyStatus,
        by_value=True,
        dump_only=True,
        metadata={"description": "Its status now; only an active body may issue"},
    )
    created_at = fields.DateTime(dump_only=True, metadata={"description": "When it was registered"})
    accreditations = fields.List(
        fields.Nested(AccreditationSchema),
        dump_only=True,
        metadata={"description": "Its accreditations (in the detailed view only)"},
    )
    keys = fields.List(
        fields.Nested(BodyKeySchema),
        dump_only=True,
        metadata={"description": "Its signing keys (in the detailed view only)"},
    )


def _targets(statuses: type[BodyStatus] | type[AccreditationStatus]) -> dict[StatusAction, str]:
    return {
        StatusAction.SUSPEND: statuses.SUSPENDED.value,
        StatusAction.REINSTATE: statuses.ACTIVE.value,
        StatusAction.WITHDRAW: statuses.WITHDRAWN.value,
    }


class BodyStatusChangeSchema(StatusChangeSchema):
    """Suspend, reinstate or withdraw a body; withdrawal is final. The shape every status
    change shares (labels' too); only the actions a body takes differ."""

    TARGETS = _targets(BodyStatus)


class AccreditationStatusChangeSchema(StatusChangeSchema):
    """Suspend, reinstate or withdraw an accreditation; withdrawal is final (the shared shape)."""

    TARGETS = _targets(AccreditationStatus)


body_schema = CertificationBodySchema(exclude=("accreditations", "keys"))
body_detail_schema = CertificationBodySchema()
accreditation_schema = AccreditationSchema()
body_key_schema = BodyKeySchema()
# Rotating or retiring takes no input: every remaining field is server-owned, so any is refused.
key_action_schema = BodyKeySchema(exclude=("public_key_multibase",))
# The shape every status change shares (labels' too), so one client handles all three.
body_status_change_schema = BodyStatusChangeSchema()
accreditation_status_change_schema = AccreditationStatusChangeSchema()


def body_status_for(action: StatusAction) -> BodyStatus:
    """The status a body reaches by ``action`` (one the body schema accepted)."""
    return BodyStatus(body_status_change_schema.targets[action])


def accreditation_status_for(action: StatusAction) -> AccreditationStatus:
    """The status an accreditation reaches by ``action`` (one its schema accepted)."""
    return AccreditationStatus(accreditation_status_change_schema.targets[action])

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
_MULTIBASE = FullMatch(r"^z[1-9A-HJ-NP-Za-km-z]{1,63}$", error="A base58btc multibase key.")


class BodyKeySchema(Schema):
    """An Ed25519 key: send nothing to have the registry generate and seal one, or send the
    ``public_key_multibase`` of a key the body holds itself."""

    public_key_multibase = fields.String(validate=_MULTIBASE)
    did = fields.String(dump_only=True)
    verification_method = fields.String(dump_only=True)
    active_from = fields.DateTime(dump_only=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)
    managed = fields.Boolean(
        dump_only=True, metadata={"description": "The registry holds the (sealed) secret."}
    )


class AccreditationSchema(Schema):
    """An accreditation of a body for one scheme and some product categories, for a period."""

    id = fields.Integer(dump_only=True)
    body = fields.Method("_body_code", dump_only=True)
    scheme = code_field(32, required=True, field_cls=CodeOf)
    categories = fields.List(
        code_field(64), required=True, validate=validate.Length(min=1, max=100)
    )
    accreditation_body = text_field(120, required=True)
    reference = text_field(120, required=True)
    valid_from = UTCDateTime(required=True, dates=True)
    valid_until = UTCDateTime(load_default=None, allow_none=True, dates=True)
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
    status = fields.Enum(AccreditationStatus, by_value=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def _body_code(self, accreditation: Accreditation) -> str:
        # A primary-key get: answered from the identity map, where the service left the body.
        return db.session.get_one(CertificationBody, accreditation.body_id).code


class CertificationBodySchema(Schema):
    """A certification body; ``accreditations`` and ``keys`` only in the detailed view."""

    code = code_field(64, required=True)
    name = text_field(
        200, required=True, metadata={"description": "The issuer name its credentials state."}
    )
    names = names_field(required=False)
    region = region_field(required=True)
    status = fields.Enum(BodyStatus, by_value=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    accreditations = fields.List(fields.Nested(AccreditationSchema), dump_only=True)
    keys = fields.List(fields.Nested(BodyKeySchema), dump_only=True)


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

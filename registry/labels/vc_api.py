"""W3C VC-API request shapes, parsed by the label schemas into the registry's own values.

An issue request carries an unsecured CarbonLabelCredential whose subject states the product,
the footprint and the rule. Its schemas are the native label schemas with the credential's
member names (``data_key``): the same fields, the same text rule, the same limits, and the same
:class:`~registry.labels.issuance.LabelRequest` comes out, so the two doors cannot drift. The
registry owns everything else (id, issuer, validFrom, grade, status entries, proof), so a
request that sets those is refused rather than silently overridden.

A status request names the credential and a purpose with the new boolean status; it loads into
what :data:`~registry.labels.schemas.status_change_schema` gives (an action and a reason), with
the same reason field.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_load, validate

from credentials import CARBON_LABEL_V1, CREDENTIALS_V2
from registry.fields import LabelId
from registry.labels.issuance import LabelRequest
from registry.labels.schemas import (
    FootprintSchema,
    LabelRequestSchema,
    ProductSchema,
    ReferencePeriodSchema,
    RuleRefSchema,
    label_request_from,
    status_change_schema,
    status_reason_field,
)
from registry.labels.services import StatusAction

__all__ = [
    "VcIssueRequestSchema",
    "VcStatusRequestSchema",
    "vc_issue_request_schema",
    "vc_status_request_schema",
]

CONTEXTS = [CREDENTIALS_V2, CARBON_LABEL_V1]
TYPES = ("VerifiableCredential", "CarbonLabelCredential")


def _contexts(value: list[str]) -> None:
    if value != CONTEXTS:
        raise ValidationError(f"Must be {CONTEXTS!r}, in this order.")


def _types(value: list[str]) -> None:
    if len(value) != len(TYPES) or set(value) != set(TYPES):
        raise ValidationError(f"Must be {', '.join(TYPES)}.")


def _as(schema: type[Schema], name: str, data_key: str, **changes: Any) -> Any:
    """The native schema's field ``name``, under the credential's member name ``data_key``."""
    field = copy.deepcopy(schema._declared_fields[name])
    field.data_key = data_key
    for attribute, value in changes.items():
        setattr(field, attribute, value)
    return field


def _type(expected: str) -> fields.String:
    """A JSON-LD ``type`` the credential may state; only the expected one is accepted."""
    return fields.String(
        load_only=True,
        validate=validate.Equal(expected),
        metadata={"description": f"The JSON-LD type: {expected}", "example": expected},
    )


class ServerOwned(fields.Field[None]):
    """A credential member the registry sets: present at all, it is refused."""

    def __init__(self) -> None:
        super().__init__(
            metadata={"openapi": {"not": {}, "description": "Set by the registry; leave out."}}
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> None:
        raise ValidationError("Set by the registry; leave it out.")


class VcOrganizationSchema(Schema):
    type = _type("Organization")
    name = _as(ProductSchema, "manufacturer", "name")

    @post_load
    def _name(self, data: dict[str, Any], **kwargs: Any) -> str:
        name: str = data["name"]
        return name


class VcProductSchema(ProductSchema):
    type = _type("Product")
    manufacturer = fields.Nested(  # type: ignore[assignment]
        VcOrganizationSchema, required=True, metadata={"description": "Who makes it"}
    )
    identifiers = _as(ProductSchema, "identifiers", "identifier")


class VcReferencePeriodSchema(ReferencePeriodSchema):
    start = _as(ReferencePeriodSchema, "start", "startDate")
    end = _as(ReferencePeriodSchema, "end", "endDate")


class VcFootprintSchema(FootprintSchema):
    type = _type("CarbonFootprint")
    declared_unit = _as(FootprintSchema, "declared_unit", "declaredUnit")
    declared_unit_amount = _as(FootprintSchema, "declared_unit_amount", "declaredUnitAmount")
    system_boundary = _as(FootprintSchema, "system_boundary", "systemBoundary")
    reference_period = fields.Nested(
        VcReferencePeriodSchema,
        required=True,
        data_key="referencePeriod",
        metadata={"description": "The period the footprint was measured over"},
    )


class VcRuleSchema(RuleRefSchema):
    type = _type("Rule")
    rule = _as(RuleRefSchema, "rule", "ruleId")
    version = _as(RuleRefSchema, "version", "ruleVersion")


class VcSubjectSchema(Schema):
    type = _type("CarbonLabel")
    product = fields.Nested(
        VcProductSchema, required=True, metadata={"description": "The labelled product"}
    )
    footprint = fields.Nested(
        VcFootprintSchema, required=True, metadata={"description": "Its verified footprint"}
    )
    rule = fields.Nested(
        VcRuleSchema, required=True, metadata={"description": "The rule version to grade under"}
    )
    grade = _as(LabelRequestSchema, "grade", "grade")
    supersedes = LabelId(
        url=True,
        load_default=None,
        metadata={
            "description": "The label of yours this one replaces (its URL or code)",
            "example": "https://registry.example/l/3K8D2M7Q9P",
        },
    )
    assurance = _as(LabelRequestSchema, "assurance", "assurance")


class VcCredentialSchema(Schema):
    """The unsecured CarbonLabelCredential of a VC-API issue request."""

    context = fields.List(
        fields.String(),
        required=True,
        data_key="@context",
        validate=_contexts,
        # Item by item, not ``const`` of the whole list: client generators model that.
        metadata={
            "description": "The VC 2.0 context, then the carbon-label context, in this order",
            "openapi": {
                "prefixItems": [{"const": context} for context in CONTEXTS],
                "minItems": len(CONTEXTS),
                "maxItems": len(CONTEXTS),
                "example": list(CONTEXTS),
            },
        },
    )
    type = fields.List(
        fields.String(),
        required=True,
        validate=_types,
        metadata={
            "openapi": {
                "items": {"enum": list(TYPES)},
                "minItems": 2,
                "maxItems": 2,
                "uniqueItems": True,
                "example": list(TYPES),
            },
            "description": "VerifiableCredential and CarbonLabelCredential",
        },
    )
    credentialSubject = fields.Nested(  # noqa: N815
        VcSubjectSchema, required=True, metadata={"description": "The label's claims"}
    )
    valid_until = _as(LabelRequestSchema, "valid_until", "validUntil")
    id = ServerOwned()
    issuer = ServerOwned()
    validFrom = ServerOwned()  # noqa: N815
    credentialStatus = ServerOwned()  # noqa: N815
    proof = ServerOwned()
    relatedResource = ServerOwned()  # noqa: N815

    @post_load
    def _to_request(self, data: dict[str, Any], **kwargs: Any) -> LabelRequest:
        subject = data["credentialSubject"]
        return label_request_from({**subject, "valid_until": data["valid_until"]})


class VcIssueRequestSchema(Schema):
    """``{"credential": unsecured credential, "options": {}}``."""

    credential = fields.Nested(
        VcCredentialSchema,
        required=True,
        metadata={"description": "The unsecured credential; the registry sets what it owns"},
    )
    options = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        validate=validate.Length(max=0, error="No options are supported."),
        metadata={"openapi": {"maxProperties": 0}, "description": "None are supported: {}"},
    )

    @post_load
    def _request(self, data: dict[str, Any], **kwargs: Any) -> LabelRequest:
        request: LabelRequest = data["credential"]
        return request


class VcStatusEntrySchema(Schema):
    type = _type("BitstringStatusListEntry")
    statusPurpose = fields.String(  # noqa: N815
        required=True,
        validate=validate.OneOf(("revocation", "suspension")),
        metadata={"description": "Which status to set: revocation (final) or suspension"},
    )


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` only (marshmallow would also take 1, "yes", "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class VcStatusRequestSchema(Schema):
    """``{"credentialId", "credentialStatus": {"statusPurpose"}, "status", "reason"}``: loads
    into ``{"label_id", "action", "reason"}``, the action and reason as the native status change
    has them."""

    # Revocation is final, so a revocation status is only ever set (for the OpenAPI document).
    OPENAPI_RULES: ClassVar[dict[str, Any]] = {
        "if": {
            "properties": {
                "credentialStatus": {"properties": {"statusPurpose": {"const": "revocation"}}}
            }
        },
        "then": {"properties": {"status": {"const": True}}},
    }

    credentialId = LabelId(  # noqa: N815
        url=True,
        required=True,
        metadata={
            "description": "The credential's id (the label's URL) or the label's code",
            "example": "https://registry.example/l/7Q2M9XK4TZ",
        },
    )
    credentialStatus = fields.Nested(  # noqa: N815
        VcStatusEntrySchema, required=True, metadata={"description": "Which status list"}
    )
    status = StrictBoolean(
        required=True,
        metadata={"description": "true sets the status (suspend, revoke); false lifts it"},
    )
    reason = status_reason_field(
        load_default="Updated through the VC-API",
        metadata={"description": "Why: stated in the ledger entry"},
    )

    @post_load
    def _to_change(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        purpose = data["credentialStatus"]["statusPurpose"]
        if purpose == "revocation":
            if not data["status"]:
                raise ValidationError(
                    "Revocation is final; a revocation status cannot be cleared.", "status"
                )
            action = StatusAction.REVOKE
        else:
            action = StatusAction.SUSPEND if data["status"] else StatusAction.REINSTATE
        change: dict[str, Any] = status_change_schema.load(
            {"action": action.value, "reason": data["reason"]}
        )
        return {"label_id": data["credentialId"], **change}


vc_issue_request_schema = VcIssueRequestSchema()
vc_status_request_schema = VcStatusRequestSchema()

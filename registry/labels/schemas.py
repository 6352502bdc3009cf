"""Schemas of the label resource: the issuance request in, the label (with its credential) out.

Footprints and amounts are decimal *strings*: a JSON number has already been through binary
floating point by the time a parser hands it over. What the registry decides (id, grade,
status, credential, status-list indexes) is never accepted from the client, except that a
certifier may *assert* the grade it expects; a different grade is refused by the service.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from credentials import ASSURANCE_LEVELS, BOUNDARIES, GRADES, Product, decimal_text, label_url
from registry.config import current_settings
from registry.fields import AsciiInteger, DateTimeStamp, DecimalText, Gtin, Iri, IsoDate, LabelId
from registry.labels.artwork import QR_TARGETS
from registry.labels.issuance import MAX_BATCH, LabelRequest
from registry.labels.models import Label, LabelPreparation, LabelStatus, QrTarget
from registry.labels.services import LabelQuery
from registry.schemes.schemas import code_field, text_field
from registry.status_changes import StatusAction, StatusChangeSchema

__all__ = [
    "DIGITAL_LINK_NEEDS_GTIN",
    "ArtworkQuerySchema",
    "BatchRequestSchema",
    "IssuanceOptionsSchema",
    "LabelBatchResultSchema",
    "LabelBatchSchema",
    "LabelPageSchema",
    "LabelQuerySchema",
    "LabelRequestSchema",
    "LabelSchema",
    "PreparationSchema",
    "StatusChangeSchema",
    "artwork_query_schema",
    "assurance_field",
    "label_batch_schema",
    "label_query_schema",
    "label_request_from",
    "label_request_schema",
    "label_schema",
    "label_summary_schema",
    "preparation_schema",
    "qr_query_schema",
    "qr_svg_query_schema",
    "status_change_schema",
    "status_reason_field",
    "valid_until_field",
]

# The head of a label credential, as the documentation's examples show it.
_CREDENTIAL_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/carbon-label/v1"],
    "id": "https://registry.example/l/7Q2M9XK4TZ",
    "type": ["VerifiableCredential", "CarbonLabelCredential"],
}
# Texts fit their VARCHAR(500) columns; the label draws the product name shortened if need be.
MAX_PRODUCT_NAME = 500
MAX_TEXT = 500
DIGITAL_LINK_NEEDS_GTIN = (
    "A Digital Link QR code needs the product's GTIN: send product.gtin, or leave qr out for "
    "the label URL."
)


class ProductSchema(Schema):
    name = text_field(
        MAX_PRODUCT_NAME,
        required=True,
        metadata={"description": "The product's name", "example": "LFP battery pack 5 kWh"},
    )
    manufacturer = text_field(
        MAX_TEXT,
        required=True,
        metadata={"description": "Who makes it", "example": "Pearl River Energy Co."},
    )
    model = text_field(
        MAX_TEXT,
        load_default=None,
        metadata={"description": "The model or reference", "example": "PRE-5K"},
    )
    gtin = Gtin(
        load_default=None,
        metadata={
            "description": "Its GS1 GTIN (8, 12, 13 or 14 digits, check digit checked)",
            "example": "06901234567892",
        },
    )
    identifiers = fields.List(
        Iri(MAX_TEXT),
        validate=validate.Length(max=20),
        load_default=list,
        metadata={
            "description": "Other product ids, as IRIs (URNs)",
            "example": ["urn:pre:sku:PRE-5K-2026"],
        },
    )


class ReferencePeriodSchema(Schema):
    start = IsoDate(
        required=True,
        metadata={"description": "First day the footprint covers", "example": "2025-01-01"},
    )
    end = IsoDate(
        required=True,
        metadata={"description": "Last day it covers", "example": "2025-12-31"},
    )

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] < data["start"]:
            raise ValidationError(
                "The period ends before it begins; send an end on or after the start.", "end"
            )


class FootprintSchema(Schema):
    value = DecimalText(
        required=True,
        metadata={
            "description": "kgCO2e per declared unit amount, a decimal string",
            "example": "52.4",
        },
    )
    unit = fields.Constant(
        "kgCO2e", dump_only=True, metadata={"description": "The unit of value", "type": "string"}
    )
    declared_unit = text_field(
        32,
        load_default=None,
        metadata={
            "description": "The rule version's declared unit (as it states)",
            "example": "kWh",
        },
    )
    declared_unit_amount = DecimalText(
        load_default=Decimal(1),
        metadata={"description": "How many declared units value is for", "example": "1"},
    )
    system_boundary = fields.String(
        required=True,
        validate=validate.OneOf(BOUNDARIES),
        metadata={"description": "What the footprint covers"},
    )
    reference_period = fields.Nested(
        ReferencePeriodSchema,
        required=True,
        metadata={"description": "The period the footprint was measured over"},
    )

    @validates_schema
    def _positive_amount(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("declared_unit_amount", Decimal(1)) <= 0:
            raise ValidationError(
                "The declared unit amount must be greater than zero: the footprint is stated "
                "for this many declared units (leave it out for 1).",
                "declared_unit_amount",
            )


class RuleRefSchema(Schema):
    scheme = code_field(
        32, required=True, metadata={"description": "The scheme's code", "example": "CN-GD"}
    )
    rule = code_field(
        64, required=True, metadata={"description": "The rule's code", "example": "CN-GD-PCR-LIB"}
    )
    version = code_field(
        32,
        required=True,
        metadata={"description": "The rule version, in force now", "example": "2026.1"},
    )


def valid_until_field(description: str) -> DateTimeStamp:
    """The optional end of validity a request may ask for; ``description`` says its default."""
    return DateTimeStamp(load_default=None, metadata={"description": description})


def assurance_field(description: str) -> fields.String:
    """The optional assurance level of the verification (ISO 14064-3), signed as stated."""
    return fields.String(
        validate=validate.OneOf(ASSURANCE_LEVELS),
        load_default=None,
        metadata={"description": description},
    )


class IssuanceOptionsSchema(Schema):
    """What every issuance request states beside what it labels: the rule version, and what
    the certifier may ask or assert. The members both doors share (a label request, a label
    from a PACT footprint)."""

    rule = fields.Nested(
        RuleRefSchema, required=True, metadata={"description": "The rule version to grade under"}
    )
    grade = fields.String(
        validate=validate.OneOf(GRADES),
        load_default=None,
        metadata={"description": "The grade you expect; another computed grade is refused"},
    )
    supersedes = LabelId(
        load_default=None,
        metadata={"description": "The label of yours this one replaces", "example": "3K8D2M7Q9P"},
    )


class LabelRequestSchema(IssuanceOptionsSchema):
    """What a certifier sends to issue a label."""

    product = fields.Nested(
        ProductSchema, required=True, metadata={"description": "The labelled product"}
    )
    footprint = fields.Nested(
        FootprintSchema, required=True, metadata={"description": "Its verified footprint"}
    )
    valid_until = valid_until_field("End of validity; default: the rule version's")
    # What the verification engagement gave (ISO 14064-3): stated in the signed credential.
    assurance = assurance_field("The assurance level of the verification (ISO 14064-3)")
    qr = fields.Enum(
        QrTarget,
        by_value=True,
        load_default=QrTarget.LABEL,
        metadata={
            "description": "What the label's QR code and artwork encode: the short label URL "
            "(label), or the product's GS1 Digital Link URI HTTPS://HOST/01/{GTIN-14} "
            "(digital-link, only with a GTIN), which the resolver redirects to the same page"
        },
    )

    @validates_schema
    def _digital_link_has_gtin(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("qr") is QrTarget.DIGITAL_LINK and data["product"]["gtin"] is None:
            raise ValidationError(DIGITAL_LINK_NEEDS_GTIN, "qr")

    @post_load
    def _to_request(self, data: dict[str, Any], **kwargs: Any) -> LabelRequest:
        return label_request_from(data)


def label_request_from(data: dict[str, Any]) -> LabelRequest:
    """The :class:`LabelRequest` of loaded label-request data (either door's schema)."""
    p, f, r = data["product"], data["footprint"], data["rule"]
    return LabelRequest(
        product=Product(
            name=p["name"],
            manufacturer=p["manufacturer"],
            model=p["model"],
            gtin=p["gtin"],
            identifiers=tuple(p["identifiers"]),
        ),
        footprint=f["value"],
        declared_unit_amount=f["declared_unit_amount"],
        declared_unit=f["declared_unit"],
        system_boundary=f["system_boundary"],
        period_start=f["reference_period"]["start"],
        period_end=f["reference_period"]["end"],
        scheme=r["scheme"],
        rule=r["rule"],
        rule_version=r["version"],
        valid_until=data["valid_until"],
        asserted_grade=data["grade"],
        supersedes=data["supersedes"],
        assurance=data["assurance"],
        qr=data.get("qr", QrTarget.LABEL),
    )


class BatchRequestSchema(Schema):
    """The shape of a batch, ``{"labels": [item, …]}``, issued all or none; ``ITEM`` is what an
    item looks like, as the refusal of a bare array shows it."""

    ITEM: ClassVar[str] = "label request"

    @staticmethod
    def items_field(item: type[Schema], description: str) -> fields.List[Any]:
        return fields.List(
            fields.Nested(item),
            required=True,
            validate=validate.Length(min=1, max=MAX_BATCH),
            metadata={"description": f"1 to {MAX_BATCH} {description}, issued all or none"},
        )

    @pre_load
    def _not_a_bare_array(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, list):
            raise ValidationError(
                f'Send an object {{"labels": [{self.ITEM}, …]}}, not a bare array.', "_schema"
            )
        return data


class LabelBatchSchema(BatchRequestSchema):
    """Several labels issued all or none: ``{"labels": [label request, …]}``."""

    labels = BatchRequestSchema.items_field(LabelRequestSchema, "label requests")


class LabelQuerySchema(Schema):
    """Query parameters of the label listing."""

    status = fields.Enum(
        LabelStatus,
        by_value=True,
        load_default=None,
        metadata={"description": "Only labels with this status"},
    )
    scheme = code_field(
        32,
        load_default=None,
        metadata={"description": "Only labels under this scheme (its code)", "example": "CN-GD"},
    )
    # A filter: a GTIN with a wrong check digit is no error, it just matches no label.
    gtin = Gtin(
        check_digit=False,
        load_default=None,
        metadata={"description": "Only labels of this GTIN", "example": "06901234567892"},
    )
    rule = code_field(
        64,
        load_default=None,
        metadata={
            "description": "Only labels under this rule (its code)",
            "example": "CN-GD-PCR-LIB",
        },
    )
    product = text_field(
        200,
        load_default=None,
        metadata={
            "description": "Part of the product's name or model, in any case (on SQLite, "
            "case is folded for ASCII letters only)."
        },
    )
    grade = fields.String(validate=validate.OneOf(GRADES), load_default=None)
    issued_from = IsoDate(
        load_default=None,
        metadata={"description": "Issued on or after this day (UTC), as YYYY-MM-DD."},
    )
    issued_until = IsoDate(
        load_default=None,
        metadata={"description": "Issued on or before this day (UTC), as YYYY-MM-DD."},
    )
    after = AsciiInteger(
        minimum=-1,
        load_default=-1,
        metadata={"description": "The page after this ledger index (from next)"},
    )
    limit = AsciiInteger(
        minimum=1, maximum=200, load_default=50, metadata={"description": "Labels per page"}
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("issued_from"), data.get("issued_until")
        if start is not None and end is not None and start > end:
            raise ValidationError(
                f"issued_from ({start}) is after issued_until ({end}): the range would be empty.",
                "issued_until",
            )

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> LabelQuery:
        return LabelQuery(**data)


def status_reason_field(**kwargs: Any) -> fields.String:
    """Why a status changes: free text (lines allowed), stored and ledgered, so bounded."""
    return text_field(MAX_TEXT, multiline=True, **kwargs)


class ArtworkQuerySchema(Schema):
    """Query parameters of the artwork: ``scale`` of the QR PNG, ``lang`` of the label, and
    what the QR code encodes (``target``: the short label URL, or the product's GS1 Digital
    Link URI, which the resolver redirects to the same page)."""

    scale = AsciiInteger(
        minimum=2,
        maximum=32,
        load_default=8,
        metadata={"description": "Pixels per QR module of the PNG (2 to 32)"},
    )
    # Any ordinary language tag (pt, pt-PT, zh-CN, zh-TW, en-GB…): the API maps it to one of
    # LABEL_LANGUAGES as the pages map Accept-Language, and without one reads Accept-Language.
    lang = fields.String(
        validate=validate.Regexp(r"^[A-Za-z]{1,8}([_-][A-Za-z0-9]{1,8}){0,4}$"),
        load_default=None,
        metadata={
            "description": "The captions' language: any BCP 47 tag (zh-CN, zh-TW, pt, pt-PT, "
            "en-GB…), read as one of zh-Hans, zh-Hant, pt-MO or en; without it (or for a "
            "language the label has no captions in) the request's Accept-Language decides."
        },
    )
    target = fields.String(
        validate=validate.OneOf(QR_TARGETS),
        load_default=None,
        metadata={
            "description": "What the QR code encodes: the short label URL, or the product's "
            "GS1 Digital Link URI (HTTPS://HOST/01/{GTIN-14}), which the resolver redirects to "
            "the same page; without it, what the label's issuer chose (its qr)"
        },
    )


class BodyRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class LabelSchema(Schema):
    """A label as the public API shows it, with the signed credential under ``credential``."""

    id = fields.String(
        metadata={"description": "The label's code (Crockford base32)", "example": "7Q2M9XK4TZ"}
    )
    url = fields.Method(
        "_url",
        metadata={
            "type": "string",
            "format": "uri",
            "description": "Its public page, which its QR code opens; the credential's id",
            "example": "https://registry.example/l/7Q2M9XK4TZ",
        },
    )
    status = fields.Enum(LabelStatus, by_value=True, metadata={"description": "Its status now"})
    status_reason = fields.String(
        allow_none=True, metadata={"description": "Why its status last changed, if it did"}
    )
    status_changed_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "When its status last changed, if it did"}
    )
    grade = fields.String(
        metadata={"description": "The grade the registry computed, A to E", "example": "B"}
    )
    product = fields.Method(
        "_product",
        metadata={"$ref": "#/components/schemas/Product", "description": "The product"},
    )
    footprint = fields.Method(
        "_footprint",
        metadata={"$ref": "#/components/schemas/Footprint", "description": "The footprint"},
    )
    rule = fields.Method(
        "_rule",
        metadata={
            "type": "object",
            "description": "The rule version it was graded under",
            "properties": {
                "scheme": {"type": "string", "description": "The scheme's code"},
                "rule": {"type": "string", "description": "The rule's code"},
                "version": {"type": "string", "description": "The rule version"},
                "category": {"type": "string", "description": "The product category"},
                "standard": {"type": "string", "description": "The standard it follows"},
            },
            "example": {
                "scheme": "CN-GD",
                "rule": "CN-GD-PCR-LIB",
                "version": "2026.1",
                "category": "battery",
                "standard": "ISO 14067",
            },
        },
    )
    body = fields.Method(
        "_body",
        metadata={
            "type": "object",
            "description": "The certification body that issued it",
            "properties": {
                "code": {"type": "string", "description": "The body's code"},
                "name": {"type": "string", "description": "The body's name"},
            },
            "example": {"code": "lingnan-pcc", "name": "Lingnan Product Carbon Certification"},
        },
    )
    issued_at = fields.AwareDateTime(metadata={"description": "When it was issued"})
    valid_from = fields.AwareDateTime(metadata={"description": "Valid from"})
    valid_until = fields.AwareDateTime(metadata={"description": "Valid until"})
    supersedes = fields.String(
        attribute="supersedes_id",
        allow_none=True,
        metadata={"description": "The label it replaced, if any", "example": None},
    )
    superseded_by = fields.String(
        attribute="superseded_by_id",
        allow_none=True,
        metadata={"description": "The label that replaced it, if any", "example": None},
    )
    assurance = fields.String(
        allow_none=True,
        metadata={"description": "The assurance level stated in the credential, if any"},
    )
    qr = fields.Enum(
        QrTarget,
        by_value=True,
        attribute="qr_target",
        metadata={
            "description": "What its QR code and artwork encode unless asked otherwise, as "
            "chosen at issuance: the label URL (label) or the GS1 Digital Link URI "
            "(digital-link)",
            "example": "label",
        },
    )
    ledger_index = fields.Integer(
        attribute="ledger_seq",
        metadata={"description": "Its issuance entry in the ledger", "example": 41},
    )
    credential = fields.Method(
        "_credential",
        metadata={
            "type": "object",
            "description": "The signed W3C VC 2.0 CarbonLabelCredential",
            "additionalProperties": True,
            "example": _CREDENTIAL_EXAMPLE,
        },
    )

    def _url(self, label: Label) -> str:
        return label_url(current_settings().public_base_url, label.id)

    def _product(self, label: Label) -> dict[str, Any]:
        return {
            "name": label.product_name,
            "manufacturer": label.manufacturer,
            "model": label.product_model,
            "gtin": label.gtin,
            "identifiers": list(label.identifiers),
        }

    def _footprint(self, label: Label) -> dict[str, Any]:
        return {
            "value": decimal_text(label.footprint),
            "unit": "kgCO2e",
            "declared_unit": label.rule_version.declared_unit,
            "declared_unit_amount": decimal_text(label.declared_unit_amount),
            "system_boundary": label.system_boundary,
            "reference_period": {
                "start": label.period_start.isoformat(),
                "end": label.period_end.isoformat(),
            },
        }

    def _rule(self, label: Label) -> dict[str, Any]:
        rv = label.rule_version
        return {
            "scheme": rv.rule.scheme.code,
            "rule": rv.rule.code,
            "version": rv.version,
            "category": rv.rule.category,
            "standard": rv.standard,
        }

    def _body(self, label: Label) -> dict[str, Any]:
        return {"code": label.body.code, "name": label.body.name}

    def _credential(self, label: Label) -> dict[str, Any]:
        return json.loads(label.credential)  # type: ignore[no-any-return]


class LabelPageSchema(Schema):
    """One page of the label listing: what the handler answers, stated for the document."""

    labels = fields.List(
        fields.Nested(LabelSchema),
        metadata={"description": "The labels of this page, in issuance order, no credential"},
    )
    next = fields.String(
        allow_none=True,
        metadata={
            "description": "The URL of the following page, or null on the last one",
            "example": "https://registry.example/api/v1/labels?after=41&limit=50",
        },
    )
    total = fields.Integer(
        metadata={"description": "How many labels the filters match, over all pages", "example": 42}
    )


class LabelBatchResultSchema(Schema):
    """The labels a batch issued, in request order."""

    labels = fields.List(
        fields.Nested(LabelSchema),
        metadata={"description": "The issued labels, in request order, with their credentials"},
    )


label_batch_schema = LabelBatchSchema()
qr_query_schema = ArtworkQuerySchema(only=("scale", "target"))
qr_svg_query_schema = ArtworkQuerySchema(only=("target",))
artwork_query_schema = ArtworkQuerySchema(only=("lang", "target"))
label_query_schema = LabelQuerySchema()
label_summary_schema = LabelSchema(exclude=("credential",))


class PreparationSchema(Schema):
    """A credential prepared for a body that signs its labels with its own key."""

    id = fields.String(
        metadata={
            "description": "The preparation's id: submit the signed credential under it",
            "example": "5f0c8e2a9b7d4c1e8a6f3b2d1c0e9f8a",
        }
    )
    label_id = fields.String(
        metadata={
            "description": "The label id reserved for it (the credential's id ends with it)",
            "example": "7Q2M9XK4TZ",
        }
    )
    expires_at = fields.AwareDateTime(
        metadata={"description": "Submit before this time; after it, prepare again"}
    )
    credential = fields.Method(
        "_credential",
        metadata={
            "type": "object",
            "description": (
                "The unsigned CarbonLabelCredential, exactly as the registry would sign it (id, "
                "issuer, validity, status entries, the grade it computed): sign it as it is"
            ),
            "additionalProperties": True,
            "example": _CREDENTIAL_EXAMPLE,
        },
    )
    signing = fields.Method(
        "_signing",
        metadata={
            "type": "object",
            "description": "The proof to add (carbonlabel sign reads these options itself)",
            "properties": {
                "type": {"type": "string", "description": "Always DataIntegrityProof"},
                "cryptosuite": {"type": "string", "description": "eddsa-rdfc-2022"},
                "created": {
                    "type": "string",
                    "format": "date-time",
                    "description": "The proof's created time: the credential's validFrom",
                },
                "verificationMethod": {
                    "type": "string",
                    "description": "The body's own key that must sign (did:key…#z6Mk…)",
                },
                "proofPurpose": {"type": "string", "description": "assertionMethod"},
            },
            "example": {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2026-03-01T08:30:00Z",
                "verificationMethod": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
                "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "proofPurpose": "assertionMethod",
            },
        },
    )
    submit = fields.Method(
        "_submit",
        metadata={
            "type": "string",
            "description": "Where to POST the signed credential",
            "example": "/api/v1/labels/preparations/5f0c8e2a9b7d4c1e8a6f3b2d1c0e9f8a/signed",
        },
    )

    def _credential(self, preparation: LabelPreparation) -> Any:
        return json.loads(preparation.credential)

    def _signing(self, preparation: LabelPreparation) -> dict[str, str]:
        return preparation.proof_options

    def _submit(self, preparation: LabelPreparation) -> str:
        return f"/api/v1/labels/preparations/{preparation.id}/signed"


label_request_schema = LabelRequestSchema()
label_schema = LabelSchema()
preparation_schema = PreparationSchema()
# The shape every status change shares; a label is suspended, reinstated or revoked.
status_change_schema = StatusChangeSchema(
    targets={
        StatusAction.SUSPEND: LabelStatus.SUSPENDED.value,
        StatusAction.REINSTATE: LabelStatus.ACTIVE.value,
        StatusAction.REVOKE: LabelStatus.REVOKED.value,
    },
    max_reason=MAX_TEXT,
)

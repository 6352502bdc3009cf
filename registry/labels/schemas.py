"""Schemas of the label resource: the issuance request in, the label (with its credential) out.

Footprints and amounts are decimal *strings*: a JSON number has already been through binary
floating point by the time a parser hands it over. What the registry decides (id, grade,
status, credential, status-list indexes) is never accepted from the client, except that a
certifier may *assert* the grade it expects; a different grade is refused by the service.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from credentials import (
    BOUNDARIES,
    GRADES,
    CredentialError,
    Product,
    decimal_text,
    gtin_check_digit_ok,
    label_url,
)
from credentials import normalize_label_id as _normalize_label_id
from registry.config import current_settings
from registry.labels.artwork import LABEL_LANGUAGES
from registry.labels.issuance import MAX_BATCH, LabelRequest
from registry.labels.models import Label, LabelStatus
from registry.labels.services import LabelQuery, StatusAction
from registry.schemes.schemas import AsciiInteger, FullMatch, code_field, text_field

__all__ = [
    "ArtworkQuerySchema",
    "DecimalString",
    "LabelBatchSchema",
    "LabelQuerySchema",
    "LabelRequestSchema",
    "LabelSchema",
    "StatusChangeSchema",
    "artwork_query_schema",
    "label_batch_schema",
    "label_query_schema",
    "label_request_from",
    "label_request_schema",
    "label_schema",
    "label_summary_schema",
    "qr_query_schema",
    "status_change_schema",
    "status_reason_field",
]

_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?")
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+")
# Texts fit their VARCHAR(500) columns; the label draws the product name shortened if need be.
MAX_PRODUCT_NAME = 500
MAX_TEXT = 500


class DecimalString(fields.Field[Decimal]):
    """A non-negative decimal given as a string such as ``"61.2"``; numbers are refused."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own pattern
        "invalid": (
            'Must be a decimal string such as "61.2" (at most 18 digits before the point and '
            "12 after); JSON numbers are refused because they lose precision."
        )
    }

    def __init__(self, **kwargs: Any) -> None:
        document = {"type": "string", "pattern": f"^{_DECIMAL.pattern}$", "example": "61.2"}
        super().__init__(metadata={"openapi": document}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
            raise self.make_error("invalid")
        return Decimal(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else decimal_text(value)


def _gtin(value: str) -> None:
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12,14}", value) or not gtin_check_digit_ok(value):
        raise ValidationError("Not a valid GTIN (8, 12, 13 or 14 digits with a check digit).")


def _iri(value: str) -> None:
    if not _IRI.fullmatch(value) or value.startswith("_:"):
        raise ValidationError("Must be an absolute IRI, e.g. urn:epc:id:sgtin:… or https://….")


class LabelId(fields.String):
    """A label id, any case; loaded upper case (as the registry stores it)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            label_id = None if len(text) > 40 else _normalize_label_id(text)
        except CredentialError:
            label_id = None
        if label_id is None:
            raise ValidationError("Must be a label id (10 Crockford base32 characters).")
        return label_id


class ProductSchema(Schema):
    name = text_field(MAX_PRODUCT_NAME, required=True)
    manufacturer = text_field(MAX_TEXT, required=True)
    model = text_field(MAX_TEXT, load_default=None)
    gtin = fields.String(validate=_gtin, load_default=None)
    identifiers = fields.List(
        text_field(MAX_TEXT, validate=_iri),
        validate=validate.Length(max=20),
        load_default=list,
    )


class ReferencePeriodSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] < data["start"]:
            raise ValidationError("Must not be before start.", "end")


class FootprintSchema(Schema):
    value = DecimalString(required=True)
    unit = fields.Constant("kgCO2e", dump_only=True)
    declared_unit = text_field(32, load_default=None)
    declared_unit_amount = DecimalString(load_default=Decimal(1))
    system_boundary = fields.String(required=True, validate=validate.OneOf(BOUNDARIES))
    reference_period = fields.Nested(ReferencePeriodSchema, required=True)

    @validates_schema
    def _positive_amount(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("declared_unit_amount", Decimal(1)) <= 0:
            raise ValidationError("Must be greater than zero.", "declared_unit_amount")


class RuleRefSchema(Schema):
    scheme = code_field(32, required=True)
    rule = code_field(64, required=True)
    version = code_field(32, required=True)


class LabelRequestSchema(Schema):
    """What a certifier sends to issue a label."""

    product = fields.Nested(ProductSchema, required=True)
    footprint = fields.Nested(FootprintSchema, required=True)
    rule = fields.Nested(RuleRefSchema, required=True)
    valid_until = fields.AwareDateTime(load_default=None)
    grade = fields.String(validate=validate.OneOf(GRADES), load_default=None)
    supersedes = LabelId(load_default=None)

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
    )


class LabelBatchSchema(Schema):
    """Several labels issued all or none: ``{"labels": [label request, …]}``."""

    labels = fields.List(
        fields.Nested(LabelRequestSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class LabelQuerySchema(Schema):
    """Query parameters of the label listing."""

    status = fields.Enum(LabelStatus, by_value=True, load_default=None)
    scheme = code_field(32, load_default=None)
    # A filter: a GTIN with a wrong check digit is no error, it just matches no label.
    gtin = fields.String(
        validate=FullMatch(r"[0-9]{8}|[0-9]{12,14}", error="8, 12, 13 or 14 digits."),
        load_default=None,
    )
    after = AsciiInteger(minimum=-1, load_default=-1)
    limit = AsciiInteger(minimum=1, maximum=200, load_default=50)

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> LabelQuery:
        return LabelQuery(**data)


def status_reason_field(**kwargs: Any) -> fields.String:
    """Why a status changes: free text (lines allowed), stored and ledgered, so bounded."""
    return text_field(MAX_TEXT, multiline=True, **kwargs)


class StatusChangeSchema(Schema):
    action = fields.Enum(StatusAction, by_value=True, required=True)
    reason = status_reason_field(required=True)


class ArtworkQuerySchema(Schema):
    """Query parameters of the artwork: ``scale`` of the QR PNG, ``lang`` of the label."""

    scale = AsciiInteger(minimum=2, maximum=32, load_default=8)
    lang = fields.String(validate=validate.OneOf(LABEL_LANGUAGES), load_default="en")


class BodyRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class LabelSchema(Schema):
    """A label as the public API shows it, with the signed credential under ``credential``."""

    id = fields.String()
    url = fields.Method("_url")
    status = fields.Enum(LabelStatus, by_value=True)
    status_reason = fields.String(allow_none=True)
    status_changed_at = fields.AwareDateTime(allow_none=True)
    grade = fields.String()
    product = fields.Method("_product")
    footprint = fields.Method("_footprint")
    rule = fields.Method("_rule")
    body = fields.Method("_body")
    issued_at = fields.AwareDateTime()
    valid_from = fields.AwareDateTime()
    valid_until = fields.AwareDateTime()
    supersedes = fields.String(attribute="supersedes_id", allow_none=True)
    superseded_by = fields.String(attribute="superseded_by_id", allow_none=True)
    ledger_index = fields.Integer(attribute="ledger_seq")
    credential = fields.Method("_credential")

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


label_batch_schema = LabelBatchSchema()
qr_query_schema = ArtworkQuerySchema(only=("scale",))
artwork_query_schema = ArtworkQuerySchema(only=("lang",))
label_query_schema = LabelQuerySchema()
label_summary_schema = LabelSchema(exclude=("credential",))
label_request_schema = LabelRequestSchema()
label_schema = LabelSchema()
status_change_schema = StatusChangeSchema()

"""Query parameters and answers of the audit views (every query refuses unknown parameters)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate, validates_schema
from marshmallow.exceptions import ValidationError

from registry.audit.services import EntryQuery, IssuanceQuery, Period, StatusChangeQuery
from registry.fields import MAX_ID, AsciiInteger, DateTimeStamp, FullMatch
from registry.schemes.schemas import code_field

__all__ = [
    "body_history_schema",
    "entry_query_schema",
    "history_entry_schema",
    "issuance_bucket_schema",
    "issuance_query_schema",
    "status_change_query_schema",
    "status_change_schema",
]

MAX_PAGE = 500


class _Window(Schema):
    """``scheme``, ``body`` and the time window ``from`` (inclusive) to ``to`` (exclusive)."""

    scheme = code_field(32, load_default=None)
    body = code_field(64, load_default=None)
    start = DateTimeStamp(data_key="from", load_default=None)
    end = DateTimeStamp(data_key="to", load_default=None)

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["start"] is not None and data["end"] is not None and data["start"] >= data["end"]:
            raise ValidationError("'from' must be before 'to'.", "to")


class IssuanceQuerySchema(_Window):
    by = fields.Enum(Period, by_value=True, load_default=Period.MONTH)

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> IssuanceQuery:
        return IssuanceQuery(**data)


class StatusChangeQuerySchema(_Window):
    after = AsciiInteger(minimum=-1, maximum=MAX_ID, load_default=-1)
    limit = AsciiInteger(minimum=1, maximum=MAX_PAGE, load_default=100)

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> StatusChangeQuery:
        return StatusChangeQuery(**data)


class EntryQuerySchema(StatusChangeQuerySchema):
    event = fields.String(
        load_default=None,
        validate=[FullMatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+"), validate.Length(max=64)],
        metadata={"description": "An event kind, e.g. label.suspended."},
    )

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> EntryQuery:
        return EntryQuery(**data)


class IssuanceBucketSchema(Schema):
    period = fields.String(metadata={"description": "The period's first day (UTC)."})
    scheme = fields.String()
    body = fields.String()
    category = fields.String()
    grade = fields.String()
    count = fields.Integer()


class AuditStatusChangeSchema(Schema):
    seq = fields.Integer(metadata={"description": "The ledger entry (prove it by this seq)."})
    time = fields.DateTime()
    change = fields.String(
        metadata={"enum": ["suspension", "reinstatement", "revocation", "supersession"]}
    )
    label = fields.String()
    body = fields.String()
    scheme = fields.String()
    previous_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    by = fields.Dict(metadata={"description": "Who, as the ledger names it."})
    superseded_by = fields.String(allow_none=True)


class AuditAccreditationCountSchema(Schema):
    id = fields.Integer(attribute="accreditation.id")
    scheme = fields.String()
    categories = fields.List(fields.String(), attribute="accreditation.categories")
    reference = fields.String(attribute="accreditation.reference")
    accreditation_body = fields.String(attribute="accreditation.accreditation_body")
    valid_from = fields.DateTime(attribute="accreditation.valid_from")
    valid_until = fields.DateTime(attribute="accreditation.valid_until", allow_none=True)
    status = fields.String(attribute="accreditation.status")
    status_changed_at = fields.DateTime(
        attribute="accreditation.status_changed_at", allow_none=True
    )
    labels_issued = fields.Integer()


class AuditKeyCountSchema(Schema):
    public_key_multibase = fields.String(attribute="key.public_key_multibase")
    active_from = fields.DateTime(attribute="key.active_from")
    retired_at = fields.DateTime(attribute="key.retired_at", allow_none=True)
    labels_issued = fields.Integer()


class AuditBodyHistorySchema(Schema):
    body = fields.String(attribute="body.code")
    name = fields.String(attribute="body.name")
    status = fields.String(attribute="body.status")
    accreditations = fields.List(fields.Nested(AuditAccreditationCountSchema))
    keys = fields.List(fields.Nested(AuditKeyCountSchema))


class LabelHistoryEntrySchema(Schema):
    seq = fields.Integer()
    time = fields.DateTime()
    event = fields.String()
    by = fields.Dict()
    entry = fields.Dict(metadata={"description": "The ledger entry as stored."})


entry_query_schema = EntryQuerySchema()
issuance_query_schema = IssuanceQuerySchema()
status_change_query_schema = StatusChangeQuerySchema()
issuance_bucket_schema = IssuanceBucketSchema()
status_change_schema = AuditStatusChangeSchema()
body_history_schema = AuditBodyHistorySchema()
history_entry_schema = LabelHistoryEntrySchema()

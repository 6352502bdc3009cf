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

    scheme = code_field(
        32,
        load_default=None,
        metadata={
            "description": "Only this scheme (its code); default: all yours",
            "example": "CN-GD",
        },
    )
    body = code_field(
        64,
        load_default=None,
        metadata={
            "description": "Only this certification body (its code)",
            "example": "lingnan-pcc",
        },
    )
    start = DateTimeStamp(
        data_key="from",
        load_default=None,
        metadata={"description": "From this instant (inclusive)"},
    )
    end = DateTimeStamp(
        data_key="to", load_default=None, metadata={"description": "To this instant (exclusive)"}
    )

    @validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["start"] is not None and data["end"] is not None and data["start"] >= data["end"]:
            raise ValidationError("'from' must be before 'to'.", "to")


class IssuanceQuerySchema(_Window):
    by = fields.Enum(
        Period,
        by_value=True,
        load_default=Period.MONTH,
        metadata={"description": "The length of each counting period"},
    )

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> IssuanceQuery:
        return IssuanceQuery(**data)


class StatusChangeQuerySchema(_Window):
    after = AsciiInteger(
        minimum=-1,
        maximum=MAX_ID,
        load_default=-1,
        metadata={"description": "The page after this ledger index (from next)"},
    )
    limit = AsciiInteger(
        minimum=1, maximum=MAX_PAGE, load_default=100, metadata={"description": "Items per page"}
    )

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
    scheme = fields.String(metadata={"description": "The scheme's code", "example": "CN-GD"})
    body = fields.String(metadata={"description": "The body's code", "example": "lingnan-pcc"})
    category = fields.String(metadata={"description": "The product category", "example": "battery"})
    grade = fields.String(metadata={"description": "The grade", "example": "B"})
    count = fields.Integer(metadata={"description": "Labels issued", "example": 12})


class AuditStatusChangeSchema(Schema):
    seq = fields.Integer(metadata={"description": "The ledger entry (prove it by this seq)."})
    time = fields.DateTime(metadata={"description": "When"})
    change = fields.String(
        metadata={
            "enum": ["suspension", "reinstatement", "revocation", "supersession"],
            "description": "What changed",
        }
    )
    label = fields.String(metadata={"description": "The label's code", "example": "7Q2M9XK4TZ"})
    body = fields.String(
        metadata={"description": "The issuing body's code", "example": "lingnan-pcc"}
    )
    scheme = fields.String(metadata={"description": "The scheme's code", "example": "CN-GD"})
    previous_status = fields.String(
        allow_none=True, metadata={"description": "The status before", "example": "active"}
    )
    reason = fields.String(allow_none=True, metadata={"description": "The reason given"})
    by = fields.Dict(
        metadata={
            "description": "Who, as the ledger names it.",
            "example": {"role": "certifier", "id": 3},
        }
    )
    superseded_by = fields.String(
        allow_none=True,
        metadata={"description": "On a supersession: the new label", "example": None},
    )


class AuditAccreditationCountSchema(Schema):
    id = fields.Integer(
        attribute="accreditation.id",
        metadata={"description": "The accreditation's registry id", "example": 1},
    )
    scheme = fields.String(metadata={"description": "The scheme's code", "example": "CN-GD"})
    categories = fields.List(
        fields.String(),
        attribute="accreditation.categories",
        metadata={"description": "The categories covered", "example": ["battery"]},
    )
    reference = fields.String(
        attribute="accreditation.reference",
        metadata={"description": "Its reference at the accreditation body"},
    )
    accreditation_body = fields.String(
        attribute="accreditation.accreditation_body",
        metadata={"description": "Who accredited", "example": "CNAS"},
    )
    valid_from = fields.DateTime(
        attribute="accreditation.valid_from", metadata={"description": "Valid from"}
    )
    valid_until = fields.DateTime(
        attribute="accreditation.valid_until",
        allow_none=True,
        metadata={"description": "Valid until; null: open-ended"},
    )
    status = fields.String(
        attribute="accreditation.status",
        metadata={"description": "Its status now", "example": "active"},
    )
    status_changed_at = fields.DateTime(
        attribute="accreditation.status_changed_at",
        allow_none=True,
        metadata={"description": "When its status last changed"},
    )
    labels_issued = fields.Integer(
        metadata={"description": "Labels issued under it", "example": 12}
    )


class AuditKeyCountSchema(Schema):
    public_key_multibase = fields.String(
        attribute="key.public_key_multibase",
        metadata={
            "description": "The key as a Multikey",
            "example": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        },
    )
    active_from = fields.DateTime(
        attribute="key.active_from", metadata={"description": "From when it could sign"}
    )
    retired_at = fields.DateTime(
        attribute="key.retired_at",
        allow_none=True,
        metadata={"description": "When it was retired; null: active"},
    )
    labels_issued = fields.Integer(metadata={"description": "Labels it signed", "example": 12})


class AuditBodyHistorySchema(Schema):
    body = fields.String(
        attribute="body.code", metadata={"description": "The body's code", "example": "lingnan-pcc"}
    )
    name = fields.String(attribute="body.name", metadata={"description": "The body's name"})
    status = fields.String(
        attribute="body.status", metadata={"description": "Its status now", "example": "active"}
    )
    accreditations = fields.List(
        fields.Nested(AuditAccreditationCountSchema),
        metadata={"description": "Its accreditations under your schemes, with labels issued"},
    )
    keys = fields.List(
        fields.Nested(AuditKeyCountSchema),
        metadata={"description": "Its keys, with the labels each signed"},
    )


class LabelHistoryEntrySchema(Schema):
    seq = fields.Integer(metadata={"description": "The ledger index", "example": 41})
    time = fields.DateTime(metadata={"description": "When"})
    event = fields.String(metadata={"description": "The event kind", "example": "label.issued"})
    by = fields.Dict(
        metadata={"description": "Who, as the ledger names it", "example": {"role": "certifier"}}
    )
    entry = fields.Dict(metadata={"description": "The ledger entry as stored."})


entry_query_schema = EntryQuerySchema()
issuance_query_schema = IssuanceQuerySchema()
status_change_query_schema = StatusChangeQuerySchema()
issuance_bucket_schema = IssuanceBucketSchema()
status_change_schema = AuditStatusChangeSchema()
body_history_schema = AuditBodyHistorySchema()
history_entry_schema = LabelHistoryEntrySchema()

"""The report form as the page parses it, and a report as the regulators' API shows it.

The form schema raises stable message codes, not prose (``required``, ``too-long``,
``refused:U+202E``, …): the page words them in the reader's language next to the field, and
the same codes would serve another front end.
"""

from __future__ import annotations

import re
from typing import Any

from flask import url_for
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)

from credentials import TextError, check_text
from registry.fields import AsciiInteger
from registry.reports.models import (
    MAX_CONTACT,
    MAX_DETAILS,
    MAX_SEEN_AT,
    ReportCategory,
    ReportStatus,
    SuspectReport,
)
from registry.reports.services import ReportInput, ReportQuery
from registry.schemes.schemas import code_field

__all__ = [
    "ReportFormSchema",
    "ReportQuerySchema",
    "ReportStatusChangeSchema",
    "SuspectReportPageSchema",
    "SuspectReportSchema",
    "report_form_schema",
    "report_query_schema",
    "report_schema",
    "report_status_change_schema",
]

_CODE_POINT = re.compile(r"\((U\+[0-9A-F]{4,6})\)")


class FormText(fields.String):
    """Text under the project's one text rule (:func:`credentials.check_text`), with the
    refusal as a message code: ``too-long``, ``blank`` or ``refused[:U+XXXX]``."""

    def __init__(self, max_length: int, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(error_messages={"required": "required"}, **kwargs)
        self.max_length = max_length
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_text(text, max_length=self.max_length, multiline=self.multiline)
        except TextError as exc:
            message = str(exc)
            if message.startswith("must be at most"):
                raise ValidationError("too-long") from None
            if message == "must not be blank":
                raise ValidationError("blank") from None
            found = _CODE_POINT.search(message)
            raise ValidationError(f"refused:{found.group(1)}" if found else "refused") from None


class ReportFormSchema(Schema):
    """The fields of the report form (the CSRF token and the photo are handled apart)."""

    category = fields.Enum(
        ReportCategory,
        by_value=True,
        required=True,
        error_messages={"required": "choose", "unknown": "choose"},
    )
    details = FormText(MAX_DETAILS, multiline=True, load_default=None)
    seen_at = FormText(MAX_SEEN_AT, required=True)
    contact = FormText(MAX_CONTACT, load_default=None)

    @pre_load
    def _blank_is_absent(self, data: Any, **kwargs: Any) -> Any:
        # A browser sends every text box, empty or not: an empty optional box is no answer.
        # Browsers send a textarea's line breaks as CRLF; the text rule takes LF only.
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for name, value in data.items():
            if isinstance(value, str):
                value = value.replace("\r\n", "\n")
                if not value.strip(" \t\n"):
                    continue
            cleaned[name] = value
        return cleaned

    @validates_schema(skip_on_field_errors=False)
    def _other_needs_words(self, data: dict[str, Any], **kwargs: Any) -> None:
        # "Other" says nothing by itself: the regulators need the words. Checked even when
        # other fields failed, so the reader learns every mistake at once.
        if data.get("category") is ReportCategory.OTHER and data.get("details") is None:
            raise ValidationError("details-for-other", field_name="details")

    @post_load
    def _to_input(self, data: dict[str, Any], **kwargs: Any) -> ReportInput:
        return ReportInput(**data)


class ReportQuerySchema(Schema):
    """Query parameters of the regulators' report listing."""

    status = fields.Enum(ReportStatus, by_value=True, load_default=None)
    scheme = code_field(32, load_default=None)
    after = AsciiInteger(minimum=0, load_default=0)
    limit = AsciiInteger(minimum=1, maximum=200, load_default=50)

    @post_load
    def _to_query(self, data: dict[str, Any], **kwargs: Any) -> ReportQuery:
        return ReportQuery(**data)


class ReportStatusChangeSchema(Schema):
    """``{"status": "seen"}``: a regulator has looked at the report (or ``"new"`` to undo)."""

    status = fields.Enum(
        ReportStatus,
        by_value=True,
        required=True,
        metadata={"description": "seen: a regulator looked at it; new: undo that"},
    )


class PhotoInfoSchema(Schema):
    media_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    href = fields.String()


class SuspectReportSchema(Schema):
    """A report for its regulators: everything the reader sent except the photo's bytes
    (``photo.href`` downloads them), including the contact, which only they may read."""

    id = fields.Integer(metadata={"description": "The report's registry id", "example": 1})
    label = fields.String(
        attribute="label_id",
        metadata={"description": "The reported label's code", "example": "7Q2M9XK4TZ"},
    )
    scheme = fields.Method(
        "_scheme",
        metadata={"type": "string", "description": "The label's scheme", "example": "CN-GD"},
    )
    category = fields.Enum(
        ReportCategory, by_value=True, metadata={"description": "What the reader saw"}
    )
    details = fields.String(
        allow_none=True, metadata={"description": "The reader's own words, if any"}
    )
    seen_at = fields.String(
        metadata={"description": "Where the reader saw the label", "example": "Shop in Macau"}
    )
    contact = fields.String(
        allow_none=True,
        metadata={"description": "How to reach the reader, if given (regulators only)"},
    )
    status = fields.Enum(
        ReportStatus, by_value=True, metadata={"description": "new, or seen by a regulator"}
    )
    created_at = fields.AwareDateTime(metadata={"description": "When it was sent"})
    photo = fields.Method(
        "_photo",
        metadata={
            "type": ["object", "null"],
            "description": "The photo's type, size, SHA-256 and download link, if one was sent",
            "properties": {
                "media_type": {"type": "string", "description": "image/jpeg, png or webp"},
                "size": {"type": "integer", "description": "Its size in bytes"},
                "sha256": {"type": "string", "description": "Its SHA-256, hex"},
                "href": {"type": "string", "description": "Where to download it"},
            },
            "example": None,
        },
    )

    def _scheme(self, report: SuspectReport) -> str:
        return report.scheme.code

    def _photo(self, report: SuspectReport) -> dict[str, Any] | None:
        if report.photo_type is None or report.photo_sha256 is None:
            return None
        return {
            "media_type": report.photo_type.value,
            "size": report.photo_size,
            "sha256": report.photo_sha256.hex(),
            "href": url_for("reports.get_report_photo_view", report_id=report.id),
        }


class SuspectReportPageSchema(Schema):
    """One page of the report listing."""

    reports = fields.List(
        fields.Nested(SuspectReportSchema),
        metadata={"description": "This page's reports"},
    )
    next = fields.String(
        allow_none=True,
        metadata={"description": "The URL of the following page; null on the last one"},
    )


report_form_schema = ReportFormSchema()
report_query_schema = ReportQuerySchema()
report_schema = SuspectReportSchema()
report_status_change_schema = ReportStatusChangeSchema()

"""The marshmallow fields of the kit's lexical rules, one per rule, for every schema.

Each field parses with the kit (:mod:`credentials.lexical`, :func:`credentials.check_text`), so
what the registry accepts is what a verifier reads back, and words the kit's refusal (its
``reason``) as a form message. The OpenAPI document states each rule with the kit's pattern.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from credentials import (
    GTIN_PATTERN,
    IRI_PATTERN,
    LABEL_ID_PATTERN,
    MULTILINE_TEXT_PATTERN,
    STORAGE_DECIMAL,
    TEXT_PATTERN,
    CredentialError,
    LexicalError,
    TextError,
    check_gtin,
    check_iri,
    check_text,
    decimal_text,
    normalize_label_id,
    parse_ascii_integer,
    parse_date,
    parse_datetime,
    parse_decimal,
)

__all__ = [
    "MAX_ID",
    "AsciiInteger",
    "DateTimeStamp",
    "DecimalText",
    "FullMatch",
    "Gtin",
    "Iri",
    "IsoDate",
    "LabelId",
    "Text",
]

# Ids, cursors and tree positions are BIGINT: anything larger could never exist and must not
# reach SQL (where it is an overflow, a 500, instead of "no such thing").
MAX_ID = 2**63 - 1


class FullMatch(validate.Regexp):
    """A pattern the whole value must match (``Regexp`` only anchors at the start, and ``$``
    also matches before a final newline)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Text(fields.String):
    """Free text under the kit's one text rule (:func:`credentials.check_text`): NFC, no
    controls, bidi overrides, noncharacters or stacked marks, 1 to ``max_length`` characters.

    The loaded value is the NFC form; the error names the field (marshmallow keys it so).
    """

    def __init__(self, max_length: int, *, multiline: bool = False, **kwargs: Any) -> None:
        metadata = {
            "minLength": 1,
            "maxLength": max_length,
            "pattern": MULTILINE_TEXT_PATTERN if multiline else TEXT_PATTERN,
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)
        self.max_length = max_length
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_text(text, max_length=self.max_length, multiline=self.multiline)
        except TextError as exc:
            raise ValidationError(f"Text {exc}.") from None


class AsciiInteger(fields.Integer):
    """An integer from ASCII digits only, bounded (``int()`` would take "²", "٣" or "1_0").

    JSON numbers must be integers; query strings are parsed from text by the kit's rule.
    """

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_ID, **kwargs: Any) -> None:
        checks = [validate.Range(min=minimum, max=maximum)]
        super().__init__(strict=True, validate=checks, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str):
            try:
                # Any BIGINT: the field's range then says which bound was crossed.
                value = parse_ascii_integer(value, minimum=-MAX_ID, maximum=MAX_ID)
            except LexicalError:
                raise self.make_error("invalid") from None
        elif isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


_DECIMAL_MESSAGES = {
    "type": (
        'Send a decimal string such as "61.2", not a JSON number: a number loses precision in '
        "binary floating point before the registry reads it."
    ),
    "form": 'A non-negative decimal string such as "61.2" (no sign or exponent).',
    "scale": f"A decimal string with at most {STORAGE_DECIMAL.scale} decimal places.",
    "integer_digits": (
        f"A decimal string with at most {STORAGE_DECIMAL.integer_digits} digits before the point."
    ),
}


# The usual ways a decimal is mistyped, each answered with its own fix (checked in this order,
# only once the kit has refused the value).
_NUMBER = r"[0-9]+(?:[.,][0-9]+)*"
_DECIMAL_MISTAKES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s.*|.*\s"), 'Leave out the spaces: send digits only, such as "61.2".'),
    (
        re.compile(rf"-{_NUMBER}"),
        'Must not be negative: send zero or more, such as "61.2" (no sign or exponent).',
    ),
    (
        re.compile(rf"\+{_NUMBER}"),
        'Leave out the plus sign: send "61.2", not "+61.2" (no sign or exponent).',
    ),
    (
        re.compile(r"[0-9]+,[0-9]+"),
        'Use a point as the decimal separator: send "61.2", not "61,2".',
    ),
    (
        re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"),
        'Leave out the thousands separators: send "1234.5", not "1,234.5".',
    ),
    (
        re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+"),
        'A non-negative decimal written out in full: send "6100", not "6.1e3" (no sign or '
        "exponent).",
    ),
    (
        re.compile(rf"[+-]?{_NUMBER}\s*[^\W\d_].*"),
        'Send the number alone, such as "61.2": the unit (kgCO2e, or the declared unit) is not '
        "part of the value.",
    ),
)


def _decimal_refusal(value: object, reason: str) -> str:
    """The message for a value the kit refused for ``reason``: the fix for the usual mistakes
    first (a JSON number, a sign, a comma, a unit), else the kit's rule."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return 'A decimal string such as "61.2".'
    if not isinstance(value, str):
        return _DECIMAL_MESSAGES["type"]
    if reason == "form":
        for pattern, message in _DECIMAL_MISTAKES:
            if pattern.fullmatch(value):
                return message
    return _DECIMAL_MESSAGES[reason]


class DecimalText(fields.Field[Decimal]):
    """A non-negative decimal given as a string such as ``"61.2"``, within the storage limit
    (:data:`credentials.STORAGE_DECIMAL`); dumped in the canonical form."""

    def __init__(self, **kwargs: Any) -> None:
        document = {"type": "string", "pattern": STORAGE_DECIMAL.pattern, "example": "61.2"}
        super().__init__(metadata={"openapi": document, **kwargs.pop("metadata", {})}, **kwargs)

    @staticmethod
    def parse(value: object) -> Decimal:
        """``value`` as the field loads it (for fields holding several decimals)."""
        try:
            return parse_decimal(value)
        except LexicalError as exc:
            raise ValidationError(_decimal_refusal(value, exc.reason)) from None

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return self.parse(value)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else decimal_text(value)


class Iri(Text):
    """An absolute IRI (``urn:…``, ``https://…``) under the text rule, at most ``max_length``."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        # The text rule's pattern and the IRI's: both hold.
        document = {"allOf": [{"pattern": IRI_PATTERN}]}
        super().__init__(
            max_length, metadata={"openapi": document, **kwargs.pop("metadata", {})}, **kwargs
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_iri(text)
        except LexicalError:
            raise ValidationError(
                "Must be an absolute IRI, e.g. urn:epc:id:sgtin:… or https://…."
            ) from None


class Gtin(fields.String):
    """A GTIN-8, -12, -13 or -14 in ASCII digits; ``check_digit=False`` for a search filter,
    where a wrong check digit is no error (it just finds nothing)."""

    def __init__(self, *, check_digit: bool = True, **kwargs: Any) -> None:
        super().__init__(metadata={"pattern": GTIN_PATTERN, **kwargs.pop("metadata", {})}, **kwargs)
        self.check_digit = check_digit

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return check_gtin(text, check_digit=self.check_digit)
        except LexicalError:
            raise ValidationError(
                "Not a valid GTIN (8, 12, 13 or 14 digits with a check digit)."
                if self.check_digit
                else "8, 12, 13 or 14 digits."
            ) from None


_MAX_LABEL_URL = 300


class LabelId(fields.String):
    """A label id, any case; loaded upper case (as the registry stores it).

    ``url=True`` also takes the label's URL (a credential's ``id``), whose last segment is the
    id: the VC-API names a credential so.
    """

    def __init__(self, *, url: bool = False, **kwargs: Any) -> None:
        document = (
            {"maxLength": _MAX_LABEL_URL, "pattern": f"^([^\\s]*/)?{LABEL_ID_PATTERN}/?$"}
            if url
            else {"pattern": f"^{LABEL_ID_PATTERN}$"}
        )
        super().__init__(metadata={"openapi": document, **kwargs.pop("metadata", {})}, **kwargs)
        self.url = url

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.url and len(text) <= _MAX_LABEL_URL:
            text = text.rstrip("/").rsplit("/", 1)[-1]
        try:
            return normalize_label_id(text)
        except CredentialError:
            raise ValidationError(
                "Must be the URL (or id) of a label of this registry."
                if self.url
                else "Must be a label id (10 Crockford base32 characters)."
            ) from None


class IsoDate(fields.Date):
    """A calendar date ``YYYY-MM-DD`` (``date.fromisoformat`` would also take 20250101 and
    the week date 2025-W01-1)."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges these by class
        "invalid": 'A date as YYYY-MM-DD, such as "2026-01-31".'
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        try:
            return parse_date(value)
        except LexicalError:
            raise self.make_error("invalid") from None


class DateTimeStamp(fields.AwareDateTime):
    """A time with its offset, as a credential states one (xsd:dateTimeStamp, e.g.
    ``2026-01-01T00:00:00+08:00``), loaded in UTC; dumped in ISO 8601.

    marshmallow's parser would also take ``20260101T000000Z``, ``2026-01-01 00:00Z`` and
    ``+0800``, and drop fraction digits beyond the sixth without a word.

    With ``dates=True`` a date alone (``2026-01-01``) is accepted too, where a day is precise
    enough (a rule version's period in force, an accreditation's): it loads as a
    :class:`~datetime.date`, which the service reads as the start of that day in the scheme's
    time zone (:func:`registry.schemes.timezones.start_of_day`).
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow merges these by class
        "invalid": (
            'A date and time with its offset, such as "2026-01-01T00:00:00+08:00" or '
            '"2026-01-01T00:00:00Z".'
        ),
    }
    _DATES_MESSAGE = (
        'A date and time with its offset, such as "2026-01-01T00:00:00+08:00", or a date '
        'such as "2026-01-01" (the start of that day in the scheme\'s time zone).'
    )

    def __init__(self, *, dates: bool = False, **kwargs: Any) -> None:
        if dates:
            # Said after the field's own description, which names what the instant is.
            meaning = (
                "A date-time with its offset (2026-01-01T00:00:00+08:00), or a date "
                "(2026-01-01): the start of that day in the scheme's time zone."
            )
            metadata = dict(kwargs.get("metadata", {}))
            own = metadata.get("description")
            metadata["description"] = f"{own.rstrip('.')}. {meaning}" if own else meaning
            kwargs["metadata"] = metadata
        super().__init__(format="iso", **kwargs)
        self.dates = dates

    def _deserialize(  # type: ignore[override]  # a date too, with ``dates``
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> datetime | date:
        if self.dates and isinstance(value, str) and len(value) == len("2026-01-01"):
            try:
                return parse_date(value)
            except LexicalError:
                raise ValidationError(self._DATES_MESSAGE) from None
        try:
            return parse_datetime(value)
        except CredentialError:
            if self.dates:
                raise ValidationError(self._DATES_MESSAGE) from None
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None

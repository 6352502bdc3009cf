"""The lexical rules: how a decimal, an IRI, a GTIN, a label id, a status-list index and an
integer are written as text. Each rule is stated once, here; the credential reader, the status
list, the trust bundle, the ledger events, the artwork and the registry's input fields call it.

Digits are ASCII only: ``int()``, ``Decimal()`` and ``str.isdigit()`` also read other scripts'
digits ("٤٥" as 45), and a pattern's ``$`` matches before a final newline, so every pattern is
applied with ``fullmatch``. Lengths are measured before any pattern runs or any number is
built, so the cost of a refusal does not grow with the input.

Each check returns the value (parsed or normalised) or raises :class:`LexicalError`, whose
``rule`` and ``reason`` let a caller word the failure itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Final

from credentials._internal.timefmt import parse_datetime
from credentials.errors import LexicalError
from credentials.text import TextError, check_text

__all__ = [
    "ASCII_WHITESPACE",
    "CROCKFORD",
    "GTIN_PATTERN",
    "IRI_PATTERN",
    "LABEL_ID_LENGTH",
    "LABEL_ID_PATTERN",
    "MAX_IRI",
    "MAX_STATUS_INDEX",
    "MAX_STATUS_LIST_BITS",
    "STORAGE_DECIMAL",
    "DecimalLimit",
    "check_decimal",
    "check_gtin",
    "check_iri",
    "decimal_text",
    "gtin14",
    "gtin_check_digit",
    "gtin_forms",
    "new_label_id",
    "normalize_label_id",
    "parse_ascii_integer",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_status_index",
]

ASCII_WHITESPACE: Final = " \t\n\r\f\v"


# --- decimals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecimalLimit:
    """How many digits a decimal may have before and after the point."""

    integer_digits: int
    scale: int

    @property
    def pattern(self) -> str:
        """The canonical-enough text form as a regular expression (for JSON Schema)."""
        return f"^(0|[1-9][0-9]{{0,{self.integer_digits - 1}}})(\\.[0-9]{{1,{self.scale}}})?$"


# The registry stores footprints and thresholds as NUMERIC(30, 12): anything finer would be
# rounded by the database while the ledger states the exact value, anything larger fails. The
# artwork prints what the registry stores, so it takes the same limit.
STORAGE_DECIMAL: Final = DecimalLimit(integer_digits=18, scale=12)

# Non-negative, no sign, exponent or leading zero; trailing zeros after the point are allowed.
_DECIMAL_FORM: Final = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")
_MAX_DECIMAL_CHARS: Final = 256  # far beyond any limit: the form check stays cheap


def parse_decimal(text: object, *, limit: DecimalLimit = STORAGE_DECIMAL) -> Decimal:
    """The non-negative decimal written as ``text`` (e.g. ``"61.2"``), within ``limit``.

    Reasons: ``type`` (not a string: a JSON number has been through a binary float),
    ``form`` (sign, exponent, leading zero, other digits), ``scale``, ``integer_digits``.
    """
    if not isinstance(text, str):
        raise LexicalError("a decimal is a string such as '61.2'", rule="decimal", reason="type")
    if len(text) > _MAX_DECIMAL_CHARS or not _DECIMAL_FORM.fullmatch(text):
        raise LexicalError(
            "a decimal is written like '61.2' (no sign or exponent)", rule="decimal", reason="form"
        )
    integer, _, fraction = text.partition(".")
    _check_digits(len(integer), len(fraction), limit)
    return Decimal(text)


def check_decimal(value: object, *, limit: DecimalLimit = STORAGE_DECIMAL) -> Decimal:
    """``value`` if it is a finite :class:`Decimal` within ``limit`` (either sign).

    Trailing zeros after the point do not count against the scale: ``Decimal("1.50")`` and a
    database's ``Decimal("1.500000000000")`` are the same number.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise LexicalError("expected a finite Decimal", rule="decimal", reason="type")
    _, digits, exponent = value.as_tuple()
    exponent = int(exponent)  # an int for every finite value
    while exponent < 0 and digits and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    if not any(digits):  # zero, however written
        digits, exponent = (0,), 0
    _check_digits(max(0, len(digits) + exponent), max(0, -exponent), limit)
    return value


def _check_digits(integer_digits: int, scale: int, limit: DecimalLimit) -> None:
    if scale > limit.scale:
        raise LexicalError(
            f"a decimal has at most {limit.scale} decimal places", rule="decimal", reason="scale"
        )
    if integer_digits > limit.integer_digits:
        raise LexicalError(
            f"a decimal has at most {limit.integer_digits} digits before the point",
            rule="decimal",
            reason="integer_digits",
        )


def decimal_text(value: Decimal) -> str:
    """The canonical xsd:decimal form: no exponent, no trailing zeros after the point."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise LexicalError("expected a finite Decimal", rule="decimal", reason="type")
    with localcontext() as ctx:
        ctx.prec = 80  # normalize() rounds to the context precision (28 by default)
        text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


# --- IRIs ----------------------------------------------------------------------------------

# RFC 3987 absolute IRI, loosely: a scheme, a colon, then no space or delimiter it excludes.
IRI_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$"
_IRI: Final = re.compile(IRI_PATTERN[1:-1])
MAX_IRI: Final = 2048  # measured before the pattern runs over it (7 ms per megabyte, per IRI)


def check_iri(value: object) -> str:
    """``value`` if it is an absolute IRI (not a blank node) of at most :data:`MAX_IRI` chars.

    It must also pass the text rule: RFC 3987 excludes controls and bidirectional formatting
    characters from IRIs, and an IRI that reads differently from what is signed deceives.
    """
    if not isinstance(value, str):
        raise LexicalError("an IRI is a string", rule="iri", reason="type")
    if len(value) > MAX_IRI:
        raise LexicalError(
            f"an IRI is longer than {MAX_IRI} characters", rule="iri", reason="length"
        )
    if not _IRI.fullmatch(value) or value.startswith("_:"):
        raise LexicalError("not an absolute IRI", rule="iri", reason="form")
    try:
        check_text(value, max_length=MAX_IRI)
    except TextError as exc:
        raise LexicalError(f"an IRI {exc}", rule="iri", reason="text") from None
    return value


# --- GTINs ---------------------------------------------------------------------------------

GTIN_PATTERN: Final = "^([0-9]{8}|[0-9]{12,14})$"  # GTIN-8, -12, -13, -14
_GTIN: Final = re.compile(GTIN_PATTERN[1:-1])
_GTIN_DIGITS: Final = re.compile(r"[0-9]{7,13}")


def gtin_check_digit(payload: str) -> str:
    """The GS1 check digit of a GTIN's other digits (7, 11, 12 or 13 of them)."""
    if not isinstance(payload, str) or not _GTIN_DIGITS.fullmatch(payload):
        raise LexicalError("a GTIN's digits are ASCII digits", rule="gtin", reason="form")
    # Weights 3, 1, 3, … from the right, the check digit's own position excluded.
    total = sum(int(d) * (1 if i % 2 else 3) for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


def check_gtin(value: object, *, check_digit: bool = True) -> str:
    """``value`` if it is a GTIN-8, -12, -13 or -14 in ASCII digits with a right check digit.

    ``check_digit=False`` checks the length and digits only (a search filter: a wrong check
    digit there is no error, it just finds nothing).
    """
    if not isinstance(value, str) or not _GTIN.fullmatch(value):
        raise LexicalError("a GTIN is 8, 12, 13 or 14 digits", rule="gtin", reason="form")
    if check_digit and gtin_check_digit(value[:-1]) != value[-1]:
        raise LexicalError("the GTIN's check digit is wrong", rule="gtin", reason="check_digit")
    return value


def gtin14(value: object) -> str:
    """The GTIN-14 form of a valid GTIN-8, -12, -13 or -14 (left-padded with zeros), the one
    form GS1 Digital Link URIs carry and a GTIN is compared by."""
    return check_gtin(value).rjust(14, "0")


def gtin_forms(value: str) -> tuple[str, ...]:
    """Every way the GTIN-14 ``value`` can be written as a GTIN-8, -12, -13 or -14: a GTIN is
    stored as it was given, so a lookup by GTIN matches each of these."""
    full = gtin14(value)
    return tuple(full[14 - n :] for n in (14, 13, 12, 8) if full[: 14 - n].strip("0") == "")


# --- label ids -----------------------------------------------------------------------------

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O or U
LABEL_ID_LENGTH: Final = 10
# Any case, and Crockford's aliases (O for 0, I and L for 1), as people copy codes by hand.
LABEL_ID_PATTERN: Final = "[0-9A-TV-Za-tv-z]{10}"
_LABEL_ID: Final = re.compile("[0-9A-HJKMNP-TV-Z]{10}")
_MAX_LABEL_ID_INPUT: Final = 40  # an id with surrounding whitespace, never more
_CROCKFORD_ALIASES: Final = str.maketrans("OIL", "011")


def new_label_id() -> str:
    """10 random Crockford base32 characters (50 bits): short, unguessable."""
    return "".join(secrets.choice(CROCKFORD) for _ in range(LABEL_ID_LENGTH))


def normalize_label_id(value: object) -> str:
    """The canonical (upper-case) label id of ``value``, read from a URL or a form.

    Surrounding ASCII whitespace is dropped; Crockford's decoding aliases are read as the
    digits they stand for (``O`` as ``0``, ``I`` and ``L`` as ``1``), since a printed code is
    read and typed by people. ``U`` stays refused, as in Crockford's alphabet. Only ASCII is
    accepted before upper-casing: ``str.upper()`` turns "ſ" into "S" and "ﬀ" into "FF",
    which would make ids of strings that are not.
    """
    if not isinstance(value, str) or len(value) > _MAX_LABEL_ID_INPUT or not value.isascii():
        raise LexicalError(
            "a label id is 10 Crockford base32 characters", rule="label_id", reason="form"
        )
    candidate = value.strip(ASCII_WHITESPACE).upper().translate(_CROCKFORD_ALIASES)
    if not _LABEL_ID.fullmatch(candidate):
        raise LexicalError(
            "a label id is 10 Crockford base32 characters", rule="label_id", reason="form"
        )
    return candidate


# --- integers ------------------------------------------------------------------------------


def parse_ascii_integer(text: object, *, minimum: int = 0, maximum: int) -> int:
    """The integer written as ``text`` in ASCII digits, from ``minimum`` to ``maximum``.

    A sign only where ``minimum`` is negative; leading zeros are allowed, but no more digits
    than ``maximum`` (or ``minimum``) has, so no huge number is ever built. Reasons: ``type``,
    ``form``, ``range``.
    """
    if not isinstance(text, str):
        raise LexicalError("an integer is a string of digits", rule="integer", reason="type")
    digits = text[1:] if minimum < 0 and text.startswith("-") else text
    width = len(str(max(abs(minimum), abs(maximum))))
    if not 1 <= len(digits) <= width or not digits.isascii() or not digits.isdigit():
        raise LexicalError(
            f"an integer is 1 to {width} ASCII digits", rule="integer", reason="form"
        )
    number = int(text)
    if not minimum <= number <= maximum:
        raise LexicalError(
            f"an integer from {minimum} to {maximum}", rule="integer", reason="range"
        )
    return number


# A list has at most this many entries (1 MiB inflated: 64 times the spec's minimum), so an
# index is at most 7 digits: a longer one points outside every list the kit accepts.
MAX_STATUS_LIST_BITS: Final = 8 * 1024 * 1024
MAX_STATUS_INDEX: Final = MAX_STATUS_LIST_BITS - 1


def parse_status_index(text: object) -> int:
    """A ``statusListIndex``: a string of ASCII digits, at most :data:`MAX_STATUS_INDEX`."""
    return parse_ascii_integer(text, maximum=MAX_STATUS_INDEX)


# --- dates and times -------------------------------------------------------------------------

# Times are xsd:dateTimeStamp (credentials._internal.timefmt, where the proofs read them):
# parse_datetime is that rule, published here with the others.

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: object) -> date:
    """The calendar date written ``YYYY-MM-DD`` in ASCII digits (``date.fromisoformat`` also
    reads 20250101 and 2025-W01-1, and marshmallow's parser reads other scripts' digits)."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise LexicalError("a date is written YYYY-MM-DD", rule="date", reason="form")
    try:
        return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise LexicalError("not a date in the calendar", rule="date", reason="calendar") from None

"""The lexical rules, each in its one home (credentials.lexical)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials import (
    GTIN_PATTERN,
    IRI_PATTERN,
    LABEL_ID_PATTERN,
    MAX_STATUS_INDEX,
    STORAGE_DECIMAL,
    DecimalLimit,
    LexicalError,
    check_decimal,
    check_gtin,
    check_iri,
    decimal_text,
    gtin_check_digit,
    new_label_id,
    normalize_label_id,
    parse_ascii_integer,
    parse_date,
    parse_decimal,
    parse_status_index,
)
from credentials.errors import CredentialFormatError, MalformedInputError
from credentials.lexical import CROCKFORD, MAX_IRI

# Values every rule must refuse: other scripts' digits, a final newline, signs, exponents,
# padding, controls, bidi overrides, and lengths far beyond any limit.
HOSTILE = [
    "",
    " ",
    "\n",
    "1\n",
    " 1",
    "+1",
    "1e3",
    "1_000",
    "0x10",
    "²",
    "٤٥",
    "４５",
    "1\x00",
    "\u202e1",
    "9" * 100_000,
    None,
    45,
    4.5,
    True,
    ["1"],
]

# --- decimals ---------------------------------------------------------------------------------

storage_decimals = st.decimals(
    min_value=0, max_value=Decimal("9" * 18 + "." + "9" * 12), places=12, allow_nan=False
)


@given(storage_decimals)
def test_decimal_text_round_trips_through_parse_decimal(value: Decimal) -> None:
    text = decimal_text(value)
    assert parse_decimal(text) == value
    assert decimal_text(parse_decimal(text)) == text
    assert check_decimal(value) == value


@given(storage_decimals)
def test_trailing_zeros_do_not_count_against_the_scale(value: Decimal) -> None:
    # PostgreSQL reads NUMERIC(30, 12) back with all twelve places.
    with localcontext() as ctx:
        ctx.prec = 40  # quantize() is bounded by the context precision (28 by default)
        padded = value.quantize(Decimal(1).scaleb(-12))
    assert check_decimal(padded) == value
    assert parse_decimal(format(padded, "f")) == value


@given(st.text(alphabet="0123456789.-+eE ", max_size=40))
def test_decimal_text_and_value_rules_agree(text: str) -> None:
    """Whatever text parses is a value within the limit and matches the documented pattern."""
    try:
        value = parse_decimal(text)
    except LexicalError:
        return
    assert check_decimal(value) == value
    assert re.fullmatch(STORAGE_DECIMAL.pattern[1:-1], text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1" * 18, None),
        ("1" * 19, "integer_digits"),
        ("0." + "1" * 12, None),
        ("0." + "1" * 13, "scale"),
        ("01", "form"),
        ("1.", "form"),
        (".5", "form"),
        ("-1", "form"),
        ("NaN", "form"),
        ("Infinity", "form"),
        (61.2, "type"),
        (61, "type"),
    ],
)
def test_parse_decimal_limits(text: Any, reason: str | None) -> None:
    if reason is None:
        assert parse_decimal(text) == Decimal(text)
        return
    with pytest.raises(LexicalError) as info:
        parse_decimal(text)
    assert (info.value.rule, info.value.reason) == ("decimal", reason)


@pytest.mark.parametrize("text", HOSTILE)
def test_parse_decimal_refuses_hostile_text(text: Any) -> None:
    with pytest.raises(LexicalError):
        parse_decimal(text)


@pytest.mark.parametrize(
    "value",
    [Decimal("1E+18"), Decimal("1E-13"), Decimal("NaN"), Decimal("-Infinity"), 1.5, "1"],
)
def test_check_decimal_refuses_what_the_column_cannot_hold(value: Any) -> None:
    with pytest.raises(LexicalError):
        check_decimal(value)


def test_a_decimal_limit_states_its_pattern() -> None:
    limit = DecimalLimit(integer_digits=2, scale=1)
    assert re.fullmatch(limit.pattern[1:-1], "99.9")
    assert not re.fullmatch(limit.pattern[1:-1], "100")
    with pytest.raises(LexicalError):
        parse_decimal("100", limit=limit)


# --- GTINs ------------------------------------------------------------------------------------


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
)
def test_a_gtin_with_its_check_digit_passes_and_any_other_digit_fails(payload: str) -> None:
    digit = gtin_check_digit(payload)
    assert check_gtin(payload + digit) == payload + digit
    for wrong in set("0123456789") - {digit}:
        with pytest.raises(LexicalError) as info:
            check_gtin(payload + wrong)
        assert info.value.reason == "check_digit"
        assert check_gtin(payload + wrong, check_digit=False) == payload + wrong


@pytest.mark.parametrize("gtin", ["06901234567892", "6901234567892", "96385074", "036000291452"])
def test_known_gtins_pass(gtin: str) -> None:
    assert check_gtin(gtin) == gtin
    assert re.fullmatch(GTIN_PATTERN[1:-1], gtin)


@pytest.mark.parametrize(
    "gtin", [*HOSTILE, "123456789", "0690123456789A", "٠٦٩٠١٢٣٤٥٦٧٨٩٢", "06901234567892\n"]
)
def test_malformed_gtins_are_refused_even_unchecked(gtin: Any) -> None:
    with pytest.raises(LexicalError):
        check_gtin(gtin, check_digit=False)


# --- label ids --------------------------------------------------------------------------------


@given(st.text(alphabet=CROCKFORD + CROCKFORD.lower(), min_size=10, max_size=10))
def test_label_id_normalisation_is_idempotent_and_case_insensitive(text: str) -> None:
    once = normalize_label_id(text)
    assert once == text.upper()
    assert normalize_label_id(once) == once
    assert normalize_label_id(text.lower()) == once
    assert re.fullmatch(LABEL_ID_PATTERN, text)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("7K3M9QH2XO", "7K3M9QH2X0"),
        ("7k3m9qh2xo", "7K3M9QH2X0"),
        ("IL3M9QH2X1", "113M9QH2X1"),
        ("il3m9qh2x1", "113M9QH2X1"),
    ],
)
def test_label_id_reads_crockford_aliases_as_their_digits(typed: str, canonical: str) -> None:
    assert re.fullmatch(LABEL_ID_PATTERN, typed)
    assert normalize_label_id(typed) == canonical


def test_new_label_ids_are_normal() -> None:
    label_id = new_label_id()
    assert normalize_label_id(label_id) == label_id


@pytest.mark.parametrize(
    "value",
    [
        *HOSTILE,
        "7K3M9QH2XU",  # U is neither a Crockford symbol nor an alias of one
        "7K3M9QH2Xſ",  # upper-cases to S
        "ﬀ7K3M9QH2",  # upper-cases to FF: 10 characters of Crockford out of 9
        "7K3M9QH2XD\u00a0",  # a Unicode space is not stripped
        " " * 40 + "7K3M9QH2XD",
    ],
)
def test_label_id_refuses_what_only_looks_like_one(value: Any) -> None:
    with pytest.raises(CredentialFormatError):
        normalize_label_id(value)


# --- integers and status indexes -------------------------------------------------------------


@given(st.integers(0, MAX_STATUS_INDEX))
def test_every_index_of_the_largest_list_parses(index: int) -> None:
    assert parse_status_index(str(index)) == index


@pytest.mark.parametrize("text", [*HOSTILE, str(MAX_STATUS_INDEX + 1), "-1", "-0", "00000001"])
def test_status_index_refuses_what_points_at_no_list(text: Any) -> None:
    with pytest.raises(LexicalError):
        parse_status_index(text)


@given(st.integers(-(2**63) + 1, 2**63 - 1))
def test_ascii_integers_round_trip(number: int) -> None:
    assert parse_ascii_integer(str(number), minimum=-(2**63) + 1, maximum=2**63 - 1) == number


@pytest.mark.parametrize(
    ("text", "minimum", "maximum", "reason"),
    [
        ("007", 0, 100, None),
        ("0007", 0, 100, "form"),  # more digits than the bound has
        ("101", 0, 100, "range"),
        ("-1", 0, 100, "form"),  # no sign where none can be meant
        ("-1", -1, 100, None),
        ("-2", -1, 100, "range"),
        ("--1", -1, 100, "form"),
    ],
)
def test_ascii_integer_bounds(text: str, minimum: int, maximum: int, reason: str | None) -> None:
    if reason is None:
        assert parse_ascii_integer(text, minimum=minimum, maximum=maximum) == int(text)
        return
    with pytest.raises(LexicalError) as info:
        parse_ascii_integer(text, minimum=minimum, maximum=maximum)
    assert info.value.reason == reason


@pytest.mark.parametrize("text", HOSTILE)
def test_ascii_integer_refuses_hostile_text(text: Any) -> None:
    with pytest.raises(LexicalError):
        parse_ascii_integer(text, minimum=-(2**63) + 1, maximum=2**63 - 1)


# --- IRIs and dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iri", ["urn:epc:id:sgtin:0614141.107346.2017", "https://example.org/x?y=1#z", "did:key:z6Mk"]
)
def test_absolute_iris_pass(iri: str) -> None:
    assert check_iri(iri) == iri
    assert re.fullmatch(IRI_PATTERN[1:-1], iri)


@pytest.mark.parametrize(
    "iri",
    [
        *HOSTILE,
        "_:b0",
        "relative/path",
        "urn:x y",
        "urn:x\u202e",  # RFC 3987 excludes bidi formatting characters
        "urn:x\u0085",
        "urn:\ufffe",
        "urn:" + "x" * MAX_IRI,
    ],
)
def test_non_iris_are_refused(iri: Any) -> None:
    with pytest.raises(LexicalError):
        check_iri(iri)


def test_dates_are_calendar_dates_in_ascii() -> None:
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    for text in [*HOSTILE, "2025-02-29", "20250101", "2025-W01-1", "٢٠٢٥-01-01", "2025-1-1"]:
        with pytest.raises(LexicalError):
            parse_date(text)


def test_lexical_errors_are_malformed_input() -> None:
    with pytest.raises(MalformedInputError):
        parse_decimal("x")

"""Each lexical field accepts exactly what its kit rule accepts, and loads the same value."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from credentials import (
    MAX_IRI,
    CredentialError,
    check_gtin,
    check_iri,
    check_text,
    normalize_label_id,
    parse_ascii_integer,
    parse_date,
    parse_datetime,
    parse_decimal,
)
from registry.fields import (
    MAX_ID,
    AsciiInteger,
    DateTimeStamp,
    DecimalText,
    Gtin,
    Iri,
    IsoDate,
    LabelId,
)

HOSTILE: list[Any] = [
    "",
    " ",
    "\n",
    "0",
    "1\n",
    " 1",
    "+1",
    "-1",
    "-0",
    "1e3",
    "1.",
    ".5",
    "01",
    "1_000",
    "0x10",
    "²",
    "٤٥",
    "４５",
    "1\x00",
    "\u202e1",
    "9" * 19,
    "9" * 20,
    "0." + "1" * 13,
    "9" * 10_000,
    "61.2",
    "61.20",
    "06901234567892",
    "06901234567893",
    "٠٦٩٠١٢٣٤٥٦٧٨٩٢",
    "96385074",
    "7k3m9qh2xd",
    " 7K3M9QH2XD\n",
    "7K3M9QH2XI",
    "7K3M9QH2Xſ",
    "ﬀ7K3M9QH2",
    "urn:epc:id:sgtin:0614141.107346.2017",
    "https://example.org/x",
    "_:b0",
    "urn:x\u202e",
    "urn:x y",
    "urn:" + "x" * MAX_IRI,
    "2025-01-01",
    "2025-02-29",
    "20250101",
    "2025-W01-1",
    "٢٠٢٥-01-01",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00.123+08:00",
    "2026-01-01T00:00:00",
    "20260101T000000Z",
    "2026-01-01 00:00:00Z",
    "2026-01-01T00:00Z",
    "2026-01-01T00:00:00+0800",
    "2026-01-01T00:00:00.1234567Z",
    "2026-01-01T00:00:00Z\n",
    "٢٠٢٦-01-01T00:00:00Z",
    None,
    45,
    4.5,
    True,
    ["1"],
]


def _iri(value: Any) -> str:
    return check_iri(check_text(value, max_length=500))


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_ascii_integer(value, minimum=-MAX_ID, maximum=MAX_ID)


CASES: list[tuple[str, fields.Field[Any], Callable[[Any], Any]]] = [
    ("decimal", DecimalText(), parse_decimal),
    ("gtin", Gtin(), check_gtin),
    ("gtin filter", Gtin(check_digit=False), lambda v: check_gtin(v, check_digit=False)),
    ("label id", LabelId(), normalize_label_id),
    ("IRI", Iri(500), _iri),
    ("date", IsoDate(), parse_date),
    ("time", DateTimeStamp(), parse_datetime),
    ("integer", AsciiInteger(minimum=-MAX_ID), _integer),
]


@pytest.mark.parametrize(("name", "field", "rule"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_field_and_kit_rule_agree(
    name: str, field: fields.Field[Any], rule: Callable[[Any], Any], value: Any
) -> None:
    schema = Schema.from_dict({"value": field})()
    try:
        expected = rule(value)
    except CredentialError:
        with pytest.raises(ValidationError) as info:
            schema.load({"value": value})
        assert "value" in info.value.messages_dict
        return
    assert schema.load({"value": value}) == {"value": expected}


def test_every_rule_accepts_something_here() -> None:
    """The agreement test is not vacuous: each rule takes at least one of the inputs."""
    for name, _, rule in CASES:
        accepted = []
        for value in HOSTILE:
            with contextlib.suppress(CredentialError):
                accepted.append(rule(value))
        assert accepted, name


def test_label_url_takes_the_last_segment() -> None:
    schema = Schema.from_dict({"value": LabelId(url=True)})()
    assert schema.load({"value": "https://r.example/l/7k3m9qh2xd/"}) == {"value": "7K3M9QH2XD"}
    with pytest.raises(ValidationError):
        schema.load({"value": "https://r.example/l/" + "x" * 300 + "/7K3M9QH2XD"})

"""The scheme schemas: what a client may send, and how thresholds and times are read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from credentials import Thresholds
from registry.schemes.schemas import (
    RuleSchema,
    RuleVersionSchema,
    SchemeSchema,
    rule_version_schema,
    scheme_schema,
)

VALID: dict[type[Schema], dict[str, Any]] = {
    SchemeSchema: {"code": "MO", "region": "MO", "names": {"en": "Macao"}, "owner": "DSPA"},
    RuleSchema: {"code": "PCR-TEA", "category": "tea", "names": {"en": "Tea"}},
    RuleVersionSchema: {
        "version": "1.0",
        "declared_unit": "kg",
        "standard": "ISO 14067:2018",
        "in_force_from": "2026-01-01T00:00:00+08:00",
        "thresholds": {"A": "2.5", "B": "4", "C": "6", "D": "9"},
    },
}
SERVER_OWNED = [
    (cls, name) for cls in VALID for name, field in cls().fields.items() if field.dump_only
]


def test_valid_input_loads() -> None:
    for cls, data in VALID.items():
        cls().load(data)


@pytest.mark.parametrize(("cls", "name"), SERVER_OWNED)
def test_server_owned_fields_are_refused(cls: type[Schema], name: str) -> None:
    with pytest.raises(ValidationError) as info:
        cls().load({**VALID[cls], name: "x"})
    assert info.value.messages == {name: ["Unknown field."]}


def test_server_owned_fields_are_the_expected_ones() -> None:
    owned = {(cls.__name__, name) for cls, name in SERVER_OWNED}
    assert owned == {
        ("SchemeSchema", "created_at"),
        ("SchemeSchema", "rules"),
        ("RuleSchema", "scheme"),
        ("RuleSchema", "created_at"),
        ("RuleSchema", "versions"),
        ("RuleVersionSchema", "scheme"),
        ("RuleVersionSchema", "rule"),
        ("RuleVersionSchema", "category"),
        ("RuleVersionSchema", "thresholds_unit"),
        ("RuleVersionSchema", "published_at"),
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "CN GD"),
        ("code", "../HK"),
        ("code", "HK\n"),
        ("code", "X" * 33),
        ("region", "cn-gd"),
        ("region", "Guangdong"),
        ("names", {}),
        ("names", {"english": "Macao"}),
        ("names", {"en": ""}),
        ("owner", ""),
    ],
)
def test_bad_scheme_fields_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        scheme_schema.load({**VALID[SchemeSchema], field: value})
    assert field in info.value.messages


def test_times_are_read_as_utc() -> None:
    loaded = rule_version_schema.load(VALID[RuleVersionSchema])
    assert loaded["in_force_from"] == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert loaded["in_force_from"].tzinfo is UTC
    assert loaded["in_force_until"] is None


def test_thresholds_dump_in_canonical_decimal_form() -> None:
    field = rule_version_schema.fields["thresholds"]
    bounds = Thresholds(Decimal("45.000"), Decimal("65.50"), Decimal("85"), Decimal("1E+2"))
    dumped = field.serialize("t", {"t": bounds})
    assert dumped == {"A": "45", "B": "65.5", "C": "85", "D": "100"}


_bound = st.decimals(
    min_value=0, max_value=Decimal(10**18) - 1, places=12, allow_nan=False, allow_infinity=False
)


@given(st.lists(_bound, min_size=4, max_size=4).map(sorted))
def test_thresholds_round_trip_exactly(bounds: list[Decimal]) -> None:
    text = {g: format(b, "f") for g, b in zip("ABCD", bounds, strict=True)}
    loaded = rule_version_schema.load({**VALID[RuleVersionSchema], "thresholds": text})
    assert loaded["thresholds"] == tuple(bounds)
    dumped = rule_version_schema.fields["thresholds"].serialize(
        "t", {"t": Thresholds(*loaded["thresholds"])}
    )
    again = rule_version_schema.load({**VALID[RuleVersionSchema], "thresholds": dumped})
    assert again["thresholds"] == tuple(bounds)

"""Reading and writing GS1 Digital Link URIs of trade items (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials import LexicalError, check_gtin, gtin14, gtin_check_digit, gtin_forms
from registry.resolver.uri import (
    DigitalLink,
    DigitalLinkSyntaxError,
    digital_link_url,
    parse_digital_link,
)

BASE = "https://registry.example.test"
_SET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@given(st.sampled_from([7, 11, 12, 13]), st.data())
def test_every_form_of_a_gtin_normalises_to_the_same_14_digits(
    length: int, data: st.DataObject
) -> None:
    payload = data.draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    code = payload + gtin_check_digit(payload)
    full = gtin14(code)
    assert len(full) == 14
    assert full.endswith(code)
    assert full.lstrip("0") == code.lstrip("0")
    assert code in gtin_forms(full)
    for form in gtin_forms(full):
        assert check_gtin(form) == form
        assert gtin14(form) == full
        assert parse_digital_link(form).gtin == full


def test_gtin_8_12_13_14_examples() -> None:
    assert gtin14("96385074") == "00000096385074"
    assert gtin14("042100005264") == "00042100005264"
    assert gtin14("6901234500011") == "06901234500011"
    assert gtin14("06901234500011") == "06901234500011"
    assert gtin_forms("00000096385074") == (
        "00000096385074",
        "0000096385074",
        "000096385074",
        "96385074",
    )
    assert gtin_forms("16901234500018") == ("16901234500018",)


@given(st.text(alphabet="0123456789", min_size=13, max_size=13), st.integers(1, 9))
def test_any_wrong_check_digit_is_refused(payload: str, shift: int) -> None:
    wrong = payload + str((int(gtin_check_digit(payload)) + shift) % 10)
    with pytest.raises(LexicalError) as caught:
        gtin14(wrong)
    assert caught.value.reason == "check_digit"
    with pytest.raises(DigitalLinkSyntaxError, match="check digit"):
        parse_digital_link(wrong)


@pytest.mark.parametrize(
    ("qualifiers", "lot", "serial"),
    [
        ((), None, None),
        (("10", "LOT/7"), "LOT/7", None),
        (("21", "ABC"), None, "ABC"),
        (("10", "L1", "21", "S1"), "L1", "S1"),
        (("10", _SET82[:20]), _SET82[:20], None),
        (("21", _SET82[-20:]), None, _SET82[-20:]),
    ],
)
def test_qualifiers(qualifiers: tuple[str, ...], lot: str | None, serial: str | None) -> None:
    link = parse_digital_link("6901234500011", qualifiers)
    assert link == DigitalLink("06901234500011", lot=lot, serial=serial)


def test_the_uri_percent_encodes_what_a_path_segment_cannot_carry() -> None:
    link = DigitalLink("06901234500011", lot="A/B%C", serial="x?#")
    assert digital_link_url(BASE + "/", link) == f"{BASE}/01/06901234500011/10/A%2FB%25C/21/x%3F%23"
    assert digital_link_url(BASE, DigitalLink("06901234500011")) == f"{BASE}/01/06901234500011"


@pytest.mark.parametrize(
    "qualifiers",
    [
        ("10",),
        ("22", "X"),
        ("21", "S", "10", "L"),
        ("10", "A", "10", "B"),
        ("10", ""),
        ("10", "L" * 21),
        ("10", "é"),
        ("10", "a b"),
        ("10", "a\nb"),
    ],
)
def test_bad_qualifiers(qualifiers: tuple[str, ...]) -> None:
    with pytest.raises(DigitalLinkSyntaxError):
        parse_digital_link("6901234500011", qualifiers)


@pytest.mark.parametrize(
    "value", ["", "1234567", "123456789", "06901234500011 ", "٠٦٩٠١٢٣٤٥٠٠٠١١", "0" * 1000]
)
def test_not_a_gtin(value: str) -> None:
    with pytest.raises(DigitalLinkSyntaxError):
        parse_digital_link(value)

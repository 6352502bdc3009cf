"""The one text rule for names and free text (credentials.check_text): NFC, then refusals."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from credentials import TEXT_PATTERN, TextError, check_text
from credentials.text import MAX_MARKS_PER_BASE


@pytest.mark.parametrize(
    "text",
    [
        "LFP battery module 51.2 V 100 Ah",
        "磷酸铁锂电池模组（广东）",
        "Módulo fotovoltaico — série 410 Wp",
        "מודול סוללה",  # Hebrew, right to left without any override
        "وحدة بطارية",
        "क्षमता मॉड्यूल",  # Devanagari: vowel signs and viramas on their bases
        "Tiếng Việt ệ",
        "👩‍🔬 lab 😀",  # ZWJ emoji sequence, astral characters
        '<script>alert(1)</script> & "quotes"',  # markup is text; whoever draws it escapes
    ],
)
def test_ordinary_names_in_any_script_are_accepted(text: str) -> None:
    assert check_text(text, max_length=200) == unicodedata.normalize("NFC", text)


def test_text_is_normalised_to_nfc() -> None:
    assert check_text("Cafe\u0301", max_length=10) == "Caf\u00e9"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Good\u202eevil.exe", "bidirectional"),  # RTL override
        ("a\u2066b\u2069", "bidirectional"),  # isolates
        ("A\x00B", "control"),  # NUL
        ("\x1b[31mRed\x1b[0m", "control"),  # ANSI escape
        ("Line\nbreak", "control"),  # newline in a single-line name
        ("Tab\there", "control"),
        ("del\x7f", "control"),
        ("c1\x85next-line", "control"),
        ("x\uffff", "noncharacter"),
        ("x\ufffe", "noncharacter"),
        ("x\ufdd0", "noncharacter"),
        ("x\U0010ffff", "noncharacter"),
        ("x\U0001fffe", "noncharacter"),
        ("lone \ud800 surrogate", "surrogate"),
        ("line\u2028separator", "separator"),
        ("bom\ufeff", "byte-order"),
        ("e" + "\u0301" * 400, "combining"),  # 400 combining marks
        ("", "blank"),
        ("   ", "blank"),
        ("x" * 501, "at most 500"),
        ("x" * 100_000, "at most 500"),
    ],
)
def test_text_that_cannot_be_drawn_or_stored_safely_is_refused(text: str, why: str) -> None:
    with pytest.raises(TextError, match=why):
        check_text(text, max_length=500)


def test_a_few_marks_on_one_base_are_accepted_more_are_not() -> None:
    # U+0302 U+0323 compose with e, so use marks NFC cannot absorb (U+0360 and friends).
    marks = "\u0334\u0335\u0336\u0337\u0338"
    assert check_text("a" + marks[:MAX_MARKS_PER_BASE], max_length=10)
    with pytest.raises(TextError, match="combining"):
        check_text("a" + marks[: MAX_MARKS_PER_BASE + 1], max_length=10)


def test_multiline_text_allows_line_feeds_only() -> None:
    assert check_text("first\nsecond", max_length=20, multiline=True) == "first\nsecond"
    with pytest.raises(TextError, match="control"):
        check_text("first\r\nsecond", max_length=20, multiline=True)


def test_astral_characters_count_once_as_a_varchar_counts_them() -> None:
    assert check_text("😀" * 200, max_length=200) == "😀" * 200
    with pytest.raises(TextError, match="at most 200"):
        check_text("😀" * 201, max_length=200)


def test_the_length_is_counted_after_nfc() -> None:
    # U+0958 DEVANAGARI LETTER QA is two code points in NFC (a composition exclusion).
    assert len(unicodedata.normalize("NFC", "\u0958")) == 2
    with pytest.raises(TextError, match="at most 3"):
        check_text("\u0958\u0958", max_length=3)


def test_non_strings_are_refused() -> None:
    with pytest.raises(TextError, match="string"):
        check_text(42, max_length=10)


@given(st.text(max_size=60))
def test_accepted_text_is_nfc_and_accepted_again_unchanged(text: str) -> None:
    try:
        checked = check_text(text, max_length=60)
    except TextError:
        return
    assert unicodedata.is_normalized("NFC", checked)
    assert check_text(checked, max_length=60) == checked
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in checked)


@given(st.from_regex(TEXT_PATTERN, fullmatch=True))
def test_what_the_json_schema_pattern_allows_the_rule_accepts(text: str) -> None:
    """The pattern in the OpenAPI document is the rule, short of what a pattern cannot say."""
    assume(len(unicodedata.normalize("NFC", text)) <= 100)
    assume(not any((ord(c) & 0xFFFE) == 0xFFFE for c in text))  # astral noncharacters
    assume(not any(unicodedata.category(c) == "Cs" for c in text))
    try:
        check_text(text, max_length=100)
    except TextError as exc:
        refused = str(exc)
    else:
        refused = "combining marks"
    assert "combining marks" in refused, text  # the one rule a pattern cannot state

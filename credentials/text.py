"""The one rule for names and free text: what Unicode a label (and the register) accepts.

Text is normalised to NFC and then refused if it holds anything that cannot be drawn on a
label, stored in a ``VARCHAR``, or shown without deceiving the reader:

- C0 and C1 control characters (NUL, ANSI ESC, DEL, …); a newline only in multi-line text;
- line and paragraph separators (U+2028, U+2029) and the byte-order mark (U+FEFF);
- bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which can
  make a name read differently from what is stored;
- noncharacters (U+FDD0–U+FDEF and the last two code points of every plane) and surrogates
  (a lone one cannot be encoded);
- more than :data:`MAX_MARKS_PER_BASE` combining marks in a row (stacked "Zalgo" text);
- blank text, and text longer than its limit.

Private-use and not-yet-assigned code points are accepted: they are stored and drawn (as a
placeholder glyph, if no font has them) without harm, and refusing "unassigned" would refuse
new emoji until the interpreter's Unicode tables caught up. :data:`TEXT_PATTERN` states the
rule as far as a regular expression can, for JSON Schema.

Lengths are counted in code points *after* NFC, which is what a PostgreSQL ``VARCHAR(n)``
counts; an astral character (an emoji, a rare CJK ideograph) counts as one. NFC can lengthen
text (U+0958 becomes two code points), which is why the count comes after it.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from credentials.errors import CredentialError

__all__ = [
    "MAX_MARKS_PER_BASE",
    "MULTILINE_TEXT_PATTERN",
    "TEXT_PATTERN",
    "TextError",
    "check_text",
]

MAX_MARKS_PER_BASE: Final = 4

# NFC composes at most three code points into one (Hangul L+V+T, or e + two marks): text over
# three times the limit cannot fit, and is refused before any work is done on it.
_MAX_NFC_SHRINK: Final = 3
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SEPARATORS: Final = frozenset("\u2028\u2029\ufeff")
_REFUSED_CATEGORIES: Final = {
    "Cc": "a control character",
    "Cs": "a surrogate (not a character)",
}
# The single code points refused, as a regular-expression class body (JSON Schema patterns);
# the astral noncharacters and the marks-per-base limit are beyond what a pattern states.
_REFUSED_CLASS: Final = (
    "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
    "\\ufeff\\ufdd0-\\ufdef\\ufffe\\uffff"
)
TEXT_PATTERN: Final = f"^[^{_REFUSED_CLASS}]*[^\\s{_REFUSED_CLASS}][^{_REFUSED_CLASS}]*$"
_MULTILINE_CLASS: Final = _REFUSED_CLASS.replace(
    "\\u0000-\\u001f", "\\u0000-\\u0009\\u000b-\\u001f"
)
MULTILINE_TEXT_PATTERN: Final = (
    f"^[^{_MULTILINE_CLASS}]*[^\\s{_MULTILINE_CLASS}][^{_MULTILINE_CLASS}]*$"
)


class TextError(CredentialError):
    """Text refused by :func:`check_text`; the message says why, in words a form can show."""


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(value: object, *, max_length: int, multiline: bool = False) -> str:
    """``value`` in NFC if it is acceptable text of 1 to ``max_length`` code points.

    ``multiline`` allows a line feed (U+000A) and nothing else of the controls.
    """
    if not isinstance(value, str):
        raise TextError("must be a string")
    if len(value) > _MAX_NFC_SHRINK * max_length:
        raise TextError(f"must be at most {max_length} characters")
    for char in value:
        # A lone surrogate cannot be normalised (or encoded): refuse it before NFC.
        if unicodedata.category(char) == "Cs":
            raise TextError(f"contains {_REFUSED_CATEGORIES['Cs']} ({_describe(char)})")
    text = unicodedata.normalize("NFC", value)
    if not text.strip():
        raise TextError("must not be blank")
    if len(text) > max_length:
        raise TextError(f"must be at most {max_length} characters")
    marks = 0
    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if char == "\n" and multiline:
            marks = 0
            continue
        if category in _REFUSED_CATEGORIES:
            raise TextError(f"contains {_REFUSED_CATEGORIES[category]} ({_describe(char)})")
        if (code & 0xFFFE) == 0xFFFE or 0xFDD0 <= code <= 0xFDEF:
            raise TextError(f"contains a noncharacter ({_describe(char)})")
        if char in _BIDI_CONTROLS:
            raise TextError(f"contains a bidirectional override or isolate ({_describe(char)})")
        if char in _SEPARATORS:
            raise TextError(f"contains a line separator or byte-order mark ({_describe(char)})")
        if category.startswith("M"):
            marks += 1
            if marks > MAX_MARKS_PER_BASE:
                raise TextError(
                    f"has more than {MAX_MARKS_PER_BASE} combining marks on one character"
                )
        else:
            marks = 0
    return text

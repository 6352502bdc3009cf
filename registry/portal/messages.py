"""The issuance service's commonest field messages, in the reader's language.

The API answers in English (its messages are part of its contract); the portal's pages show
the ones people meet most in the reader's language, wherever they appear: next to a form's field
or in a batch's row-by-row report. Any other message is shown as the API gave it.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext

from registry.labels.schemas import DIGITAL_LINK_NEEDS_GTIN
from registry.pact.importing import MESSAGES

__all__ = ["known_message"]

# The API's commonest messages, in the reader's language; any other is shown after a lead.
_KNOWN = {
    "Missing data for required field.": lazy_gettext("This field is required."),
    "Field may not be null.": lazy_gettext("This field is required."),
    "Not a valid string.": lazy_gettext("Enter text."),
    "Must not be before start.": lazy_gettext("The end must not be before the start."),
    "Must be greater than zero.": lazy_gettext("Enter a number greater than zero."),
    "Text must not be blank.": lazy_gettext("This field is required."),
    'A non-negative decimal string such as "61.2" (no sign or exponent).': lazy_gettext(
        "Enter a number of zero or more with a point, such as 61.2."
    ),
    'Must not be negative: send zero or more, such as "61.2" (no sign or exponent).': (
        lazy_gettext("Enter a number of zero or more with a point, such as 61.2.")
    ),
    'Use a point as the decimal separator: send "61.2", not "61,2".': lazy_gettext(
        "Use a point as the decimal separator: 61.2, not 61,2."
    ),
    'Leave out the spaces: send digits only, such as "61.2".': lazy_gettext(
        "Leave out the spaces: digits only, such as 61.2."
    ),
    'Send the number alone, such as "61.2": the unit (kgCO2e, or the declared unit) is not '
    "part of the value.": lazy_gettext("Enter the number alone, such as 61.2, without the unit."),
    "Not a valid GTIN (8, 12, 13 or 14 digits with a check digit).": lazy_gettext(
        "Not a valid GTIN: 8, 12, 13 or 14 digits with the check digit."
    ),
    'A date as YYYY-MM-DD, such as "2026-01-31".': lazy_gettext(
        "Enter a date as YYYY-MM-DD, such as 2026-01-31."
    ),
    "Must be in the future and at most five years from now.": lazy_gettext(
        "Choose a day in the future, at most five years from now."
    ),
    DIGITAL_LINK_NEEDS_GTIN: lazy_gettext(
        "A GS1 Digital Link needs the product's GTIN: enter the GTIN, or choose the label's "
        "address."
    ),
}


# The PACT mapping's commonest refusals, which name a member or a value: its templates, and the
# reader's sentence with what they name.
_PACT_SENTENCES = {
    "missing": lazy_gettext("Missing: a PACT footprint states %(member)s."),
    "decimal": lazy_gettext(
        'Must be a decimal number written as text, such as "1.25", not %(value)s.'
    ),
    "instant": lazy_gettext("Must be a date and time (RFC 3339), not %(value)s."),
    "unit": lazy_gettext("%(unit)s is not a PACT declared unit."),
    "boundary": lazy_gettext(
        "The description names neither cradle to gate nor cradle to grave (or both): choose "
        "the system boundary in the form."
    ),
}


def _pattern(template: str) -> re.Pattern[str]:
    """A template's English as a pattern: each ``{name}`` a group of that name."""
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(
            re.escape(part) if n % 2 == 0 else f"(?P<{part}>.*)" for n, part in enumerate(parts)
        )
    )


_PATTERNS = tuple((_pattern(MESSAGES[key]), sentence) for key, sentence in _PACT_SENTENCES.items())


def known_message(message: str) -> str | None:
    """``message`` in the reader's language, if it is one of the known ones."""
    known = _KNOWN.get(message)
    if known is not None:
        return str(known)
    for pattern, sentence in _PATTERNS:
        found = pattern.fullmatch(message)
        if found is not None:
            return str(sentence) % found.groupdict()
    return None

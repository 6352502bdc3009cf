"""The issuance service's commonest field messages, in the reader's language.

The API answers in English (its messages are part of its contract); the portal's pages show
the ones people meet most in the reader's language, wherever they appear: next to a form's field
or in a batch's row-by-row report. Any other message is shown as the API gave it.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

from registry.labels.schemas import DIGITAL_LINK_NEEDS_GTIN

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


def known_message(message: str) -> str | None:
    """``message`` in the reader's language, if it is one of the known ones."""
    known = _KNOWN.get(message)
    return None if known is None else str(known)

"""GS1 Digital Link URIs of trade items: reading the path of a request, writing the URI.

The resolver answers ``/01/{GTIN}``, optionally qualified by ``/10/{lot}`` and/or
``/21/{serial}`` in that order (GS1 Digital Link URI syntax 1.4: the qualifier path of AI 01 is
``22``, ``10``, ``21``; a CPV (AI 22) is not accepted here). A GTIN-8, -12, -13 or -14 is read
with the kit's GTIN rule (check digit included) and carried as 14 digits; a lot or serial is 1
to 20 characters of GS1 AI encodable character set 82, after percent-decoding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from flask_babel import gettext as _

from credentials import LexicalError, gtin14
from registry.errors import BadRequestError

__all__ = [
    "DigitalLink",
    "DigitalLinkSyntaxError",
    "digital_link_url",
    "parse_digital_link",
]

# GS1 General Specifications, figure 7.11-1: the 82 characters an AI's value may use.
_CSET82: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_MAX_PATH: Final = 80  # 14 + /10/ + 20 + /21/ + 20, decoded
_QUALIFIERS: Final = ("10", "21")  # lot, serial: the only order the syntax allows


class DigitalLinkSyntaxError(BadRequestError):
    """The path is not a GS1 Digital Link URI of a trade item; the detail says why."""

    @property
    def page(self) -> dict[str, str]:
        return {
            "explanation": _(
                "This address is not a valid GS1 Digital Link of a product. Check the number "
                "under the barcode: a GTIN has 8, 12, 13 or 14 digits, the last of them a "
                "check digit."
            )
        }


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A trade item as a Digital Link names it: the GTIN-14 and its optional qualifiers."""

    gtin: str
    lot: str | None = None
    serial: str | None = None


def parse_digital_link(gtin: str, qualifiers: Sequence[str] = ()) -> DigitalLink:
    """Read ``/01/{gtin}`` and the path segments after it, each percent-decoded on its own
    (``["10", "LOT/7", "21", "ABC"]``: a ``/`` inside a value arrives as ``%2F``). Raises
    :class:`DigitalLinkSyntaxError`."""
    if len(gtin) + sum(len(q) + 1 for q in qualifiers) > _MAX_PATH:
        raise DigitalLinkSyntaxError("The Digital Link URI is too long.")
    try:
        item = gtin14(gtin)
    except LexicalError as exc:
        if exc.reason == "check_digit":
            raise DigitalLinkSyntaxError(f"The check digit of GTIN {gtin!r} is wrong.") from None
        raise DigitalLinkSyntaxError(f"{gtin!r} is not a GTIN (8, 12, 13 or 14 digits).") from None
    if len(qualifiers) % 2:
        raise DigitalLinkSyntaxError("A qualifier is /10/{lot} or /21/{serial}.")
    values: dict[str, str] = {}
    allowed = list(_QUALIFIERS)
    for ai, value in zip(qualifiers[0::2], qualifiers[1::2], strict=True):
        if ai not in allowed:
            raise DigitalLinkSyntaxError(
                f"/{ai}/ is not a qualifier of a GTIN here: use /10/{{lot}} then /21/{{serial}}."
            )
        allowed = allowed[allowed.index(ai) + 1 :]
        if not _CSET82.fullmatch(value):
            name = "lot" if ai == "10" else "serial"
            raise DigitalLinkSyntaxError(f"A {name} is 1 to 20 characters of GS1 character set 82.")
        values[ai] = value
    return DigitalLink(item, lot=values.get("10"), serial=values.get("21"))


def digital_link_url(base_url: str, link: DigitalLink) -> str:
    """The Digital Link URI of ``link`` on the registry at ``base_url`` (GTIN-14, qualifiers
    percent-encoded where set 82 has characters a URI path may not carry)."""
    url = f"{base_url.rstrip('/')}/01/{link.gtin}"
    if link.lot is not None:
        url += f"/10/{quote(link.lot, safe='')}"
    if link.serial is not None:
        url += f"/21/{quote(link.serial, safe='')}"
    return url

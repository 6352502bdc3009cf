"""The one mapping between a label id and its PACT ProductFootprint id.

A ProductFootprint ``id`` must be a UUID. The registry's is a UUIDv8 (RFC 9562 §5.8) that
carries the label id itself: the 50 bits of its 10 Crockford base32 characters under a fixed
72-bit tag (the first 72 bits of SHA-256 of ``TAG_SEED``). So the id is stable (the same label
always gives the same UUID, on every registry and after every restart), needs no table, and
``label_id_of`` reads a label id back without a lookup. A UUID that does not carry the tag, or
is not written in the canonical lower-case form, is no footprint of ours.

Other features link here (the GS1 resolver's ``/3/footprints/{id}`` links use
``footprint_id``).
"""

from __future__ import annotations

import hashlib
import uuid

from credentials import CROCKFORD, LABEL_ID_LENGTH, normalize_label_id

__all__ = ["TAG_SEED", "footprint_id", "footprint_path", "label_id_of"]

TAG_SEED = b"carbon-label registry: PACT ProductFootprint id v1"
_LABEL_BITS = 5 * LABEL_ID_LENGTH  # 50
_TAG_BITS = 122 - _LABEL_BITS  # a UUIDv8 has 122 free bits; 72 of them hold the tag
_TAG = int.from_bytes(hashlib.sha256(TAG_SEED).digest(), "big") >> (256 - _TAG_BITS)


def _spread(value: int) -> int:
    """Place 122 bits around the version (4 bits, 8) and variant (2 bits, 0b10) fields."""
    high = value >> 74  # 48 bits: custom_a
    middle = (value >> 62) & 0xFFF  # 12 bits: custom_b
    low = value & ((1 << 62) - 1)  # 62 bits: custom_c
    return (high << 80) | (0x8 << 76) | (middle << 64) | (0b10 << 62) | low


def _gather(value: int) -> int:
    high = value >> 80
    middle = (value >> 64) & 0xFFF
    low = value & ((1 << 62) - 1)
    return (high << 74) | (middle << 62) | low


def footprint_id(label_id: str) -> str:
    """The ProductFootprint id of a label, as PACT writes a UUID (lower case, hyphenated)."""
    number = 0
    for char in normalize_label_id(label_id):
        number = (number << 5) | CROCKFORD.index(char)
    return str(uuid.UUID(int=_spread((_TAG << _LABEL_BITS) | number)))


def footprint_path(label_id: str) -> str:
    """The path of a label's footprint on this host: ``/3/footprints/{uuid}``."""
    return f"/3/footprints/{footprint_id(label_id)}"


def label_id_of(pf_id: str) -> str | None:
    """The label id a footprint id carries, or None if it is not one of ours."""
    try:
        parsed = uuid.UUID(pf_id)
    except (ValueError, AttributeError, TypeError):
        return None
    if str(parsed) != pf_id or parsed.version != 8:
        return None
    value = _gather(parsed.int)
    if value >> _LABEL_BITS != _TAG:
        return None
    number = value & ((1 << _LABEL_BITS) - 1)
    chars = [CROCKFORD[(number >> (5 * i)) & 0x1F] for i in reversed(range(LABEL_ID_LENGTH))]
    return "".join(chars)

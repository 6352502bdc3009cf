"""Base58btc (Bitcoin alphabet), fast enough for a signature per call.

The ``base58`` package converts one digit per big-integer division; at ~50 µs per 64-byte
signature that cost as much as Ed25519 itself. Dividing by 58**10 (which fits a machine word)
yields ten digits per big-integer step. ``tests/credentials/test_keys.py`` checks it against
the ``base58`` package.
"""

from __future__ import annotations

from credentials.errors import ValueTooLongError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_CHUNK = 58**10
# Decoding is quadratic in the length (a 900 KB value held a worker for 30 s). Nothing the kit
# decodes is longer than a signature (88 digits); callers pass tighter caps of their own.
MAX_DECODE_CHARS = 256


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, chunk = divmod(n, _CHUNK)
        for _ in range(10):
            chunk, digit = divmod(chunk, 58)
            out.append(ALPHABET[digit])
    while out and out[-1] == "1":
        out.pop()  # chunk padding; leading zero bytes are added back below
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str, *, max_chars: int = MAX_DECODE_CHARS, what: str = "base58 value") -> bytes:
    """Raise ``ValueError`` on a character outside the alphabet, and
    :class:`ValueTooLongError` (before any work) past ``max_chars``."""
    if len(text) > min(max_chars, MAX_DECODE_CHARS):
        raise ValueTooLongError(what, len(text), min(max_chars, MAX_DECODE_CHARS))
    zeros = len(text) - len(text.lstrip("1"))
    n = 0
    try:
        for c in text:
            n = n * 58 + _INDEX[c]
    except KeyError:
        raise ValueError(f"invalid base58 character {c!r}") from None
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body

"""A keyed pseudo-random permutation of ``[0, size)``: status-list indexes without a lookup.

A list draws its ``n``-th index as ``permute(key, size, n)``, ``n`` being its allocation
counter (held under the list's row lock), so indexes are distinct by construction and no query
for the taken ones is needed; without the key, the indexes say nothing about issuance order
(herd privacy, as a random draw gives). A balanced Feistel network over the smallest even
number of bits that covers ``size``, with keyed BLAKE2b as the round function, is a bijection
on that power of two; cycle-walking (apply again until the value falls below ``size``) makes
it one on ``[0, size)`` (Black and Rogaway, "Ciphers with arbitrary finite domains", 2002).
"""

from __future__ import annotations

import hashlib

__all__ = ["KEY_BYTES", "permute"]

KEY_BYTES = 16
_ROUNDS = 4


def permute(key: bytes, size: int, n: int) -> int:
    """The image of ``n`` under the permutation of ``[0, size)`` that ``key`` selects."""
    if not 0 <= n < size:
        raise ValueError(f"{n} is outside [0, {size})")
    half = max(1, ((size - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    width = (half + 7) // 8
    value = n
    while True:
        left, right = value >> half, value & mask
        for round_ in range(_ROUNDS):
            digest = hashlib.blake2b(
                bytes((round_,)) + right.to_bytes(width, "big"), key=key, digest_size=8
            ).digest()
            left, right = right, left ^ (int.from_bytes(digest, "big") & mask)
        value = (left << half) | right
        if value < size:
            return value

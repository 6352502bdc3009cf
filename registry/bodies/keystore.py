"""Where body signing keys' secrets live: a swappable backend behind one protocol.

The default seals each 32-byte Ed25519 seed with XChaCha20-Poly1305 under the key-encryption
key from the environment (``REGISTRY_KEK``). The public key is the associated data, so a sealed
secret copied onto another key's row fails to open instead of signing in that key's name.
An HSM- or KMS-backed store would implement the same protocol.
"""

from __future__ import annotations

import secrets
from typing import Protocol

import nacl.exceptions
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)

from credentials import KeyPair

__all__ = ["KeyStore", "KeyStoreError", "SealedKeyStore"]

_VERSION = b"\x01"  # leading byte of every box, so the format can change later


class KeyStoreError(Exception):
    """A sealed secret could not be opened (wrong KEK, tampered or misplaced)."""


class KeyStore(Protocol):
    def seal(self, key: KeyPair) -> bytes:
        """The stored form of ``key``'s secret."""
        ...

    def open(self, box: bytes, *, public_key_multibase: str) -> KeyPair:
        """The key pair sealed in ``box``; raise :class:`KeyStoreError` if it is not that key."""
        ...

    def is_current(self, box: bytes, *, public_key_multibase: str) -> bool:
        """Whether ``box`` is stored as :meth:`seal` stores now (``keys rewrap`` re-seals the
        rest)."""
        ...


class SealedKeyStore:
    """Seeds sealed with XChaCha20-Poly1305 under a 32-byte key-encryption key.

    While the KEK is rotated, ``previous`` (the KEK before) still opens what it sealed; every
    new seal is under ``kek``, and :meth:`is_current` tells what `keys rewrap` must re-seal.
    """

    def __init__(self, kek: bytes, previous: bytes | None = None) -> None:
        if len(kek) != 32 or (previous is not None and len(previous) != 32):
            raise ValueError("a key-encryption key must be 32 bytes")
        self._kek = kek
        self._previous = previous

    def seal(self, key: KeyPair) -> bytes:
        nonce = secrets.token_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        aad = key.public_key.multibase.encode("ascii")
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(key.seed, aad, nonce, self._kek)
        return _VERSION + nonce + sealed

    def open(self, box: bytes, *, public_key_multibase: str) -> KeyPair:
        seed = self._seed(box, public_key_multibase, self._kek)
        if seed is None and self._previous is not None:
            seed = self._seed(box, public_key_multibase, self._previous)
        if seed is None:
            raise KeyStoreError("the sealed key does not open under this KEK for this key")
        key = KeyPair.from_seed(seed)
        if key.public_key.multibase != public_key_multibase:
            raise KeyStoreError("the sealed secret belongs to another public key")
        return key

    def is_current(self, box: bytes, *, public_key_multibase: str) -> bool:
        """Whether ``box`` is sealed under the current KEK (so a rewrap leaves it alone)."""
        return self._seed(box, public_key_multibase, self._kek) is not None

    @staticmethod
    def _seed(box: bytes, public_key_multibase: str, kek: bytes) -> bytes | None:
        n = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
        if len(box) < 1 + n or box[:1] != _VERSION:
            raise KeyStoreError("not a sealed key of a known format")
        nonce, sealed = box[1 : 1 + n], box[1 + n :]
        try:
            return bytes(
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    sealed, public_key_multibase.encode("ascii"), nonce, kek
                )
            )
        except nacl.exceptions.CryptoError:
            return None

"""Ed25519 keys, Multikey encoding and did:key.

Public keys are Multikey ``z6Mk…`` (base58btc of 0xed01 ‖ key); secret keys ``z3u2…``
(base58btc of 0x8026 ‖ 32-byte seed). A did:key's verification method id is
``did:key:z6Mk…#z6Mk…``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import lru_cache

import nacl.exceptions
import nacl.signing

from credentials._internal.base58 import b58decode, b58encode
from credentials.errors import KeyFormatError, KeyTooLongError, SignatureError

_ED25519_PUB_PREFIX = b"\xed\x01"
_ED25519_PRIV_PREFIX = b"\x80\x26"
_DID_KEY_PREFIX = "did:key:"
#: The longest multibase value the kit decodes: a 64-byte signature is at most 89 characters.
MAX_MULTIBASE_CHARS = 96
# did:key:z6Mk…#z6Mk…: two 48-character Multikeys and the prefix.
_MAX_DID_CHARS = len(_DID_KEY_PREFIX) + 2 * 49 + 1

__all__ = [
    "KeyPair",
    "PublicKey",
    "decode_multibase_base58",
    "did_key_from_public_key",
    "encode_multibase_base58",
    "public_key_from_did",
    "public_key_from_verification_method",
]


def encode_multibase_base58(data: bytes) -> str:
    """Multibase base58btc (prefix ``z``)."""
    return "z" + b58encode(data)


def decode_multibase_base58(
    value: str, *, max_chars: int = MAX_MULTIBASE_CHARS, what: str = "multibase value"
) -> bytes:
    """Decode a multibase base58btc string, raising :class:`KeyFormatError` if it is not one
    (:class:`~credentials.errors.KeyTooLongError`, before decoding, past ``max_chars``)."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise KeyFormatError("expected a multibase base58btc string starting with 'z'")
    if len(value) > max_chars:
        raise KeyTooLongError(what, len(value), max_chars)
    try:
        return b58decode(value[1:], what=what)
    except ValueError as exc:
        raise KeyFormatError("invalid base58btc characters") from exc


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key."""

    raw: bytes
    _verify_key: nacl.signing.VerifyKey = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicKey:
        if len(raw) != 32:
            raise KeyFormatError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
        return cls(raw, nacl.signing.VerifyKey(raw))

    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        data = decode_multibase_base58(value)
        if not data.startswith(_ED25519_PUB_PREFIX):
            raise KeyFormatError("not an Ed25519 Multikey public key (multicodec 0xed01)")
        return cls.from_bytes(data[2:])

    @property
    def multibase(self) -> str:
        return encode_multibase_base58(_ED25519_PUB_PREFIX + self.raw)

    @property
    def did(self) -> str:
        return _DID_KEY_PREFIX + self.multibase

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.multibase}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Raise :class:`SignatureError` unless ``signature`` is valid for ``message``."""
        if len(signature) != 64:
            raise SignatureError(f"an Ed25519 signature has 64 bytes, not {len(signature)}")
        try:
            self._verify_key.verify(message, signature)
        except nacl.exceptions.BadSignatureError as exc:
            raise SignatureError("signature does not verify") from exc


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An Ed25519 key pair, held as its 32-byte seed."""

    seed: bytes = field(repr=False)
    public_key: PublicKey
    _signing_key: nacl.signing.SigningKey = field(repr=False, compare=False, hash=False)

    @classmethod
    def generate(cls) -> KeyPair:
        return cls.from_seed(secrets.token_bytes(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        if len(seed) != 32:
            raise KeyFormatError(f"an Ed25519 seed has 32 bytes, not {len(seed)}")
        signing = nacl.signing.SigningKey(seed)
        return cls(seed, PublicKey.from_bytes(bytes(signing.verify_key)), signing)

    @classmethod
    def from_secret_multibase(cls, value: str) -> KeyPair:
        data = decode_multibase_base58(value)
        if not data.startswith(_ED25519_PRIV_PREFIX):
            raise KeyFormatError("not an Ed25519 Multikey secret key (multicodec 0x8026)")
        return cls.from_seed(data[2:])

    @property
    def secret_multibase(self) -> str:
        return encode_multibase_base58(_ED25519_PRIV_PREFIX + self.seed)

    @property
    def did(self) -> str:
        return self.public_key.did

    @property
    def verification_method(self) -> str:
        return self.public_key.verification_method

    def sign(self, message: bytes) -> bytes:
        return self._signing_key.sign(message).signature


def did_key_from_public_key(key: PublicKey) -> str:
    return key.did


def public_key_from_did(did: str) -> PublicKey:
    """The Ed25519 key a ``did:key:z6Mk…`` names (a fragment, if any, must repeat it)."""
    if not isinstance(did, str) or not did.startswith(_DID_KEY_PREFIX):
        raise KeyFormatError("not a did:key identifier")
    if len(did) > _MAX_DID_CHARS:
        # Measured before the cache too: it must not hold megabyte keys.
        raise KeyTooLongError("did:key identifier", len(did), _MAX_DID_CHARS)
    return _key_from_did(did)


@lru_cache(maxsize=4096)
def _key_from_did(did: str) -> PublicKey:
    body, _, fragment = did[len(_DID_KEY_PREFIX) :].partition("#")
    key = PublicKey.from_multibase(body)
    if fragment and fragment != body:
        raise KeyFormatError("did:key fragment does not match the key it names")
    return key


def public_key_from_verification_method(vm: str) -> PublicKey:
    """Resolve a did:key verification method id (``did:key:z…#z…``) without the network."""
    if not isinstance(vm, str) or "#" not in vm:
        raise KeyFormatError("verification method must be did:key:z…#z…")
    return public_key_from_did(vm)

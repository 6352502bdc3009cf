"""The portal's secrets: Argon2id passwords, RFC 6238 codes, and the random values it hands out.

TOTP is the RFC 6238 default (HMAC-SHA1, 30-second steps, 6 digits), what every
authenticator app reads from an ``otpauth://`` URI; it is a few lines on the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import unicodedata
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "TOTP_STEP",
    "digest",
    "hash_password",
    "new_recovery_code",
    "new_secret",
    "new_totp_secret",
    "open_totp_secret",
    "password_problem",
    "seal_totp_secret",
    "totp_at",
    "totp_step",
    "totp_uri",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # Argon2 takes any length; this bounds the work one request costs
TOTP_STEP = 30
TOTP_DIGITS = 6
_HASHER = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# A few choices every guessing list starts with; the length rule already refuses most others.
_WEAK = frozenset(
    {
        "password1234",
        "passwordpassword",
        "123456789012",
        "qwertyuiopas",
        "carbonlabel1",
        "carbonlabelregistry",
        "letmeinletmein",
        "iloveyou1234",
        "administrator",
    }
)


def new_secret() -> str:
    """256 random bits, URL-safe: session ids and invitation links."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> bytes:
    """What the tables keep of a random secret: 256 bits of entropy need no salt."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def _normalized(password: str) -> str:
    # The same password typed on two keyboards can arrive composed or decomposed.
    return unicodedata.normalize("NFC", password)


def password_problem(password: str, *, email: str) -> str | None:
    """Why ``password`` is refused (a message code), or ``None``."""
    text = _normalized(password)
    if len(text) < MIN_PASSWORD_LENGTH:
        return "too-short"
    if len(text) > MAX_PASSWORD_LENGTH:
        return "too-long"
    lowered = text.lower()
    local = email.partition("@")[0].lower()
    if lowered in _WEAK or len(set(lowered)) < 4 or (len(local) >= 4 and local in lowered):
        return "too-weak"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(_normalized(password))


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        # Spend the same time as for a real account, so the answer's timing names nobody.
        _HASHER.hash(password[:MAX_PASSWORD_LENGTH])
        return False
    try:
        return _HASHER.verify(stored, _normalized(password[: MAX_PASSWORD_LENGTH + 1]))
    except (VerificationError, InvalidHashError):
        return False


def new_recovery_code() -> str:
    """80 random bits as 16 base32 letters in four groups: easy to copy by hand."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalize_recovery_code(code: str) -> str:
    bare = "".join(c for c in code.upper() if c.isalnum())
    return "-".join(bare[i : i + 4] for i in range(0, len(bare), 4))


def new_totp_secret() -> bytes:
    return secrets.token_bytes(20)  # RFC 4226 recommends 160 bits for HMAC-SHA1


def _box(kek: bytes) -> SecretBox:
    # A key of its own, derived from the KEK, so a TOTP seal never opens a signing key's box.
    return SecretBox(hashlib.blake2b(kek, digest_size=32, person=b"portal-totp").digest())


def seal_totp_secret(secret: bytes, *, kek: bytes) -> bytes:
    return bytes(_box(kek).encrypt(secret))


def open_totp_secret(sealed: bytes, *, kek: bytes, previous: bytes | None = None) -> bytes | None:
    """The secret, opened under ``kek`` or (while the KEK is rotated) ``previous``."""
    for key in (kek,) if previous is None else (kek, previous):
        try:
            return bytes(_box(key).decrypt(sealed))
        except CryptoError:
            continue
    return None


def totp_step(at: datetime) -> int:
    return int(at.timestamp()) // TOTP_STEP


def totp_at(secret: bytes, step: int) -> str:
    """The RFC 4226 HOTP value of ``step`` (RFC 6238: the step counts 30 s since the epoch)."""
    mac = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_text(secret: bytes) -> str:
    """The secret as authenticator apps take it typed in: base32, no padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def totp_uri(secret: bytes, *, account: str, issuer: str) -> str:
    from urllib.parse import quote

    label = quote(f"{issuer}:{account}")
    return (
        f"otpauth://totp/{label}?secret={totp_text(secret)}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}"
    )

"""A registry's trust bundle, signed: checked against a pinned registry key before any of it
is trusted.

The form is ``{"payload": {...}, "signature": {"alg": "Ed25519", "key": <multibase>,
"value": <base64>}}``. The payload is a trust bundle's JSON (``credentials.trust``) plus
``registry`` (who made it), ``issued`` and ``validUntil``; the signature is Ed25519 over the
payload's RFC 8785 (JCS) bytes, so any change to any member, a member added or one removed,
breaks it. The key is the registry's bundle key, published at ``/trust-bundle/key``: a key of
its own, not the log key (a checkpoint signer must not be able to vouch for bodies and rules).

:func:`open_bundle` refuses, each with its own reason, a bundle that is unsigned, malformed or
truncated, signed by another key than the pinned one, altered after signing, or out of its
validity window. Without a pinned key it says which key signed and that it was not pinned,
and gives no bundle to trust.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from credentials._internal.jcs import canonical_json
from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.errors import CredentialError, SignatureError, TrustError
from credentials.keys import KeyPair, PublicKey
from credentials.trust import TrustBundle

__all__ = [
    "BUNDLE_ALG",
    "BundleRefusal",
    "OpenedBundle",
    "SignedBundleError",
    "is_signed_bundle",
    "open_bundle",
    "sign_bundle",
]

BUNDLE_ALG = "Ed25519"
_ENVELOPE = frozenset({"payload", "signature"})
_SIGNATURE = frozenset({"alg", "key", "value"})
_OWN = ("registry", "issued", "validUntil")


class BundleRefusal(StrEnum):
    """Why a signed bundle is not trusted (stable machine values)."""

    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    NOT_PINNED = "not_pinned"
    OTHER_KEY = "other_key"
    SIGNATURE_INVALID = "signature_invalid"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"


class SignedBundleError(TrustError):
    """A signed bundle that must not be trusted; ``refusal`` says why, ``key`` who signed."""

    def __init__(self, refusal: BundleRefusal, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.key = key


@dataclass(frozen=True, slots=True)
class OpenedBundle:
    bundle: TrustBundle
    registry: str
    key: str  # the multibase public key that signed, equal to the pinned one
    issued: datetime
    valid_until: datetime


def sign_bundle(
    bundle: TrustBundle,
    signer: KeyPair,
    *,
    registry: str,
    issued: datetime,
    valid_until: datetime,
) -> dict[str, Any]:
    """The signed form of ``bundle``, valid from ``issued`` until ``valid_until``."""
    if valid_until <= issued:
        raise ValueError("a bundle's validity ends after it is issued")
    payload = {
        **bundle.to_json(),
        "registry": registry,
        "issued": format_datetime(issued),
        "validUntil": format_datetime(valid_until),
    }
    signature = signer.sign(canonical_json(payload))
    return {
        "payload": payload,
        "signature": {
            "alg": BUNDLE_ALG,
            "key": signer.public_key.multibase,
            "value": base64.b64encode(signature).decode("ascii"),
        },
    }


def is_signed_bundle(data: Any) -> bool:
    """Whether ``data`` has the signed form (checked or not)."""
    return isinstance(data, dict) and "payload" in data and "signature" in data


def open_bundle(data: Any, *, pinned: str | None, now: datetime) -> OpenedBundle:
    """The bundle inside ``data`` if ``pinned`` (a multibase Ed25519 public key) signed it and
    it is valid at ``now``; otherwise :class:`SignedBundleError` with the reason."""
    if not isinstance(data, dict) or "signature" not in data:
        raise SignedBundleError(
            BundleRefusal.UNSIGNED,
            "the trust bundle is not signed; a registry's bundle carries its signature",
        )
    if set(data) != _ENVELOPE:
        raise SignedBundleError(
            BundleRefusal.MALFORMED, "a signed bundle has exactly payload and signature"
        )
    payload, signature = data["payload"], data["signature"]
    if not isinstance(signature, dict) or set(signature) != _SIGNATURE:
        raise SignedBundleError(BundleRefusal.MALFORMED, "signature has alg, key and value")
    if signature["alg"] != BUNDLE_ALG:
        raise SignedBundleError(BundleRefusal.MALFORMED, f"alg must be {BUNDLE_ALG}")
    key_text = signature["key"]
    try:
        key = PublicKey.from_multibase(key_text)
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (CredentialError, binascii.Error, ValueError, TypeError) as exc:
        raise SignedBundleError(BundleRefusal.MALFORMED, f"unreadable signature: {exc}") from exc
    if pinned is None:
        raise SignedBundleError(
            BundleRefusal.NOT_PINNED,
            f"the bundle is signed by registry key {key.multibase}, which was not pinned: "
            "give the registry's key (published at /trust-bundle/key) with --registry-key",
            key.multibase,
        )
    if key.multibase != pinned:
        raise SignedBundleError(
            BundleRefusal.OTHER_KEY,
            f"the bundle is signed by {key.multibase}, not by the pinned registry key {pinned}",
            key.multibase,
        )
    if not isinstance(payload, dict):
        raise SignedBundleError(BundleRefusal.MALFORMED, "payload must be an object")
    try:
        key.verify(canonical_json(payload), value)
    except CredentialError as exc:
        if not isinstance(exc, SignatureError):
            raise SignedBundleError(
                BundleRefusal.MALFORMED, f"payload is not JSON a bundle holds: {exc}"
            ) from exc
        raise SignedBundleError(
            BundleRefusal.SIGNATURE_INVALID,
            "the bundle was altered after the registry signed it",
            key.multibase,
        ) from None
    # Signed by the pinned key: now its members can be read, and must be complete.
    try:
        registry = payload["registry"]
        issued = parse_datetime(payload["issued"], field="issued")
        valid_until = parse_datetime(payload["validUntil"], field="validUntil")
        if not isinstance(registry, str) or not registry:
            raise TrustError("registry must be a non-empty string")
        bundle = TrustBundle.from_json({k: v for k, v in payload.items() if k not in _OWN})
    except (CredentialError, KeyError) as exc:
        raise SignedBundleError(
            BundleRefusal.MALFORMED, f"signed but incomplete: {exc}", key.multibase
        ) from exc
    if now < issued:
        raise SignedBundleError(
            BundleRefusal.NOT_YET_VALID,
            f"the bundle is dated {format_datetime(issued)}, after now",
            key.multibase,
        )
    if now >= valid_until:
        raise SignedBundleError(
            BundleRefusal.EXPIRED,
            f"the bundle expired at {format_datetime(valid_until)}; fetch a fresh one from "
            f"{registry}/trust-bundle",
            key.multibase,
        )
    return OpenedBundle(bundle, registry, key.multibase, issued, valid_until)

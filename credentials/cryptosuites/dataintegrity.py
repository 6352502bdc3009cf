"""Data Integrity 1.0: add and verify proofs, including proof sets and proof chains.

A document may carry several proofs. Each is checked on its own against the document without
proofs, except a chained proof (``previousProof``), which also covers the proofs it names.
Verification fails closed: no proof, an unknown suite, or one bad proof fails the document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.cryptosuites.eddsa import EDDSA_JCS_2022, EDDSA_RDFC_2022, SUITES, Cryptosuite
from credentials.errors import (
    KeyFormatError,
    MalformedInputError,
    ProofError,
    ProofTooLongError,
    UnsupportedCryptosuiteError,
)
from credentials.jsonld import DEFAULT_LOADER, DocumentLoader
from credentials.keys import (
    KeyPair,
    PublicKey,
    decode_multibase_base58,
    encode_multibase_base58,
    public_key_from_verification_method,
)

__all__ = [
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "KeyResolver",
    "VerifiedProof",
    "sign_document",
    "verify_document",
]

KeyResolver = Callable[[str], PublicKey]
_PROOF_TYPE = "DataIntegrityProof"
#: Proofs one document may carry. Each costs a canonicalization; a label has one.
MAX_PROOFS = 8
_MAX_PROOF_VALUE_CHARS = 90  # "z" and at most 88 base58 digits for 64 bytes


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """A proof that verified: which key made it, when, and for what purpose."""

    cryptosuite: str
    verification_method: str
    public_key: PublicKey
    proof_purpose: str
    created: datetime | None
    id: str | None


def _proofs_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    proof = document.get("proof")
    if proof is None:
        return []
    proofs = proof if isinstance(proof, list) else [proof]
    if len(proofs) > MAX_PROOFS:
        raise ProofTooLongError("proof set", len(proofs), MAX_PROOFS)
    if not all(isinstance(p, dict) for p in proofs):
        raise ProofError("proof must be an object or an array of objects")
    return proofs


def _without_proof(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def _chained_input(
    document: dict[str, Any], all_proofs: list[dict[str, Any]], previous: Any
) -> dict[str, Any]:
    """The document a chained proof signs: without proofs, plus the proofs it names."""
    unsecured = _without_proof(document)
    if previous is None:
        return unsecured
    wanted = [previous] if isinstance(previous, str) else previous
    if not isinstance(wanted, list) or not wanted or not all(isinstance(w, str) for w in wanted):
        raise ProofError("previousProof must be a proof id or a non-empty array of ids")
    matching = [p for p in all_proofs if p.get("id") in wanted]
    if len(matching) != len(wanted):
        raise ProofError("previousProof names a proof the document does not carry")
    unsecured["proof"] = matching
    return unsecured


def sign_document(
    document: dict[str, Any],
    *,
    key: KeyPair,
    cryptosuite: str = EDDSA_RDFC_2022,
    created: datetime | None = None,
    verification_method: str | None = None,
    proof_purpose: str = "assertionMethod",
    proof_id: str | None = None,
    previous_proof: str | Sequence[str] | None = None,
    loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with a new DataIntegrityProof added to its proofs."""
    suite = SUITES.get(cryptosuite)
    if suite is None:
        raise UnsupportedCryptosuiteError(f"unsupported cryptosuite {cryptosuite!r}")
    if not isinstance(document, dict):
        raise MalformedInputError("a document to sign must be a JSON object")
    loader = loader or DEFAULT_LOADER
    existing = _proofs_of(document)
    previous: Any = (
        previous_proof if isinstance(previous_proof, str | None) else list(previous_proof)
    )
    unsecured = _chained_input(document, existing, previous)
    options: dict[str, Any] = {"type": _PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options["cryptosuite"] = cryptosuite
    options["created"] = format_datetime(created or datetime.now(UTC))
    options["verificationMethod"] = verification_method or key.verification_method
    options["proofPurpose"] = proof_purpose
    if previous is not None:
        options["previousProof"] = previous
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    signature = key.sign(suite.hash_data(unsecured, config, loader))
    proof = config if cryptosuite == EDDSA_JCS_2022 else options
    proof = {**proof, "proofValue": encode_multibase_base58(signature)}
    proofs = [*existing, proof]
    return {**_without_proof(document), "proof": proofs[0] if len(proofs) == 1 else proofs}


def verify_document(
    document: Any,
    *,
    expected_purpose: str = "assertionMethod",
    key_resolver: KeyResolver = public_key_from_verification_method,
    now: datetime | None = None,
    loader: DocumentLoader | None = None,
) -> tuple[VerifiedProof, ...]:
    """Verify every proof on ``document``; raise :class:`ProofError` unless all verify."""
    if not isinstance(document, dict):
        raise MalformedInputError("a secured document must be a JSON object")
    proofs = _proofs_of(document)
    if not proofs:
        raise ProofError("the document has no proof")
    loader = loader or DEFAULT_LOADER
    # Every proof's cheap, bounded fields are read before any canonicalization is paid for.
    prepared = [_prepare(proof, expected_purpose, key_resolver, now) for proof in proofs]
    return tuple(_verify_one(document, proofs, p, loader) for p in prepared)


@dataclass(frozen=True, slots=True)
class _Prepared:
    proof: dict[str, Any]
    suite: Cryptosuite
    method: str
    public_key: PublicKey
    created: datetime | None
    signature: bytes
    purpose: str


def _prepare(
    proof: dict[str, Any],
    expected_purpose: str,
    key_resolver: KeyResolver,
    now: datetime | None,
) -> _Prepared:
    if proof.get("type") != _PROOF_TYPE:
        raise ProofError(f"proof type must be {_PROOF_TYPE}, not {proof.get('type')!r}")
    name = proof.get("cryptosuite")
    suite = SUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        raise UnsupportedCryptosuiteError(f"unsupported cryptosuite {name!r}")
    if proof.get("proofPurpose") != expected_purpose:
        raise ProofError(
            f"proof purpose is {proof.get('proofPurpose')!r}, expected {expected_purpose!r}"
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise ProofError("proof has no verificationMethod")
    created = _optional_time(proof, "created")
    expires = _optional_time(proof, "expires")
    if expires is not None and expires <= (now or datetime.now(UTC)):
        raise ProofError("proof has expired")
    signature = _signature(proof.get("proofValue"))
    try:
        public_key = key_resolver(method)
    except KeyFormatError as exc:
        raise ProofError(f"cannot resolve verification method: {exc}") from exc
    return _Prepared(proof, suite, method, public_key, created, signature, expected_purpose)


def _verify_one(
    document: dict[str, Any],
    all_proofs: list[dict[str, Any]],
    prepared: _Prepared,
    loader: DocumentLoader,
) -> VerifiedProof:
    proof = prepared.proof
    unsecured = _chained_input(document, all_proofs, proof.get("previousProof"))
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        # The signed contexts must be the document's first contexts, in order.
        signed_ctx, doc_ctx = _as_list(options["@context"]), _as_list(unsecured.get("@context"))
        if doc_ctx[: len(signed_ctx)] != signed_ctx:
            raise ProofError("the proof's @context does not match the document's")
        unsecured["@context"] = options["@context"]
    elif "@context" in unsecured:
        options["@context"] = unsecured["@context"]
    message = prepared.suite.hash_data(unsecured, options, loader)
    prepared.public_key.verify(message, prepared.signature)
    proof_id = proof.get("id")
    return VerifiedProof(
        cryptosuite=prepared.suite.name,
        verification_method=prepared.method,
        public_key=prepared.public_key,
        proof_purpose=prepared.purpose,
        created=prepared.created,
        id=proof_id if isinstance(proof_id, str) else None,
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _optional_time(proof: dict[str, Any], field: str) -> datetime | None:
    if field not in proof:
        return None
    try:
        return parse_datetime(proof[field], field=f"proof {field}")
    except MalformedInputError as exc:
        raise ProofError(str(exc)) from exc


def _signature(proof_value: Any) -> bytes:
    if not isinstance(proof_value, str):
        raise ProofError("proof has no proofValue")
    if len(proof_value) > _MAX_PROOF_VALUE_CHARS:
        raise ProofTooLongError("proofValue", len(proof_value), _MAX_PROOF_VALUE_CHARS)
    try:
        signature = decode_multibase_base58(proof_value)
    except KeyFormatError as exc:
        raise ProofError(f"proofValue is not multibase base58btc: {exc}") from exc
    if len(signature) != 64:
        raise ProofError(f"proofValue holds {len(signature)} bytes; an Ed25519 signature has 64")
    return signature

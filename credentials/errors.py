"""Typed errors of the verifier kit.

Every failure is a subclass of :class:`CredentialError`, so callers can catch the family or one
member. Checks raise; they never return ``False``.
"""

from __future__ import annotations


class CredentialError(Exception):
    """Base of every error the kit raises."""


class MalformedInputError(CredentialError):
    """Input is not the JSON (or shape) expected: wrong types, too big, too deep, not JSON."""


class KeyFormatError(CredentialError):
    """A key, multibase string, did:key or verification method id is malformed."""


class ContextError(CredentialError):
    """A JSON-LD context is unknown, refused by the document loader, or invalid."""


class UndefinedTermError(CredentialError):
    """A term or type is not defined by the document's contexts (it would be unsigned)."""


class CanonicalizationError(CredentialError):
    """The document could not be canonicalized (JSON-LD or RFC 8785)."""


class ProofError(CredentialError):
    """A Data Integrity proof is missing, malformed, or does not verify."""


class UnsupportedCryptosuiteError(ProofError):
    """The proof names a cryptosuite the kit does not implement."""


class SignatureError(ProofError):
    """The signature does not verify under the stated key."""


class CredentialFormatError(CredentialError):
    """A CarbonLabelCredential is missing fields or has malformed values."""


class GradingError(CredentialError):
    """Thresholds are inconsistent or a footprint cannot be graded."""


class StatusListError(CredentialError):
    """A Bitstring Status List or an entry pointing at it is malformed or mismatched."""


class MerkleError(CredentialError):
    """A Merkle tree request or proof is invalid."""


class InclusionProofError(MerkleError):
    """An inclusion proof does not verify."""


class ConsistencyProofError(MerkleError):
    """A consistency proof does not verify."""


class LedgerEventError(CredentialError):
    """A ledger entry is not one of the ledger's event types, exactly as they are written."""


class UnknownLedgerEventError(LedgerEventError):
    """A ledger entry names an event kind the vocabulary does not define."""


class NoteError(CredentialError):
    """A C2SP signed note, verifier key or checkpoint is malformed or unverified."""


class TrustError(CredentialError):
    """A trust bundle is malformed or does not support the claim being checked."""


class ValueTooLongError(MalformedInputError):
    """An encoded value (or a list of them) is longer than any valid one: refused undecoded.

    Decoding costs grow with length (base58 quadratically), so each value is measured first.
    ``what`` names the value, ``length`` and ``limit`` are in characters (or entries).
    """

    def __init__(self, what: str, length: int, limit: int) -> None:
        super().__init__(f"{what} is {length} long; the limit is {limit}")
        self.what = what
        self.length = length
        self.limit = limit


# One per family, so a caller catching the family (a bad key, a bad proof…) still catches it.
class KeyTooLongError(ValueTooLongError, KeyFormatError):
    """A multibase key or did:key is longer than any valid one."""


class ProofTooLongError(ValueTooLongError, ProofError):
    """A proofValue, or the proof set, is longer than any valid one."""


class NoteTooLongError(ValueTooLongError, NoteError):
    """A signed note, a note key or a base64 value in one is longer than any valid one."""


class TrustValueTooLongError(ValueTooLongError, TrustError):
    """A value in a trust bundle is longer than any valid one."""


class StatusListTooLongError(ValueTooLongError, StatusListError):
    """A status list's ``encodedList`` is longer than any list the kit accepts."""


# Both families: a malformed value is malformed input, and most are a credential's values.
class LexicalError(MalformedInputError, CredentialFormatError):
    """A value is not written the way its lexical rule (:mod:`credentials.lexical`) states.

    ``rule`` names the rule (``decimal``, ``iri``, ``gtin``, ``label_id``, ``integer``,
    ``date``) and ``reason`` what failed, so a caller can word the failure in its own terms (a
    form field, a status-list error) without parsing the message.
    """

    def __init__(self, message: str, *, rule: str, reason: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.reason = reason

"""C2SP signed notes (v1.0.0), tlog checkpoints (v1.0.0) and Ed25519 cosignatures (v1.0.1).

Opening follows golang.org/x/mod/sumdb/note ``Open``: signatures from unknown (name, key ID)
pairs are ignored, a failing signature from a known key rejects the whole note, and at least one
known key must verify. We are stricter in two places: base64 must be canonical (so no two
encodings of one signature exist) and every distinct line from a known key is verified, not just
the first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Self

from credentials.errors import (
    KeyFormatError,
    LexicalError,
    NoteError,
    NoteTooLongError,
    SignatureError,
)
from credentials.keys import KeyPair, PublicKey
from credentials.lexical import parse_ascii_integer

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "Checkpoint",
    "CosignatureSigner",
    "CosignedCheckpoint",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "cosign",
    "open_checkpoint",
    "open_cosigned_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
]

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
_SIG_PREFIX = "— "  # U+2014 EM DASH, U+0020
_MAX_SIGNATURES = 100  # Go's limit; the spec requires accepting at least 16
_MAX_TIMESTAMP = 2**63 - 1
_KEY_ID = re.compile(r"[0-9a-f]{8}")
_MAX_SIZE = 2**64 - 1  # C2SP: the tree size is a uint64
#: The longest note the kit opens; a checkpoint with 100 cosignatures is under 20 KiB.
MAX_NOTE_CHARS = 64 * 1024
_MAX_KEY_CHARS = 1024  # a key name is a log origin (a host and path), the rest under 70
_MAX_B64_CHARS = 128  # the longest base64 in a note or key: a cosignature (76 bytes) is 104


def _b64decode(value: str, what: str) -> bytes:
    """Strict standard base64; non-canonical padding bits are refused so encodings are unique."""
    if len(value) > _MAX_B64_CHARS:
        raise NoteTooLongError(what, len(value), _MAX_B64_CHARS)
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != value:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _check_text_chars(text: str) -> None:
    """Valid UTF-8 without ASCII control characters other than newline (spec, Format)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("note is not valid UTF-8") from exc
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("note contains an ASCII control character other than newline")


def _check_name(name: str) -> None:
    """Non-empty, no Unicode space or '+' (spec); control characters could never appear either."""
    _check_text_chars(name)
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"invalid key name {name!r}: empty, or contains a space or '+'")


def _key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    encoded = name.encode("utf-8", "surrogatepass")  # invalid names are refused by the caller
    return hashlib.sha256(encoded + b"\n" + bytes([key_type]) + public_key).digest()[:4]


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError(f"cosignature timestamp {timestamp} is not in [0, 2^63 - 1]")


def _check_key_type(key_type: int) -> None:
    if key_type not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"unknown verifier algorithm {key_type:#04x}")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A trusted key: ``name`` and ``key_id`` select signature lines, ``public_key`` checks them.

    ``key_type`` is :data:`ED25519` for note/log signatures or :data:`COSIGNATURE_V1` for
    witness cosignatures; the two sign different messages, so a key is pinned to one.
    """

    name: str
    key_id: bytes
    public_key: PublicKey
    key_type: int = ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_key_type(self.key_type)
        if self.key_id != _key_id(self.name, self.key_type, self.public_key.raw):
            raise NoteError("verifier id hash mismatch")

    @classmethod
    def for_key(cls, name: str, public_key: PublicKey, *, key_type: int = ED25519) -> NoteVerifier:
        _check_key_type(key_type)
        return cls(name, _key_id(name, key_type, public_key.raw), public_key, key_type)

    @classmethod
    def from_verifier_key(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+keyidhex+base64(type ‖ key)`` as Go's ``NewVerifier`` does."""
        if not isinstance(vkey, str):
            raise NoteError("a verifier key is a string")
        if len(vkey) > _MAX_KEY_CHARS:
            raise NoteTooLongError("verifier key", len(vkey), _MAX_KEY_CHARS)
        name, _, rest = vkey.partition("+")
        key_id_hex, _, key_b64 = rest.partition("+")
        _check_name(name)
        if not _KEY_ID.fullmatch(key_id_hex):
            raise NoteError("malformed verifier id: key ID must be 8 lowercase hex digits")
        material = _b64decode(key_b64, "verifier key")
        if not material:
            raise NoteError("malformed verifier id: empty key")
        if _key_id(name, material[0], material[1:]) != bytes.fromhex(key_id_hex):
            raise NoteError("verifier id hash mismatch")
        try:
            public_key = PublicKey.from_bytes(material[1:])
        except KeyFormatError as exc:
            raise NoteError(f"malformed verifier id: {exc}") from exc
        return cls(name, bytes.fromhex(key_id_hex), public_key, material[0])  # checks the type

    def verifier_key(self) -> str:
        material = base64.b64encode(bytes([self.key_type]) + self.public_key.raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: bytes, signature: bytes) -> None:
        """Raise :class:`NoteError` unless ``signature`` (after the key ID) signs ``text``."""
        message = text
        if self.key_type == COSIGNATURE_V1:
            if len(signature) != 72:
                raise NoteError(f"a cosignature has 72 bytes, not {len(signature)}")
            timestamp = int.from_bytes(signature[:8], "big")
            _check_timestamp(timestamp)
            message, signature = _cosigned_message(text, timestamp), signature[8:]
        try:
            self.public_key.verify(message, signature)
        except SignatureError as exc:
            raise NoteError(f"invalid signature for key {self.name}+{self.key_id.hex()}") from exc


@dataclass(frozen=True, slots=True)
class _Signer:
    name: str
    key_pair: KeyPair
    KEY_TYPE: ClassVar[int] = ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def from_signer_key(cls, skey: str) -> Self:
        """Parse ``PRIVATE+KEY+name+keyidhex+base64(type ‖ seed)`` as Go's ``NewSigner`` does."""
        if len(skey) > _MAX_KEY_CHARS:
            raise NoteTooLongError("signer key", len(skey), _MAX_KEY_CHARS)
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _KEY_ID.fullmatch(parts[3]):
            raise NoteError("malformed signer key")
        material = _b64decode(parts[4], "signer key")
        if len(material) != 33 or material[0] != cls.KEY_TYPE:
            raise NoteError(f"signer key is not a type 0x{cls.KEY_TYPE:02x} Ed25519 seed")
        signer = cls(parts[2], KeyPair.from_seed(material[1:]))
        if signer.key_id != bytes.fromhex(parts[3]):
            raise NoteError("signer key id hash mismatch")
        return signer

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.KEY_TYPE, self.key_pair.public_key.raw)

    def verifier(self) -> NoteVerifier:
        return NoteVerifier.for_key(self.name, self.key_pair.public_key, key_type=self.KEY_TYPE)

    def verifier_key(self) -> str:
        return self.verifier().verifier_key()

    def signer_key(self) -> str:
        material = base64.b64encode(bytes([self.KEY_TYPE]) + self.key_pair.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"


class NoteSigner(_Signer):
    """An Ed25519 note signer (type 0x01): a log, or anything that signs plain notes."""

    __slots__ = ()

    def sign(self, text: bytes) -> bytes:
        return self.key_pair.sign(text)


class CosignatureSigner(_Signer):
    """A witness (type 0x04). Use one key per cosigner: the v1 message omits the name."""

    __slots__ = ()
    KEY_TYPE = COSIGNATURE_V1

    def sign(self, text: bytes, *, timestamp: int) -> bytes:
        """timestamp (u64 big-endian) ‖ Ed25519 over ``cosignature/v1\\ntime T\\n`` ‖ text."""
        _check_timestamp(timestamp)
        signature = self.key_pair.sign(_cosigned_message(text, timestamp))
        return timestamp.to_bytes(8, "big") + signature


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line; ``timestamp`` is the cosigned time for type 0x04 keys."""

    name: str
    key_id: bytes
    signature: bytes
    timestamp: int | None = None

    def line(self) -> str:
        """The signature line as it appears in a note, newline included."""
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{_SIG_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text, the signatures that verified and the unknown ones ignored."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def sign_note(text: str, *signers: NoteSigner) -> str:
    """Sign ``text`` (non-empty, newline-terminated) with each signer, in order."""
    if not signers:
        raise NoteError("a signed note needs at least one signature")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_text_chars(text)
    if len(signers) > _MAX_SIGNATURES:
        raise NoteError(f"more than {_MAX_SIGNATURES} signatures")
    message = text.encode()
    lines = (NoteSignature(s.name, s.key_id, s.sign(message)).line() for s in signers)
    return text + "\n" + "".join(lines)


def _split_note(note: str | bytes) -> tuple[str, list[str]]:
    """Text and signature lines, or :class:`NoteError` for a malformed note."""
    if len(note) > MAX_NOTE_CHARS:
        raise NoteTooLongError("signed note", len(note), MAX_NOTE_CHARS)
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    _check_text_chars(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("malformed note: no signatures, or no final newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {_MAX_SIGNATURES} signatures")
    return text, lines


def _parse_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note: signature line does not start with '— '")
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    _check_name(name)
    raw = _b64decode(b64, "signature")
    if len(raw) < 5:
        raise NoteError("malformed note: signature too short")
    return NoteSignature(name, raw[:4], raw[4:])


def open_note(note: str | bytes, *, verifiers: Sequence[NoteVerifier]) -> Note:
    """Parse ``note`` and verify it against ``verifiers``; raise :class:`NoteError` if untrusted.

    Two verifiers with the same (name, key ID) are ambiguous; that is an error only when a line
    selects them (Go's VerifierList). Repeated identical lines are dropped.
    """
    text, lines = _split_note(note)
    known: dict[tuple[str, bytes], list[NoteVerifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    message = text.encode()
    seen: set[str] = set()
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unverified: list[NoteSignature] = []
    for line in lines:
        sig = _parse_line(line)
        if line in seen:
            continue
        seen.add(line)
        candidates = known.get((sig.name, sig.key_id), [])
        if not candidates:
            unverified.append(sig)
            continue
        if len(candidates) > 1:
            raise NoteError(f"ambiguous key {sig.name}+{sig.key_id.hex()}")
        verifier = candidates[0]
        verifier.verify(message, sig.signature)
        if verifier.key_type == COSIGNATURE_V1:
            sig = replace(sig, timestamp=int.from_bytes(sig.signature[:8], "big"))
        verified.setdefault((sig.name, sig.key_id), sig)
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return Note(text, tuple(verified.values()), tuple(unverified))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog checkpoint body: origin, tree size, RFC 6962 root hash and opaque extensions."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line:
                raise NoteError("checkpoint origin and extension lines must be non-empty lines")
            _check_text_chars(line)
        if isinstance(self.size, bool) or not 0 <= self.size < 2**64:
            raise NoteError(f"checkpoint size {self.size} is not a uint64")
        if len(self.root_hash) != 32:
            raise NoteError(f"checkpoint root hash has {len(self.root_hash)} bytes, not 32")

    def to_text(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a note text strictly: three or more non-empty lines, each ending in newline."""
        if not text.endswith("\n"):
            raise NoteError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root hash lines")
        origin, size, root, *extensions = lines
        try:
            tree_size = parse_ascii_integer(size, maximum=_MAX_SIZE)
        except LexicalError as exc:
            raise NoteError(f"checkpoint size must be a uint64: {exc}") from None
        if str(tree_size) != size:  # one text per checkpoint: what is signed is what is read
            raise NoteError("checkpoint size must be decimal without leading zeros")
        return cls(origin, tree_size, _b64decode(root, "root hash"), tuple(extensions))


def _open_checkpoint(
    note: str | bytes, verifier: NoteVerifier, witnesses: Sequence[NoteVerifier]
) -> tuple[Checkpoint, Note]:
    """Open with the log key (plus witnesses); the log's own signature must be among those verified.

    Without that check a note signed only by a witness would pass open_note's "some known key
    verified" rule.
    """
    if verifier.key_type != ED25519:
        raise NoteError("a log verifier must be an Ed25519 (type 0x01) key")
    opened = open_note(note, verifiers=[verifier, *witnesses])
    if (verifier.name, verifier.key_id) not in {(s.name, s.key_id) for s in opened.signatures}:
        raise NoteError("checkpoint is not signed by the log")
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != verifier.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {verifier.name!r}")
    return checkpoint, opened


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    if signer.name != checkpoint.origin:
        raise NoteError("the log's key name must equal the checkpoint origin")
    return sign_note(checkpoint.to_text(), signer)


def open_checkpoint(note: str | bytes, *, verifier: NoteVerifier) -> Checkpoint:
    """Verify the log's signature and parse the body; the origin must be the key's name."""
    return _open_checkpoint(note, verifier, ())[0]


def cosign(
    note: str, signer: CosignatureSigner, *, timestamp: int, log_verifier: NoteVerifier
) -> str:
    """Append ``signer``'s cosignature to a checkpoint whose log signature verifies.

    A witness must only vouch for checkpoints it has verified (and checked for consistency
    with what it saw before, which is the caller's job), so the log key is required.
    """
    _, opened = _open_checkpoint(note, log_verifier, ())
    signature = signer.sign(opened.text.encode(), timestamp=timestamp)
    cosigned = note + NoteSignature(signer.name, signer.key_id, signature).line()
    _split_note(cosigned)  # still within the signature limit
    return cosigned


@dataclass(frozen=True, slots=True)
class CosignedCheckpoint:
    checkpoint: Checkpoint
    cosignatures: tuple[NoteSignature, ...]


def open_cosigned_checkpoint(
    note: str | bytes,
    *,
    verifier: NoteVerifier,
    witnesses: Sequence[NoteVerifier],
    quorum: int,
) -> CosignedCheckpoint:
    """Verify the log signature and cosignatures from at least ``quorum`` distinct witness keys.

    Keys, not names, are counted: the v1 message omits the cosigner name, so one key configured
    under two names would otherwise count twice.
    """
    if any(w.key_type != COSIGNATURE_V1 for w in witnesses):
        raise NoteError("witness keys must be cosignature (type 0x04) keys")
    if not 1 <= quorum <= len(witnesses):
        raise NoteError(f"quorum {quorum} is not between 1 and {len(witnesses)} witnesses")
    checkpoint, opened = _open_checkpoint(note, verifier, witnesses)
    cosignatures = tuple(s for s in opened.signatures if s.timestamp is not None)
    keys = {(w.name, w.key_id): w.public_key.raw for w in witnesses}
    distinct = {keys[(s.name, s.key_id)] for s in cosignatures}
    if len(distinct) < quorum:
        raise NoteError(f"{len(distinct)} distinct witness cosignatures, quorum is {quorum}")
    return CosignedCheckpoint(checkpoint, cosignatures)

"""W3C Bitstring Status List v1.0: 1-bit revocation and suspension lists.

A list is a bitstring of at least 131,072 bits. Index 0 is the left-most bit, the most
significant bit of byte 0. ``encodedList`` is multibase ``u`` (base64url, no padding) of the
GZIP of the bitstring. Decoding caps the inflated size, so a small input cannot exhaust memory.
Error messages start with the spec's error code where it defines one.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from credentials._internal.rdf_template import register_proof_config_shape, register_shape
from credentials.errors import (
    LexicalError,
    MalformedInputError,
    StatusListError,
    StatusListTooLongError,
)
from credentials.lexical import MAX_STATUS_LIST_BITS, check_iri, parse_status_index

__all__ = [
    "MAX_STATUS_LIST_BYTES",
    "MIN_STATUS_LIST_BITS",
    "StatusEntry",
    "StatusList",
    "build_status_list_credential",
    "check_status",
    "issuer_id",
    "parse_status_entries",
]

MIN_STATUS_LIST_BITS = 131072  # the spec's minimum (16 KiB), for herd privacy
# The largest inflated list decode() accepts: 8,388,608 entries, 64 times the spec's minimum.
# Inflating costs ~4 ms per MiB, and a GZIP stream inflates up to 1032 times its size, so
# the cap (not the input size) bounds the work: at 16 MiB a 21 KB list cost 60 ms. The index
# rule (credentials.lexical) bounds entries by the same number.
MAX_STATUS_LIST_BYTES = MAX_STATUS_LIST_BITS // 8

_VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
_ENTRY_TYPE = "BitstringStatusListEntry"
_LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
_LIST_TYPE = "BitstringStatusList"
_CHUNK = 64 * 1024
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
# Fixed GZIP header: no flags, mtime 0, XFL 0, OS 3 (Unix), as in the spec's example.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
_MAX_ENCODED_CHARS = 2 + 4 * (MAX_STATUS_LIST_BYTES + 64 * 1024) // 3
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class StatusList:
    """A mutable bitstring of ``size`` status bits, all initially unset."""

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, size: int = MIN_STATUS_LIST_BITS) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError("size must be an int")
        if size < MIN_STATUS_LIST_BITS or size % 8 or size > MAX_STATUS_LIST_BYTES * 8:
            raise StatusListError(
                f"STATUS_LIST_LENGTH_ERROR: size must be a multiple of 8 between "
                f"{MIN_STATUS_LIST_BITS} and {MAX_STATUS_LIST_BYTES * 8} bits, not {size}"
            )
        self._bits = bytearray(size // 8)

    @property
    def size(self) -> int:
        """The number of bits in the list."""
        return len(self._bits) * 8

    def _position(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError("index must be an int")
        if not 0 <= index < self.size:
            raise StatusListError(f"RANGE_ERROR: index {index} is outside a {self.size}-bit list")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        """The bit at ``index`` (True = set)."""
        byte, mask = self._position(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool) -> None:
        """Set (True) or clear (False) the bit at ``index``."""
        if not isinstance(value, bool):
            raise TypeError("value must be a bool")
        byte, mask = self._position(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        """The raw bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """Deterministic ``encodedList``: GZIP (level 6, mtime 0) in multibase base64url."""
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = compressor.compress(self._bits) + compressor.flush()
        trailer = struct.pack("<II", zlib.crc32(self._bits), len(self._bits) & 0xFFFFFFFF)
        raw = _GZIP_HEADER + body + trailer
        return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> StatusList:
        """Expand an ``encodedList``, raising :class:`StatusListError` if it is not a valid list."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise StatusListError("encodedList must be a multibase base64url string ('u')")
        if len(encoded) > _MAX_ENCODED_CHARS:
            raise StatusListTooLongError("encodedList", len(encoded), _MAX_ENCODED_CHARS)
        payload = encoded[1:]
        if not _BASE64URL.fullmatch(payload) or len(payload) % 4 == 1:
            raise StatusListError("encodedList is not base64url without padding")
        try:
            compressed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError) as exc:
            raise StatusListError("encodedList is not base64url without padding") from exc
        bits = _gunzip_capped(compressed)
        if len(bits) * 8 < MIN_STATUS_LIST_BITS:
            raise StatusListError(
                f"STATUS_LIST_LENGTH_ERROR: the list has {len(bits) * 8} bits, "
                f"fewer than {MIN_STATUS_LIST_BITS}"
            )
        status_list = cls.__new__(cls)
        status_list._bits = bits
        return status_list

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self._bits == other._bits

    def __repr__(self) -> str:
        return f"StatusList(size={self.size})"


def _gunzip_capped(compressed: bytes) -> bytearray:
    """Inflate one GZIP member, never holding more than the cap plus one chunk."""
    if compressed[:3] != b"\x1f\x8b\x08":
        raise StatusListError("encodedList is not GZIP data")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = compressed
    try:
        while not inflater.eof:
            room = MAX_STATUS_LIST_BYTES + 1 - len(out)
            chunk = inflater.decompress(pending, min(_CHUNK, room))
            pending = inflater.unconsumed_tail
            out += chunk
            if len(out) > MAX_STATUS_LIST_BYTES:
                raise StatusListError(
                    f"encodedList inflates past {MAX_STATUS_LIST_BYTES} bytes (GZIP bomb?)"
                )
            if not chunk and not pending:
                break
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not valid GZIP data: {exc}") from exc
    if not inflater.eof:
        raise StatusListError("encodedList GZIP data is truncated")
    if inflater.unused_data:
        raise StatusListError("encodedList has data after the GZIP member")
    return out


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One ``BitstringStatusListEntry`` of a credential (``id`` is ``""`` when absent)."""

    id: str
    purpose: str
    index: int
    list_url: str


def _types(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise StatusListError("type must be a string or an array of strings")


def _require_absolute_url(value: object, what: str) -> str:
    try:
        url = check_iri(value)
    except LexicalError as exc:
        raise StatusListError(f"{what} must be an absolute URL: {exc}") from None
    if not urlsplit(url).netloc:  # an IRI such as urn:… names a list but cannot fetch it
        raise StatusListError(f"{what} must be an absolute URL, not {url!r}")
    return url


def _require_purpose(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise StatusListError("statusPurpose must be a non-empty string")
    return value


def _parse_entry(raw: object) -> StatusEntry:
    if not isinstance(raw, Mapping):
        raise StatusListError("each credentialStatus entry must be an object")
    if _ENTRY_TYPE not in _types(raw.get("type")):
        raise StatusListError(f"unsupported credentialStatus type {raw.get('type')!r}")
    size = raw.get("statusSize", 1)
    if type(size) is not int or size != 1:
        raise StatusListError(f"statusSize {size!r} is not supported: only 1-bit lists are")
    purpose = _require_purpose(raw.get("statusPurpose"))
    try:
        index = parse_status_index(raw.get("statusListIndex"))
    except LexicalError as exc:
        raise StatusListError(f"statusListIndex: {exc}") from None
    list_url = _require_absolute_url(raw.get("statusListCredential"), "statusListCredential")
    entry_id = raw.get("id", "")
    if not isinstance(entry_id, str):
        raise StatusListError("credentialStatus id must be a string")
    if entry_id == list_url:
        raise StatusListError("credentialStatus id must not be the status list URL")
    return StatusEntry(id=entry_id, purpose=purpose, index=index, list_url=list_url)


def parse_status_entries(credential: Mapping[str, Any]) -> tuple[StatusEntry, ...]:
    """The credential's Bitstring Status List entries; ``()`` if it has no ``credentialStatus``.

    Any entry of another type, a ``statusSize`` other than 1, or an empty array raises
    :class:`StatusListError` (fail closed: no status is silently skipped).
    """
    if not isinstance(credential, Mapping):
        raise MalformedInputError("a credential must be a JSON object")
    if "credentialStatus" not in credential:
        return ()
    raw = credential["credentialStatus"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise StatusListError("credentialStatus is an empty array")
    return tuple(_parse_entry(item) for item in items)


def issuer_id(issuer: str | Mapping[str, Any]) -> str:
    """The issuer's identifier: the string itself or the object's ``id``."""
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(value, str) or not value:
        raise StatusListError("issuer must be a non-empty string or an object with a string id")
    return value


def _to_utc_second(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise StatusListError(f"{what} must be a timezone-aware datetime")
    return value.astimezone(UTC).replace(microsecond=0)


def build_status_list_credential(
    *,
    list_url: str,
    issuer: str | Mapping[str, Any],
    purpose: str,
    status_list: StatusList,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` publishing ``status_list`` at ``list_url``."""
    _require_absolute_url(list_url, "list_url")
    if "#" in list_url:
        raise StatusListError("list_url must not have a fragment")
    issuer_id(issuer)
    _require_purpose(purpose)
    if not isinstance(status_list, StatusList):
        raise TypeError("status_list must be a StatusList")
    start = _to_utc_second(valid_from, "valid_from")
    credential: dict[str, Any] = {
        "@context": [_VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", _LIST_CREDENTIAL_TYPE],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": start.strftime(_TIMESTAMP),
    }
    if valid_until is not None:
        end = _to_utc_second(valid_until, "valid_until")
        if end <= start:
            raise StatusListError("valid_until must be after valid_from")
        credential["validUntil"] = end.strftime(_TIMESTAMP)
    credential["credentialSubject"] = {
        "id": list_url + "#list",
        "type": _LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": status_list.encode(),
    }
    register_shape(credential)  # the kit's own shape: templated when verified (rdf_template)
    return credential


def check_status(
    entry: StatusEntry, list_credential: Mapping[str, Any], *, expected_issuer: str
) -> bool:
    """The status bit of ``entry`` in ``list_credential`` (True = set: revoked or suspended).

    Raises :class:`StatusListError` if the list is not the one the entry names, is not issued
    by ``expected_issuer``, has another purpose, is malformed or too short, or does not hold
    the index. The list credential's proof is NOT checked here: the caller verifies it first.
    """
    if not isinstance(list_credential, Mapping):
        raise MalformedInputError("a status list credential must be a JSON object")
    if not isinstance(expected_issuer, str) or not expected_issuer:
        raise StatusListError("expected_issuer must be a non-empty string")
    if list_credential.get("id") != entry.list_url:
        raise StatusListError(
            f"STATUS_VERIFICATION_ERROR: status list id {list_credential.get('id')!r} is not "
            f"the entry's statusListCredential {entry.list_url!r}"
        )
    if _LIST_CREDENTIAL_TYPE not in _types(list_credential.get("type")):
        raise StatusListError(f"STATUS_VERIFICATION_ERROR: not a {_LIST_CREDENTIAL_TYPE}")
    actual_issuer = issuer_id(list_credential.get("issuer", ""))
    if actual_issuer != expected_issuer:
        raise StatusListError(
            f"STATUS_VERIFICATION_ERROR: status list issued by {actual_issuer!r}, "
            f"expected {expected_issuer!r}"
        )
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise StatusListError("STATUS_VERIFICATION_ERROR: credentialSubject must be one object")
    if _LIST_TYPE not in _types(subject.get("type")):
        raise StatusListError(f"STATUS_VERIFICATION_ERROR: subject is not a {_LIST_TYPE}")
    purposes = subject.get("statusPurpose")
    purpose_list = purposes if isinstance(purposes, list) else [purposes]
    if not purpose_list or not all(isinstance(p, str) and p for p in purpose_list):
        raise StatusListError("statusPurpose of the list must be one or more non-empty strings")
    if entry.purpose not in purpose_list:
        raise StatusListError(
            f"STATUS_VERIFICATION_ERROR: entry purpose {entry.purpose!r} is not the list's "
            f"{purposes!r}"
        )
    status_list = StatusList.decode(subject.get("encodedList", ""))
    return status_list.get(entry.index)


def _register_kit_shapes() -> None:
    """The list shapes the registry publishes, and their proof configuration (see rdf_template).

    Values are placeholders: only the shape counts.
    """
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    start = datetime(2000, 1, 1, tzinfo=UTC)
    for issuer in (did, {"id": did, "name": "-"}):
        for until in (None, datetime(2000, 1, 2, tzinfo=UTC)):
            build_status_list_credential(
                list_url="https://registry.invalid/status-lists/0",
                issuer=issuer,
                purpose="revocation",
                status_list=StatusList(),
                valid_from=start,
                valid_until=until,
            )
    register_proof_config_shape([_VC_V2_CONTEXT])


_register_kit_shapes()

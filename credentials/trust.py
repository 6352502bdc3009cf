"""What a verifier trusts: bodies and their keys, accreditations, rules, status lists, the log key.

A registry exports this as JSON (a *trust bundle*) so a label can be checked fully offline.
This module is the one home of that format: each value writes itself with ``to_json`` and reads
itself with ``from_json``, and ``from_json(to_json(v)) == v``. A registry builds the values
from its own records and serialises them here; it never writes the members by hand. The same
values carry the validity predicates (``TrustedKey.active_at``, ``Accreditation.covers``,
``TrustedRule.in_force_at``), which the registry also asks before it issues, so what it issues
is what a verifier accepts. Times are aware UTC; a missing end means "still active".

The JSON form: ``bodies`` (``name``, ``keys`` with ``publicKeyMultibase``/``activeFrom``/
``activeUntil`` and, for a key whose secret only the body holds, ``"heldByBody": true``,
``accreditations``), ``rules``, ``statusLists`` (list URL → status list
credential), ``logKey`` (C2SP verifier key) and ``ledger``: label id → ``{"entry", "index",
"size", "proof" (base64 hashes), "checkpoint"}`` plus the optional ``"supersededBy"`` (URL or id
of the replacing label) for a label that was superseded; ``schemes`` (scheme code → region)
and ``mappings`` (the newest revision of each recognition mapping,
``credentials.recognition``), from which a verifier answers "is it recognised in region X".
``witnesses`` (optional, absent when empty) lists the C2SP cosignature (type 0x04) verifier
keys of the witnesses the registry asks to co-sign its checkpoints; a ``checkpoint`` (the
bundle's, or a label evidence's) may carry their cosignature lines after the log's signature,
and a verifier counts the valid ones (``credentials.verify``). A rule may state its accounting
``standard``. Times are written in UTC with
milliseconds (``2026-01-31T08:00:00.000Z``, as ledger entries state them), with microseconds
only for a time that has them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from credentials._internal.timefmt import parse_datetime
from credentials.checkpoint import COSIGNATURE_V1, NoteVerifier
from credentials.errors import CredentialError, TrustError, TrustValueTooLongError
from credentials.grading import Thresholds
from credentials.lexical import decimal_text, parse_decimal
from credentials.recognition import RecognitionMapping

__all__ = [
    "Accreditation",
    "LedgerEvidence",
    "StatusEvidence",
    "TrustBundle",
    "TrustedBody",
    "TrustedKey",
    "TrustedRule",
]


_MAX_HASH_B64 = 44  # a SHA-256 hash in base64
_MAX_PROOF_HASHES = 64  # an inclusion proof in a tree of 2**64 entries
_MAX_STATUS_EVENTS = 64  # a label's status changes a bundle carries (the newest suffice)
_MAX_WITNESSES = 100  # as many as a signed note may carry signature lines


def _within(at: datetime, start: datetime, end: datetime | None) -> bool:
    return start <= at and (end is None or at < end)


@dataclass(frozen=True, slots=True)
class TrustedKey:
    public_key_multibase: str
    active_from: datetime
    active_until: datetime | None = None
    # The body holds the secret itself (registered by its public key). While such a key is
    # active, the body signs its own labels: a key of it the registry holds signs none.
    held_by_body: bool = False

    def active_at(self, at: datetime) -> bool:
        return _within(at, self.active_from, self.active_until)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "publicKeyMultibase": self.public_key_multibase,
            "activeFrom": _time_json(self.active_from),
            "activeUntil": _opt_time_json(self.active_until),
        }
        if self.held_by_body:
            data["heldByBody"] = True  # absent otherwise: earlier bundles read unchanged
        return data

    @classmethod
    def from_json(cls, data: Any) -> TrustedKey:
        return _read(_key, data)


@dataclass(frozen=True, slots=True)
class Accreditation:
    scheme: str
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None = None

    def covers(self, scheme: str, category: str, at: datetime) -> bool:
        return (
            self.scheme == scheme
            and category in self.categories
            and _within(at, self.valid_from, self.valid_until)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            # Sorted: a frozenset has no order, and the same bundle should serialise one way.
            "categories": sorted(self.categories),
            "validFrom": _time_json(self.valid_from),
            "validUntil": _opt_time_json(self.valid_until),
        }

    @classmethod
    def from_json(cls, data: Any) -> Accreditation:
        return _read(_accreditation, data)


@dataclass(frozen=True, slots=True)
class TrustedBody:
    name: str
    keys: tuple[TrustedKey, ...]
    accreditations: tuple[Accreditation, ...] = ()

    def key(self, public_key_multibase: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.public_key_multibase == public_key_multibase), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "keys": [k.to_json() for k in self.keys],
            "accreditations": [a.to_json() for a in self.accreditations],
        }

    @classmethod
    def from_json(cls, data: Any) -> TrustedBody:
        return _read(_body, data)


@dataclass(frozen=True, slots=True)
class TrustedRule:
    scheme: str
    rule_id: str
    version: str
    category: str
    declared_unit: str
    thresholds: Thresholds
    in_force_from: datetime
    in_force_until: datetime | None = None
    standard: str | None = None  # the accounting standard the rule follows, as it states it

    def in_force_at(self, at: datetime) -> bool:
        return _within(at, self.in_force_from, self.in_force_until)

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "ruleId": self.rule_id,
            "version": self.version,
            "category": self.category,
            "declaredUnit": self.declared_unit,
            "thresholds": dict(
                zip("ABCD", map(decimal_text, self.thresholds.as_tuple()), strict=True)
            ),
            "inForceFrom": _time_json(self.in_force_from),
            "inForceUntil": _opt_time_json(self.in_force_until),
            "standard": self.standard,
        }

    @classmethod
    def from_json(cls, data: Any) -> TrustedRule:
        return _read(_rule, data)


@dataclass(frozen=True, slots=True)
class StatusEvidence:
    """A status change of the label (``label.suspended``/``reinstated``/``revoked``) as its
    ledger entry states it, with the inclusion proof under the evidence's checkpoint: when, why
    and by whom, checkable offline."""

    entry: bytes
    index: int
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry.decode("utf-8"),
            "index": self.index,
            "proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
        }


@dataclass(frozen=True, slots=True)
class LedgerEvidence:
    """A label's ledger entry with its inclusion proof under a signed checkpoint.

    ``superseded_by`` (JSON ``supersededBy``, optional) is the URL or id of the label that
    replaced this one. The registry flags a superseded label in its suspension list; with this
    field the verifier reports the label as superseded (and by what) rather than suspended.
    """

    entry: bytes
    index: int
    size: int
    proof: tuple[bytes, ...]
    checkpoint: str
    superseded_by: str | None = None
    status_events: tuple[StatusEvidence, ...] = ()  # the label's status changes, oldest first

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "entry": self.entry.decode("utf-8"),
            "index": self.index,
            "size": self.size,
            "proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
            "checkpoint": self.checkpoint,
        }
        if self.superseded_by is not None:
            data["supersededBy"] = self.superseded_by
        if self.status_events:
            data["statusEvents"] = [e.to_json() for e in self.status_events]
        return data

    @classmethod
    def from_json(cls, data: Any) -> LedgerEvidence:
        return _read(_evidence, data)


@dataclass(frozen=True, slots=True)
class TrustBundle:
    bodies: tuple[TrustedBody, ...] = ()
    rules: tuple[TrustedRule, ...] = ()
    status_lists: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    log_key: str | None = None
    ledger: Mapping[str, LedgerEvidence] = field(default_factory=dict)
    schemes: Mapping[str, str] = field(default_factory=dict)  # scheme code -> its region
    mappings: tuple[RecognitionMapping, ...] = ()  # the newest revision of each mapping
    checkpoint: str | None = None  # the latest signed checkpoint when the bundle was made
    # The witnesses' cosignature verifier keys (``name+id+base64``), as the registry configures
    # them: whose cosignatures on a checkpoint a verifier counts.
    witnesses: tuple[str, ...] = ()

    def body_with_key(self, public_key_multibase: str) -> TrustedBody | None:
        return next((b for b in self.bodies if b.key(public_key_multibase)), None)

    def rule(self, scheme: str, rule_id: str, version: str) -> TrustedRule | None:
        return next(
            (
                r
                for r in self.rules
                if (r.scheme, r.rule_id, r.version) == (scheme, rule_id, version)
            ),
            None,
        )

    def with_evidence(self, label_id: str, evidence: LedgerEvidence) -> TrustBundle:
        """This bundle plus one label's ledger evidence, as a credential file may carry it.

        Safe to take from an untrusted file: the ledger check accepts the evidence only if its
        checkpoint is signed by this bundle's log key, the proof leads to that checkpoint's
        root and the entry states the credential's digest.
        """
        return replace(self, ledger={**self.ledger, label_id: evidence})

    def to_json(self) -> dict[str, Any]:
        """The JSON form, every member present but ``witnesses`` (only when there are any, so a
        bundle without witnesses is the same bytes as before they existed); :meth:`from_json`
        reads it back to an equal bundle."""
        data: dict[str, Any] = {
            "bodies": [b.to_json() for b in self.bodies],
            "rules": [r.to_json() for r in self.rules],
            "statusLists": {url: dict(c) for url, c in self.status_lists.items()},
            "logKey": self.log_key,
            "ledger": {label_id: e.to_json() for label_id, e in self.ledger.items()},
            "schemes": dict(self.schemes),
            "mappings": [m.to_json() for m in self.mappings],
            "checkpoint": self.checkpoint,
        }
        if self.witnesses:
            data["witnesses"] = list(self.witnesses)
        return data

    @classmethod
    def from_json(cls, data: Any) -> TrustBundle:
        """Read the JSON form; raise :class:`TrustError` on anything malformed."""
        return _read(_bundle, data)


_T = TypeVar("_T")


def _read(reader: Callable[[Any], _T], data: Any) -> _T:
    try:
        return reader(data)
    except TrustError:
        raise
    except (CredentialError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TrustError(f"malformed trust bundle: {exc!s}") from exc


def _time_json(value: datetime) -> str:
    """UTC with milliseconds (the ledger's form), or microseconds when a time has them, so
    that reading the text back gives the same instant."""
    utc = value.astimezone(UTC)
    head = f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}"
    if utc.microsecond % 1000:
        return f"{head}.{utc.microsecond:06d}Z"
    return f"{head}.{utc.microsecond // 1000:03d}Z"


def _opt_time_json(value: datetime | None) -> str | None:
    return None if value is None else _time_json(value)


def _time(value: Any) -> datetime:
    return parse_datetime(value, field="trust bundle time")


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


def _decimal(value: Any) -> Decimal:
    try:
        return parse_decimal(value)
    except CredentialError as exc:
        raise TrustError(f"{value!r} is not a decimal: thresholds are strings like '45.5'") from exc


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TrustError("expected a base64 string")
    if len(value) > _MAX_HASH_B64:
        raise TrustValueTooLongError("inclusion proof hash", len(value), _MAX_HASH_B64)
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise TrustError("invalid base64") from exc


def _count(value: Any, what: str) -> int:
    # A JSON integer, not a string int() would parse (Unicode digits, megabyte numerals).
    if type(value) is not int or not 0 <= value < 2**63:
        raise TrustError(f"{what} must be an integer from 0 to 2**63 - 1")
    return value


def _hashes(value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise TrustError("an inclusion proof is an array of base64 hashes")
    if len(value) > _MAX_PROOF_HASHES:
        raise TrustValueTooLongError("inclusion proof", len(value), _MAX_PROOF_HASHES)
    return tuple(_b64(h) for h in value)


def _opt_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TrustError(f"{what} must be a non-empty string")
    return value


def _categories(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise TrustError("accreditation categories must be an array of strings")
    return frozenset(value)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TrustError(f"{what} is a JSON object")
    return value


def _array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TrustError(f"{what} is a JSON array")
    return value


def _key(data: Any) -> TrustedKey:
    k = _object(data, "a key")
    return TrustedKey(
        public_key_multibase=str(k["publicKeyMultibase"]),
        active_from=_time(k["activeFrom"]),
        active_until=_opt_time(k.get("activeUntil")),
        held_by_body=_held_by_body(k.get("heldByBody", False)),
    )


def _held_by_body(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TrustError("heldByBody is true or false")
    return value


def _accreditation(data: Any) -> Accreditation:
    a = _object(data, "an accreditation")
    return Accreditation(
        scheme=str(a["scheme"]),
        categories=_categories(a["categories"]),
        valid_from=_time(a["validFrom"]),
        valid_until=_opt_time(a.get("validUntil")),
    )


def _body(data: Any) -> TrustedBody:
    b = _object(data, "a body")
    return TrustedBody(
        name=str(b["name"]),
        keys=tuple(_key(k) for k in _array(b["keys"], "keys")),
        accreditations=tuple(
            _accreditation(a) for a in _array(b.get("accreditations", []), "accreditations")
        ),
    )


def _rule(data: Any) -> TrustedRule:
    r = _object(data, "a rule")
    return TrustedRule(
        scheme=str(r["scheme"]),
        rule_id=str(r["ruleId"]),
        version=str(r["version"]),
        category=str(r["category"]),
        declared_unit=str(r["declaredUnit"]),
        thresholds=Thresholds(*(_decimal(r["thresholds"][g]) for g in "ABCD")),
        in_force_from=_time(r["inForceFrom"]),
        in_force_until=_opt_time(r.get("inForceUntil")),
        standard=_opt_text(r.get("standard"), "standard"),
    )


def _evidence(data: Any) -> LedgerEvidence:
    e = _object(data, "ledger evidence")
    return LedgerEvidence(
        entry=str(e["entry"]).encode("utf-8"),
        index=_count(e["index"], "ledger index"),
        size=_count(e["size"], "ledger size"),
        proof=_hashes(e["proof"]),
        checkpoint=str(e["checkpoint"]),
        superseded_by=_opt_text(e.get("supersededBy"), "supersededBy"),
        status_events=_status_events(e.get("statusEvents", [])),
    )


def _status_events(data: Any) -> tuple[StatusEvidence, ...]:
    events = _array(data, "statusEvents")
    if len(events) > _MAX_STATUS_EVENTS:
        raise TrustError(f"at most {_MAX_STATUS_EVENTS} status events per label")
    return tuple(
        StatusEvidence(
            entry=str(_object(event, "status event")["entry"]).encode("utf-8"),
            index=_count(event["index"], "status event index"),
            proof=_hashes(event["proof"]),
        )
        for event in events
    )


def _bundle(data: Any) -> TrustBundle:
    if not isinstance(data, dict):
        raise TrustError("a trust bundle is a JSON object")
    bodies = tuple(_body(b) for b in data.get("bodies", []))
    rules = tuple(_rule(r) for r in data.get("rules", []))
    status_lists = data.get("statusLists", {})
    if not isinstance(status_lists, dict) or not all(
        isinstance(v, dict) for v in status_lists.values()
    ):
        raise TrustError("statusLists maps list URLs to status list credentials (objects)")
    ledger = {
        str(label_id): _evidence(e)
        for label_id, e in _object(data.get("ledger", {}), "ledger").items()
    }
    log_key = data.get("logKey")
    if log_key is not None:
        NoteVerifier.from_verifier_key(str(log_key))  # refuse a malformed key now, not later
    schemes = _object(data.get("schemes", {}), "schemes")
    if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in schemes.items()):
        raise TrustError("schemes maps scheme codes to their regions (strings)")
    mappings = tuple(
        RecognitionMapping.from_json(m) for m in _array(data.get("mappings", []), "mappings")
    )
    return TrustBundle(
        bodies=bodies,
        rules=rules,
        status_lists=status_lists,
        log_key=None if log_key is None else str(log_key),
        ledger=ledger,
        schemes=dict(schemes),
        mappings=mappings,
        checkpoint=_opt_text(data.get("checkpoint"), "checkpoint"),
        witnesses=_witnesses(data.get("witnesses", [])),
    )


def _witnesses(data: Any) -> tuple[str, ...]:
    keys = _array(data, "witnesses")
    if len(keys) > _MAX_WITNESSES:
        raise TrustError(f"at most {_MAX_WITNESSES} witnesses")
    for key in keys:
        # Refuse a malformed key, or a log key passed off as a witness's, now rather than later.
        if NoteVerifier.from_verifier_key(key).key_type != COSIGNATURE_V1:
            raise TrustError("a witness key is a cosignature (type 0x04) verifier key")
    return tuple(keys)

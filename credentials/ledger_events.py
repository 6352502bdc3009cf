"""The ledger's event vocabulary: one frozen type per event kind, written and read here only.

An entry is RFC 8785 JSON ``{"seq", "time", "event", "v", "by", …members}``; the ledger owns
``seq``, ``time`` and ``event``, the event owns the rest. Every payload carries ``"v": 1`` and
``"by"`` (who made the change: role and registry ids, never a secret). Parsing is strict: an
unknown or missing member, a wrong type or a non-canonical value is refused with a
:class:`~credentials.errors.LedgerEventError`, so an entry that parses is an entry this module
could have written, byte for byte. The shapes are frozen: a change is ``"v": 2``, read alongside
``1``, never instead of it (``docs/ledger-events.md``).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from credentials.credential import BOUNDARIES, PactSource
from credentials.errors import (
    CredentialError,
    LedgerEventError,
    UnknownLedgerEventError,
)
from credentials.grading import GRADES, Grade, Thresholds
from credentials.lexical import decimal_text, parse_decimal
from credentials.recognition import RecognitionMapping

__all__ = [
    "EVENT_TYPES",
    "EVENT_VERSION",
    "AccreditationGranted",
    "AccreditationStatusChanged",
    "Actor",
    "ActorRole",
    "BodyRegistered",
    "BodyStatusChanged",
    "KeyAdded",
    "KeyRetired",
    "LabelIssued",
    "LabelReinstated",
    "LabelRevoked",
    "LabelSuspended",
    "LedgerEvent",
    "LedgerRecord",
    "MappingPublished",
    "MappingWithdrawn",
    "RuleRegistered",
    "RuleVersionPublished",
    "SchemeRegistered",
    "StatusSlot",
    "format_entry_time",
    "parse_entry",
    "parse_entry_time",
    "parse_event",
]

EVENT_VERSION = 1
ENVELOPE = frozenset({"seq", "time", "event"})
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z", re.ASCII)

T = TypeVar("T")


def format_entry_time(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds, the one form every time in an entry takes."""
    if value.tzinfo is None:
        raise LedgerEventError("entry times must be timezone-aware")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_entry_time(value: object, where: str = "time") -> datetime:
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise LedgerEventError(f"{where} must be a UTC time like 2026-01-31T08:00:00.000Z")
    # The regex has fixed the shape, so the groups are the fields: building the datetime
    # directly accepts what strptime("%Y-%m-%dT%H:%M:%S.%fZ") did (datetime() range-checks
    # each field) at a fraction of its cost, which was a quarter of a full replay's CPU.
    year, month, day, hour, minute, second, millis = map(int, match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except ValueError as exc:
        raise LedgerEventError(f"{where} is not a valid date and time") from exc


# --- Member codecs: how one member is written and (strictly) read back ----------------------


@dataclass(frozen=True, slots=True)
class _Codec(Generic[T]):
    dump: Callable[[T], Any]
    load: Callable[[object, str], T]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise LedgerEventError(f"{where} must be a non-empty string")
    return value


def _opt(codec: _Codec[T]) -> _Codec[T | None]:
    return _Codec(
        lambda v: None if v is None else codec.dump(v),
        lambda v, where: None if v is None else codec.load(v, where),
    )


def _integer(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LedgerEventError(f"{where} must be a non-negative integer")
    return value


def _boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise LedgerEventError(f"{where} must be true or false")
    return value


def _decimal(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise LedgerEventError(f"{where} must be a decimal string")
    try:
        number = parse_decimal(value)
    except CredentialError:
        number = None
    # Only the canonical form: then reading and re-writing an entry reproduces its bytes.
    if number is None or decimal_text(number) != value:
        raise LedgerEventError(f"{where} must be a canonical non-negative decimal like '61.2'")
    return number


def _names(value: object, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise LedgerEventError(f"{where} must map language tags to strings")
    return dict(value)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise LedgerEventError(f"{where} must be a non-empty list of strings")
    items = tuple(_text(v, f"{where}[]") for v in value)
    if list(items) != sorted(set(items)):
        raise LedgerEventError(f"{where} must be sorted and without duplicates")
    return items


def _member_set(value: object, where: str, names: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LedgerEventError(f"{where} must be an object")
    if value.keys() != names:
        raise LedgerEventError(f"{where} must have exactly the members {sorted(names)}")
    return value


def _thresholds(value: object, where: str) -> Thresholds:
    members = _member_set(value, where, frozenset("ABCD"))
    bounds = [_decimal(members[g], f"{where}.{g}") for g in "ABCD"]
    try:
        return Thresholds(*bounds)
    except CredentialError as exc:
        raise LedgerEventError(f"{where}: {exc}") from exc


def _dump_thresholds(value: Thresholds) -> dict[str, str]:
    return dict(zip("ABCD", map(decimal_text, value.as_tuple()), strict=True))


def _choice(options: tuple[str, ...]) -> _Codec[str]:
    def load(value: object, where: str) -> str:
        if value not in options:
            raise LedgerEventError(f"{where} must be one of {', '.join(options)}")
        return str(value)

    return _Codec(str, load)


def _grade(value: object, where: str) -> Grade:
    if value not in GRADES:
        raise LedgerEventError(f"{where} must be a grade A to E")
    return value


TEXT: _Codec[str] = _Codec(str, _text)
INTEGER: _Codec[int] = _Codec(int, _integer)
BOOLEAN: _Codec[bool] = _Codec(bool, _boolean)
TIME: _Codec[datetime] = _Codec(format_entry_time, parse_entry_time)
DECIMAL: _Codec[Decimal] = _Codec(decimal_text, _decimal)
NAMES: _Codec[Mapping[str, str]] = _Codec(dict, _names)
STRINGS: _Codec[tuple[str, ...]] = _Codec(list, _strings)
THRESHOLDS: _Codec[Thresholds] = _Codec(_dump_thresholds, _thresholds)
GRADE: _Codec[Grade] = _Codec(str, _grade)
# Every system boundary, sorted: what a rule version grades unless it says otherwise.
ALL_BOUNDARIES: tuple[str, ...] = tuple(sorted(BOUNDARIES))


def _boundaries(value: object, where: str) -> tuple[str, ...]:
    items = _strings(value, where)
    if not set(items) <= set(ALL_BOUNDARIES):
        raise LedgerEventError(f"{where} must list boundaries among {', '.join(ALL_BOUNDARIES)}")
    return items


BOUNDARY_SET: _Codec[tuple[str, ...]] = _Codec(list, _boundaries)
# Bodies and accreditations share these three states.
STANDING = _choice(("active", "suspended", "withdrawn"))
LABEL_STATUS = _choice(("active", "suspended", "revoked", "superseded"))


def _mapping(value: object, where: str) -> RecognitionMapping:
    try:
        mapping = RecognitionMapping.from_json(value)
    except CredentialError as exc:
        raise LedgerEventError(f"{where}: {exc}") from exc
    # Only the canonical form (every member, sorted sets): re-writing reproduces the bytes.
    if mapping.to_json() != value:
        raise LedgerEventError(f"{where} is not in the mapping's canonical form")
    if mapping.withdrawn:
        raise LedgerEventError(f"{where}: a withdrawal is a mapping.withdrawn entry")
    return mapping


MAPPING: _Codec[RecognitionMapping] = _Codec(RecognitionMapping.to_json, _mapping)


def _dump_pact(source: PactSource) -> dict[str, Any]:
    shape: dict[str, Any] = {"id": source.footprint_id, "specVersion": source.spec_version}
    if source.version is not None:
        shape["version"] = source.version
    return shape


def _pact(value: object, where: str) -> PactSource:
    names = frozenset({"id", "specVersion"})
    if isinstance(value, dict) and "version" in value:
        names |= {"version"}  # PACT 2.x only; absent (never null) for 3.0
    members = _member_set(value, where, names)
    footprint_id = _text(members["id"], f"{where}.id")
    spec_version = _text(members["specVersion"], f"{where}.specVersion")
    version = None if "version" not in members else _integer(members["version"], where)
    try:
        return PactSource(footprint_id, spec_version, version)
    except CredentialError as exc:
        raise LedgerEventError(f"{where}: {exc}") from exc


# The PACT ProductFootprint a label was issued from (see docs/ledger-events.md).
PACT_SOURCE: _Codec[PactSource] = _Codec(_dump_pact, _pact)


_REQUIRED = object()


def _m(name: str, codec: _Codec[Any], *, omitted: Any = _REQUIRED) -> dict[str, Any]:
    """The metadata of a field stored as member ``name`` through ``codec``.

    With ``omitted``, the member is left out of the entry when the value is ``omitted`` (and
    read as ``omitted`` when absent, refused when spelled out): so a member added to an event
    later leaves every entry written before it, and every entry that does not use it, byte for
    byte as it was, without a new ``"v"``.
    """
    return {"json": name, "codec": codec, "omitted": omitted}


# --- Who made a change -----------------------------------------------------------------------


class ActorRole(enum.StrEnum):
    OPERATOR = "operator"
    CERTIFIER = "certifier"
    REGULATOR = "regulator"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: a role, the API token's registry id (``None`` for the operator's
    console, the ``flask`` CLI, and for a person signed in to the portal), the body a certifier
    acts for, the schemes a regulator oversees, and the registry id of the portal person who
    acted, if one did. Ids only: neither a token's secret nor personal data enters the ledger.

    ``person`` came after the first entries were written: it is omitted from the JSON when
    ``None``, so every entry made without it keeps its bytes and its hash."""

    role: ActorRole
    token: int | None = None
    body: str | None = None
    schemes: tuple[str, ...] = ()
    person: int | None = None

    def __post_init__(self) -> None:
        if (self.role is ActorRole.CERTIFIER) != (self.body is not None):
            raise LedgerEventError("a certifier acts for exactly one body, nobody else for any")
        if (self.role is ActorRole.REGULATOR) != bool(self.schemes):
            raise LedgerEventError("a regulator oversees one or more schemes, nobody else any")
        if list(self.schemes) != sorted(set(self.schemes)):
            raise LedgerEventError("an actor's schemes must be sorted and without duplicates")

    def oversees(self, scheme: str) -> bool:
        """May act as the authority of ``scheme`` (publish its rules and what it recognises):
        the operator, or a regulator of that scheme."""
        return self.role is ActorRole.OPERATOR or (
            self.role is ActorRole.REGULATOR and scheme in self.schemes
        )

    def to_json(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "role": self.role.value,
            "token": self.token,
            "body": self.body,
            "schemes": list(self.schemes),
        }
        if self.person is not None:
            shape["person"] = self.person
        return shape

    @classmethod
    def from_json(cls, value: object, where: str = "by") -> Actor:
        names = _ACTOR_MEMBERS
        if isinstance(value, dict) and "person" in value:
            names = _ACTOR_MEMBERS | {"person"}
        members = _member_set(value, where, names)
        person = members.get("person")
        if "person" in members and person is None:
            # Absent means "no person"; an explicit null would be a second spelling of it,
            # and two byte forms of one entry would break the ledger's hash.
            raise LedgerEventError(f"{where}.person is omitted, never null, when nobody acted")
        schemes = members["schemes"]
        if not isinstance(schemes, list):
            raise LedgerEventError(f"{where}.schemes must be a list of strings")
        return cls(
            role=ActorRole(_choice(tuple(ActorRole)).load(members["role"], f"{where}.role")),
            token=_opt(INTEGER).load(members["token"], f"{where}.token"),
            body=_opt(TEXT).load(members["body"], f"{where}.body"),
            schemes=tuple(_text(s, f"{where}.schemes[]") for s in schemes),
            person=None if person is None else INTEGER.load(person, f"{where}.person"),
        )


_ACTOR_MEMBERS = frozenset({"role", "token", "body", "schemes"})
ACTOR: _Codec[Actor] = _Codec(Actor.to_json, Actor.from_json)


@dataclass(frozen=True, slots=True)
class StatusSlot:
    """A label's bit in one of its body's status lists."""

    list: str
    index: int

    def to_json(self) -> dict[str, Any]:
        return {"list": self.list, "index": self.index}

    @classmethod
    def from_json(cls, value: object, where: str) -> StatusSlot:
        members = _member_set(value, where, frozenset({"list", "index"}))
        return cls(_text(members["list"], f"{where}.list"), _integer(members["index"], where))


def _slots(value: object, where: str) -> tuple[StatusSlot, StatusSlot]:
    members = _member_set(value, where, frozenset({"revocation", "suspension"}))
    return (
        StatusSlot.from_json(members["revocation"], f"{where}.revocation"),
        StatusSlot.from_json(members["suspension"], f"{where}.suspension"),
    )


SLOTS: _Codec[tuple[StatusSlot, StatusSlot]] = _Codec(
    lambda s: {"revocation": s[0].to_json(), "suspension": s[1].to_json()}, _slots
)


# --- The events --------------------------------------------------------------------------------


class _Event:
    """Payload writing and strict reading, shared by every event type."""

    KIND: ClassVar[str]

    def to_payload(self) -> dict[str, Any]:
        """The entry's members besides ``seq``, ``time`` and ``event`` (which the ledger adds)."""
        payload: dict[str, Any] = {"v": EVENT_VERSION}
        for f in fields(cast(Any, self)):
            value = getattr(self, f.name)
            omitted = f.metadata["omitted"]
            if omitted is not _REQUIRED and value == omitted:
                continue
            payload[f.metadata["json"]] = f.metadata["codec"].dump(value)
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """Read a payload this type wrote; anything else raises :class:`LedgerEventError`."""
        if not isinstance(payload, Mapping):
            raise LedgerEventError(f"a {cls.KIND} payload must be an object")
        members, required, loads = _reading_plan(cls)
        version = payload.get("v")
        if type(version) is not int or version != EVENT_VERSION:
            raise LedgerEventError(f"{cls.KIND}: unsupported payload version {version!r}")
        unknown = sorted(payload.keys() - members - {"v"})
        missing = sorted(required - payload.keys())
        if unknown or missing:
            raise LedgerEventError(
                f"{cls.KIND}: "
                + "; ".join(
                    part
                    for part in (
                        f"unknown members {unknown}" if unknown else "",
                        f"missing members {missing}" if missing else "",
                    )
                    if part
                )
            )
        if len(required) == len(members):
            return cls(**{attr: load(payload[name], where) for name, attr, load, where, _ in loads})
        values: dict[str, Any] = {}
        for name, attr, load, where, omitted in loads:
            if name not in payload:
                values[attr] = omitted
                continue
            values[attr] = load(payload[name], where)
            if omitted is not _REQUIRED and values[attr] == omitted:
                # Only the canonical form: re-writing the entry would leave the member out.
                raise LedgerEventError(f"{where} must be left out when it is {omitted!r}")
        return cls(**values)


_Load = tuple[str, str, Callable[[object, str], Any], str, Any]
_PLANS: dict[type, tuple[frozenset[str], frozenset[str], tuple[_Load, ...]]] = {}


def _reading_plan(cls: type) -> tuple[frozenset[str], frozenset[str], tuple[_Load, ...]]:
    """A type's members and required members (JSON names) and, per member, its JSON name,
    attribute, codec's load, the name its errors give and its value when omitted: derived
    from the fields once per type, not per entry (a full replay reads every entry)."""
    plan = _PLANS.get(cls)
    if plan is None:
        kind = cast(Any, cls).KIND
        loads = tuple(
            (
                f.metadata["json"],
                f.name,
                f.metadata["codec"].load,
                f"{kind}.{f.metadata['json']}",
                f.metadata["omitted"],
            )
            for f in fields(cast(Any, cls))
        )
        plan = _PLANS[cls] = (
            frozenset(name for name, *_ in loads),
            frozenset(name for name, *_, omitted in loads if omitted is _REQUIRED),
            loads,
        )
    return plan


@dataclass(frozen=True, slots=True)
class SchemeRegistered(_Event):
    KIND: ClassVar[str] = "scheme.registered"
    scheme: str = field(metadata=_m("scheme", TEXT))
    region: str = field(metadata=_m("region", TEXT))
    names: Mapping[str, str] = field(metadata=_m("names", NAMES))
    owner: str = field(metadata=_m("owner", TEXT))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class RuleRegistered(_Event):
    KIND: ClassVar[str] = "rule.registered"
    scheme: str = field(metadata=_m("scheme", TEXT))
    rule: str = field(metadata=_m("rule", TEXT))
    category: str = field(metadata=_m("category", TEXT))
    names: Mapping[str, str] = field(metadata=_m("names", NAMES))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class RuleVersionPublished(_Event):
    KIND: ClassVar[str] = "rule_version.published"
    scheme: str = field(metadata=_m("scheme", TEXT))
    rule: str = field(metadata=_m("rule", TEXT))
    version: str = field(metadata=_m("version", TEXT))
    category: str = field(metadata=_m("category", TEXT))
    declared_unit: str = field(metadata=_m("declaredUnit", TEXT))
    standard: str = field(metadata=_m("standard", TEXT))
    in_force_from: datetime = field(metadata=_m("inForceFrom", TIME))
    in_force_until: datetime | None = field(metadata=_m("inForceUntil", _opt(TIME)))
    thresholds: Thresholds = field(metadata=_m("thresholds", THRESHOLDS))
    by: Actor = field(metadata=_m("by", ACTOR))
    # Added later, so left out at the value every earlier version had (see ``_m``).
    system_boundaries: tuple[str, ...] = field(
        default=ALL_BOUNDARIES,
        metadata=_m("systemBoundaries", BOUNDARY_SET, omitted=ALL_BOUNDARIES),
    )
    max_period_age_months: int | None = field(
        default=None, metadata=_m("maxPeriodAgeMonths", _opt(INTEGER), omitted=None)
    )
    allows_net_negative: bool = field(
        default=False, metadata=_m("allowsNetNegative", BOOLEAN, omitted=False)
    )


@dataclass(frozen=True, slots=True)
class BodyRegistered(_Event):
    KIND: ClassVar[str] = "body.registered"
    body: str = field(metadata=_m("body", TEXT))
    name: str = field(metadata=_m("name", TEXT))
    region: str = field(metadata=_m("region", TEXT))
    names: Mapping[str, str] = field(metadata=_m("names", NAMES))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class BodyStatusChanged(_Event):
    KIND: ClassVar[str] = "body.status_changed"
    body: str = field(metadata=_m("body", TEXT))
    status: str = field(metadata=_m("status", STANDING))
    previous_status: str = field(metadata=_m("previousStatus", STANDING))
    reason: str = field(metadata=_m("reason", TEXT))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class AccreditationGranted(_Event):
    KIND: ClassVar[str] = "accreditation.granted"
    accreditation: int = field(metadata=_m("accreditation", INTEGER))
    body: str = field(metadata=_m("body", TEXT))
    scheme: str = field(metadata=_m("scheme", TEXT))
    categories: tuple[str, ...] = field(metadata=_m("categories", STRINGS))
    accreditation_body: str = field(metadata=_m("accreditationBody", TEXT))
    reference: str = field(metadata=_m("reference", TEXT))
    valid_from: datetime = field(metadata=_m("validFrom", TIME))
    valid_until: datetime | None = field(metadata=_m("validUntil", _opt(TIME)))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class AccreditationStatusChanged(_Event):
    """``effective_at``: from when the new status holds (whole seconds, rounded up, so a label
    signed earlier in that second stays covered)."""

    KIND: ClassVar[str] = "accreditation.status_changed"
    accreditation: int = field(metadata=_m("accreditation", INTEGER))
    body: str = field(metadata=_m("body", TEXT))
    status: str = field(metadata=_m("status", STANDING))
    previous_status: str = field(metadata=_m("previousStatus", STANDING))
    reason: str = field(metadata=_m("reason", TEXT))
    effective_at: datetime = field(metadata=_m("effectiveAt", TIME))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class KeyAdded(_Event):
    KIND: ClassVar[str] = "key.added"
    body: str = field(metadata=_m("body", TEXT))
    public_key_multibase: str = field(metadata=_m("publicKeyMultibase", TEXT))
    controller: str = field(metadata=_m("controller", TEXT))
    managed: bool = field(metadata=_m("managed", BOOLEAN))
    active_from: datetime = field(metadata=_m("activeFrom", TIME))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class KeyRetired(_Event):
    KIND: ClassVar[str] = "key.retired"
    body: str = field(metadata=_m("body", TEXT))
    public_key_multibase: str = field(metadata=_m("publicKeyMultibase", TEXT))
    retired_at: datetime = field(metadata=_m("retiredAt", TIME))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class LabelIssued(_Event):
    """A label as the registry issued it; ``valid_from`` is the instant every check was made
    at (the proof's ``created``)."""

    KIND: ClassVar[str] = "label.issued"
    label: str = field(metadata=_m("label", TEXT))
    body: str = field(metadata=_m("body", TEXT))
    credential_digest: str = field(metadata=_m("credentialDigest", TEXT))
    verification_method: str = field(metadata=_m("verificationMethod", TEXT))
    scheme: str = field(metadata=_m("scheme", TEXT))
    rule: str = field(metadata=_m("rule", TEXT))
    rule_version: str = field(metadata=_m("ruleVersion", TEXT))
    category: str = field(metadata=_m("category", TEXT))
    footprint: Decimal = field(metadata=_m("footprint", DECIMAL))
    declared_unit: str = field(metadata=_m("declaredUnit", TEXT))
    declared_unit_amount: Decimal = field(metadata=_m("declaredUnitAmount", DECIMAL))
    grade: Grade = field(metadata=_m("grade", GRADE))
    valid_from: datetime = field(metadata=_m("validFrom", TIME))
    valid_until: datetime = field(metadata=_m("validUntil", TIME))
    status_lists: tuple[StatusSlot, StatusSlot] = field(metadata=_m("statusLists", SLOTS))
    supersedes: str | None = field(metadata=_m("supersedes", _opt(TEXT)))
    by: Actor = field(metadata=_m("by", ACTOR))
    # Added with PACT import: left out of every entry of a label not issued from a footprint.
    pact: PactSource | None = field(
        default=None, metadata=_m("pact", _opt(PACT_SOURCE), omitted=None)
    )


@dataclass(frozen=True, slots=True)
class _LabelStatusEvent(_Event):
    label: str = field(metadata=_m("label", TEXT))
    body: str = field(metadata=_m("body", TEXT))
    previous_status: str = field(metadata=_m("previousStatus", LABEL_STATUS))
    reason: str = field(metadata=_m("reason", TEXT))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class LabelSuspended(_LabelStatusEvent):
    KIND: ClassVar[str] = "label.suspended"


@dataclass(frozen=True, slots=True)
class LabelReinstated(_LabelStatusEvent):
    KIND: ClassVar[str] = "label.reinstated"


@dataclass(frozen=True, slots=True)
class LabelRevoked(_LabelStatusEvent):
    KIND: ClassVar[str] = "label.revoked"


@dataclass(frozen=True, slots=True)
class MappingPublished(_Event):
    """A recognition mapping's revision, whole (``credentials.recognition``); revision 1 opens
    a mapping, each later one supersedes the one before."""

    KIND: ClassVar[str] = "mapping.published"
    mapping: RecognitionMapping = field(metadata=_m("mapping", MAPPING))
    by: Actor = field(metadata=_m("by", ACTOR))


@dataclass(frozen=True, slots=True)
class MappingWithdrawn(_Event):
    """The end of a mapping: revision ``revision`` withdraws ``mapping`` from then on."""

    KIND: ClassVar[str] = "mapping.withdrawn"
    mapping: str = field(metadata=_m("mapping", TEXT))
    revision: int = field(metadata=_m("revision", INTEGER))
    target_scheme: str = field(metadata=_m("targetScheme", TEXT))
    reason: str = field(metadata=_m("reason", TEXT))
    by: Actor = field(metadata=_m("by", ACTOR))


LedgerEvent = (
    SchemeRegistered
    | RuleRegistered
    | RuleVersionPublished
    | BodyRegistered
    | BodyStatusChanged
    | AccreditationGranted
    | AccreditationStatusChanged
    | KeyAdded
    | KeyRetired
    | LabelIssued
    | LabelSuspended
    | LabelReinstated
    | LabelRevoked
    | MappingPublished
    | MappingWithdrawn
)

EVENT_TYPES: Mapping[str, type[LedgerEvent]] = {
    t.KIND: t
    for t in (
        SchemeRegistered,
        RuleRegistered,
        RuleVersionPublished,
        BodyRegistered,
        BodyStatusChanged,
        AccreditationGranted,
        AccreditationStatusChanged,
        KeyAdded,
        KeyRetired,
        LabelIssued,
        LabelSuspended,
        LabelReinstated,
        LabelRevoked,
        MappingPublished,
        MappingWithdrawn,
    )
}


def parse_event(kind: str, payload: Mapping[str, Any]) -> LedgerEvent:
    """The typed event of kind ``kind``; :class:`UnknownLedgerEventError` for another kind."""
    event_type = EVENT_TYPES.get(kind)
    if event_type is None:
        raise UnknownLedgerEventError(f"{kind!r} is not a ledger event kind")
    return event_type.from_payload(payload)


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One parsed entry: its position, when the ledger appended it, and the event."""

    seq: int
    time: datetime
    event: LedgerEvent


def parse_entry(body: bytes | str) -> LedgerRecord:
    """Parse one entry's exact bytes (as served by ``/ledger/entries``, one per line)."""
    try:
        entry = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LedgerEventError(f"entry is not JSON: {exc}") from exc
    if not isinstance(entry, dict):
        raise LedgerEventError("entry is not a JSON object")
    envelope = {name: entry.pop(name, None) for name in ENVELOPE}
    kind = envelope["event"]
    if not isinstance(kind, str):
        raise LedgerEventError("entry has no event kind")
    return LedgerRecord(
        seq=_integer(envelope["seq"], "seq"),
        time=parse_entry_time(envelope["time"]),
        event=parse_event(kind, entry),
    )

"""Replay a ledger: derive every body's, accreditation's, key's, rule's and label's state from
the entries alone, checking that each entry was a transition the registry may make.

An offline auditor runs this over an exported ledger (``/ledger/entries``); the registry runs
it in ``flask ledger verify`` and compares the result with its tables. Replay stops at the
first entry that is not allowed and names it (its ``seq``, a machine reason and a sentence):
everything after it was derived from a state that should never have existed.

Ledger order is the order of truth: an issuance appended after its body's suspension, its
accreditation's withdrawal or its key's retirement is refused whatever times it states, and
the periods (accreditation validity, key activity, rule in force) are checked at the instant
the label states it was issued (``validFrom``, the proof's ``created``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from credentials.errors import CredentialError, UnknownLedgerEventError
from credentials.grading import grade_for
from credentials.ledger_events import (
    AccreditationGranted,
    AccreditationStatusChanged,
    Actor,
    ActorRole,
    BodyRegistered,
    BodyStatusChanged,
    KeyAdded,
    KeyRetired,
    LabelIssued,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    LedgerEvent,
    LedgerRecord,
    MappingPublished,
    MappingWithdrawn,
    RuleRegistered,
    RuleVersionPublished,
    SchemeRegistered,
    parse_entry,
)
from credentials.ledger_state import (
    AccreditationState,
    BodyState,
    KeyState,
    LabelState,
    LedgerState,
    RuleVersionState,
)
from credentials.recognition import RecognitionMapping

T = TypeVar("T")

__all__ = [
    "AccreditationState",
    "BodyState",
    "KeyState",
    "LabelState",
    "LedgerState",
    "ReplayReason",
    "ReplayResult",
    "Replayer",
    "RuleVersionState",
    "Violation",
    "replay",
]


class ReplayReason(enum.StrEnum):
    """Why an entry is not allowed (stable machine values; the message is for people)."""

    MALFORMED_ENTRY = "malformed_entry"
    UNKNOWN_EVENT = "unknown_event"
    OUT_OF_SEQUENCE = "out_of_sequence"
    DUPLICATE = "duplicate"
    UNKNOWN_REFERENCE = "unknown_reference"
    INCONSISTENT = "inconsistent"
    NOT_AUTHORISED = "not_authorised"
    INVALID_TRANSITION = "invalid_transition"
    BODY_NOT_ACTIVE = "body_not_active"
    NOT_ACCREDITED = "not_accredited"
    KEY_NOT_ACTIVE = "key_not_active"
    RULE_NOT_IN_FORCE = "rule_not_in_force"
    GRADE_MISMATCH = "grade_mismatch"


@dataclass(frozen=True, slots=True)
class Violation:
    seq: int
    event: str
    reason: ReplayReason
    message: str

    def __str__(self) -> str:
        return f"entry {self.seq} ({self.event}): {self.reason.value}: {self.message}"


class _RefusedError(Exception):
    def __init__(self, reason: ReplayReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ReplayResult:
    state: LedgerState
    size: int  # entries applied (all of them, or those before the violation)
    violation: Violation | None

    @property
    def ok(self) -> bool:
        return self.violation is None


def _require(condition: bool, reason: ReplayReason, message: str | Callable[[], str]) -> None:
    # Messages that format values come as a callable: most checks pass, and building their
    # text (isoformat() of a time, several fields) for every entry was a measurable part of
    # a full replay.
    if not condition:
        raise _RefusedError(reason, message if isinstance(message, str) else message())


def _by_operator(by: Actor, what: str) -> None:
    _require(
        by.role is ActorRole.OPERATOR,
        ReplayReason.NOT_AUTHORISED,
        lambda: f"{what} is the operator's to make, not a {by.role.value}'s",
    )


def _found(value: T | None, what: str | Callable[[], str]) -> T:
    if value is None:
        name = what if isinstance(what, str) else what()
        raise _RefusedError(ReplayReason.UNKNOWN_REFERENCE, f"{name} is not in the ledger")
    return value


_LABEL_MOVES: Mapping[str, tuple[frozenset[str], str]] = {
    LabelSuspended.KIND: (frozenset({"active"}), "suspended"),
    LabelReinstated.KIND: (frozenset({"suspended"}), "active"),
    LabelRevoked.KIND: (frozenset({"active", "suspended", "superseded"}), "revoked"),
}


class Replayer:
    """Applies entries one at a time (so a large ledger can be streamed through it)."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self.size = 0
        self.violation: Violation | None = None
        # Each body's keys of its own (key.added with managed false), so the issuance rule
        # below asks only the few keys of bodies that have any.
        self._own_keys: dict[str, list[str]] = {}

    def feed(self, entry: bytes | str) -> bool:
        """Apply one entry's exact bytes; ``False`` (and :attr:`violation`) once one is refused."""
        if self.violation is not None:
            return False
        try:
            record = parse_entry(entry)
        except UnknownLedgerEventError as exc:
            return self._refuse(ReplayReason.UNKNOWN_EVENT, str(exc), _peek_kind(entry))
        except CredentialError as exc:
            return self._refuse(ReplayReason.MALFORMED_ENTRY, str(exc), _peek_kind(entry))
        return self.apply(record)

    def apply(self, record: LedgerRecord) -> bool:
        if self.violation is not None:
            return False
        kind = record.event.KIND
        if record.seq != self.size:
            return self._refuse(
                ReplayReason.OUT_OF_SEQUENCE, f"expected entry {self.size}, got {record.seq}", kind
            )
        try:
            self._apply(record.seq, record.event)
        except _RefusedError as refused:
            return self._refuse(refused.reason, refused.message, kind)
        self.size += 1
        return True

    def result(self) -> ReplayResult:
        return ReplayResult(self.state, self.size, self.violation)

    def _refuse(self, reason: ReplayReason, message: str, kind: str) -> bool:
        self.violation = Violation(self.size, kind, reason, message)
        return False

    def _apply(self, seq: int, event: LedgerEvent) -> None:
        s = self.state
        match event:
            case SchemeRegistered():
                _by_operator(event.by, "registering a scheme")
                _require(event.scheme not in s.schemes, ReplayReason.DUPLICATE, "scheme exists")
                s.schemes[event.scheme] = event.region
            case RuleRegistered():
                _by_operator(event.by, "registering a rule")
                _found(s.schemes.get(event.scheme), lambda: f"scheme {event.scheme}")
                key = (event.scheme, event.rule)
                _require(key not in s.rules, ReplayReason.DUPLICATE, "the rule exists")
                s.rules[key] = event.category
            case RuleVersionPublished():
                self._publish(event)
            case BodyRegistered():
                _by_operator(event.by, "registering a body")
                _require(event.body not in s.bodies, ReplayReason.DUPLICATE, "the body exists")
                s.bodies[event.body] = BodyState(event.body, event.name, "active")
            case BodyStatusChanged():
                _by_operator(event.by, "changing a body's status")
                body = _found(s.bodies.get(event.body), lambda: f"body {event.body}")
                _standing_move(body.status, event.previous_status, event.status)
                s.bodies[event.body] = replace(body, status=event.status, status_by=event.by)
            case AccreditationGranted():
                self._grant(event)
            case AccreditationStatusChanged():
                _by_operator(event.by, "changing an accreditation's status")
                acc = _found(
                    s.accreditations.get(event.accreditation),
                    lambda: f"accreditation {event.accreditation}",
                )
                _require(
                    acc.body == event.body,
                    ReplayReason.INCONSISTENT,
                    lambda: f"accreditation {acc.id} is {acc.body}'s, not {event.body}'s",
                )
                _standing_move(acc.status, event.previous_status, event.status)
                s.accreditations[acc.id] = replace(
                    acc, status=event.status, status_changed_at=event.effective_at
                )
            case KeyAdded():
                _by_operator(event.by, "adding a key")
                _found(s.bodies.get(event.body), lambda: f"body {event.body}")
                mb = event.public_key_multibase
                _require(mb not in s.keys, ReplayReason.DUPLICATE, lambda: f"key {mb} exists")
                _require(
                    event.controller == f"did:key:{mb}",
                    ReplayReason.INCONSISTENT,
                    "the controller is not the key's did:key",
                )
                s.keys[mb] = KeyState(event.body, mb, event.managed, event.active_from)
                if not event.managed:
                    self._own_keys.setdefault(event.body, []).append(mb)
            case KeyRetired():
                _by_operator(event.by, "retiring a key")
                key_state = _found(
                    s.keys.get(event.public_key_multibase),
                    lambda: f"key {event.public_key_multibase}",
                )
                _require(
                    key_state.body == event.body,
                    ReplayReason.INCONSISTENT,
                    lambda: f"the key is {key_state.body}'s",
                )
                _require(
                    key_state.retired_at is None,
                    ReplayReason.INVALID_TRANSITION,
                    "the key is already retired",
                )
                _require(
                    event.retired_at >= key_state.active_from,
                    ReplayReason.INCONSISTENT,
                    "retired before it became active",
                )
                s.keys[key_state.public_key_multibase] = replace(
                    key_state, retired_at=event.retired_at
                )
            case LabelIssued():
                self._issue(seq, event)
            case LabelSuspended() | LabelReinstated() | LabelRevoked():
                self._change(event)
            case MappingPublished():
                self._publish_mapping(event)
            case MappingWithdrawn():
                self._withdraw_mapping(event)

    def _mapping_authority(self, by: Actor, target_scheme: str) -> None:
        _require(
            by.oversees(target_scheme),
            ReplayReason.NOT_AUTHORISED,
            lambda: (
                f"only the operator or a regulator of {target_scheme} publishes its recognition"
            ),
        )

    def _next_revision(self, mapping_id: str, revision: int) -> list[RecognitionMapping]:
        revisions = self.state.mappings.get(mapping_id, [])
        expected = len(revisions) + 1
        _require(
            revision == expected,
            ReplayReason.OUT_OF_SEQUENCE,
            lambda: f"mapping {mapping_id}: expected revision {expected}, got {revision}",
        )
        return revisions

    def _publish_mapping(self, event: MappingPublished) -> None:
        s, m = self.state, event.mapping
        self._mapping_authority(event.by, m.target.scheme)
        _found(s.schemes.get(m.source.scheme), lambda: f"scheme {m.source.scheme}")
        region = _found(s.schemes.get(m.target.scheme), lambda: f"scheme {m.target.scheme}")
        _require(
            m.target.region == region,
            ReplayReason.INCONSISTENT,
            lambda: f"scheme {m.target.scheme} is of region {region}, not {m.target.region}",
        )
        for rule in sorted(m.source.rules):
            _found(s.rules.get((m.source.scheme, rule)), f"rule {m.source.scheme}/{rule}")
        if m.target.rule_id is not None and m.target.rule_version is not None:
            key = (m.target.scheme, m.target.rule_id, m.target.rule_version)
            _found(s.rule_versions.get(key), lambda: f"rule version {'/'.join(key)}")
        revisions = self._next_revision(m.mapping_id, m.revision)
        if revisions:
            _require(
                revisions[0].target.scheme == m.target.scheme,
                ReplayReason.INCONSISTENT,
                lambda: (
                    f"mapping {m.mapping_id} targets {revisions[0].target.scheme}; "
                    "a revision keeps it"
                ),
            )
        s.mappings[m.mapping_id] = [*revisions, m]

    def _withdraw_mapping(self, event: MappingWithdrawn) -> None:
        revisions = _found(
            self.state.mappings.get(event.mapping), lambda: f"mapping {event.mapping}"
        )
        last = revisions[-1]
        self._mapping_authority(event.by, last.target.scheme)
        _require(
            event.target_scheme == last.target.scheme,
            ReplayReason.INCONSISTENT,
            lambda: (
                f"mapping {event.mapping} targets {last.target.scheme}, not {event.target_scheme}"
            ),
        )
        _require(
            not last.withdrawn,
            ReplayReason.INVALID_TRANSITION,
            lambda: f"mapping {event.mapping} is already withdrawn",
        )
        self._next_revision(event.mapping, event.revision)
        self.state.mappings[event.mapping] = [
            *revisions,
            replace(last, revision=event.revision, withdrawn=True),
        ]

    def _publish(self, event: RuleVersionPublished) -> None:
        s, by = self.state, event.by
        _require(
            by.oversees(event.scheme),
            ReplayReason.NOT_AUTHORISED,
            lambda: f"only the operator or a regulator of {event.scheme} publishes its rules",
        )
        category = s.rules.get((event.scheme, event.rule))
        _found(category, lambda: f"rule {event.scheme}/{event.rule}")
        _require(
            category == event.category,
            ReplayReason.INCONSISTENT,
            lambda: f"rule {event.rule} is for category {category}, not {event.category}",
        )
        key = (event.scheme, event.rule, event.version)
        _require(key not in s.rule_versions, ReplayReason.DUPLICATE, "versions are immutable")
        _require(
            event.in_force_until is None or event.in_force_until > event.in_force_from,
            ReplayReason.INCONSISTENT,
            "in force until before in force from",
        )
        s.rule_versions[key] = RuleVersionState(
            event.scheme,
            event.rule,
            event.version,
            event.category,
            event.declared_unit,
            event.standard,
            event.thresholds,
            event.in_force_from,
            event.in_force_until,
            event.system_boundaries,
            event.max_period_age_months,
            event.allows_net_negative,
        )

    def _grant(self, event: AccreditationGranted) -> None:
        s = self.state
        _by_operator(event.by, "granting an accreditation")
        _found(s.bodies.get(event.body), lambda: f"body {event.body}")
        _found(s.schemes.get(event.scheme), lambda: f"scheme {event.scheme}")
        _require(
            event.accreditation not in s.accreditations,
            ReplayReason.DUPLICATE,
            lambda: f"accreditation {event.accreditation} exists",
        )
        _require(
            event.valid_until is None or event.valid_until > event.valid_from,
            ReplayReason.INCONSISTENT,
            "valid until before valid from",
        )
        s.accreditations[event.accreditation] = AccreditationState(
            event.accreditation,
            event.body,
            event.scheme,
            frozenset(event.categories),
            event.valid_from,
            event.valid_until,
        )

    def _holds_own_key(self, body: str, at: datetime) -> bool:
        """Whether a key of the body's own is active at ``at`` (as a verifier judges it from
        the trust bundle: until its retirement, rounded up to the second)."""
        return any(
            self.state.keys[mb].period().active_at(at) for mb in self._own_keys.get(body, ())
        )

    def _issue(self, seq: int, event: LabelIssued) -> None:
        s, at = self.state, event.valid_from
        _require(
            event.by.role is ActorRole.CERTIFIER and event.by.body == event.body,
            ReplayReason.NOT_AUTHORISED,
            lambda: f"only a certifier of {event.body} issues its labels",
        )
        _require(event.label not in s.labels, ReplayReason.DUPLICATE, "the label exists")
        body = _found(s.bodies.get(event.body), lambda: f"body {event.body}")
        _require(
            body.status == "active",
            ReplayReason.BODY_NOT_ACTIVE,
            lambda: f"{event.body} is {body.status}",
        )
        rv = _found(
            s.rule_versions.get((event.scheme, event.rule, event.rule_version)),
            lambda: f"rule version {event.scheme}/{event.rule} {event.rule_version}",
        )
        _require(
            (rv.category, rv.declared_unit) == (event.category, event.declared_unit),
            ReplayReason.INCONSISTENT,
            lambda: f"the rule version is for {rv.category} per {rv.declared_unit}",
        )
        _require(
            rv.period().in_force_at(at),
            ReplayReason.RULE_NOT_IN_FORCE,
            lambda: f"{event.rule} {event.rule_version} is not in force at {at.isoformat()}",
        )
        _require(
            any(
                a.body == event.body
                and a.status == "active"
                and a.period().covers(event.scheme, event.category, at)
                for a in s.accreditations.values()
            ),
            ReplayReason.NOT_ACCREDITED,
            lambda: (
                f"{event.body} holds no active accreditation for {event.scheme} / "
                f"{event.category} at {at.isoformat()}"
            ),
        )
        method = event.verification_method
        multibase = method.removeprefix("did:key:").partition("#")[0]
        key = _found(s.keys.get(multibase), lambda: f"key {multibase}")
        _require(
            key.body == event.body and method == f"did:key:{multibase}#{multibase}",
            ReplayReason.KEY_NOT_ACTIVE,
            lambda: f"{method} is not a key of {event.body}",
        )
        _require(
            key.retired_at is None and key.period().active_at(at),
            ReplayReason.KEY_NOT_ACTIVE,
            lambda: (
                f"the key is not active at {at.isoformat()}"
                + ("" if key.retired_at is None else " (it was retired)")
            ),
        )
        # A body that holds its own key signs its labels itself: the registry's key of such a
        # body (it signs the body's status lists) signs none while the body's own key is active.
        _require(
            not key.managed or not self._holds_own_key(event.body, at),
            ReplayReason.KEY_NOT_ACTIVE,
            lambda: (
                f"{event.body} holds its own key at {at.isoformat()}, so a key the registry "
                "holds signs none of its labels"
            ),
        )
        try:
            grade = grade_for(event.footprint, rv.thresholds, amount=event.declared_unit_amount)
        except CredentialError as exc:
            raise _RefusedError(ReplayReason.INCONSISTENT, str(exc)) from exc
        _require(
            grade == event.grade,
            ReplayReason.GRADE_MISMATCH,
            lambda: f"the thresholds give grade {grade}, the entry states {event.grade}",
        )
        _require(
            event.valid_until > event.valid_from,
            ReplayReason.INCONSISTENT,
            "valid until before valid from",
        )
        slots = {(slot.list, slot.index) for slot in event.status_lists}
        _require(
            len(slots) == 2 and not slots & s.slots,
            ReplayReason.DUPLICATE,
            "a status-list index is already taken",
        )
        if event.supersedes is not None:
            old = _found(s.labels.get(event.supersedes), lambda: f"label {event.supersedes}")
            _require(
                old.body == event.body,
                ReplayReason.NOT_AUTHORISED,
                "a label supersedes only a label of its own body",
            )
            _require(
                old.status in ("active", "suspended"),
                ReplayReason.INVALID_TRANSITION,
                lambda: f"label {old.id} is {old.status} and cannot be superseded",
            )
            suspender = old.status_by
            _require(
                old.status == "active"
                or (suspender is not None and suspender.role is ActorRole.CERTIFIER),
                ReplayReason.NOT_AUTHORISED,
                lambda: (
                    f"superseding label {old.id} would lift a suspension made by "
                    + ("nobody" if suspender is None else _who(suspender.role))
                ),
            )
            s.labels[old.id] = replace(old, status="superseded", superseded_by=event.label)
        s.slots.update(slots)
        s.labels[event.label] = issued_label(seq, event)

    def _change(self, event: LabelSuspended | LabelReinstated | LabelRevoked) -> None:
        s, by = self.state, event.by
        label = _found(s.labels.get(event.label), lambda: f"label {event.label}")
        _require(
            label.body == event.body,
            ReplayReason.INCONSISTENT,
            lambda: f"label {label.id} is {label.body}'s, not {event.body}'s",
        )
        _require(
            label.status == event.previous_status,
            ReplayReason.INCONSISTENT,
            lambda: f"label {label.id} was {label.status}, the entry says {event.previous_status}",
        )
        allowed, target = _LABEL_MOVES[event.KIND]
        _require(
            label.status in allowed,
            ReplayReason.INVALID_TRANSITION,
            lambda: (
                f"label {label.id} is {label.status} and cannot become {target}"
                + ("; revocation is final" if label.status == "revoked" else "")
            ),
        )
        _require(*_may_change(by, label, target))
        s.labels[label.id] = replace(label, status=target, status_by=by)


def issued_label(seq: int, event: LabelIssued) -> LabelState:
    """The state a ``label.issued`` entry at ``seq`` gives its label (before any change)."""
    return LabelState(
        id=event.label,
        body=event.body,
        scheme=event.scheme,
        seq=seq,
        grade=event.grade,
        credential_digest=event.credential_digest,
        public_key_multibase=event.verification_method.removeprefix("did:key:").partition("#")[0],
        supersedes=event.supersedes,
    )


def _may_change(by: Actor, label: LabelState, target: str) -> tuple[bool, ReplayReason, str]:
    """Whether ``by`` may move ``label`` to ``target``: the registry's authority rules."""
    refused = ReplayReason.NOT_AUTHORISED
    match by.role:
        case ActorRole.CERTIFIER:
            if by.body != label.body:
                return False, refused, f"a certifier of {by.body} changed {label.body}'s label"
        case ActorRole.REGULATOR:
            if label.scheme not in by.schemes or target == "revoked":
                return False, refused, "a regulator may only suspend and lift under its schemes"
        case ActorRole.OPERATOR:
            if target == "revoked":
                return False, refused, "the operator suspends labels; it does not revoke them"
    if target == "active":
        # Only the authority that suspended a label lifts the suspension.
        suspender = label.status_by
        if suspender is None or suspender.role is not by.role:
            made = "nobody" if suspender is None else _who(suspender.role)
            return False, refused, f"{_who(by.role)} lifted a suspension made by {made}"
    return True, refused, ""


def _who(role: ActorRole) -> str:
    return "the operator" if role is ActorRole.OPERATOR else f"a {role.value}"


def _standing_move(current: str, previous: str, target: str) -> None:
    _require(
        current == previous,
        ReplayReason.INCONSISTENT,
        lambda: f"the status was {current}, the entry says {previous}",
    )
    _require(current != target, ReplayReason.INVALID_TRANSITION, lambda: f"it is already {target}")
    _require(current != "withdrawn", ReplayReason.INVALID_TRANSITION, "withdrawal is final")


def _peek_kind(entry: bytes | str) -> str:
    """The event kind of an entry that did not parse, for naming it (best effort)."""
    try:
        kind = json.loads(entry).get("event")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "?"
    return kind if isinstance(kind, str) else "?"


def replay(entries: Iterable[bytes | str]) -> ReplayResult:
    """Replay entries (exact bytes, from ``seq`` 0 on); the state and the first violation."""
    replayer = Replayer()
    for entry in entries:
        if not replayer.feed(entry):
            break
    return replayer.result()

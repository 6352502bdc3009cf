"""Audit findings from ledger entries alone: what a regulator should look at, with evidence.

Replay (:mod:`credentials.ledger_replay`) stops at the first refused entry; an audit must list
them all. So the findings pass replays *tolerantly*: a refused entry becomes a finding and the
pass goes on. A refused ``label.issued`` (out of scope, retired key, rule not in force, body not
active, wrong grade) is still admitted to the state, so the entries that later suspend or
revoke that label are judged as the registry would have judged them; any other refused entry
is left out of the state, as replay leaves it out. The issuance predicates are the kit's own
(``Accreditation.covers``, ``TrustedKey.active_at``, ``TrustedRule.in_force_at``,
:func:`~credentials.grading.grade_for`), evaluated one by one so that an issuance that breaks
several rules yields one finding per rule.

The statistical findings (footprint outliers, GTIN reuse, bursts) are leads, not violations:
their thresholds are in :class:`AuditSettings`, and each finding states the method.

Everything is deterministic: findings are sorted by their first evidence entry, then kind.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from credentials.errors import CredentialError, UnknownLedgerEventError
from credentials.grading import grade_for
from credentials.ledger_events import (
    AccreditationStatusChanged,
    BodyStatusChanged,
    LabelIssued,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    LedgerRecord,
    MappingPublished,
    MappingWithdrawn,
    RuleVersionPublished,
    parse_entry,
)
from credentials.ledger_replay import Replayer, ReplayReason, Violation, issued_label
from credentials.ledger_state import LedgerState

__all__ = [
    "AuditSettings",
    "Finding",
    "FindingKind",
    "Severity",
    "entry_schemes",
    "find_findings",
    "make_finding",
]


class FindingKind(enum.StrEnum):
    """What a finding is about (stable machine values)."""

    OUT_OF_SCOPE = "out_of_scope"  # no active accreditation covering scheme/category at validFrom
    KEY_NOT_ACTIVE = "key_not_active"  # signed with a retired, foreign or not-yet-active key
    RULE_NOT_IN_FORCE = "rule_not_in_force"
    BODY_NOT_ACTIVE = "body_not_active"
    GRADE_MISMATCH = "grade_mismatch"
    UNAUTHORISED_STATUS_CHANGE = "unauthorised_status_change"
    REFUSED_ENTRY = "refused_entry"  # any other transition replay refuses
    FOOTPRINT_OUTLIER = "footprint_outlier"
    GTIN_SEVERAL_BODIES = "gtin_several_bodies"
    GTIN_RELABELLED = "gtin_relabelled"
    ISSUANCE_BURST = "issuance_burst"
    STATE_MISMATCH = "state_mismatch"  # registry side: a table disagrees with the entries
    TAMPERED_ENTRY = "tampered_entry"  # registry side: stored bytes, hashes or nodes differ


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True, slots=True)
class Finding:
    """``evidence`` are the seqs of the entries it rests on; ``schemes`` the schemes of those
    entries (empty when an entry is under none, such as a body's status change)."""

    kind: FindingKind
    severity: Severity
    message: str
    evidence: tuple[int, ...]
    schemes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": list(self.evidence),
            "schemes": list(self.schemes),
        }


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """Thresholds of the statistical findings (the defaults are stated in each finding)."""

    outlier_min_group: int = 10  # N: labels of one (rule, declared unit) before z is meaningful
    outlier_z: Decimal = Decimal("3.5")  # Iglewicz–Hoaglin's cut-off for the modified z-score
    relabel_limit: int = 3  # more labels than this for one GTIN is unusual
    burst_count: int = 20  # K: more than K issuances by one body …
    burst_window: timedelta = timedelta(minutes=10)  # … within T


_SEVERITY: Mapping[FindingKind, Severity] = {
    FindingKind.OUT_OF_SCOPE: Severity.CRITICAL,
    FindingKind.KEY_NOT_ACTIVE: Severity.CRITICAL,
    FindingKind.RULE_NOT_IN_FORCE: Severity.CRITICAL,
    FindingKind.BODY_NOT_ACTIVE: Severity.CRITICAL,
    FindingKind.GRADE_MISMATCH: Severity.CRITICAL,
    FindingKind.UNAUTHORISED_STATUS_CHANGE: Severity.CRITICAL,
    FindingKind.REFUSED_ENTRY: Severity.CRITICAL,
    FindingKind.FOOTPRINT_OUTLIER: Severity.WARNING,
    FindingKind.GTIN_SEVERAL_BODIES: Severity.WARNING,
    FindingKind.GTIN_RELABELLED: Severity.INFO,
    FindingKind.ISSUANCE_BURST: Severity.WARNING,
    FindingKind.STATE_MISMATCH: Severity.CRITICAL,
    FindingKind.TAMPERED_ENTRY: Severity.CRITICAL,
}

# Refusals of an issuance that the findings pass reports itself, predicate by predicate.
_ISSUANCE_REASONS = frozenset(
    {
        ReplayReason.NOT_ACCREDITED,
        ReplayReason.KEY_NOT_ACTIVE,
        ReplayReason.RULE_NOT_IN_FORCE,
        ReplayReason.BODY_NOT_ACTIVE,
        ReplayReason.GRADE_MISMATCH,
    }
)
_STATUS_KINDS = frozenset(
    {
        LabelSuspended.KIND,
        LabelReinstated.KIND,
        LabelRevoked.KIND,
        BodyStatusChanged.KIND,
        AccreditationStatusChanged.KIND,
    }
)


def make_finding(
    kind: FindingKind, message: str, evidence: Iterable[int], schemes: Iterable[str] = ()
) -> Finding:
    """A finding of ``kind`` at its kind's severity (the registry adds its own kinds here)."""
    return Finding(
        kind, _SEVERITY[kind], message, tuple(sorted(set(evidence))), tuple(sorted(set(schemes)))
    )


@dataclass(frozen=True, slots=True)
class _Issuance:
    seq: int
    time: datetime
    event: LabelIssued


class _Pass(Replayer):
    """A replayer that records refusals and goes on (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.findings: list[Finding] = []
        self.issuances: list[_Issuance] = []
        self.label_schemes: dict[str, str] = {}
        self.expected = 0

    def feed_tolerantly(self, entry: bytes | str, position: int) -> None:
        try:
            record = parse_entry(entry)
        except UnknownLedgerEventError as exc:
            self._refused(position, "?", ReplayReason.UNKNOWN_EVENT, str(exc), ())
            self.expected = max(self.expected, position + 1)
            return
        except CredentialError as exc:
            self._refused(position, "?", ReplayReason.MALFORMED_ENTRY, str(exc), ())
            self.expected = max(self.expected, position + 1)
            return
        schemes = _schemes_of(record, self.label_schemes.get)
        if record.seq != self.expected:
            self._refused(
                record.seq,
                record.event.KIND,
                ReplayReason.OUT_OF_SEQUENCE,
                f"expected entry {self.expected}, got {record.seq} (an entry is missing, "
                "repeated or out of order)",
                schemes,
            )
        self.expected = max(self.expected, record.seq + 1)
        before = len(self.findings)
        if isinstance(record.event, LabelIssued):
            self._check_issuance(record.seq, record.event)
            self.issuances.append(_Issuance(record.seq, record.time, record.event))
        # Each entry is judged against the state alone, whatever its neighbours' order.
        self.size, self.violation = record.seq, None
        if not self.apply(record):
            violation = self.violation
            assert violation is not None  # noqa: S101 - apply() sets it whenever it refuses
            self.violation = None
            issuance = isinstance(record.event, LabelIssued)
            if issuance and violation.reason in _ISSUANCE_REASONS:
                assert isinstance(record.event, LabelIssued)  # noqa: S101 - for mypy
                self._admit(record.seq, record.event)
            if (
                not issuance
                or violation.reason not in _ISSUANCE_REASONS
                or (
                    len(self.findings) == before  # a rule the predicates above do not state
                )
            ):
                self._refused(
                    record.seq, violation.event, violation.reason, violation.message, schemes
                )
        if isinstance(record.event, LabelIssued):
            self.label_schemes.setdefault(record.event.label, record.event.scheme)

    def _refused(
        self, seq: int, kind: str, reason: ReplayReason, message: str, schemes: Sequence[str]
    ) -> None:
        finding_kind = (
            FindingKind.UNAUTHORISED_STATUS_CHANGE
            if reason is ReplayReason.NOT_AUTHORISED and kind in _STATUS_KINDS
            else FindingKind.REFUSED_ENTRY
        )
        text = str(Violation(seq, kind, reason, message))
        self.findings.append(make_finding(finding_kind, text, (seq,), schemes))

    def _check_issuance(self, seq: int, event: LabelIssued) -> None:
        s, at, when = self.state, event.valid_from, event.valid_from.isoformat()

        def add(kind: FindingKind, message: str) -> None:
            text = f"label {event.label} (entry {seq}) by {event.body}: {message}"
            self.findings.append(make_finding(kind, text, (seq,), (event.scheme,)))

        body = s.bodies.get(event.body)
        if body is not None and body.status != "active":
            add(FindingKind.BODY_NOT_ACTIVE, f"issued while the body was {body.status}")
        if not any(
            a.body == event.body
            and a.status == "active"
            and a.period().covers(event.scheme, event.category, at)
            for a in s.accreditations.values()
        ):
            add(
                FindingKind.OUT_OF_SCOPE,
                f"no active accreditation covers {event.scheme} / {event.category} at {when}",
            )
        multibase = event.verification_method.removeprefix("did:key:").partition("#")[0]
        key = s.keys.get(multibase)
        if key is None or key.body != event.body:
            add(FindingKind.KEY_NOT_ACTIVE, f"signed with {multibase}, not a key of the body")
        elif key.retired_at is not None or not key.period().active_at(at):
            retired = "" if key.retired_at is None else f" (retired {key.retired_at.isoformat()})"
            add(FindingKind.KEY_NOT_ACTIVE, f"signed with a key not active at {when}{retired}")
        rv = s.rule_versions.get((event.scheme, event.rule, event.rule_version))
        if rv is None:
            return  # an unknown rule version is a refused entry (replay names it)
        if not rv.period().in_force_at(at):
            add(
                FindingKind.RULE_NOT_IN_FORCE,
                f"{event.rule} {event.rule_version} is not in force at {when}",
            )
        try:
            grade = grade_for(event.footprint, rv.thresholds, amount=event.declared_unit_amount)
        except CredentialError:
            return  # replay refuses it as inconsistent
        if grade != event.grade:
            add(
                FindingKind.GRADE_MISMATCH,
                f"states grade {event.grade}; {event.rule} {event.rule_version}'s thresholds "
                f"give {grade} for {event.footprint} kgCO2e per {event.declared_unit_amount} "
                f"{event.declared_unit}",
            )

    def _admit(self, seq: int, event: LabelIssued) -> None:
        """Record a refused issuance in the state (without its supersession, which replay
        would have judged on a state that should not exist), so later entries about the label
        are judged rather than refused as unknown."""
        if event.label in self.state.labels:
            return
        self.state.slots.update((slot.list, slot.index) for slot in event.status_lists)
        self.state.labels[event.label] = issued_label(seq, event)


def entry_schemes(record: LedgerRecord, state: LedgerState) -> tuple[str, ...]:
    """The schemes an entry is under (a label's status change: its label's, from ``state``)."""

    def scheme_of(label_id: str) -> str | None:
        label = state.labels.get(label_id)
        return None if label is None else label.scheme

    return _schemes_of(record, scheme_of)


def _schemes_of(record: LedgerRecord, label_scheme: Callable[[str], str | None]) -> tuple[str, ...]:
    event = record.event
    match event:
        case LabelIssued() | RuleVersionPublished():
            return (event.scheme,)
        case LabelSuspended() | LabelReinstated() | LabelRevoked():
            scheme = label_scheme(event.label)
            return () if scheme is None else (scheme,)
        case MappingPublished():
            return (event.mapping.target.scheme,)
        case MappingWithdrawn():
            return (event.target_scheme,)
        case _:
            return ()


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _outliers(issuances: Sequence[_Issuance], settings: AuditSettings) -> list[Finding]:
    groups: dict[tuple[str, str, str], list[tuple[_Issuance, Decimal]]] = defaultdict(list)
    with localcontext() as ctx:
        ctx.prec = 34
        for item in issuances:
            e = item.event
            if e.footprint > 0 and e.declared_unit_amount > 0:  # log(0) has no z-score
                x = (e.footprint / e.declared_unit_amount).ln()
                groups[(e.scheme, e.rule, e.declared_unit)].append((item, x))
        out = []
        for (scheme, rule, unit), members in sorted(groups.items()):
            if len(members) < settings.outlier_min_group:
                continue
            med = _median([x for _, x in members])
            mad = _median([abs(x - med) for _, x in members])
            if mad == 0:
                continue  # most footprints equal: the modified z-score is undefined
            for item, x in members:
                z = Decimal("0.6745") * (x - med) / mad
                if abs(z) > settings.outlier_z:
                    e = item.event
                    out.append(
                        make_finding(
                            FindingKind.FOOTPRINT_OUTLIER,
                            f"label {e.label} (entry {item.seq}) by {e.body}: "
                            f"{e.footprint} kgCO2e per {e.declared_unit_amount} {unit} is an "
                            f"outlier among the {len(members)} labels under {scheme}/{rule} per "
                            f"{unit}: modified z-score {z:.2f} (Iglewicz–Hoaglin: "
                            f"z = 0.6745·(x − median)/MAD on x = ln(footprint per declared unit),"
                            f" flagged when |z| > {settings.outlier_z}, groups of at least "
                            f"{settings.outlier_min_group})",
                            (item.seq,),
                            (scheme,),
                        )
                    )
    return out


def _gtins(
    issuances: Sequence[_Issuance], gtins: Mapping[str, str], settings: AuditSettings
) -> list[Finding]:
    by_gtin: dict[str, list[_Issuance]] = defaultdict(list)
    for item in issuances:
        gtin = gtins.get(item.event.label)
        if gtin is not None:
            by_gtin[gtin].append(item)
    out = []
    for gtin, items in sorted(by_gtin.items()):
        seqs = [i.seq for i in items]
        schemes = [i.event.scheme for i in items]
        bodies = sorted({i.event.body for i in items})
        if len(bodies) > 1:
            out.append(
                make_finding(
                    FindingKind.GTIN_SEVERAL_BODIES,
                    f"GTIN {gtin} is labelled by {len(bodies)} bodies ({', '.join(bodies)}) in "
                    f"entries {', '.join(map(str, seqs))}",
                    seqs,
                    schemes,
                )
            )
        if len(items) > settings.relabel_limit:
            out.append(
                make_finding(
                    FindingKind.GTIN_RELABELLED,
                    f"GTIN {gtin} has {len(items)} labels (more than {settings.relabel_limit}) "
                    f"in entries {', '.join(map(str, seqs))}",
                    seqs,
                    schemes,
                )
            )
    return out


def _bursts(issuances: Sequence[_Issuance], settings: AuditSettings) -> list[Finding]:
    by_body: dict[str, list[_Issuance]] = defaultdict(list)
    for item in issuances:
        by_body[item.event.body].append(item)
    out = []
    k, window = settings.burst_count, settings.burst_window
    for body, items in sorted(by_body.items()):
        items.sort(key=lambda i: (i.time, i.seq))
        flagged = [False] * len(items)
        start = 0
        for end in range(len(items)):
            while items[end].time - items[start].time > window:
                start += 1
            if end - start + 1 > k:
                flagged[start : end + 1] = [True] * (end - start + 1)
        runs: list[list[_Issuance]] = []
        for index, item in enumerate(items):
            if not flagged[index]:
                continue
            if index and flagged[index - 1]:
                runs[-1].append(item)
            else:
                runs.append([item])
        minutes = window.total_seconds() / 60
        for run in runs:
            out.append(
                make_finding(
                    FindingKind.ISSUANCE_BURST,
                    f"{body} issued {len(run)} labels between {run[0].time.isoformat()} and "
                    f"{run[-1].time.isoformat()} (entries {run[0].seq}–{run[-1].seq}): more "
                    f"than {k} within {minutes:g} minutes",
                    [i.seq for i in run],
                    [i.event.scheme for i in run],
                )
            )
    return out


def find_findings(
    entries: Iterable[bytes | str],
    *,
    gtins: Mapping[str, str] | Callable[[LedgerState], Mapping[str, str]] | None = None,
    settings: AuditSettings | None = None,
) -> tuple[list[Finding], LedgerState]:
    """Findings over ``entries`` (exact bytes, in stored order) and the tolerant state.

    ``label.issued`` does not carry the product's GTIN; the GTIN is in the signed credential,
    whose digest the entry states. ``gtins`` maps label ids to GTINs read from credentials the
    caller checked against that digest (or is called with the state, whose labels carry the
    digests, to build that map); without it, the GTIN findings are not computed.
    """
    settings = settings or AuditSettings()
    audit = _Pass()
    for position, entry in enumerate(entries):
        audit.feed_tolerantly(entry, position)
    by_label = gtins(audit.state) if callable(gtins) else gtins or {}
    findings = [
        *audit.findings,
        *_outliers(audit.issuances, settings),
        *_gtins(audit.issuances, by_label, settings),
        *_bursts(audit.issuances, settings),
    ]
    findings.sort(key=lambda f: (f.evidence[:1], list(FindingKind).index(f.kind), f.message))
    return findings, audit.state

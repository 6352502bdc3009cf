"""Audit views over the register, limited to the schemes a token oversees.

Asking for another scheme's data is refused (a 403 naming the schemes the token oversees),
never answered with an empty list: an auditor must be able to tell "nothing happened" from
"you may not look". Aggregates run in SQL; every list is bounded and paged by ledger ``seq``,
so each row can be proven against the public log (``/ledger/proof/inclusion``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, null, select, true
from sqlalchemy.orm import aliased

from registry.auth.models import Role
from registry.auth.services import Principal
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.bodies.services import get_body
from registry.db import db
from registry.errors import ForbiddenError
from registry.labels.models import Label, LabelStatusEntry
from registry.labels.services import get_label
from registry.ledger.models import LedgerEntry, LedgerEntryScope
from registry.schemes.models import Rule, RuleVersion, Scheme

__all__ = [
    "MAX_BUCKETS",
    "AccreditationCount",
    "BodyHistory",
    "EntryQuery",
    "HistoryEntry",
    "IssuanceBucket",
    "IssuanceQuery",
    "KeyCount",
    "Period",
    "StatusChange",
    "StatusChangeQuery",
    "audit_schemes",
    "body_history",
    "issuance_over_time",
    "label_entries",
    "label_history",
    "list_audit_entries",
    "list_status_changes",
]

MAX_BUCKETS = 5000  # rows of one aggregate answer; a wider question must narrow its filters


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, named by their Monday
    MONTH = "month"


def audit_schemes(principal: Principal, scheme: str | None = None) -> list[str] | None:
    """The schemes a question may cover: ``[scheme]`` if asked and overseen, else all the
    token oversees (``None``: every scheme, for the operator). A certifier is refused."""
    principal.require(Role.OPERATOR, Role.REGULATOR)
    if scheme is not None:
        principal.require_oversight([scheme])
        return [scheme]
    return None if principal.role is Role.OPERATOR else sorted(principal.schemes)


def _in_schemes(schemes: list[str] | None) -> ColumnElement[bool]:
    return Scheme.code.in_(schemes) if schemes is not None else true()


def _require_body_in_scope(principal: Principal, body: CertificationBody) -> None:
    """A body is in a regulator's view if it holds an accreditation under one of its schemes."""
    if principal.role is Role.OPERATOR:
        return
    stmt = (
        select(Scheme.code)
        .join(Accreditation, Accreditation.scheme_id == Scheme.id)
        .where(Accreditation.body_id == body.id)
    )
    if not set(db.session.execute(stmt).scalars()) & principal.schemes:
        raise ForbiddenError(
            f"{body.code} holds no accreditation under a scheme this token oversees; "
            f"it oversees {principal.oversight_text()}."
        )


# --- issuance over time -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuanceQuery:
    by: Period = Period.MONTH
    scheme: str | None = None
    body: str | None = None
    start: datetime | None = None  # ``from``: issued at or after
    end: datetime | None = None  # ``to``: issued before


@dataclass(frozen=True, slots=True)
class IssuanceBucket:
    period: str  # the period's first day, YYYY-MM-DD (UTC)
    scheme: str
    body: str
    category: str
    grade: str
    count: int


def _period_start(by: Period) -> ColumnElement[str]:
    """The first day (UTC) of the period of ``Label.issued_at``, as text, on either database."""
    column = Label.issued_at
    if db.engine.dialect.name == "postgresql":
        utc = func.timezone("UTC", column)
        return func.to_char(func.date_trunc(by.value, utc), "YYYY-MM-DD")
    match by:  # SQLite stores UTC without an offset
        case Period.DAY:
            return func.date(column)
        case Period.WEEK:
            # The next Sunday (or the day itself), back six days: the ISO week's Monday.
            return func.date(column, "weekday 0", "-6 days")
        case Period.MONTH:
            return func.strftime("%Y-%m-01", column)


def _labels_in_scope() -> Select[Any]:
    return (
        select()
        .select_from(Label)
        .join(RuleVersion, Label.rule_version_id == RuleVersion.id)
        .join(Rule, RuleVersion.rule_id == Rule.id)
        .join(Scheme, Rule.scheme_id == Scheme.id)
        .join(CertificationBody, Label.body_id == CertificationBody.id)
    )


def issuance_over_time(
    principal: Principal, query: IssuanceQuery
) -> tuple[list[IssuanceBucket], bool]:
    """Labels issued per period, scheme, body, category and grade; and whether the answer was
    cut at :data:`MAX_BUCKETS` rows."""
    schemes = audit_schemes(principal, query.scheme)
    period = _period_start(query.by).label("period")
    stmt = (
        _labels_in_scope()
        .add_columns(
            period,
            Scheme.code.label("scheme"),
            CertificationBody.code.label("body"),
            Rule.category,
            Label.grade,
            func.count().label("labels"),
        )
        .where(_in_schemes(schemes))
        .group_by(period, Scheme.code, CertificationBody.code, Rule.category, Label.grade)
        .order_by(period, Scheme.code, CertificationBody.code, Rule.category, Label.grade)
        .limit(MAX_BUCKETS + 1)
    )
    if query.body is not None:
        body = get_body(query.body)
        _require_body_in_scope(principal, body)
        stmt = stmt.where(Label.body_id == body.id)
    if query.start is not None:
        stmt = stmt.where(Label.issued_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(Label.issued_at < query.end)
    rows = db.session.execute(stmt).all()
    buckets = [IssuanceBucket(*row) for row in rows[:MAX_BUCKETS]]
    return buckets, len(rows) > MAX_BUCKETS


# --- status changes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChangeQuery:
    scheme: str | None = None
    body: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: int = -1  # the seq of the last change of the previous page
    limit: int = 100


@dataclass(frozen=True, slots=True)
class StatusChange:
    seq: int
    time: datetime
    change: str  # suspension, reinstatement, revocation, supersession
    label: str
    body: str
    scheme: str
    previous_status: str | None
    reason: str | None
    by: dict[str, Any]
    superseded_by: str | None = None


_CHANGE = {
    "label.suspended": "suspension",
    "label.reinstated": "reinstatement",
    "label.revoked": "revocation",
}


def list_status_changes(principal: Principal, query: StatusChangeQuery) -> list[StatusChange]:
    """Suspensions, reinstatements, revocations and supersessions, in ledger order, with the
    reason and who made each, as the ledger entry states them."""
    schemes = audit_schemes(principal, query.scheme)
    body = None if query.body is None else get_body(query.body)
    if body is not None:
        _require_body_in_scope(principal, body)
    successor = aliased(Label)
    changes = (
        _labels_in_scope()
        .join(LabelStatusEntry, LabelStatusEntry.label_id == Label.id)
        .join(LedgerEntry, LedgerEntry.seq == LabelStatusEntry.seq)
        .add_columns(null().label("superseded_by"))
    )
    # A supersession has no entry of its own: it is the successor's label.issued.
    supersessions = (
        _labels_in_scope()
        .join(successor, successor.supersedes_id == Label.id)
        .join(LedgerEntry, LedgerEntry.seq == successor.ledger_seq)
        .add_columns(successor.id.label("superseded_by"))
    )
    rows: list[Any] = []
    for stmt in (changes, supersessions):
        stmt = stmt.add_columns(
            LedgerEntry.seq,
            LedgerEntry.time,
            LedgerEntry.body.label("entry"),
            Label.id.label("label"),
            CertificationBody.code.label("body"),
            Scheme.code.label("scheme"),
        ).where(_in_schemes(schemes), LedgerEntry.seq > query.after)
        if body is not None:
            stmt = stmt.where(Label.body_id == body.id)
        if query.start is not None:
            stmt = stmt.where(LedgerEntry.time >= query.start)
        if query.end is not None:
            stmt = stmt.where(LedgerEntry.time < query.end)
        rows += db.session.execute(stmt.order_by(LedgerEntry.seq).limit(query.limit)).all()
    rows.sort(key=lambda row: row.seq)
    out = []
    for row in rows[: query.limit]:
        entry = json.loads(bytes(row.entry))
        out.append(
            StatusChange(
                seq=row.seq,
                time=row.time,
                change=_CHANGE.get(entry["event"], "supersession"),
                label=row.label,
                body=row.body,
                scheme=row.scheme,
                previous_status=entry.get("previousStatus"),
                reason=entry.get("reason"),
                by=entry["by"],
                superseded_by=row.superseded_by,
            )
        )
    return out


# --- a body's accreditations and keys ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccreditationCount:
    accreditation: Accreditation
    scheme: str
    labels_issued: int


@dataclass(frozen=True, slots=True)
class KeyCount:
    key: BodyKey
    labels_issued: int  # under the schemes in view


@dataclass(frozen=True, slots=True)
class BodyHistory:
    body: CertificationBody
    accreditations: list[AccreditationCount]
    keys: list[KeyCount]


def body_history(principal: Principal, body_code: str) -> BodyHistory:
    """A body's accreditations (under the schemes in view) and keys, each with how many labels
    it covered: an accreditation counts the labels of its scheme and categories issued within
    its period; a key those it signed."""
    schemes = audit_schemes(principal)
    body = get_body(body_code)
    _require_body_in_scope(principal, body)
    accreditations = db.session.execute(
        select(Accreditation, Scheme.code)
        .join(Scheme, Accreditation.scheme_id == Scheme.id)
        .where(Accreditation.body_id == body.id, _in_schemes(schemes))
        .order_by(Accreditation.id)
    ).all()
    counted = []
    for accreditation, scheme_code in accreditations:
        stmt = (
            _labels_in_scope()
            .add_columns(func.count())
            .where(
                Label.body_id == body.id,
                Scheme.id == accreditation.scheme_id,
                Rule.category.in_(accreditation.categories),
                Label.issued_at >= accreditation.valid_from,
            )
        )
        if accreditation.valid_until is not None:
            stmt = stmt.where(Label.issued_at < accreditation.valid_until)
        count = db.session.execute(stmt).scalar_one()
        counted.append(AccreditationCount(accreditation, scheme_code, count))
    per_key: dict[int, int] = {
        key_id: count
        for key_id, count in db.session.execute(
            _labels_in_scope()
            .add_columns(Label.key_id, func.count())
            .where(Label.body_id == body.id, _in_schemes(schemes))
            .group_by(Label.key_id)
        )
    }
    keys = db.session.execute(
        select(BodyKey).where(BodyKey.body_id == body.id).order_by(BodyKey.id)
    ).scalars()
    return BodyHistory(body, counted, [KeyCount(key, per_key.get(key.id, 0)) for key in keys])


# --- filtered ledger entries ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryQuery:
    scheme: str | None = None
    body: str | None = None
    event: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: int = -1
    limit: int = 100


def list_audit_entries(principal: Principal, query: EntryQuery) -> list[dict[str, Any]]:
    """Ledger entries about the schemes in view (and the body, event kind and time asked),
    in ledger order, each as stored (with its ``seq``: prove it against the public log, which
    alone is the proven one). An entry about no scheme (a body's registration, its keys) is
    the operator's to see here; it is in the public log for everyone."""
    schemes = audit_schemes(principal, query.scheme)
    stmt = (
        select(LedgerEntry.body)
        .join(LedgerEntryScope, LedgerEntryScope.seq == LedgerEntry.seq)
        .where(LedgerEntry.seq > query.after)
        .order_by(LedgerEntry.seq)
        .limit(query.limit)
    )
    if schemes is not None:
        stmt = stmt.where(LedgerEntryScope.scheme.in_(schemes))
    if query.body is not None:
        body = get_body(query.body)
        _require_body_in_scope(principal, body)
        stmt = stmt.where(LedgerEntryScope.body == body.code)
    if query.event is not None:
        stmt = stmt.where(LedgerEntry.event == query.event)
    if query.start is not None:
        stmt = stmt.where(LedgerEntry.time >= query.start)
    if query.end is not None:
        stmt = stmt.where(LedgerEntry.time < query.end)
    return [json.loads(bytes(body)) for body in db.session.execute(stmt).scalars()]


# --- a label's history -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    seq: int
    time: datetime
    event: str
    by: dict[str, Any]
    entry: dict[str, Any]


def label_history(principal: Principal, label_id: str) -> tuple[Label, list[HistoryEntry]]:
    """Every ledger entry naming the label: its issuance, each status change, and the issuance
    of the label that superseded it."""
    principal.require(Role.OPERATOR, Role.REGULATOR)
    label = get_label(label_id)
    principal.require_oversight([label.rule_version.rule.scheme.code])
    return label, label_entries(label)


def label_entries(label: Label) -> list[HistoryEntry]:
    """The ledger entries naming ``label``, in order (the caller has decided who may read them:
    the register is public, but this reads every entry of one label at once)."""
    seqs = [label.ledger_seq]
    seqs += db.session.execute(
        select(LabelStatusEntry.seq).where(LabelStatusEntry.label_id == label.id)
    ).scalars()
    if label.superseded_by_id is not None:
        seqs.append(get_label(label.superseded_by_id).ledger_seq)
    stmt = (
        select(LedgerEntry.seq, LedgerEntry.time, LedgerEntry.body)
        .where(LedgerEntry.seq.in_(seqs))
        .order_by(LedgerEntry.seq)
    )
    history = []
    for seq, time, body in db.session.execute(stmt):
        entry = json.loads(bytes(body))
        history.append(HistoryEntry(seq, time, entry["event"], entry["by"], entry))
    return history

"""The tables checked against the ledger: replay every entry, compare what it derives.

DESIGN: "current state is derived from, and checked against, the entries". The kit's replay
(``credentials.ledger_replay``) derives the state of every scheme, rule version, body,
accreditation, key and label from the entries alone and names the first entry whose transition
the registry may not make; here that state is compared, row by row, with the tables. Column
reads only, in bulk: this runs over the whole register.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from credentials import Replayer, Thresholds, Violation
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.db import db
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.recognition.models import MappingRevision
from registry.schemes.models import Rule, RuleVersion, Scheme

__all__ = ["StateReport", "verify_state"]

_MAX_MISMATCHES = 50
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class StateReport:
    entries: int  # replayed (all of them unless one was refused)
    violation: Violation | None
    mismatches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.violation is None and not self.mismatches


def _compare(
    what: str,
    ledger: Mapping[Any, tuple[Any, ...]],
    table: Mapping[Any, tuple[Any, ...]],
    columns: tuple[str, ...],
    out: list[str],
) -> None:
    for key in sorted(ledger.keys() | table.keys(), key=str):
        if len(out) >= _MAX_MISMATCHES:
            return
        if key not in table:
            out.append(f"{what} {key}: in the ledger but not in the table")
        elif key not in ledger:
            out.append(f"{what} {key}: in the table but never ledgered")
        else:
            for column, want, got in zip(columns, ledger[key], table[key], strict=True):
                if want != got:
                    out.append(f"{what} {key}: {column} is {got!r}; the ledger says {want!r}")


def verify_state() -> StateReport:
    """Replay the stored entries and compare the state with the tables; never raises."""
    replayer = Replayer()
    stmt = select(LedgerEntry.body).order_by(LedgerEntry.seq).execution_options(yield_per=_BATCH)
    with db.session.execute(stmt) as result:
        for body in result.scalars():
            if not replayer.feed(bytes(body)):
                break
    replayed = replayer.result()
    if replayed.violation is not None:
        # The state after a refused entry is one the registry should never have reached:
        # comparing it would only repeat the violation in other words.
        return StateReport(replayed.size, replayed.violation, ())
    state, out = replayed.state, list[str]()
    _compare(
        "scheme",
        {code: (region,) for code, region in state.schemes.items()},
        {
            code: (region,)
            for code, region in db.session.execute(select(Scheme.code, Scheme.region))
        },
        ("region",),
        out,
    )
    _compare(
        "rule",
        {key: (category,) for key, category in state.rules.items()},
        {
            (scheme, code): (category,)
            for scheme, code, category in db.session.execute(
                select(Scheme.code, Rule.code, Rule.category).join(
                    Scheme, Scheme.id == Rule.scheme_id
                )
            )
        },
        ("category",),
        out,
    )
    _compare(
        "rule version",
        {
            key: (
                rv.category,
                rv.declared_unit,
                rv.standard,
                rv.thresholds,
                rv.in_force_from,
                rv.in_force_until,
                rv.system_boundaries,
                rv.max_period_age_months,
                rv.allows_net_negative,
            )
            for key, rv in state.rule_versions.items()
        },
        _rule_versions(),
        (
            "category",
            "declared_unit",
            "standard",
            "thresholds",
            "in_force_from",
            "in_force_until",
            "system_boundaries",
            "max_period_age_months",
            "allows_net_negative",
        ),
        out,
    )
    _compare(
        "recognition mapping",
        {
            (mapping_id, m.revision): (m, m.withdrawn)
            for mapping_id, revisions in state.mappings.items()
            for m in revisions
        },
        {
            (row.mapping_id, row.revision): (row.mapping(), row.withdrawn)
            for row in db.session.execute(select(MappingRevision)).scalars()
        },
        ("document", "withdrawn"),
        out,
    )
    _compare(
        "body",
        {code: (b.name, b.status) for code, b in state.bodies.items()},
        {
            code: (name, status.value)
            for code, name, status in db.session.execute(
                select(CertificationBody.code, CertificationBody.name, CertificationBody.status)
            )
        },
        ("name", "status"),
        out,
    )
    _compare(
        "accreditation",
        {
            i: (
                a.body,
                a.scheme,
                sorted(a.categories),
                a.valid_from,
                a.valid_until,
                a.status,
                a.status_changed_at,
            )
            for i, a in state.accreditations.items()
        },
        {
            row.id: (
                row.code,
                row.scheme,
                sorted(row.categories),
                row.valid_from,
                row.valid_until,
                row.status.value,
                row.status_changed_at,
            )
            for row in db.session.execute(
                select(
                    Accreditation.id,
                    CertificationBody.code,
                    Scheme.code.label("scheme"),
                    Accreditation.categories,
                    Accreditation.valid_from,
                    Accreditation.valid_until,
                    Accreditation.status,
                    Accreditation.status_changed_at,
                )
                .join(CertificationBody, CertificationBody.id == Accreditation.body_id)
                .join(Scheme, Scheme.id == Accreditation.scheme_id)
            )
        },
        ("body", "scheme", "categories", "valid_from", "valid_until", "status", "changed_at"),
        out,
    )
    _compare(
        "key",
        {mb: (k.body, k.managed, k.active_from, k.retired_at) for mb, k in state.keys.items()},
        {
            row.public_key_multibase: (
                row.code,
                row.managed,
                row.active_from,
                row.retired_at,
            )
            for row in db.session.execute(
                select(
                    BodyKey.public_key_multibase,
                    CertificationBody.code,
                    BodyKey.secret_box.is_not(None).label("managed"),
                    BodyKey.active_from,
                    BodyKey.retired_at,
                ).join(CertificationBody, CertificationBody.id == BodyKey.body_id)
            )
        },
        ("body", "managed", "active_from", "retired_at"),
        out,
    )
    _compare_labels(replayed.state.labels, out)
    return StateReport(replayed.size, None, tuple(out))


def _rule_versions() -> dict[tuple[str, str, str], tuple[Any, ...]]:
    rows = db.session.execute(
        select(
            Scheme.code.label("scheme"),
            Rule.code.label("rule"),
            RuleVersion.version,
            Rule.category,
            RuleVersion.declared_unit,
            RuleVersion.standard,
            RuleVersion.threshold_a,
            RuleVersion.threshold_b,
            RuleVersion.threshold_c,
            RuleVersion.threshold_d,
            RuleVersion.in_force_from,
            RuleVersion.in_force_until,
            RuleVersion.system_boundaries,
            RuleVersion.max_period_age_months,
            RuleVersion.allows_net_negative,
        )
        .join(Rule, Rule.id == RuleVersion.rule_id)
        .join(Scheme, Scheme.id == Rule.scheme_id)
    )
    return {
        (r.scheme, r.rule, r.version): (
            r.category,
            r.declared_unit,
            r.standard,
            Thresholds(r.threshold_a, r.threshold_b, r.threshold_c, r.threshold_d),
            r.in_force_from,
            r.in_force_until,
            tuple(r.system_boundaries),
            r.max_period_age_months,
            r.allows_net_negative,
        )
        for r in rows
    }


def _compare_labels(labels: Mapping[str, Any], out: list[str]) -> None:
    key = aliased(BodyKey)
    rows = db.session.execute(
        select(
            Label.id,
            CertificationBody.code,
            Label.ledger_seq,
            Label.grade,
            Label.credential_digest,
            key.public_key_multibase,
            Label.status,
            Label.status_changed_by,
            Label.supersedes_id,
            Label.superseded_by_id,
        )
        .join(CertificationBody, CertificationBody.id == Label.body_id)
        .join(key, key.id == Label.key_id)
        .execution_options(yield_per=_BATCH)
    )
    table = {
        row.id: (
            row.code,
            row.ledger_seq,
            row.grade,
            row.credential_digest,
            row.public_key_multibase,
            row.status.value,
            row.status_changed_by,
            row.supersedes_id,
            row.superseded_by_id,
        )
        for row in rows
    }
    ledger = {
        i: (
            label.body,
            label.seq,
            label.grade,
            label.credential_digest,
            label.public_key_multibase,
            label.status,
            None if label.status_by is None else label.status_by.role.value,
            label.supersedes,
            label.superseded_by,
        )
        for i, label in labels.items()
    }
    _compare(
        "label",
        ledger,
        table,
        (
            "body",
            "ledger_seq",
            "grade",
            "credential_digest",
            "key",
            "status",
            "status_changed_by",
            "supersedes",
            "superseded_by",
        ),
        out,
    )

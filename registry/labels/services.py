"""Reading labels and changing their status (suspend, reinstate, revoke)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from credentials import (
    CredentialError,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    normalize_label_id,
)
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db
from registry.errors import (
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
)
from registry.labels.models import (
    Label,
    LabelStatus,
    LabelStatusEntry,
    StatusListRecord,
    StatusPurpose,
)
from registry.labels.status_lists import (
    SET_WHEN,
    resign_status_list,
)
from registry.ledger.services import append_event
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.status_changes import StatusAction

__all__ = [
    "LabelQuery",
    "StatusAction",
    "available_actions",
    "change_label_status",
    "count_labels",
    "get_label",
    "list_labels",
]


def get_label(label_id: str) -> Label:
    try:
        normalized = normalize_label_id(label_id)
    except CredentialError:
        raise NotFoundError(f"There is no label {label_id!r}.") from None
    label = db.session.get(Label, normalized)
    if label is None:
        raise NotFoundError(f"There is no label {normalized}.")
    return label


@dataclass(frozen=True, slots=True)
class LabelQuery:
    status: LabelStatus | None = None
    scheme: str | None = None
    gtin: str | None = None
    rule: str | None = None  # a rule's code
    product: str | None = None  # part of the product's name or model, any case
    grade: str | None = None  # one of the grade letters
    issued_from: date | None = None  # UTC calendar days, both ends included
    issued_until: date | None = None
    after: int = -1  # the ledger position of the last label of the previous page
    limit: int = 50


def _matching(principal: Principal, query: LabelQuery) -> Select[tuple[Label]]:
    """The labels the principal may list that match the query's filters, unpaged."""
    stmt = select(Label).join(Label.rule_version).join(RuleVersion.rule).join(Rule.scheme)
    match principal.role:
        case Role.CERTIFIER:
            stmt = stmt.where(Label.body_id == principal.body_id)
        case Role.REGULATOR:
            # Another scheme's labels are refused, not listed as none (a certifier's filter
            # over its own labels may well match none).
            if query.scheme is not None:
                principal.require_oversight([query.scheme])
            stmt = stmt.where(Scheme.code.in_(sorted(principal.schemes)))
        case Role.OPERATOR:
            pass
    if query.status is not None:
        stmt = stmt.where(Label.status == query.status)
    if query.scheme is not None:
        stmt = stmt.where(Scheme.code == query.scheme)
    if query.gtin is not None:
        stmt = stmt.where(Label.gtin == query.gtin)
    if query.rule is not None:
        stmt = stmt.where(Rule.code == query.rule)
    if query.grade is not None:
        stmt = stmt.where(Label.grade == query.grade)
    if query.product is not None:
        # LIKE with its wildcards escaped: the filter is a plain substring, in any case.
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query.product.lower()) + "%"
        stmt = stmt.where(
            or_(
                func.lower(Label.product_name).like(pattern, escape="\\"),
                func.lower(Label.product_model).like(pattern, escape="\\"),
            )
        )
    if query.issued_from is not None:
        stmt = stmt.where(Label.issued_at >= datetime.combine(query.issued_from, time(), UTC))
    if query.issued_until is not None:
        end = datetime.combine(query.issued_until + timedelta(days=1), time(), UTC)
        stmt = stmt.where(Label.issued_at < end)
    return stmt


def list_labels(principal: Principal, query: LabelQuery) -> list[Label]:
    """Labels the principal may list, in issuance order, one page at a time.

    The register is public, as a transparency log must be: every ``label.issued`` entry is
    served by ``/ledger/entries`` to anyone, and entries carry no personal data (roles and
    registry ids, never a person or a token). Listing needs a token only because it is a
    convenience for the parties (filters, status, paging over their own labels): a certifier
    lists its own body's labels, a regulator those under its schemes, the operator all.
    """
    stmt = (
        _matching(principal, query)
        .options(joinedload(Label.body), contains_eager(Label.rule_version))
        .where(Label.ledger_seq > query.after)
        .order_by(Label.ledger_seq)
        .limit(query.limit)
    )
    return list(db.session.execute(stmt).unique().scalars())


def count_labels(principal: Principal, query: LabelQuery) -> int:
    """How many labels :func:`list_labels` pages through for ``query``, every page together."""
    counted = _matching(principal, query).with_only_columns(func.count(Label.id))
    return db.session.scalar(counted.order_by(None)) or 0


_TRANSITIONS: dict[
    StatusAction,
    tuple[
        frozenset[LabelStatus],
        LabelStatus,
        type[LabelSuspended] | type[LabelReinstated] | type[LabelRevoked],
    ],
] = {
    StatusAction.SUSPEND: (frozenset({LabelStatus.ACTIVE}), LabelStatus.SUSPENDED, LabelSuspended),
    StatusAction.REINSTATE: (
        frozenset({LabelStatus.SUSPENDED}),
        LabelStatus.ACTIVE,
        LabelReinstated,
    ),
    StatusAction.REVOKE: (
        frozenset({LabelStatus.ACTIVE, LabelStatus.SUSPENDED, LabelStatus.SUPERSEDED}),
        LabelStatus.REVOKED,
        LabelRevoked,
    ),
}


_TARGET_STATE = {
    StatusAction.SUSPEND: LabelStatus.SUSPENDED,
    StatusAction.REINSTATE: LabelStatus.ACTIVE,
    StatusAction.REVOKE: LabelStatus.REVOKED,
}


_DONE = {
    StatusAction.SUSPEND: "suspended",
    StatusAction.REINSTATE: "reinstated",
    StatusAction.REVOKE: "revoked",
}


def _refusal(
    label: Label, action: StatusAction, target: LabelStatus, allowed: frozenset[LabelStatus]
) -> str:
    """Why the change cannot be made, in the words a client acts on."""
    if label.status is target:
        return f"Label {label.id} is already {target.value}."
    if label.status is LabelStatus.REVOKED:
        return f"Label {label.id} was revoked; revocation is final."
    which = " or ".join(sorted(status.value for status in allowed))
    return (
        f"Label {label.id} is {label.status.value}; only a label that is {which} can be "
        f"{_DONE[action]}."
    )


def _scheme_code(label: Label) -> str:
    return label.rule_version.rule.scheme.code


def _check_reach(principal: Principal, label: Label) -> None:
    """A certifier of the label's body, a regulator of its scheme, or the operator (neither
    body nor scheme of a label ever changes, so this may be asked before the row is locked)."""
    if principal.role is Role.CERTIFIER and principal.body_id != label.body_id:
        raise ForbiddenError("A certifier may change only its own body's labels.")
    if principal.role is Role.REGULATOR:
        principal.require_oversight([_scheme_code(label)])


def _check_authority(principal: Principal, label: Label, action: StatusAction) -> None:
    """Who may do what to a label now; asked of the locked row, so no change in flight slips
    past it (who suspended a label decides who may lift it)."""
    refusal = principal.status_refusal(
        body_code=label.body.code,
        scheme_code=_scheme_code(label),
        target=_TARGET_STATE[action].value,
        suspended_by=label.status_changed_by,
    )
    if refusal is not None:
        raise ForbiddenError(refusal)


def available_actions(principal: Principal, label: Label) -> list[StatusAction]:
    """The status changes ``principal`` could make to ``label`` as it stands (what a page
    offers; :func:`change_label_status` asks again of the locked row)."""
    offered = []
    for action, (allowed, target, _) in _TRANSITIONS.items():
        if label.status not in allowed:
            continue
        refusal = principal.status_refusal(
            body_code=label.body.code,
            scheme_code=_scheme_code(label),
            target=target.value,
            suspended_by=label.status_changed_by,
        )
        if refusal is None:
            offered.append(action)
    return offered


def change_label_status(
    principal: Principal, label_id: str, action: StatusAction, *, reason: str
) -> Label:
    """Suspend, reinstate or revoke a label, re-sign the lists it is in, and ledger it."""
    label = get_label(label_id)
    # A certifier of another body, a regulator of another scheme, is refused before it can
    # hold the row (and delay its owner).
    _check_reach(principal, label)
    # Lock the row, then re-read and ask again: a change committed meanwhile (the operator's
    # suspension, say) decides who may act now, and must not be lost or applied twice.
    label = db.session.get_one(Label, label.id, with_for_update=True, populate_existing=True)
    allowed, target, event = _TRANSITIONS[action]
    if label.status not in allowed:
        raise InvalidTransitionError(_refusal(label, action, target, allowed))
    # After the transition, as the kit's replay asks: who may lift depends on who suspended.
    _check_authority(principal, label, action)
    before = label.status
    now = utcnow()
    label.status = target
    label.status_reason = reason
    label.status_changed_at = now
    label.status_changed_by = principal.role.value
    db.session.flush()
    body = label.body
    base = current_settings().public_base_url
    touched = {
        StatusAction.SUSPEND: [label.suspension_list_id],
        StatusAction.REINSTATE: [label.suspension_list_id],
        StatusAction.REVOKE: [label.revocation_list_id]
        + ([label.suspension_list_id] if before in SET_WHEN[StatusPurpose.SUSPENSION] else []),
    }[action]
    for list_id in sorted(touched):  # revocation ("r-…") before suspension ("s-…")
        record = db.session.get_one(StatusListRecord, list_id, with_for_update=True)
        resign_status_list(record, body=body, base_url=base, now=now)
    entry = append_event(
        event(
            label=label.id,
            body=body.code,
            previous_status=before.value,
            reason=reason,
            by=principal.actor,
        )
    )
    db.session.add(LabelStatusEntry(label_id=label.id, seq=entry.seq))
    db.session.flush()
    return label

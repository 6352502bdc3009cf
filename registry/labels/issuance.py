"""Issuing labels, one or a batch: all or none, ledgered together.

In one transaction: check the body, its accreditation, its key and the rule version; compute
the grade; draw status-list indexes; sign the CarbonLabelCredential with the body's key; store
it; append ``label.issued`` to the ledger last (the ledger lock is held from there to the
commit, so the slow signing happens before it).

A body that holds its own key is never signed for (``body-holds-key``): it issues through
:func:`issue_held_label`, the same steps in two requests, the signature between them made by the
body (see :mod:`registry.labels.held`).

Every check holds until the commit: the body row, its accreditations and the signing key are
read ``FOR SHARE``, and their status changes take them ``FOR UPDATE`` before anything else, so
a suspension, withdrawal or retirement waits for the issuances in flight and every later
issuance sees it. The lock order everywhere is: body, accreditations, key, labels, revocation
lists, suspension lists, ledger (SQLite serialises writers with ``BEGIN IMMEDIATE`` anyway);
a group-commit round of several bodies (:func:`issue_label_groups`) takes every body, then
every Idempotency-Key claim, then every accreditation (one statement each, in id order), then
each body's key, labels and lists, body after body in id order, and the ledger once, last.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from credentials import (
    EDDSA_RDFC_2022,
    Actor,
    Assurance,
    Boundary,
    CarbonLabel,
    CredentialError,
    Footprint,
    Grade,
    LabelIssued,
    PactSource,
    Product,
    RuleRef,
    StatusRef,
    StatusSlot,
    build_label_credential,
    check_decimal,
    credential_digest,
    decimal_text,
    grade_for,
    label_url,
    new_label_id,
    sign_document,
)
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.bodies.models import (
    Accreditation,
    AccreditationStatus,
    BodyKey,
    BodyStatus,
    CertificationBody,
)
from registry.bodies.services import held_signing_key, label_signing_key
from registry.clock import utcnow, utcnow_seconds
from registry.config import current_settings
from registry.db import db, insert_ignoring_conflicts, insert_new
from registry.errors import (
    BodyNotActiveError,
    ConflictError,
    ForbiddenError,
    GradeMismatchError,
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    OutOfScopeError,
    RegistryError,
    RuleNotInForceError,
    ValidationFailedError,
    batch_item,
)
from registry.labels.models import (
    IdempotencyKey,
    Label,
    LabelStatus,
    QrTarget,
    StatusListRecord,
    StatusPurpose,
)
from registry.labels.plausibility import check_plausible
from registry.labels.services import get_label
from registry.labels.status_lists import (
    allocate_indexes,
    list_url,
    resign_status_list,
)
from registry.ledger.services import append_events
from registry.schemes.models import RuleVersion
from registry.schemes.services import find_rule_version

__all__ = [
    "DEFAULT_VALIDITY",
    "MAX_BATCH",
    "MAX_VALIDITY",
    "HeldIssue",
    "IssueItem",
    "IssueResult",
    "LabelRequest",
    "Reservation",
    "Signer",
    "issue_held_label",
    "issue_label",
    "issue_label_groups",
    "issue_labels",
    "supersede_refusal",
]

DEFAULT_VALIDITY = timedelta(days=3 * 365)
MAX_VALIDITY = timedelta(days=5 * 366)
MAX_BATCH = 100


@dataclass(frozen=True, slots=True)
class LabelRequest:
    """What a certifier states when issuing; everything else is the registry's."""

    product: Product
    footprint: Decimal
    declared_unit_amount: Decimal
    system_boundary: Boundary
    period_start: date
    period_end: date
    scheme: str
    rule: str
    rule_version: str
    declared_unit: str | None = None
    valid_until: datetime | None = None
    asserted_grade: Grade | None = None
    supersedes: str | None = None
    assurance: Assurance | None = None  # of the footprint's verification; None: not stated
    qr: QrTarget = QrTarget.LABEL  # what the printed QR encodes; digital-link needs a GTIN
    pact: PactSource | None = None  # the PACT ProductFootprint it was issued from, if any


@dataclass(frozen=True, slots=True)
class IssueResult:
    label: Label
    created: bool


def _claim(
    groups: Sequence[tuple[CertificationBody, Sequence[IssueItem], Sequence[str]]],
    *,
    dry_run: bool = False,
) -> list[list[Label | None]]:
    """Claim each item's Idempotency-Key for the label id planned for it, or find the label
    an earlier request made with that key; one list per group (body, items, planned ids).

    Claims are inserted before any other work with ``ON CONFLICT DO NOTHING``, every body's in
    one statement, in (body, key) order so that two rounds claiming the same keys wait for
    each other in one order. A concurrent request with the same key waits on the row's
    primary key until the first commits (then it finds that row and replays its label) or
    rolls back (then its own insert goes through), so one key never makes two labels. The
    claim names the label it will make (the foreign key is checked at commit), so no later
    write is needed. Items without a key, and fresh claims, get ``None``. A dry run claims
    nothing: it only finds (or refuses) what an earlier request made with the same key.
    """
    rows: list[dict[str, object]] = []
    now = utcnow()
    for body, items, label_ids in groups:
        keys = [item.idempotency_key for item in items if item.idempotency_key is not None]
        if len(set(keys)) != len(keys):
            raise ValidationFailedError({"Idempotency-Key": ["Each label needs its own key."]})
        rows += [
            {
                "body_id": body.id,
                "key": key,
                "request_hash": item.request_hash,
                "label_id": label_id,
                "created_at": now,
            }
            for item, label_id in zip(items, label_ids, strict=True)
            if (key := item.idempotency_key) is not None
        ]
    fresh: list[list[Label | None]] = [[None] * len(items) for _, items, _ in groups]
    if not rows:
        return fresh
    rows.sort(key=lambda row: (row["body_id"], row["key"]))
    claimed = (
        set()
        if dry_run
        else set(
            db.session.execute(
                insert_ignoring_conflicts(IdempotencyKey)
                .values(rows)
                .returning(IdempotencyKey.body_id, IdempotencyKey.key)
            ).tuples()
        )
    )
    taken = {(row["body_id"], row["key"]) for row in rows} - claimed
    if not taken:
        return fresh
    earlier = {
        (row.body_id, row.key): row
        for row in db.session.execute(
            select(
                IdempotencyKey.body_id,
                IdempotencyKey.key,
                IdempotencyKey.request_hash,
                IdempotencyKey.label_id,
            ).where(
                IdempotencyKey.body_id.in_({body_id for body_id, _ in taken}),
                IdempotencyKey.key.in_({key for _, key in taken}),
            )
        )
    }
    replayed: list[list[Label | None]] = []
    for body, items, _ in groups:
        found: list[Label | None] = []
        for item in items:
            row = earlier.get((body.id, item.idempotency_key))
            if item.idempotency_key is None or row is None or (body.id, row.key) not in taken:
                found.append(None)
                continue
            if row.request_hash != item.request_hash:
                raise IdempotencyKeyReusedError(
                    f"Idempotency-Key {item.idempotency_key!r} was already used with a "
                    "different request; use a new key."
                )
            found.append(db.session.get_one(Label, row.label_id))
        replayed.append(found)
    return replayed


@dataclass(slots=True)
class _Rules:
    """The rule versions a round issues under, and which bodies' accreditations cover them.

    A rule version and whether it is in force concern no body, so each is looked up once per
    round; the scope is asked of each body's accreditations as locked for this round.
    """

    now: datetime
    accreditations: dict[int, list[Accreditation]]
    versions: dict[tuple[str, str, str], RuleVersion] = field(default_factory=dict)
    covered: set[tuple[int, tuple[str, str, str]]] = field(default_factory=set)

    def check(self, body: CertificationBody, request: LabelRequest) -> RuleVersion:
        """Refuse what a verifier would: each check asks the kit predicate on the value the
        trust bundle states, at the instant the proof will state."""
        rule_key = (request.scheme, request.rule, request.rule_version)
        rv = self.versions.get(rule_key)
        if rv is None:
            rv = find_rule_version(*rule_key, at=self.now)
            if not rv.trusted().in_force_at(self.now):
                raise RuleNotInForceError(
                    f"Version {rv.version} of {request.rule} is in force from "
                    f"{rv.in_force_from:%Y-%m-%d}"
                    + ("" if rv.in_force_until is None else f" until {rv.in_force_until:%Y-%m-%d}")
                    + "; issue under a version in force now."
                )
            self.versions[rule_key] = rv
        if request.declared_unit is not None and request.declared_unit != rv.declared_unit:
            raise ValidationFailedError(
                {
                    "footprint": {
                        "declared_unit": [f"Rule {rv.rule.code} declares per {rv.declared_unit}."]
                    }
                }
            )
        if (body.id, rule_key) not in self.covered:
            rule = rv.trusted()
            # The status too: a withdrawal is rounded up to the next second in the bundle (a
            # label signed earlier in that second stays covered), but from the withdrawal on
            # none is issued.
            if not any(
                a.status is AccreditationStatus.ACTIVE
                and a.scheme_id == rv.rule.scheme_id
                and a.trusted().covers(rule.scheme, rule.category, self.now)
                for a in self.accreditations.get(body.id, ())
            ):
                raise OutOfScopeError(
                    _scope_refusal(
                        body, rv, self.accreditations.get(body.id, ()), request.scheme, self.now
                    )
                )
            self.covered.add((body.id, rule_key))
        return rv


def _scope_refusal(
    body: CertificationBody,
    rv: RuleVersion,
    accreditations: Sequence[Accreditation],
    scheme: str,
    now: datetime,
) -> str:
    """Why no accreditation covers the label: the nearest one's state (expired, not yet valid,
    suspended, withdrawn) and when, else that there is none."""
    category = rv.rule.category
    scope = f"{scheme} / {category}"
    nearest = sorted(
        (
            a
            for a in accreditations
            if a.scheme_id == rv.rule.scheme_id and category in a.categories
        ),
        key=lambda a: a.id,
        reverse=True,
    )
    if not nearest:
        return (
            f"{body.name} holds no accreditation for {scope}; the registry operator grants "
            "accreditations."
        )
    a = nearest[0]
    if a.status is not AccreditationStatus.ACTIVE:
        when = "" if a.status_changed_at is None else f" on {_when(a.status_changed_at)}"
        return f"The accreditation of {body.name} for {scope} was {a.status.value}{when}."
    if a.valid_until is not None and a.valid_until <= now:
        return (
            f"The accreditation of {body.name} for {scope} expired on {_when(a.valid_until)}; "
            "the registry operator grants a new one."
        )
    if a.valid_from > now:
        return (
            f"The accreditation of {body.name} for {scope} is valid only from "
            f"{_when(a.valid_from)}."
        )
    return f"{body.name} holds no accreditation in force for {scope}."


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def supersede_refusal(body_id: int, old: Label) -> RegistryError | None:
    """Why a label of body ``body_id`` may not supersede ``old`` as it stands, or ``None``
    (what a page offers; issuance asks again of the locked row)."""
    if old.body_id != body_id:
        return ForbiddenError("A label can only supersede a label of the same body.")
    if old.status not in (LabelStatus.ACTIVE, LabelStatus.SUSPENDED):
        return InvalidTransitionError(
            f"Label {old.id} is {old.status.value}; it cannot be superseded."
        )
    if old.status is LabelStatus.SUSPENDED and old.status_changed_by != Role.CERTIFIER.value:
        # A successor would be an active label in its place: lifting the suspension by
        # another door. Only who suspended a label lifts it (asked of the locked row).
        return ForbiddenError(
            f"Label {old.id} was suspended by the registry operator; it cannot be superseded "
            "while that suspension holds."
        )
    return None


def _superseded(body: CertificationBody, label_id: str) -> Label:
    old = get_label(label_id)
    # Locked before any status list: the lock order everywhere is label, lists, ledger.
    old = db.session.get_one(Label, old.id, with_for_update=True, populate_existing=True)
    refusal = supersede_refusal(body.id, old)
    if refusal is not None:
        raise refusal
    return old


@dataclass(frozen=True, slots=True)
class IssueItem:
    """One label to issue, with the Idempotency-Key (and request digest) it came with."""

    request: LabelRequest
    idempotency_key: str | None = None
    request_hash: bytes = b""


@dataclass(slots=True)
class _Pending:
    label: Label
    event: LabelIssued
    old: Label | None
    idempotency_key: str | None


def issue_label(
    principal: Principal,
    request: LabelRequest,
    *,
    idempotency_key: str | None = None,
    request_hash: bytes = b"",
) -> IssueResult:
    """Issue one label for the principal's body (a certifier) and ledger it."""
    return issue_labels(principal, [IssueItem(request, idempotency_key, request_hash)])[0]


def issue_labels(principal: Principal, items: Sequence[IssueItem]) -> list[IssueResult]:
    """Issue labels for the principal's body, all or none, in the order given.

    Items whose Idempotency-Key was used before are replayed; the rest are checked, signed,
    and then ledgered together under one lock (a batch costs one ledger round, not one per
    label). Any refused item refuses the whole batch, and the error names its position.
    """
    return issue_label_groups([(principal, items)])[0]


def issue_label_groups(
    groups: Sequence[tuple[Principal, Sequence[IssueItem]]],
    *,
    dry_run: bool = False,
) -> list[list[IssueResult]]:
    """Issue several principals' labels in one transaction and one ledger round, all or none.

    Each group is checked and prepared under its own principal exactly as
    :func:`issue_labels` would (its body, accreditations and key locked ``FOR SHARE``, its
    lists ``FOR UPDATE``); then every group's entries are appended together, under one lock.
    What the groups share is asked once for all, in body-id order so that two rounds can never
    wait on each other: the bodies are locked by one statement, the Idempotency-Keys claimed by
    one, the accreditations locked by one, each rule version looked up once; then each body's
    key and lists. The groups must be of distinct bodies. The answer is one list of results
    per group, in the order given.

    ``dry_run`` (see :mod:`registry.labels.preview`, which alone passes it) makes every check
    and stops before the writes: no Idempotency-Key claimed, no status-list index drawn, nothing
    signed, stored or ledgered; the results hold the unsigned labels, never added to the session.
    """
    body_ids = [principal.body_id for principal, _ in groups]
    if len(set(body_ids)) != len(body_ids):
        raise ValueError("one group per certification body in a round")
    for principal, items in groups:
        principal.require(Role.CERTIFIER)
        if len(items) > MAX_BATCH:
            raise ValidationFailedError({"labels": [f"At most {MAX_BATCH} labels per request."]})
    order = sorted(range(len(groups)), key=lambda n: body_ids[n] or 0)
    bodies = _lock_bodies([body_id for body_id in body_ids if body_id is not None])
    claims = [
        (bodies[body_ids[n] or 0], groups[n][1], _fresh_label_ids(len(groups[n][1]))) for n in order
    ]
    replayed = _claim(claims, dry_run=dry_run)
    now = utcnow_seconds()
    active: list[CertificationBody] = []
    for (body, _, _), found in zip(claims, replayed, strict=True):
        if any(label is None for label in found):
            if body.status is not BodyStatus.ACTIVE:
                raise BodyNotActiveError(
                    f"{body.name} is {body.status.value} and cannot issue labels."
                )
            active.append(body)
    rules = _Rules(now, _lock_accreditations(active))
    prepared: dict[int, _Prepared] = {}
    for n, (body, items, planned), found in zip(order, claims, replayed, strict=True):
        prepared[n] = _prepare_group(
            groups[n][0], body, items, planned, found, rules, dry_run=dry_run
        )
    if not dry_run:
        _ledger([prepared[n] for n in order])
    return [prepared[n].results() for n in range(len(groups))]


@dataclass(slots=True)
class _Prepared:
    """One principal's items, checked and signed, waiting for the shared ledger round."""

    body: CertificationBody
    replayed: list[IssueResult | None]
    pending: list[_Pending]
    now: datetime

    def results(self) -> list[IssueResult]:
        made = iter(IssueResult(p.label, created=True) for p in self.pending)
        return [result if result is not None else next(made) for result in self.replayed]


def _prepare_group(
    principal: Principal,
    body: CertificationBody,
    items: Sequence[IssueItem],
    planned: Sequence[str],
    replayed: Sequence[Label | None],
    rules: _Rules,
    *,
    dry_run: bool = False,
) -> _Prepared:
    """One body's part of a round after the shared checks: key, lists, grading, signing."""
    results = [None if label is None else IssueResult(label, created=False) for label in replayed]
    fresh = [item for item, result in zip(items, results, strict=True) if result is None]
    fresh_ids = [i for i, result in zip(planned, results, strict=True) if result is None]
    now = rules.now
    pending: list[_Pending] = []
    if not fresh:
        return _Prepared(body, results, pending, now)
    key, pair = label_signing_key(body, at=now)  # locks the key FOR SHARE

    def sign(unsigned: dict[str, Any]) -> dict[str, Any]:
        return sign_document(unsigned, key=pair, cryptosuite=EDDSA_RDFC_2022, created=now)

    actor = principal.actor
    # Where each fresh item stands in the request (replayed items are skipped).
    positions = [n for n, result in enumerate(results) if result is None]
    with _batch_position(len(items), positions) as position:
        olds = _lock_superseded(body, fresh, position)
    # Lock order everywhere: labels, then revocation lists, then suspension lists, then the
    # ledger (status changes lock their label first too), so no two writers wait on each other.
    slots = (
        _Slots.undrawn(fresh_ids)
        if dry_run
        else _Slots.allocate(
            body,
            fresh_ids,
            also_lock=sorted({o.suspension_list_id for o in olds if o is not None}),
        )
    )
    # Every item is checked, so a batch's refusal names each refused item, not the first only.
    refused: list[tuple[int, RegistryError]] = []
    for index, item, old in zip(positions, fresh, olds, strict=True):
        try:
            pending.append(_prepare(body, key, sign, item, now, rules, old, slots, actor))
        except RegistryError as exc:
            refused.append((index, exc))
    if refused:
        raise _batch_refusal(refused, len(items))
    return _Prepared(body, results, pending, now)


def _ledger(groups: Sequence[_Prepared]) -> None:
    """Append every prepared label's entry in one round, store the labels, mark successions."""
    pending = [p for group in groups for p in group.pending]
    if not pending:
        return
    entries = append_events([p.event for p in pending])
    for p, entry in zip(pending, entries, strict=True):
        p.label.ledger_seq = entry.seq
    # Inserted before the rows that refer to them (idempotency claims are checked at commit).
    insert_new([p.label for p in pending])
    superseding = False
    for group in groups:
        for p in group.pending:
            if p.old is not None:
                p.old.status = LabelStatus.SUPERSEDED
                p.old.superseded_by_id = p.label.id
                p.old.status_changed_at = group.now
                superseding = True
    if not superseding:
        return
    db.session.flush()
    base_url = current_settings().public_base_url
    for group in groups:
        for list_id in sorted(
            {p.old.suspension_list_id for p in group.pending if p.old is not None}
        ):
            record = db.session.get_one(StatusListRecord, list_id)
            resign_status_list(record, body=group.body, base_url=base_url)


def _prepare(
    body: CertificationBody,
    key: BodyKey,
    sign: Callable[[dict[str, Any]], dict[str, Any]],
    item: IssueItem,
    now: datetime,
    rules: _Rules,
    old: Label | None,
    slots: _Slots,
    actor: Actor,
) -> _Pending:
    """Check, grade, index and sign one label; the ledger entry is appended by the caller."""
    request = item.request
    try:
        check_decimal(request.footprint)
        check_decimal(request.declared_unit_amount)
    except CredentialError:
        raise ValidationFailedError(
            {"footprint": ["At most 18 integer digits and 12 decimals."]}
        ) from None
    rv = rules.check(body, request)
    check_plausible(request, rv, now)
    fp_amount = request.declared_unit_amount
    grade = grade_for(request.footprint, rv.thresholds, amount=fp_amount)
    if request.asserted_grade is not None and request.asserted_grade != grade:
        raise GradeMismatchError(
            f"Under {rv.rule.code} v{rv.version} a footprint of {decimal_text(request.footprint)} "
            f"kgCO2e per {decimal_text(fp_amount)} {rv.declared_unit} is grade {grade}, "
            f"not {request.asserted_grade}."
        )
    valid_until = request.valid_until or now + DEFAULT_VALIDITY
    if not now < valid_until <= now + MAX_VALIDITY:
        raise ValidationFailedError(
            {"valid_until": ["Must be in the future and at most five years from now."]}
        )
    base = slots.base_url
    label_id, (revocation, r_index), (suspension, s_index) = slots.take()
    carbon_label = CarbonLabel(
        label_id=label_id,
        url=label_url(base, label_id),
        issuer_did=key.did,
        issuer_name=body.name,
        valid_from=now.replace(microsecond=0),
        valid_until=valid_until.replace(microsecond=0),
        product=request.product,
        footprint=Footprint(
            value=request.footprint,
            declared_unit=rv.declared_unit,
            system_boundary=request.system_boundary,
            period_start=request.period_start,
            period_end=request.period_end,
            declared_unit_amount=fp_amount,
        ),
        grade=grade,
        rule=RuleRef(rv.rule.code, rv.version, request.scheme),
        status=(
            StatusRef("revocation", list_url(base, revocation), r_index),
            StatusRef("suspension", list_url(base, suspension), s_index),
        ),
        supersedes=None if old is None else label_url(base, old.id),
        assurance=request.assurance,
        pact=request.pact,
    )
    try:
        unsigned = build_label_credential(carbon_label)
    except CredentialError as exc:
        raise ValidationFailedError({"credential": [str(exc)]}) from exc
    if slots.dry:
        del unsigned["credentialStatus"]  # a dry run draws no index: it states none
    signed = unsigned if slots.dry else sign(unsigned)
    digest = credential_digest(signed)
    event = LabelIssued(
        label=label_id,
        body=body.code,
        credential_digest=digest,
        verification_method=key.verification_method,
        scheme=request.scheme,
        rule=rv.rule.code,
        rule_version=rv.version,
        category=rv.rule.category,
        footprint=request.footprint,
        declared_unit=rv.declared_unit,
        declared_unit_amount=fp_amount,
        grade=grade,
        valid_from=carbon_label.valid_from,
        valid_until=carbon_label.valid_until,
        status_lists=(StatusSlot(revocation, r_index), StatusSlot(suspension, s_index)),
        supersedes=None if old is None else old.id,
        by=actor,
        pact=request.pact,
    )
    product = request.product
    label = Label(
        id=label_id,
        # Objects, not ids: showing the label later needs no lazy load (the response is
        # written after the commit, and nothing should query while the ledger lock is held).
        body=body,
        key=key,
        rule_version=rv,
        # The columns too: the row is inserted from the columns, not by the unit of work.
        body_id=body.id,
        key_id=key.id,
        rule_version_id=rv.id,
        product_name=product.name,
        product_model=product.model,
        gtin=product.gtin,
        manufacturer=product.manufacturer,
        identifiers=list(product.identifiers),
        footprint=request.footprint,
        declared_unit_amount=fp_amount,
        system_boundary=request.system_boundary,
        grade=grade,
        valid_from=carbon_label.valid_from,
        valid_until=carbon_label.valid_until,
        period_start=request.period_start,
        period_end=request.period_end,
        status=LabelStatus.ACTIVE,
        status_reason=None,
        status_changed_at=None,
        status_changed_by=None,
        revocation_list_id=revocation,
        revocation_index=r_index,
        suspension_list_id=suspension,
        suspension_index=s_index,
        supersedes_id=None if old is None else old.id,
        assurance=request.assurance,
        qr_target=request.qr,
        superseded_by_id=None,
        credential=_dump(signed),
        credential_digest=digest,
        issued_at=now,
    )
    return _Pending(label, event, old, item.idempotency_key)


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a preparation holds for a label its body signs itself: the label id, its status
    entries (drawn at preparation, so nothing else takes them), the instant it is issued at
    (its ``validFrom`` and its proof's ``created``) and the key that must sign it."""

    label_id: str
    revocation: tuple[str, int]
    suspension: tuple[str, int]
    at: datetime
    key_id: int


@dataclass(frozen=True, slots=True)
class HeldIssue:
    """One step of a held-key issuance: the key, the reservation and the credential (unsigned
    when prepared); once submitted, ``result`` is the label as stored and ledgered."""

    key: BodyKey
    reservation: Reservation
    credential: dict[str, Any]
    result: IssueResult | None = None


#: Checks the body's proof on the rebuilt unsigned credential; the signed credential to store.
Signer = Callable[[BodyKey, dict[str, Any]], dict[str, Any]]


def issue_held_label(
    principal: Principal,
    request: LabelRequest,
    *,
    reservation: Reservation | None = None,
    signer: Signer | None = None,
) -> HeldIssue:
    """Issuance for a body that holds its own key, in two steps through the same checks.

    Without ``reservation`` (prepare): every check issuance makes, now; the label id and the
    status entries drawn; the credential built and returned unsigned. No label is stored and
    nothing ledgered: the caller keeps the reservation. With it (submit, ``signer`` given):
    the checks again on the state as it is now, at the reserved instant; the credential rebuilt
    from the reserved values and handed to ``signer``, which checks the body's proof and
    returns the signed credential; stored and ledgered as any label.
    """
    principal.require(Role.CERTIFIER)
    body = _lock_bodies([principal.body_id or 0])[principal.body_id or 0]
    if body.status is not BodyStatus.ACTIVE:
        raise BodyNotActiveError(f"{body.name} is {body.status.value} and cannot issue labels.")
    now = utcnow_seconds() if reservation is None else reservation.at
    rules = _Rules(now, _lock_accreditations([body]))
    key = held_signing_key(body, at=now)
    if reservation is not None and key.id != reservation.key_id:
        raise ConflictError(
            f"The key {body.code} signs with changed since the preparation; prepare again."
        )
    item = IssueItem(request)
    with _batch_position(1, [0]) as position:
        (old,) = _lock_superseded(body, [item], position)
    also_lock = [] if old is None else [old.suspension_list_id]
    slots = (
        _Slots.allocate(body, _fresh_label_ids(1), also_lock=also_lock)
        if reservation is None
        else _Slots.reserved(reservation, also_lock=also_lock)
    )

    def sign(unsigned: dict[str, Any]) -> dict[str, Any]:
        return unsigned if signer is None else signer(key, unsigned)

    pending = _prepare(body, key, sign, item, now, rules, old, slots, principal.actor)
    label = pending.label
    held = Reservation(
        label_id=label.id,
        revocation=(label.revocation_list_id, label.revocation_index),
        suspension=(label.suspension_list_id, label.suspension_index),
        at=now,
        key_id=key.id,
    )
    if signer is None:
        return HeldIssue(key, held, json.loads(label.credential))
    _ledger([_Prepared(body, [None], [pending], now)])
    return HeldIssue(key, held, json.loads(label.credential), IssueResult(label, created=True))


@contextmanager
def _batch_position(size: int, positions: Sequence[int]) -> Iterator[list[int]]:
    """Prefix a refusal with the position (``labels[i]``, from zero) of the item it concerns,
    in a batch of several; ``position[0]`` indexes ``positions``."""
    position = [0]
    try:
        yield position
    except RegistryError as exc:
        if size > 1:
            raise _batch_refusal([(positions[position[0]], exc)], size) from None
        raise


def _batch_refusal(refused: Sequence[tuple[int, RegistryError]], size: int) -> RegistryError:
    """One error for a batch's refused items: the first one's type and status, every item in
    ``items`` (its zero-based index, type and detail) and in the detail."""
    first = refused[0][1]
    if size == 1:
        return first
    items = [batch_item(index, exc) for index, exc in refused]
    parts = [f"labels[{item['index']}]: {item['detail']}" for item in items]
    first.detail = (
        f"{len(refused)} of the {size} labels were refused, so none was issued; " + " ".join(parts)
    )
    first.items = items
    return first


def _lock_bodies(body_ids: Sequence[int]) -> dict[int, CertificationBody]:
    """Hold the bodies FOR SHARE (re-read) until the commit, in id order, in one statement.

    The body's status cannot change while an issuance is in flight, and a change committed
    before it is what this re-read sees.
    """
    if not body_ids:
        return {}
    bodies = {
        body.id: body
        for body in db.session.execute(
            select(CertificationBody)
            .where(CertificationBody.id.in_(sorted(set(body_ids))))
            .order_by(CertificationBody.id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        ).scalars()
    }
    if len(bodies) != len(set(body_ids)):
        raise NoResultFound("a principal's certification body is gone")
    return bodies


def _lock_accreditations(bodies: Sequence[CertificationBody]) -> dict[int, list[Accreditation]]:
    """Hold the bodies' accreditations FOR SHARE (re-read) until the commit, in id order; by
    body."""
    if not bodies:
        return {}
    held: dict[int, list[Accreditation]] = {}
    for accreditation in db.session.execute(
        select(Accreditation)
        .where(Accreditation.body_id.in_(sorted(body.id for body in bodies)))
        .order_by(Accreditation.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).scalars():
        held.setdefault(accreditation.body_id, []).append(accreditation)
    return held


def _lock_superseded(
    body: CertificationBody, items: Sequence[IssueItem], position: list[int]
) -> list[Label | None]:
    """The labels the items supersede, each locked (in id order, so batches cannot deadlock)."""
    wanted: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.request.supersedes:
            position[0] = index
            label_id = get_label(item.request.supersedes).id
            if label_id in wanted:
                raise InvalidTransitionError(f"Label {label_id} is superseded twice in this batch.")
            wanted[label_id] = index
    olds: list[Label | None] = [None] * len(items)
    for label_id in sorted(wanted):
        position[0] = wanted[label_id]
        olds[wanted[label_id]] = _superseded(body, label_id)
    return olds


@dataclass(slots=True)
class _Slots:
    """Label ids and status-list indexes for a batch, drawn with a few queries for all."""

    base_url: str
    label_ids: list[str]
    revocation: list[tuple[str, int]]
    suspension: list[tuple[str, int]]
    dry: bool = False

    @classmethod
    def allocate(
        cls, body: CertificationBody, label_ids: list[str], *, also_lock: Sequence[str]
    ) -> _Slots:
        """Draw status-list indexes; ``also_lock`` names suspension lists to lock in between."""
        base = current_settings().public_base_url
        count = len(label_ids)
        revocation = allocate_indexes(body, StatusPurpose.REVOCATION, count, base_url=base)
        for list_id in also_lock:
            db.session.get_one(StatusListRecord, list_id, with_for_update=True)
        suspension = allocate_indexes(body, StatusPurpose.SUSPENSION, count, base_url=base)
        return cls(base, label_ids, revocation, suspension)

    @classmethod
    def reserved(cls, reservation: Reservation, *, also_lock: Sequence[str]) -> _Slots:
        """A preparation's slots, drawn then: their lists locked again, in the usual order."""
        revocation, suspension = reservation.revocation, reservation.suspension
        db.session.get_one(StatusListRecord, revocation[0], with_for_update=True)
        for list_id in sorted({*also_lock, suspension[0]}):
            db.session.get_one(StatusListRecord, list_id, with_for_update=True)
        base = current_settings().public_base_url
        return cls(base, [reservation.label_id], [revocation], [suspension])

    @classmethod
    def undrawn(cls, label_ids: list[str]) -> _Slots:
        """A dry run's: nothing locked or drawn (a placeholder the credential then drops)."""
        undrawn = [("undrawn", 0)] * len(label_ids)
        return cls(current_settings().public_base_url, label_ids, undrawn, list(undrawn), True)

    def take(self) -> tuple[str, tuple[str, int], tuple[str, int]]:
        return self.label_ids.pop(0), self.revocation.pop(0), self.suspension.pop(0)


def _fresh_label_ids(count: int) -> list[str]:
    """``count`` distinct random label ids.

    Not looked up first: with 50 random bits, a clash with an existing label is so rare
    (about 10^-8 per label with ten million labels) that the primary key refusing it, and the
    client retrying, is cheaper than a query on every issuance.
    """
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(new_label_id())
    return list(chosen)


def _dump(document: dict[str, object]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

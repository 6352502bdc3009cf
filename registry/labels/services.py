"""Issuing labels and changing their status.

Issuance, in one transaction: check the body, its accreditation, its key and the rule version;
compute the grade; draw status-list indexes; sign the CarbonLabelCredential with the body's key;
store it; append ``label.issued`` to the ledger last (the ledger lock is held from there to the
commit, so the slow signing happens before it).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from credentials import (
    EDDSA_RDFC_2022,
    CarbonLabel,
    CredentialError,
    Footprint,
    Grade,
    Product,
    RuleRef,
    StatusRef,
    build_label_credential,
    credential_digest,
    decimal_text,
    grade_for,
    label_url,
    new_label_id,
    normalize_label_id,
    sign_document,
)
from credentials.credential import Boundary
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.bodies.models import BodyStatus, CertificationBody
from registry.bodies.services import signing_key
from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db
from registry.errors import (
    BodyNotActiveError,
    ConflictError,
    ForbiddenError,
    GradeMismatchError,
    IdempotencyKeyReusedError,
    InvalidTransitionError,
    NotFoundError,
    OutOfScopeError,
    RuleNotInForceError,
    ValidationFailedError,
)
from registry.labels.models import (
    IdempotencyKey,
    Label,
    LabelStatus,
    StatusListRecord,
    StatusPurpose,
)
from registry.labels.status_lists import allocate_index, list_url, resign_status_list
from registry.ledger.services import append_entry, format_entry_time
from registry.schemes.models import RuleVersion
from registry.schemes.services import get_rule_version

__all__ = [
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "IssueResult",
    "LabelRequest",
    "StatusAction",
    "change_label_status",
    "get_label",
    "issue_label",
]

DEFAULT_VALIDITY = timedelta(days=3 * 365)
MAX_VALIDITY = timedelta(days=5 * 366)
_MAX_ID_DRAWS = 8


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


@dataclass(frozen=True, slots=True)
class IssueResult:
    label: Label
    created: bool


class StatusAction(enum.StrEnum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"


def get_label(label_id: str) -> Label:
    try:
        normalized = normalize_label_id(label_id)
    except CredentialError:
        raise NotFoundError(f"There is no label {label_id!r}.") from None
    label = db.session.get(Label, normalized)
    if label is None:
        raise NotFoundError(f"There is no label {normalized}.")
    return label


def _claim(
    body: CertificationBody, key: str, request_hash: bytes
) -> tuple[IdempotencyKey, Label | None]:
    """Claim ``key`` for this request, or find the label an earlier request made with it.

    The claim row is inserted before any other work, inside a savepoint. A concurrent request
    with the same key waits on the row's primary key until this one commits (then it replays
    our label) or rolls back (then its own claim succeeds), so a key never makes two labels.
    """
    found = db.session.get(IdempotencyKey, (body.id, key))
    if found is None:
        claim = IdempotencyKey(
            body_id=body.id, key=key, request_hash=request_hash, label_id=None, created_at=utcnow()
        )
        try:
            with db.session.begin_nested():
                db.session.add(claim)
        except IntegrityError:
            found = db.session.get(IdempotencyKey, (body.id, key), populate_existing=True)
            if found is None:  # pragma: no cover - the conflicting row was committed
                raise
        else:
            return claim, None
    if found.request_hash != request_hash:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request; use a new key."
        )
    if found.label_id is None:  # pragma: no cover - only visible to the claiming transaction
        raise ConflictError("A request with this Idempotency-Key is still in progress.")
    return found, db.session.get_one(Label, found.label_id)


def _check_rule(body: CertificationBody, request: LabelRequest, now: datetime) -> RuleVersion:
    rv = get_rule_version(request.scheme, request.rule, request.rule_version)
    if not rv.in_force_at(now):
        raise RuleNotInForceError(
            f"Version {rv.version} of {request.rule} is in force from "
            f"{rv.in_force_from:%Y-%m-%d}"
            + ("" if rv.in_force_until is None else f" until {rv.in_force_until:%Y-%m-%d}")
            + "; issue under a version in force now."
        )
    if request.declared_unit is not None and request.declared_unit != rv.declared_unit:
        raise ValidationFailedError(
            {
                "footprint": {
                    "declared_unit": [f"Rule {rv.rule.code} declares per {rv.declared_unit}."]
                }
            }
        )
    category = rv.rule.category
    if not any(a.covers(rv.rule.scheme_id, category, now) for a in body.accreditations):
        raise OutOfScopeError(
            f"{body.name} holds no active accreditation for {request.scheme} / {category}."
        )
    return rv


def _superseded(body: CertificationBody, label_id: str) -> Label:
    old = get_label(label_id)
    # Locked before any status list: the lock order everywhere is label, lists, ledger.
    old = db.session.get_one(Label, old.id, with_for_update=True, populate_existing=True)
    if old.body_id != body.id:
        raise ForbiddenError("A label can only supersede a label of the same body.")
    if old.status not in (LabelStatus.ACTIVE, LabelStatus.SUSPENDED):
        raise InvalidTransitionError(
            f"Label {old.id} is {old.status.value}; it cannot be superseded."
        )
    return old


def issue_label(
    principal: Principal,
    request: LabelRequest,
    *,
    idempotency_key: str | None = None,
    request_hash: bytes = b"",
) -> IssueResult:
    """Issue one label for the principal's body (a certifier) and ledger it."""
    principal.require(Role.CERTIFIER)
    body = db.session.get_one(CertificationBody, principal.body_id)
    claim: IdempotencyKey | None = None
    if idempotency_key is not None:
        claim, previous = _claim(body, idempotency_key, request_hash)
        if previous is not None:
            return IssueResult(previous, created=False)
    now = utcnow()
    if body.status is not BodyStatus.ACTIVE:
        raise BodyNotActiveError(f"{body.name} is {body.status.value} and cannot issue labels.")
    rv = _check_rule(body, request, now)
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
    old = _superseded(body, request.supersedes) if request.supersedes else None
    key, pair = signing_key(body, at=now)

    base = current_settings().public_base_url
    revocation, r_index = allocate_index(body, StatusPurpose.REVOCATION, base_url=base)
    suspension, s_index = allocate_index(body, StatusPurpose.SUSPENSION, base_url=base)
    label_id = _fresh_label_id()
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
            StatusRef("revocation", list_url(base, revocation.id), r_index),
            StatusRef("suspension", list_url(base, suspension.id), s_index),
        ),
        supersedes=None if old is None else label_url(base, old.id),
    )
    try:
        unsigned = build_label_credential(carbon_label)
    except CredentialError as exc:
        raise ValidationFailedError({"credential": [str(exc)]}) from exc
    signed = sign_document(unsigned, key=pair, cryptosuite=EDDSA_RDFC_2022, created=now)
    digest = credential_digest(signed)

    entry = append_entry(
        "label.issued",
        {
            "label": label_id,
            "body": body.code,
            "credentialDigest": digest,
            "verificationMethod": key.verification_method,
            "scheme": request.scheme,
            "rule": rv.rule.code,
            "ruleVersion": rv.version,
            "category": rv.rule.category,
            "footprint": decimal_text(request.footprint),
            "declaredUnit": rv.declared_unit,
            "declaredUnitAmount": decimal_text(fp_amount),
            "grade": grade,
            "validFrom": format_entry_time(carbon_label.valid_from),
            "validUntil": format_entry_time(carbon_label.valid_until),
            "statusLists": {
                "revocation": {"list": revocation.id, "index": r_index},
                "suspension": {"list": suspension.id, "index": s_index},
            },
            "supersedes": None if old is None else old.id,
        },
    )
    product = request.product
    label = Label(
        id=label_id,
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
        revocation_list_id=revocation.id,
        revocation_index=r_index,
        suspension_list_id=suspension.id,
        suspension_index=s_index,
        supersedes_id=None if old is None else old.id,
        credential=_dump(signed),
        credential_digest=digest,
        ledger_seq=entry.seq,
        issued_at=now,
    )
    db.session.add(label)
    db.session.flush()  # before the rows that refer to it: no relationship orders them
    if claim is not None:
        claim.label_id = label_id
    db.session.flush()
    if old is not None:
        # The old label's status was not set in any list, and superseded sets no bit either.
        old.status = LabelStatus.SUPERSEDED
        old.superseded_by_id = label_id
        old.status_changed_at = now
        db.session.flush()
    return IssueResult(label, created=True)


def _fresh_label_id() -> str:
    for _ in range(_MAX_ID_DRAWS):
        candidate = new_label_id()
        if db.session.get(Label, candidate) is None:
            return candidate
    raise ConflictError("Could not draw a fresh label id; try again.")  # pragma: no cover


def _dump(document: dict[str, object]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


_TRANSITIONS: dict[StatusAction, tuple[frozenset[LabelStatus], LabelStatus, str]] = {
    StatusAction.SUSPEND: (
        frozenset({LabelStatus.ACTIVE}),
        LabelStatus.SUSPENDED,
        "label.suspended",
    ),
    StatusAction.REINSTATE: (
        frozenset({LabelStatus.SUSPENDED}),
        LabelStatus.ACTIVE,
        "label.reinstated",
    ),
    StatusAction.REVOKE: (
        frozenset({LabelStatus.ACTIVE, LabelStatus.SUSPENDED, LabelStatus.SUPERSEDED}),
        LabelStatus.REVOKED,
        "label.revoked",
    ),
}


def change_label_status(
    principal: Principal, label_id: str, action: StatusAction, *, reason: str
) -> Label:
    """Suspend, reinstate or revoke a label, re-sign the lists it is in, and ledger it."""
    label = get_label(label_id)
    if principal.role is Role.OPERATOR:
        if action is not StatusAction.SUSPEND and not (
            action is StatusAction.REINSTATE and label.status_changed_by == Role.OPERATOR.value
        ):
            raise ForbiddenError(
                "The operator may suspend any label, and lift only its own suspensions."
            )
    else:
        principal.require(Role.CERTIFIER)
        if principal.body_id != label.body_id:
            raise ForbiddenError("A certifier may change only its own body's labels.")
        if action is StatusAction.REINSTATE and label.status_changed_by == Role.OPERATOR.value:
            raise ForbiddenError("This label was suspended by the registry operator.")
    # Lock the row, then re-read: a concurrent change must not be lost or applied twice.
    label = db.session.get_one(Label, label.id, with_for_update=True, populate_existing=True)
    allowed, target, event = _TRANSITIONS[action]
    if label.status not in allowed:
        raise InvalidTransitionError(
            f"Label {label.id} is {label.status.value}; it cannot be {target.value} now."
            + (" Revocation is final." if label.status is LabelStatus.REVOKED else "")
        )
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
        + ([label.suspension_list_id] if before is LabelStatus.SUSPENDED else []),
    }[action]
    for list_id in sorted(touched):  # revocation ("r-…") before suspension ("s-…")
        record = db.session.get_one(StatusListRecord, list_id, with_for_update=True)
        resign_status_list(record, body=body, base_url=base, now=now)
    append_entry(
        event,
        {
            "label": label.id,
            "body": body.code,
            "reason": reason,
            "by": principal.role.value,
            "previousStatus": before.value,
        },
    )
    return label

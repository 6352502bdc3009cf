"""Certification bodies: registration, status, accreditations and keys, each one ledgered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from flask import current_app
from sqlalchemy import or_, select, true

from credentials import (
    AccreditationGranted,
    AccreditationStatusChanged,
    Actor,
    BodyRegistered,
    BodyStatusChanged,
    CredentialError,
    KeyAdded,
    KeyPair,
    KeyRetired,
    PublicKey,
)
from registry.bodies.keystore import KeyStore, KeyStoreError
from registry.bodies.models import (
    Accreditation,
    AccreditationStatus,
    BodyKey,
    BodyStatus,
    CertificationBody,
)
from registry.clock import to_millis, utcnow, utcnow_seconds
from registry.db import db
from registry.errors import (
    BodyHoldsKeyError,
    ConflictError,
    NoSigningKeyError,
    NotFoundError,
    ValidationFailedError,
)
from registry.ledger.services import append_event
from registry.schemes.services import check_categories_covered, get_scheme
from registry.schemes.timezones import start_of_day

__all__ = [
    "KEYSTORE_KEY",
    "add_body_key",
    "get_accreditation",
    "get_body",
    "get_body_by_id",
    "get_body_key",
    "get_keystore",
    "grant_accreditation",
    "held_signing_key",
    "label_signing_key",
    "list_bodies",
    "register_body",
    "retire_body_key",
    "rewrap_body_keys",
    "rotate_body_key",
    "set_accreditation_status",
    "set_body_status",
    "signing_key",
]

KEYSTORE_KEY = "registry.keystore"


def get_keystore() -> KeyStore:
    store: KeyStore = current_app.extensions[KEYSTORE_KEY]
    return store


def list_bodies() -> list[CertificationBody]:
    stmt = select(CertificationBody).order_by(CertificationBody.code)
    return list(db.session.execute(stmt).scalars())


def get_body(code: str, *, lock: bool = False) -> CertificationBody:
    """The body; with ``lock``, its row locked ``FOR UPDATE`` and re-read (see the lock order)."""
    stmt = select(CertificationBody).where(CertificationBody.code == code)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    body = db.session.execute(stmt).scalar_one_or_none()
    if body is None:
        raise NotFoundError(f"There is no certification body {code!r}.")
    return body


def get_body_by_id(body_id: int) -> CertificationBody:
    """The body with row id ``body_id``: the public pages address a body by its id, which a
    label row already holds, so a label page links to it without another lookup."""
    body = db.session.get(CertificationBody, body_id)
    if body is None:
        raise NotFoundError(f"There is no certification body {body_id}.")
    return body


def register_body(
    *, actor: Actor, code: str, name: str, region: str, names: Mapping[str, str] | None = None
) -> CertificationBody:
    if db.session.execute(
        select(CertificationBody.id).where(CertificationBody.code == code)
    ).first():
        raise ConflictError(f"Certification body {code!r} already exists.")
    body = CertificationBody(
        code=code,
        name=name,
        names=dict(names or {}),
        region=region,
        status=BodyStatus.ACTIVE,
        created_at=utcnow(),
    )
    db.session.add(body)
    append_event(
        BodyRegistered(body=code, name=name, region=region, names=dict(names or {}), by=actor)
    )
    return body


def set_body_status(
    code: str, status: BodyStatus, *, reason: str, actor: Actor
) -> CertificationBody:
    # Locked before anything else: an issuance holds the row FOR SHARE from its first step to
    # its commit, so a suspension waits for issuances in flight and every later one sees it.
    body = get_body(code, lock=True)
    before = body.status
    if body.status is status:
        raise ConflictError(f"Certification body {code} is already {status.value}.")
    if body.status is BodyStatus.WITHDRAWN:
        raise ConflictError(f"Certification body {code} was withdrawn; withdrawal is final.")
    body.status = status
    append_event(
        BodyStatusChanged(
            body=code,
            status=status.value,
            previous_status=before.value,
            reason=reason,
            by=actor,
        )
    )
    return body


def get_accreditation(accreditation_id: int) -> Accreditation:
    found = db.session.get(Accreditation, accreditation_id)
    if found is None:
        raise NotFoundError(f"There is no accreditation {accreditation_id}.")
    return found


def grant_accreditation(
    *,
    actor: Actor,
    body_code: str,
    scheme_code: str,
    categories: Iterable[str],
    accreditation_body: str,
    reference: str,
    valid_from: datetime | date,
    valid_until: datetime | date | None,
    allow_uncovered_category: bool = False,
) -> Accreditation:
    """Accredit a body for a scheme's categories; a category that no rule of the scheme covers
    is refused unless ``allow_uncovered_category`` (a rule for it may be coming)."""
    body, scheme = get_body(body_code), get_scheme(scheme_code)
    # A date alone is the start of that day where the scheme is.
    valid_from = to_millis(start_of_day(valid_from, scheme.region))
    valid_until = (
        None if valid_until is None else to_millis(start_of_day(valid_until, scheme.region))
    )
    cats = sorted(set(categories))
    if not cats:
        raise ValidationFailedError({"categories": ["Name at least one product category."]})
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationFailedError({"valid_until": ["Must be after valid_from."]})
    if not allow_uncovered_category:
        check_categories_covered(scheme, cats)
    accreditation = Accreditation(
        body_id=body.id,
        scheme=scheme,
        categories=cats,
        accreditation_body=accreditation_body,
        reference=reference,
        valid_from=valid_from,
        valid_until=valid_until,
        status=AccreditationStatus.ACTIVE,
        status_changed_at=None,
        created_at=utcnow(),
    )
    db.session.add(accreditation)
    db.session.flush()
    append_event(
        AccreditationGranted(
            accreditation=accreditation.id,
            body=body_code,
            scheme=scheme_code,
            categories=tuple(cats),
            accreditation_body=accreditation_body,
            reference=reference,
            valid_from=valid_from,
            valid_until=valid_until,
            by=actor,
        )
    )
    return accreditation


def set_accreditation_status(
    accreditation_id: int, status: AccreditationStatus, *, reason: str, actor: Actor
) -> Accreditation:
    # Locked first, as the body is: issuance holds its body's accreditations FOR SHARE.
    found = db.session.get(
        Accreditation, accreditation_id, with_for_update=True, populate_existing=True
    )
    if found is None:
        raise NotFoundError(f"There is no accreditation {accreditation_id}.")
    accreditation = found
    before = accreditation.status
    if accreditation.status is status:
        raise ConflictError(f"Accreditation {accreditation_id} is already {status.value}.")
    if accreditation.status is AccreditationStatus.WITHDRAWN:
        raise ConflictError(f"Accreditation {accreditation_id} was withdrawn; withdrawal is final.")
    accreditation.status = status
    # Rounded up, as key retirement is: a label signed earlier in that second stays covered.
    changed_at = accreditation.status_changed_at = utcnow_seconds(round_up=True)
    body = db.session.get_one(CertificationBody, accreditation.body_id)
    append_event(
        AccreditationStatusChanged(
            accreditation=accreditation_id,
            body=body.code,
            status=status.value,
            previous_status=before.value,
            reason=reason,
            effective_at=changed_at,
            by=actor,
        )
    )
    return accreditation


def add_body_key(
    body_code: str, *, actor: Actor, public_key_multibase: str | None = None
) -> tuple[BodyKey, KeyPair | None]:
    """Add a key: generated and sealed by the registry, or a body-held public key.

    Returns the key row and, for a generated key, the pair (never shown to anyone; returned so
    the caller can sign at once without unsealing).
    """
    body = get_body(body_code)
    pair: KeyPair | None = None
    if public_key_multibase is None:
        pair = KeyPair.generate()
        public = pair.public_key
        box: bytes | None = get_keystore().seal(pair)
    else:
        try:
            public = PublicKey.from_multibase(public_key_multibase)
        except CredentialError as exc:
            raise ValidationFailedError({"public_key_multibase": [str(exc)]}) from exc
        box = None
    taken = select(BodyKey.id).where(BodyKey.public_key_multibase == public.multibase)
    if db.session.execute(taken).first():
        raise ConflictError("That key is already registered.")
    key = BodyKey(
        body=body,  # also appends it to body.keys, so the session's view stays current
        public_key_multibase=public.multibase,
        secret_box=box,
        # Whole seconds, as proofs state their time: floor the start, round the end up.
        active_from=utcnow_seconds(),
        retired_at=None,
    )
    db.session.add(key)
    append_event(
        KeyAdded(
            body=body_code,
            public_key_multibase=public.multibase,
            controller=public.did,
            managed=box is not None,
            active_from=key.active_from,
            by=actor,
        )
    )
    return key, pair


def get_body_key(body_code: str, public_key_multibase: str) -> BodyKey:
    body = get_body(body_code)
    stmt = select(BodyKey).where(
        BodyKey.body_id == body.id, BodyKey.public_key_multibase == public_key_multibase
    )
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise NotFoundError(f"{body_code} has no key {public_key_multibase}.")
    return key


def retire_body_key(body_code: str, public_key_multibase: str, *, actor: Actor) -> BodyKey:
    """Stop a key signing from now on; what it signed before stays verifiable."""
    body = get_body(body_code)
    # Locked first: issuance holds the key it signs with FOR SHARE until its commit.
    stmt = (
        select(BodyKey)
        .where(BodyKey.body_id == body.id, BodyKey.public_key_multibase == public_key_multibase)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise NotFoundError(f"{body_code} has no key {public_key_multibase}.")
    if key.retired_at is not None:
        raise ConflictError("That key is already retired.")
    retired_at = key.retired_at = utcnow_seconds(round_up=True)
    append_event(
        KeyRetired(
            body=body_code,
            public_key_multibase=public_key_multibase,
            retired_at=retired_at,
            by=actor,
        )
    )
    return key


def rotate_body_key(body_code: str, *, actor: Actor) -> BodyKey:
    """A new registry-held key for the body; its previous active keys are retired."""
    body = get_body(body_code)
    # The keys to retire are locked before the new key's entry takes the ledger lock: the lock
    # order is keys, then ledger, and an issuance may hold one of them while it waits for it.
    previous = list(
        db.session.execute(
            select(BodyKey)
            .where(BodyKey.body_id == body.id, BodyKey.retired_at.is_(None))
            .order_by(BodyKey.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalars()
    )
    key, _ = add_body_key(body_code, actor=actor)
    for old in previous:
        retire_body_key(body_code, old.public_key_multibase, actor=actor)
    return key


def rewrap_body_keys() -> tuple[int, int]:
    """Seal every held body key's secret as the key store seals now (after a KEK rotation:
    under the new KEK); returns (re-sealed, already current). Each row is locked, so an
    issuance signing with a key waits or goes first; a secret the store cannot open refuses
    the whole rewrap."""
    store = get_keystore()
    keys = db.session.scalars(
        select(BodyKey)
        .where(BodyKey.secret_box.is_not(None))
        .order_by(BodyKey.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    rewrapped = current = 0
    for key in keys:
        box = key.secret_box or b""  # never empty: selected with a box
        if store.is_current(box, public_key_multibase=key.public_key_multibase):
            current += 1
            continue
        try:
            pair = store.open(box, public_key_multibase=key.public_key_multibase)
        except KeyStoreError as exc:
            raise ConflictError(
                f"The secret of key {key.id} ({key.public_key_multibase}) does not open: {exc}; "
                "nothing was re-sealed."
            ) from exc
        key.secret_box = store.seal(pair)
        rewrapped += 1
    db.session.flush()
    return rewrapped, current


def signing_key(body: CertificationBody, *, at: datetime) -> tuple[BodyKey, KeyPair]:
    """The body's newest key active at ``at`` whose secret the registry holds, unsealed.

    Active as a verifier will judge it (the kit's predicate on the key the trust bundle
    states), and not retired now: a retirement is rounded up to the next second in the bundle,
    but from the retirement on the key signs nothing. It signs the body's status lists; its
    labels are signed by :func:`label_signing_key`.
    """
    return _unsealed(body, _active_keys(body, at=at, managed=True))


def _unsealed(body: CertificationBody, keys: list[BodyKey]) -> tuple[BodyKey, KeyPair]:
    key = next((k for k in keys if k.managed), None)
    if key is None or key.secret_box is None:
        raise NoSigningKeyError(
            f"{body.code} has no active key held by the registry; add or rotate a key."
        )
    return key, get_keystore().open(key.secret_box, public_key_multibase=key.public_key_multibase)


def _active_keys(body: CertificationBody, *, at: datetime, managed: bool = False) -> list[BodyKey]:
    """The body's keys (with ``managed``, those the registry holds) active at ``at`` and not
    retired, newest first, held ``FOR SHARE`` until the commit, so a retirement waits for the
    issuance in flight (and, once committed, is seen here: the rows are re-read)."""
    held = BodyKey.secret_box.is_not(None) if managed else true()
    stmt = (
        select(BodyKey)
        .where(BodyKey.body_id == body.id, BodyKey.retired_at.is_(None), held)
        .order_by(BodyKey.id.desc())
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    return [k for k in db.session.execute(stmt).scalars() if k.trusted().active_at(at)]


def label_signing_key(body: CertificationBody, *, at: datetime) -> tuple[BodyKey, KeyPair]:
    """The key the registry signs ``body``'s labels with (see :func:`signing_key`).

    A body with an active key of its own is refused: the registry signs nothing in its name
    (its registry-held key, if any, still signs its status lists); it prepares and submits.
    """
    # One query for both questions (issuance's hot path). A key of the body's own counts until
    # its retirement as a verifier judges it (rounded up to the second), as the kit refuses a
    # label the registry signed while it was active.
    stmt = (
        select(BodyKey)
        .where(
            BodyKey.body_id == body.id,
            or_(BodyKey.retired_at.is_(None), BodyKey.retired_at > at),
        )
        .order_by(BodyKey.id.desc())
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    keys = [k for k in db.session.execute(stmt).scalars() if k.trusted().active_at(at)]
    if any(not k.managed for k in keys):
        raise BodyHoldsKeyError(
            f"{body.code} holds its own signing key, so the registry cannot sign its labels: "
            "prepare the credential (POST /api/v1/labels/prepare), sign it with the body's key "
            "(carbonlabel sign) and submit it (POST /api/v1/labels/preparations/{id}/signed)."
        )
    return _unsealed(body, [k for k in keys if k.retired_at is None])


def held_signing_key(body: CertificationBody, *, at: datetime) -> BodyKey:
    """The body's newest key of its own active at ``at`` (held ``FOR SHARE`` to the commit).

    The body must also have a registry-held key: its status lists are signed at the registry,
    whenever a label's status changes and every day, so by a key of the body the registry holds.
    """
    keys = _active_keys(body, at=at)
    key = next((k for k in keys if not k.managed), None)
    if key is None:
        raise NoSigningKeyError(
            f"{body.code} has no active key of its own; the registry signs its labels "
            "(POST /api/v1/labels), or the operator registers the body's public key."
        )
    if not any(k.managed for k in keys):
        raise NoSigningKeyError(
            f"{body.code} has no active key held by the registry to sign its status lists; "
            f"the operator adds one (POST /api/v1/bodies/{body.code}/keys with {{}})."
        )
    return key

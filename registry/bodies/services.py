"""Certification bodies: registration, status, accreditations and keys, each one ledgered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from credentials import CredentialError, KeyPair, PublicKey
from registry.bodies.keystore import KeyStore
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
    ConflictError,
    NoSigningKeyError,
    NotFoundError,
    ValidationFailedError,
)
from registry.ledger.services import append_entry, format_entry_time
from registry.schemes.services import get_scheme

__all__ = [
    "KEYSTORE_KEY",
    "add_body_key",
    "get_accreditation",
    "get_body",
    "get_body_key",
    "get_keystore",
    "grant_accreditation",
    "list_bodies",
    "register_body",
    "retire_body_key",
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


def get_body(code: str) -> CertificationBody:
    stmt = select(CertificationBody).where(CertificationBody.code == code)
    body = db.session.execute(stmt).scalar_one_or_none()
    if body is None:
        raise NotFoundError(f"There is no certification body {code!r}.")
    return body


def register_body(
    *, code: str, name: str, region: str, names: Mapping[str, str] | None = None
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
    append_entry(
        "body.registered",
        {"body": code, "name": name, "region": region, "names": dict(names or {})},
    )
    return body


def set_body_status(code: str, status: BodyStatus, *, reason: str) -> CertificationBody:
    body = get_body(code)
    if body.status is status:
        raise ConflictError(f"{code} is already {status.value}.")
    if body.status is BodyStatus.WITHDRAWN:
        raise ConflictError(f"{code} was withdrawn; withdrawal is final.")
    body.status = status
    append_entry("body.status_changed", {"body": code, "status": status.value, "reason": reason})
    return body


def get_accreditation(accreditation_id: int) -> Accreditation:
    found = db.session.get(Accreditation, accreditation_id)
    if found is None:
        raise NotFoundError(f"There is no accreditation {accreditation_id}.")
    return found


def grant_accreditation(
    *,
    body_code: str,
    scheme_code: str,
    categories: Iterable[str],
    accreditation_body: str,
    reference: str,
    valid_from: datetime,
    valid_until: datetime | None,
) -> Accreditation:
    body, scheme = get_body(body_code), get_scheme(scheme_code)
    valid_from = to_millis(valid_from)
    valid_until = None if valid_until is None else to_millis(valid_until)
    cats = sorted(set(categories))
    if not cats:
        raise ValidationFailedError({"categories": ["Name at least one product category."]})
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationFailedError({"valid_until": ["Must be after valid_from."]})
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
    append_entry(
        "accreditation.granted",
        {
            "accreditation": accreditation.id,
            "body": body_code,
            "scheme": scheme_code,
            "categories": cats,
            "accreditationBody": accreditation_body,
            "reference": reference,
            "validFrom": format_entry_time(valid_from),
            "validUntil": None if valid_until is None else format_entry_time(valid_until),
        },
    )
    return accreditation


def set_accreditation_status(
    accreditation_id: int, status: AccreditationStatus, *, reason: str
) -> Accreditation:
    accreditation = get_accreditation(accreditation_id)
    if accreditation.status is status:
        raise ConflictError(f"Accreditation {accreditation_id} is already {status.value}.")
    if accreditation.status is AccreditationStatus.WITHDRAWN:
        raise ConflictError(f"Accreditation {accreditation_id} was withdrawn; that is final.")
    accreditation.status = status
    # Rounded up, as key retirement is: a label signed earlier in that second stays covered.
    accreditation.status_changed_at = utcnow_seconds(round_up=True)
    body = db.session.get_one(CertificationBody, accreditation.body_id)
    append_entry(
        "accreditation.status_changed",
        {
            "accreditation": accreditation_id,
            "body": body.code,
            "status": status.value,
            "reason": reason,
        },
    )
    return accreditation


def add_body_key(
    body_code: str, *, public_key_multibase: str | None = None
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
    append_entry(
        "key.added",
        {
            "body": body_code,
            "publicKeyMultibase": public.multibase,
            "controller": public.did,
            "managed": box is not None,
            "activeFrom": format_entry_time(key.active_from),
        },
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


def retire_body_key(body_code: str, public_key_multibase: str) -> BodyKey:
    """Stop a key signing from now on; what it signed before stays verifiable."""
    body = get_body(body_code)
    stmt = select(BodyKey).where(
        BodyKey.body_id == body.id, BodyKey.public_key_multibase == public_key_multibase
    )
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise NotFoundError(f"{body_code} has no key {public_key_multibase}.")
    if key.retired_at is not None:
        raise ConflictError("That key is already retired.")
    key.retired_at = utcnow_seconds(round_up=True)
    append_entry(
        "key.retired",
        {
            "body": body_code,
            "publicKeyMultibase": public_key_multibase,
            "retiredAt": format_entry_time(key.retired_at),
        },
    )
    return key


def rotate_body_key(body_code: str) -> BodyKey:
    """A new registry-held key for the body; its previous active keys are retired."""
    body = get_body(body_code)
    previous = [k for k in body.keys if k.retired_at is None]
    key, _ = add_body_key(body_code)
    for old in previous:
        retire_body_key(body_code, old.public_key_multibase)
    return key


def signing_key(body: CertificationBody, *, at: datetime) -> tuple[BodyKey, KeyPair]:
    """The body's newest active key whose secret the registry holds, unsealed."""
    stmt = (
        select(BodyKey)
        .where(
            BodyKey.body_id == body.id,
            BodyKey.secret_box.is_not(None),
            BodyKey.retired_at.is_(None),
            BodyKey.active_from <= at,
        )
        .order_by(BodyKey.id.desc())
        .limit(1)
    )
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None or key.secret_box is None:
        raise NoSigningKeyError(
            f"{body.code} has no active key held by the registry; add or rotate a key."
        )
    return key, get_keystore().open(key.secret_box, public_key_multibase=key.public_key_multibase)

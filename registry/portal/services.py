"""People, invitations, sign-in, sessions, the second factor, tokens and the access record.

Services take domain values (never ``request``), ``flush()`` and never commit; they raise
:class:`PortalError` with a message code the pages translate, or the registry's own errors.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from registry.auth.models import ApiToken, Role
from registry.auth.services import Principal, create_token, get_token, revoke_token
from registry.bodies.models import CertificationBody
from registry.bodies.services import get_body
from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db
from registry.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from registry.pages.protection import FailureCounter, count_failure, failures_wait
from registry.portal.models import (
    BODY_ROLES,
    AccessEvent,
    AccessKind,
    Invitation,
    Person,
    PersonRole,
    PortalSession,
    RecoveryCode,
)
from registry.portal.policy import current_policy
from registry.portal.secrets import (
    digest,
    hash_password,
    new_recovery_code,
    new_secret,
    new_totp_secret,
    normalize_recovery_code,
    open_totp_secret,
    password_problem,
    seal_totp_secret,
    totp_at,
    totp_step,
    verify_password,
)
from registry.schemes.services import get_scheme

__all__ = [
    "PortalError",
    "SignIn",
    "accept_invitation",
    "change_role",
    "confirm_second_factor",
    "confirm_totp_enrolment",
    "create_portal_token",
    "disable_person",
    "end_all_sessions",
    "end_session",
    "end_sessions",
    "fail_attempt",
    "find_person",
    "invitation_for",
    "invite_person",
    "list_access",
    "list_people",
    "load_session",
    "new_link",
    "portal_tokens",
    "principal_of",
    "record_access",
    "revoke_portal_token",
    "rewrap_totp_secrets",
    "sign_in",
    "start_totp_enrolment",
    "totp_secret_of",
]

_ROLE_OF = {
    PersonRole.AUDITOR: Role.CERTIFIER,
    PersonRole.SIGNATORY: Role.CERTIFIER,
    PersonRole.REGULATOR: Role.REGULATOR,
    PersonRole.OPERATOR: Role.OPERATOR,
}
# A TOTP code is accepted one step either side of now: phone clocks drift.
_TOTP_WINDOW = 1


class PortalError(Exception):
    """A refusal the person can act on; ``reason`` is a message code the pages translate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def record_access(
    kind: AccessKind,
    *,
    person: Person | None = None,
    by: Person | None = None,
    address: str | None = None,
    **detail: Any,
) -> AccessEvent:
    """One line of the access record. ``detail`` takes ids and role names, never secrets."""
    event = AccessEvent(
        at=utcnow(),
        kind=kind,
        person_id=None if person is None else person.id,
        by_person_id=None if by is None else by.id,
        address=None if address is None else address[:64],
        detail=detail,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _normalized_email(email: str) -> str:
    text = email.strip().lower()
    local, at, domain = text.partition("@")
    if not at or not local or not domain or len(text) > 254 or any(c.isspace() for c in text):
        raise ValidationFailedError({"email": ["Give an e-mail address."]})
    return text


def _role_shape(
    role: PersonRole, body_code: str | None, schemes: Iterable[str]
) -> tuple[CertificationBody | None, list[str]]:
    codes = sorted(set(schemes))
    if role in BODY_ROLES:
        if body_code is None or codes:
            raise ValidationFailedError({"body": ["An auditor or signatory belongs to one body."]})
        return get_body(body_code), []
    if role is PersonRole.REGULATOR:
        if body_code is not None or not codes:
            raise ValidationFailedError(
                {"schemes": ["A regulator is bound to one or more schemes."]}
            )
        for code in codes:
            get_scheme(code)
        return None, codes
    if body_code is not None or codes:
        raise ValidationFailedError({"role": ["An operator names neither a body nor schemes."]})
    return None, []


def find_person(email: str) -> Person:
    person = db.session.execute(
        select(Person).where(Person.email == _normalized_email(email))
    ).scalar_one_or_none()
    if person is None:
        raise NotFoundError(f"Nobody is registered as {email!r}.")
    return person


def invite_person(
    *,
    email: str,
    role: PersonRole,
    body_code: str | None = None,
    schemes: Iterable[str] = (),
    by: Person | None = None,
) -> tuple[Invitation, str]:
    """A new person (or one who never set a password) and a one-time link secret."""
    address = _normalized_email(email)
    body, codes = _role_shape(role, body_code, schemes)
    now = utcnow()
    person = db.session.execute(select(Person).where(Person.email == address)).scalar_one_or_none()
    if person is not None and person.password_hash is not None:
        raise ConflictError(f"{address} already has an account; change its role instead.")
    if person is None:
        person = Person(
            email=address,
            role=role,
            body_id=None if body is None else body.id,
            schemes=codes,
            failed_attempts=0,
            disabled=False,
            created_at=now,
        )
        db.session.add(person)
        db.session.flush()
    else:
        person.role, person.body_id, person.schemes = role, None if body is None else body.id, codes
    invitation, secret = new_link(person)
    record_access(
        AccessKind.INVITED, person=person, by=by, role=role.value, body=body_code, schemes=codes
    )
    return invitation, secret


def new_link(person: Person) -> tuple[Invitation, str]:
    """A one-time set-password link for ``person`` (its invitation and secret), valid for the
    policy's invitation time; any earlier link still unused stops working."""
    now = utcnow()
    db.session.execute(
        update(Invitation)
        .where(Invitation.person_id == person.id, Invitation.used_at.is_(None))
        .values(expires_at=now)
    )
    secret = new_secret()
    invitation = Invitation(
        link_hash=digest(secret),
        person_id=person.id,
        created_at=now,
        expires_at=now + current_policy().invitation_ttl,
        used_at=None,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, secret


def invitation_for(secret: str) -> Invitation:
    """The invitation a link carries, if it can still be used."""
    invitation = db.session.execute(
        select(Invitation).where(Invitation.link_hash == digest(secret))
    ).scalar_one_or_none()
    if invitation is None:
        raise PortalError("invitation-unknown")
    if invitation.used_at is not None:
        raise PortalError("invitation-used")
    if utcnow() >= invitation.expires_at or invitation.person.disabled:
        raise PortalError("invitation-expired")
    return invitation


def accept_invitation(secret: str, password: str, *, address: str | None = None) -> Person:
    """Set the password of the invited person; the link works once."""
    invitation = invitation_for(secret)
    person = invitation.person
    problem = password_problem(password, email=person.email)
    if problem is not None:
        raise PortalError(f"password-{problem}")
    # Only the first of two concurrent uses of a link marks it used.
    marked = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise PortalError("invitation-used")
    person.password_hash = hash_password(password)
    person.failed_attempts = 0
    person.locked_until = None
    record_access(AccessKind.PASSWORD_SET, person=person, address=address)
    return person


# --- sign-in ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignIn:
    """A session that began; ``secret`` goes into the cookie and nowhere else."""

    session: PortalSession
    secret: str

    @property
    def needs_second_factor(self) -> bool:
        return not self.session.verified


def _counters(email: str, address: str) -> tuple[FailureCounter, FailureCounter]:
    policy = current_policy()
    return (
        FailureCounter(policy.account_limit, "portal-account", email),
        FailureCounter(policy.address_limit, "portal-address", address),
    )


def _limits_exceeded(email: str, address: str) -> bool:
    return failures_wait(*_counters(email, address)) is not None


def _count_failure(email: str, address: str) -> None:
    count_failure(*_counters(email, address))


def _start_session(person: Person, *, verified: bool) -> SignIn:
    secret = new_secret()
    now = utcnow()
    session = PortalSession(
        id_hash=digest(secret),
        person_id=person.id,
        verified=verified,
        created_at=now,
        last_seen_at=now,
        ended_at=None,
    )
    db.session.add(session)
    db.session.flush()
    return SignIn(session, secret)


def fail_attempt(person: Person, *, address: str | None, kind: AccessKind) -> None:
    """Count a wrong password or code against the account; enough of them lock it."""
    policy = current_policy()
    person.failed_attempts += 1
    record_access(kind, person=person, address=address)
    if person.failed_attempts >= policy.lockout_after:
        person.locked_until = utcnow() + policy.lockout_for
        person.failed_attempts = 0
        record_access(AccessKind.LOCKED_OUT, person=person, address=address)


def sign_in(email: str, password: str, *, address: str) -> SignIn:
    """Check email and password; a person with TOTP gets a session that awaits the code.

    Every refusal reads the same ("invalid-credentials") whether the address is unknown, the
    password wrong or the account disabled, so the answer names nobody; a lockout says so,
    since only the right password would have been told anything else.
    """
    key = email.strip().lower()[:254]
    if _limits_exceeded(key, address):
        record_access(AccessKind.SIGN_IN_LIMITED, address=address)
        raise PortalError("limited")
    person = db.session.execute(select(Person).where(Person.email == key)).scalar_one_or_none()
    now = utcnow()
    if person is not None and person.locked_until is not None and now < person.locked_until:
        _count_failure(key, address)
        record_access(AccessKind.SIGN_IN_FAILED, person=person, address=address, locked=True)
        raise PortalError("locked")
    ok = verify_password(None if person is None else person.password_hash, password)
    if person is None or not ok or person.disabled:
        _count_failure(key, address)
        if person is None:
            record_access(AccessKind.SIGN_IN_FAILED, address=address)
        else:
            fail_attempt(person, address=address, kind=AccessKind.SIGN_IN_FAILED)
        raise PortalError("invalid-credentials")
    person.failed_attempts = 0
    person.locked_until = None
    started = _start_session(person, verified=person.totp_secret is None)
    if started.session.verified:
        record_access(AccessKind.SIGNED_IN, person=person, address=address, factor="password")
    return started


def totp_secret_of(person: Person) -> bytes | None:
    if person.totp_secret is None:
        return None
    return _open_sealed(person.totp_secret)


def _open_sealed(sealed: bytes) -> bytes | None:
    settings = current_settings()
    return open_totp_secret(sealed, kek=settings.kek_bytes, previous=settings.previous_kek_bytes)


def _accept_totp(person: Person, secret: bytes, code: str) -> bool:
    """Whether ``code`` is valid now and newer than any code accepted before (no replay).

    The step is claimed with a conditional UPDATE, so of two requests racing with one code
    only one succeeds.
    """
    code = "".join(code.split())
    now_step = totp_step(utcnow())
    for step in range(now_step - _TOTP_WINDOW, now_step + _TOTP_WINDOW + 1):
        if person.totp_last_step is not None and step <= person.totp_last_step:
            continue
        if hmac.compare_digest(totp_at(secret, step), code):
            claimed = db.session.execute(
                update(Person)
                .where(
                    Person.id == person.id,
                    or_(Person.totp_last_step.is_(None), Person.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            person.totp_last_step = step
            db.session.flush()
            return bool(claimed.rowcount)  # type: ignore[attr-defined]
    return False


def _use_recovery_code(person: Person, code: str) -> bool:
    found = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.person_id == person.id,
            RecoveryCode.code_hash == digest(normalize_recovery_code(code)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(found.rowcount)  # type: ignore[attr-defined]


def confirm_second_factor(session: PortalSession, code: str, *, address: str) -> None:
    """Finish a sign-in with a TOTP code or a recovery code; failures count like passwords'."""
    person = session.person
    secret = totp_secret_of(person)
    if session.verified or session.ended_at is not None or secret is None:
        raise PortalError("invalid-code")
    if _limits_exceeded(person.email, address):
        raise PortalError("limited")
    if person.locked_until is not None and utcnow() < person.locked_until:
        session.ended_at = utcnow()
        raise PortalError("locked")
    if _accept_totp(person, secret, code):
        factor = "totp"
    elif _use_recovery_code(person, code):
        factor = "recovery-code"
        record_access(AccessKind.RECOVERY_CODE_USED, person=person, address=address)
    else:
        _count_failure(person.email, address)
        fail_attempt(person, address=address, kind=AccessKind.TOTP_FAILED)
        if person.locked_until is not None:
            session.ended_at = utcnow()
        raise PortalError("invalid-code")
    person.failed_attempts = 0
    session.verified = True
    session.last_seen_at = utcnow()
    record_access(AccessKind.SIGNED_IN, person=person, address=address, factor=factor)


def load_session(secret: str | None) -> PortalSession | None:
    """The live session a cookie names, or ``None`` if it ended, idled out or grew too old."""
    if not secret or len(secret) > 64:
        return None
    session = db.session.execute(
        select(PortalSession).where(PortalSession.id_hash == digest(secret))
    ).scalar_one_or_none()
    if session is None or session.ended_at is not None or session.person.disabled:
        return None
    policy = current_policy()
    now = utcnow()
    idle = policy.idle_timeout if session.verified else policy.second_factor_timeout
    if now - session.last_seen_at >= idle or now - session.created_at >= policy.absolute_timeout:
        return None
    return session


_TOUCH_EVERY = timedelta(minutes=1)


def touch_due(session: PortalSession) -> bool:
    """Whether to note activity now: at most once a minute, to spare the database a write per
    page (the idle timeout is minutes long, so a minute's slack decides nothing)."""
    return utcnow() - session.last_seen_at >= _TOUCH_EVERY


def touch_session(session_id: int) -> None:
    """Note activity on a live session (never revives one that has ended)."""
    db.session.execute(
        update(PortalSession)
        .where(PortalSession.id == session_id, PortalSession.ended_at.is_(None))
        .values(last_seen_at=utcnow())
    )


def end_session(session: PortalSession, *, address: str | None = None) -> None:
    if session.ended_at is None:
        session.ended_at = utcnow()
        record_access(AccessKind.SIGNED_OUT, person=session.person, address=address)


def end_sessions(person: Person, *, keep: int | None = None) -> int:
    """End the person's live sessions, all but the one with id ``keep``; how many ended."""
    stmt = update(PortalSession).where(
        PortalSession.person_id == person.id, PortalSession.ended_at.is_(None)
    )
    if keep is not None:
        stmt = stmt.where(PortalSession.id != keep)
    ended = db.session.execute(
        stmt.values(ended_at=utcnow()).execution_options(synchronize_session="fetch")
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


def end_all_sessions(person: Person, *, address: str | None = None) -> int:
    ended = end_sessions(person)
    record_access(AccessKind.SIGNED_OUT_EVERYWHERE, person=person, address=address)
    return ended


# --- TOTP enrolment ------------------------------------------------------------------------


def start_totp_enrolment(person: Person) -> bytes:
    """A new secret, kept aside until a code from it is confirmed."""
    secret = new_totp_secret()
    person.totp_pending = seal_totp_secret(secret, kek=current_settings().kek_bytes)
    db.session.flush()
    return secret


def pending_totp_secret(person: Person) -> bytes | None:
    if person.totp_pending is None:
        return None
    return _open_sealed(person.totp_pending)


def rewrap_totp_secrets() -> tuple[int, int]:
    """Seal every person's TOTP secret (enrolled or pending) under the current KEK; returns
    (re-sealed, already current). A secret that opens under neither KEK is refused whole."""
    kek = current_settings().kek_bytes
    rewrapped = current = 0
    people = db.session.scalars(
        select(Person)
        .where(or_(Person.totp_secret.is_not(None), Person.totp_pending.is_not(None)))
        .order_by(Person.id)
        .with_for_update()
    ).all()
    for person in people:
        for column in ("totp_secret", "totp_pending"):
            sealed: bytes | None = getattr(person, column)
            if sealed is None:
                continue
            if open_totp_secret(sealed, kek=kek) is not None:
                current += 1
                continue
            secret = _open_sealed(sealed)
            if secret is None:
                raise ConflictError(
                    f"The TOTP secret of person {person.id} opens under neither REGISTRY_KEK "
                    "nor REGISTRY_KEK_PREVIOUS; nothing was re-sealed."
                )
            setattr(person, column, seal_totp_secret(secret, kek=kek))
            rewrapped += 1
    db.session.flush()
    return rewrapped, current


def confirm_totp_enrolment(person: Person, code: str, *, address: str | None = None) -> list[str]:
    """Turn the pending secret on once a code from it is right; returns the recovery codes,
    shown this once (only their hashes are kept)."""
    secret = pending_totp_secret(person)
    if secret is None:
        raise PortalError("no-enrolment")
    person.totp_last_step = None  # a new key starts its own sequence of steps
    db.session.flush()
    if not _accept_totp(person, secret, code):
        raise PortalError("invalid-code")
    person.totp_secret, person.totp_pending = person.totp_pending, None
    db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    codes = [new_recovery_code() for _ in range(current_policy().recovery_codes)]
    db.session.add_all(
        RecoveryCode(person_id=person.id, code_hash=digest(code_), used_at=None) for code_ in codes
    )
    db.session.flush()
    record_access(AccessKind.TOTP_ENROLLED, person=person, address=address)
    return codes


# --- the operator's commands -----------------------------------------------------------------


def change_role(
    email: str,
    *,
    role: PersonRole,
    body_code: str | None = None,
    schemes: Iterable[str] = (),
    by: Person | None = None,
) -> Person:
    """Give a person another role; their sessions end, so no page keeps the old one."""
    person = find_person(email)
    body, codes = _role_shape(role, body_code, schemes)
    before = {
        "role": person.role.value,
        "body": None if person.body is None else person.body.code,
        "schemes": list(person.schemes),
    }
    person.role, person.body_id, person.schemes = role, None if body is None else body.id, codes
    db.session.flush()
    db.session.refresh(person)
    end_all_sessions(person)
    record_access(
        AccessKind.ROLE_CHANGED,
        person=person,
        by=by,
        before=before,
        after={"role": role.value, "body": body_code, "schemes": codes},
    )
    return person


def disable_person(email: str, *, by: Person | None = None) -> Person:
    person = find_person(email)
    person.disabled = True
    end_all_sessions(person)
    record_access(AccessKind.DISABLED, person=person, by=by)
    return person


def list_people() -> Sequence[Person]:
    return db.session.execute(select(Person).order_by(Person.id)).scalars().all()


def list_access(*, limit: int = 200, before: int | None = None) -> Sequence[AccessEvent]:
    stmt = select(AccessEvent).order_by(AccessEvent.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AccessEvent.id < before)
    return db.session.execute(stmt).scalars().all()


# --- acting through the registry's services --------------------------------------------------


def principal_of(person: Person) -> Principal:
    """The principal a signed-in person acts as: the same checks as a token of that role.

    An auditor's principal is a certifier's too; what an auditor may not do (issue, change a
    status) the portal's views refuse with ``person_required``.
    """
    role = _ROLE_OF[person.role]
    return Principal(
        token_id=None,
        role=role,
        body_id=person.body_id if role is Role.CERTIFIER else None,
        body_code=person.body.code if role is Role.CERTIFIER and person.body else None,
        schemes=frozenset(person.schemes) if role is Role.REGULATOR else frozenset(),
        person_id=person.id,
    )


def _may_manage(person: Person, token: ApiToken) -> bool:
    match person.role:
        case PersonRole.OPERATOR:
            return True
        case PersonRole.SIGNATORY:
            return token.role is Role.CERTIFIER and token.body_id == person.body_id
        case PersonRole.REGULATOR:
            return token.role is Role.REGULATOR and set(token.schemes) <= set(person.schemes)
        case PersonRole.AUDITOR:
            return False


def portal_tokens(person: Person) -> list[ApiToken]:
    """The tokens this person may see and revoke."""
    tokens = db.session.execute(select(ApiToken).order_by(ApiToken.id)).scalars().all()
    return [token for token in tokens if _may_manage(person, token)]


def create_portal_token(
    person: Person,
    *,
    name: str,
    role: Role,
    schemes: Iterable[str] = (),
    body_code: str | None = None,
    address: str | None = None,
) -> tuple[ApiToken, str]:
    """A signatory makes its body's certifier tokens, a regulator tokens for (some of) its
    schemes, the operator any; through :func:`registry.auth.services.create_token`."""
    codes = sorted(set(schemes))
    match person.role:
        case PersonRole.SIGNATORY:
            if role is not Role.CERTIFIER:
                raise ForbiddenError("A signatory makes certifier tokens of its own body.")
            assert person.body is not None  # noqa: S101 - the table's check constraint
            body_code, codes = person.body.code, []
        case PersonRole.REGULATOR:
            if role is not Role.REGULATOR or not set(codes) <= set(person.schemes):
                raise ForbiddenError("A regulator makes tokens for its own schemes only.")
        case PersonRole.AUDITOR:
            raise ForbiddenError("An auditor does not manage tokens.")
        case PersonRole.OPERATOR:
            pass
    token, secret = create_token(role=role, name=name, body_code=body_code, schemes=codes)
    record_access(
        AccessKind.TOKEN_CREATED,
        person=person,
        by=person,
        address=address,
        token=token.id,
        role=role.value,
    )
    return token, secret


def revoke_portal_token(person: Person, token_id: int, *, address: str | None = None) -> ApiToken:
    token = get_token(token_id)
    if not _may_manage(person, token):
        raise NotFoundError(f"There is no token {token_id}.")  # no probing of others' tokens
    revoke_token(token_id)
    record_access(
        AccessKind.TOKEN_REVOKED, person=person, by=person, address=address, token=token_id
    )
    return token

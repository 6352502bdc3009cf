"""Changing a password: by the person who knows it, or by the operator resetting it.

A change asks for the current password (a session alone is not enough: it may be a browser
left open), applies the invitation's password rules, and signs the person out everywhere else.
A reset disables the password and issues a one-time set-password link, as an invitation does;
the second factor is kept unless the operator resets it too (a lost phone). Both are recorded
in the access record, never with a password or link in it.
"""

from __future__ import annotations

from sqlalchemy import update

from registry.clock import utcnow
from registry.db import db
from registry.errors import ConflictError
from registry.portal.models import AccessKind, Invitation, Person, PortalSession, RecoveryCode
from registry.portal.secrets import hash_password, password_problem, verify_password
from registry.portal.services import (
    PortalError,
    end_sessions,
    fail_attempt,
    find_person,
    new_link,
    record_access,
)

__all__ = ["change_password", "reset_password"]


def change_password(
    session: PortalSession, *, current: str, new: str, address: str | None = None
) -> int:
    """Set the signed-in person's password to ``new`` if ``current`` is right; every other
    session of theirs ends (returns how many). A wrong current password counts towards the
    account's lockout, as a wrong sign-in does, so an open session cannot be used to guess it.
    """
    person = session.person
    now = utcnow()
    if person.locked_until is not None and now < person.locked_until:
        raise PortalError("locked")
    if not verify_password(person.password_hash, current):
        fail_attempt(person, address=address, kind=AccessKind.PASSWORD_CHANGE_FAILED)
        raise PortalError("wrong-password")
    problem = password_problem(new, email=person.email)
    if problem is not None:
        raise PortalError(f"password-{problem}")
    person.password_hash = hash_password(new)
    person.failed_attempts = 0
    ended = end_sessions(person, keep=session.id)
    record_access(AccessKind.PASSWORD_CHANGED, person=person, address=address, sessions_ended=ended)
    return ended


def reset_password(
    email: str, *, reset_totp: bool = False, by: Person | None = None
) -> tuple[Invitation, str]:
    """Disable the person's password and return a one-time set-password link (its invitation
    and secret), valid as long as an invitation; their sessions end, earlier links stop
    working. ``reset_totp`` also removes the second factor and its recovery codes."""
    person = find_person(email)
    if person.disabled:
        raise ConflictError(f"{person.email} is disabled; a reset would not let them in.")
    now = utcnow()
    person.password_hash = None
    person.failed_attempts = 0
    person.locked_until = None
    if reset_totp:
        person.totp_secret = person.totp_pending = person.totp_last_step = None
        db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None))
            .values(used_at=now)
        )
    ended = end_sessions(person)
    invitation, secret = new_link(person)
    record_access(
        AccessKind.PASSWORD_RESET,
        person=person,
        by=by,
        totp_reset=reset_totp,
        sessions_ended=ended,
    )
    return invitation, secret

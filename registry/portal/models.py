"""Portal people, their invitations, sessions, second factor, and the access record.

Ordinary tables, not ledger ones: access control is no fact of the register, and a person's
address must stay correctable. Secrets are stored only as hashes (passwords: Argon2id; session
ids, invitation links and recovery codes: SHA-256 of 256 or 80 random bits), the TOTP secret
sealed with a key derived from the KEK.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.bodies.models import CertificationBody, value_enum
from registry.db import Base

__all__ = [
    "AccessEvent",
    "AccessKind",
    "Invitation",
    "Person",
    "PersonRole",
    "PortalSession",
    "RecoveryCode",
]


class PersonRole(enum.StrEnum):
    AUDITOR = "auditor"  # of a body: prepares labels and batches
    SIGNATORY = "signatory"  # of a body: issues and changes status
    REGULATOR = "regulator"  # bound to one or more schemes
    OPERATOR = "operator"


BODY_ROLES = frozenset({PersonRole.AUDITOR, PersonRole.SIGNATORY})


class Person(Base):
    __tablename__ = "portal_people"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('auditor', 'signatory')) = (body_id IS NOT NULL)", name="body_role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased (the sign-in form lowers what is typed), so one address is one person.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[PersonRole] = mapped_column(value_enum(PersonRole))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("certification_bodies.id"))
    schemes: Mapped[list[str]] = mapped_column(JSON)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary(80))
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary(80))
    # The last 30-second step a code was accepted for: a code is refused for it and earlier.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    body: Mapped[CertificationBody | None] = relationship(lazy="select")

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.role}>"


class Invitation(Base):
    __tablename__ = "portal_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("portal_people.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The cookie holds 256 random bits; the table only their SHA-256, so a read of the
    # database signs nobody in.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("portal_people.id"), index=True)
    # False between a right password and the TOTP code of a person who enrolled one.
    verified: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")


class RecoveryCode(Base):
    __tablename__ = "portal_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("portal_people.id"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    used_at: Mapped[datetime | None]


class AccessKind(enum.StrEnum):
    INVITED = "invited"
    PASSWORD_SET = "password-set"  # noqa: S105 - an event name
    SIGNED_IN = "signed-in"
    SIGN_IN_FAILED = "sign-in-failed"
    SIGN_IN_LIMITED = "sign-in-limited"
    LOCKED_OUT = "locked-out"
    SIGNED_OUT = "signed-out"
    SIGNED_OUT_EVERYWHERE = "signed-out-everywhere"
    TOTP_ENROLLED = "totp-enrolled"
    TOTP_FAILED = "totp-failed"
    RECOVERY_CODE_USED = "recovery-code-used"
    ROLE_CHANGED = "role-changed"
    DISABLED = "disabled"
    TOKEN_CREATED = "token-created"  # noqa: S105 - an event name
    TOKEN_REVOKED = "token-revoked"  # noqa: S105 - an event name
    PASSWORD_CHANGED = "password-changed"  # noqa: S105 - an event name
    PASSWORD_CHANGE_FAILED = "password-change-failed"  # noqa: S105 - an event name
    PASSWORD_RESET = "password-reset"  # noqa: S105 - an event name


class AccessEvent(Base):
    """One line of the access record: what happened, to whom, by whom, from where.

    ``detail`` holds ids and role names only: never a password, code, secret or token.
    """

    __tablename__ = "portal_access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[AccessKind] = mapped_column(value_enum(AccessKind, 32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("portal_people.id"))
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("portal_people.id"))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

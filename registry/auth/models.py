"""API tokens, stored only as their SHA-256: the token itself is shown once, at creation."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.bodies.models import CertificationBody, value_enum
from registry.db import Base

__all__ = ["ApiToken", "Role"]


class Role(enum.StrEnum):
    OPERATOR = "operator"
    CERTIFIER = "certifier"
    REGULATOR = "regulator"


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint(
            "(role = 'certifier') = (body_id IS NOT NULL)", name="certifier_has_one_body"
        ),
        CheckConstraint("length(token_hash) = 32", name="token_hash_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Tokens carry 256 random bits, so an unsalted SHA-256 is enough and allows lookup by hash.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(value_enum(Role))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("certification_bodies.id"))
    schemes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    body: Mapped[CertificationBody | None] = relationship(lazy="select")

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… {self.role}>"

"""Certification bodies, accreditations and Ed25519 signing keys.

A key's secret, when the registry holds it, is stored only encrypted under the key-encryption
key (see :mod:`registry.bodies.keystore`). Keys are never deleted: a retired key stays listed
with the moment it stopped, so what it signed before stays verifiable.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

import credentials
from registry.db import Base
from registry.schemes.models import Scheme

__all__ = [
    "Accreditation",
    "AccreditationStatus",
    "BodyKey",
    "BodyStatus",
    "CertificationBody",
    "value_enum",
]


def value_enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    """Store an enum by its value (not its name), as a checked VARCHAR on both databases."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        name=cls.__name__.lower(),
    )


class BodyStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class AccreditationStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class CertificationBody(Base):
    __tablename__ = "certification_bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # The name every credential of this body states as issuer.name; verifiers compare it.
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    region: Mapped[str] = mapped_column(String(16))
    status: Mapped[BodyStatus] = mapped_column(value_enum(BodyStatus))
    created_at: Mapped[datetime]

    # Loaded on access: the hot paths (issuance, authentication) query what they need.
    accreditations: Mapped[list[Accreditation]] = relationship(
        back_populates="body", lazy="select", order_by="Accreditation.id"
    )
    keys: Mapped[list[BodyKey]] = relationship(
        back_populates="body", lazy="select", order_by="BodyKey.id"
    )

    def trusted(self) -> credentials.TrustedBody:
        """The body as a verifier trusts it: every key and accreditation it ever held."""
        return credentials.TrustedBody(
            name=self.name,
            keys=tuple(k.trusted() for k in self.keys),
            accreditations=tuple(a.trusted() for a in self.accreditations),
        )

    def __repr__(self) -> str:
        return f"<CertificationBody {self.code}>"


class Accreditation(Base):
    """An accreditation of a body for one scheme and some product categories, for a period."""

    __tablename__ = "accreditations"
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    accreditation_body: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str] = mapped_column(String(120))
    categories: Mapped[list[str]] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    status: Mapped[AccreditationStatus] = mapped_column(value_enum(AccreditationStatus))
    # When the status last changed: a withdrawn or suspended accreditation covered nothing
    # after this moment, which trust bundles state so offline verifiers know it too.
    status_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    body: Mapped[CertificationBody] = relationship(back_populates="accreditations", lazy="raise")
    scheme: Mapped[Scheme] = relationship(lazy="select")

    @property
    def covered_until(self) -> datetime | None:
        """The end of what the accreditation covers: its period, cut short by a suspension or
        withdrawal that is still in effect."""
        end = self.valid_until
        if self.status is not AccreditationStatus.ACTIVE:
            cut = self.status_changed_at
            if cut is not None and (end is None or cut < end):
                end = cut
        return end

    def trusted(self) -> credentials.Accreditation:
        """What a verifier is told this accreditation covers; issuance asks the same value."""
        return credentials.Accreditation(
            scheme=self.scheme.code,
            categories=frozenset(self.categories),
            valid_from=self.valid_from,
            valid_until=self.covered_until,
        )


class BodyKey(Base):
    """An Ed25519 key of a body; ``secret_box`` is set when the registry holds the secret."""

    __tablename__ = "body_keys"
    __table_args__ = (
        CheckConstraint("retired_at IS NULL OR retired_at >= active_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    public_key_multibase: Mapped[str] = mapped_column(String(64), unique=True)
    secret_box: Mapped[bytes | None] = mapped_column(LargeBinary)
    active_from: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    body: Mapped[CertificationBody] = relationship(back_populates="keys", lazy="raise")

    @property
    def managed(self) -> bool:
        return self.secret_box is not None

    @property
    def did(self) -> str:
        return f"did:key:{self.public_key_multibase}"

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.public_key_multibase}"

    def trusted(self) -> credentials.TrustedKey:
        """What a verifier is told of this key; issuance asks the same value."""
        return credentials.TrustedKey(
            public_key_multibase=self.public_key_multibase,
            active_from=self.active_from,
            active_until=self.retired_at,
            held_by_body=not self.managed,
        )

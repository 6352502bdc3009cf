"""Labels, the Bitstring Status Lists they are indexed in, and issuance idempotency keys.

``labels.credential`` holds the signed credential exactly as issued (its RFC 8785 digest is in
the ledger). ``status`` is current state derived from the ledger's label events; the audit
recomputes it from them.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credentials import EDDSA_RDFC_2022
from registry.bodies.models import BodyKey, CertificationBody, value_enum
from registry.db import Base, ExactDecimal
from registry.ledger.models import Position
from registry.schemes.models import RuleVersion

__all__ = [
    "IdempotencyKey",
    "Label",
    "LabelPreparation",
    "LabelStatus",
    "LabelStatusEntry",
    "QrTarget",
    "StatusListRecord",
    "StatusPurpose",
]

DECIMAL = ExactDecimal()


class LabelStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class QrTarget(enum.StrEnum):
    """What a label's QR code encodes, chosen at issuance: the short label URL, or the
    product's GS1 Digital Link URI, which the resolver redirects to the same page."""

    LABEL = "label"
    DIGITAL_LINK = "digital-link"


class StatusPurpose(enum.StrEnum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class StatusListRecord(Base):
    """One BitstringStatusListCredential of a body; its signed form is cached here."""

    __tablename__ = "status_lists"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    purpose: Mapped[StatusPurpose] = mapped_column(value_enum(StatusPurpose))
    size: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer)
    # Lists opened with a key draw index n as a keyed permutation of n (registry.labels.
    # permutation); lists opened before it have none and keep drawing at random.
    draw_key: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    credential: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(80))
    signed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index"),
        UniqueConstraint("suspension_list_id", "suspension_index"),
        CheckConstraint("grade IN ('A', 'B', 'C', 'D', 'E')", name="grade_letter"),
        CheckConstraint("valid_until > valid_from", name="validity_ordered"),
    )

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("body_keys.id"))
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("rule_versions.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(500))
    product_model: Mapped[str | None] = mapped_column(String(500))
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    manufacturer: Mapped[str] = mapped_column(String(500))
    footprint: Mapped[Decimal] = mapped_column(DECIMAL)
    declared_unit_amount: Mapped[Decimal] = mapped_column(DECIMAL)
    system_boundary: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(1))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[LabelStatus] = mapped_column(value_enum(LabelStatus), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_changed_at: Mapped[datetime | None]
    # Who made the last status change ("certifier" or "operator"): an operator's suspension
    # may only be lifted by an operator.
    status_changed_by: Mapped[str | None] = mapped_column(String(16))
    revocation_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    revocation_index: Mapped[int] = mapped_column(Integer)
    suspension_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    suspension_index: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("labels.id"), unique=True)
    superseded_by_id: Mapped[str | None] = mapped_column(ForeignKey("labels.id"), unique=True)
    # "limited" or "reasonable", as the signed credential states it; NULL for labels issued
    # before assurance was recorded (their credentials state none).
    assurance: Mapped[str | None] = mapped_column(String(16))
    # Not in the credential (its id stays the label URL): only what the printed QR encodes.
    qr_target: Mapped[QrTarget] = mapped_column(value_enum(QrTarget))
    credential: Mapped[str] = mapped_column(Text)
    credential_digest: Mapped[str] = mapped_column(String(80))
    ledger_seq: Mapped[int] = mapped_column(Position, unique=True)
    issued_at: Mapped[datetime] = mapped_column(index=True)

    # Many-to-one loads on access look in the session's identity map first.
    body: Mapped[CertificationBody] = relationship(lazy="select")
    key: Mapped[BodyKey] = relationship(lazy="select")
    rule_version: Mapped[RuleVersion] = relationship(lazy="select")
    identifiers: Mapped[list[str]] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<Label {self.id} {self.status}>"


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a body used, the request it came with, and the label it made."""

    __tablename__ = "idempotency_keys"

    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    # Written with the claim, before the label exists: the foreign key is checked at commit.
    label_id: Mapped[str] = mapped_column(
        ForeignKey("labels.id", deferrable=True, initially="DEFERRED")
    )
    created_at: Mapped[datetime]


class LabelStatusEntry(Base):
    """Where each status change of a label stands in the ledger: its inclusion proof travels in
    the trust bundle, so an offline verifier reads when, why and by whom from the entry itself.

    A row of its own, inserted after the ledger append: no foreign key and no update of the
    label, so nothing taken after the ledger lock waits on a row another writer holds.
    """

    __tablename__ = "label_status_entries"

    label_id: Mapped[str] = mapped_column(String(10), primary_key=True)
    seq: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)


class LabelPreparation(Base):
    """A credential the registry prepared for a body that signs its labels itself.

    It holds what the issuance drew (the label id, the status entries, the instant, the key)
    until the body submits the credential signed or it expires; the request is kept as sent, so
    the submission runs it through the issuance checks again. Never updated: the label with
    ``label_id`` existing is what says it was submitted.
    """

    __tablename__ = "label_preparations"
    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index"),
        UniqueConstraint("suspension_list_id", "suspension_index"),
        CheckConstraint("expires_at > prepared_at", name="expires_after"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("body_keys.id"))
    label_id: Mapped[str] = mapped_column(String(10), unique=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    credential: Mapped[str] = mapped_column(Text)  # unsigned, as the body must sign it
    revocation_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    revocation_index: Mapped[int] = mapped_column(Integer)
    suspension_list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"))
    suspension_index: Mapped[int] = mapped_column(Integer)
    prepared_at: Mapped[datetime]  # the issuance instant: validFrom and the proof's created
    expires_at: Mapped[datetime]

    key: Mapped[BodyKey] = relationship(lazy="select")

    @property
    def proof_options(self) -> dict[str, str]:
        """The proof the body must add: the registry's cryptosuite, the prepared instant (as
        proofs state it, whole seconds) and the verification method of the body's key."""
        return {
            "type": "DataIntegrityProof",
            "cryptosuite": EDDSA_RDFC_2022,
            "created": self.prepared_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verificationMethod": self.key.verification_method,
            "proofPurpose": "assertionMethod",
        }

"""A suspect-label report, as a reader sent it from the label page.

Not a ledger entry: it holds personal data and is not a fact of the register, so it may be
corrected or erased (a data-protection request) like any ordinary row.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.bodies.models import value_enum
from registry.db import Base
from registry.labels.models import Label
from registry.schemes.models import Scheme

__all__ = [
    "MAX_CONTACT",
    "MAX_DETAILS",
    "MAX_PHOTO_BYTES",
    "MAX_SEEN_AT",
    "PhotoType",
    "ReportCategory",
    "ReportStatus",
    "SuspectReport",
]

MAX_DETAILS = 2000
MAX_SEEN_AT = 300
MAX_CONTACT = 200
MAX_PHOTO_BYTES = 5 * 1024 * 1024


class ReportCategory(enum.StrEnum):
    """What is wrong, from a fixed list (regulators sort reports by it)."""

    NOT_FOUND = "not-found"
    DETAILS_DIFFER = "details-differ"
    COPIED_OR_ALTERED = "copied-or-altered"
    SOLD_ELSEWHERE = "sold-elsewhere"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    """Where the report is in a regulator's work: new until one of them has looked at it."""

    NEW = "new"
    SEEN = "seen"


class PhotoType(enum.StrEnum):
    """The only photo formats taken: what phones produce and browsers display."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"


class SuspectReport(Base):
    __tablename__ = "suspect_reports"
    __table_args__ = (
        # A photo is stored with its type, size and digest, or not at all.
        CheckConstraint(
            "(photo IS NULL) = (photo_type IS NULL) AND (photo IS NULL) = (photo_sha256 IS NULL)"
            " AND (photo IS NULL) = (photo_size IS NULL)",
            name="photo_complete",
        ),
        CheckConstraint("photo_sha256 IS NULL OR length(photo_sha256) = 32", name="photo_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), index=True)
    # Denormalised from the label's rule: the regulators' filter needs no three-table join.
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    category: Mapped[ReportCategory] = mapped_column(value_enum(ReportCategory, length=24))
    details: Mapped[str | None] = mapped_column(String(MAX_DETAILS))
    seen_at: Mapped[str] = mapped_column(String(MAX_SEEN_AT))
    contact: Mapped[str | None] = mapped_column(String(MAX_CONTACT))
    photo_type: Mapped[PhotoType | None] = mapped_column(value_enum(PhotoType))
    photo_size: Mapped[int | None] = mapped_column(Integer)
    photo_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Deferred: a list of reports never loads megabytes of photos it does not show.
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[ReportStatus] = mapped_column(value_enum(ReportStatus), index=True)
    created_at: Mapped[datetime]

    label: Mapped[Label] = relationship(lazy="select")
    scheme: Mapped[Scheme] = relationship(lazy="select")

    def __repr__(self) -> str:
        return f"<SuspectReport {self.id} {self.label_id} {self.status}>"

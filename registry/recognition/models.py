"""Recognition mapping revisions: one immutable row per revision, as the ledger states it."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credentials import RecognitionMapping
from registry.db import Base
from registry.schemes.models import Scheme

__all__ = ["MappingRevision"]


class MappingRevision(Base):
    """One revision of a mapping. ``document`` is the kit's canonical JSON of the revision,
    byte for byte what its ``mapping.published`` entry holds (for a withdrawal: the last
    revision's document marked withdrawn), so the row can be checked against the ledger."""

    __tablename__ = "recognition_mappings"

    mapping_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source_scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    target_scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    document: Mapped[str] = mapped_column(Text)
    withdrawn: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(1000))
    ledger_seq: Mapped[int]
    published_at: Mapped[datetime]

    source_scheme: Mapped[Scheme] = relationship(foreign_keys=[source_scheme_id], lazy="joined")
    target_scheme: Mapped[Scheme] = relationship(foreign_keys=[target_scheme_id], lazy="joined")

    def mapping(self) -> RecognitionMapping:
        """The kit's value of this revision."""
        return RecognitionMapping.from_json(json.loads(self.document))

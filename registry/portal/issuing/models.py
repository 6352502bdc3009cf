"""Drafts of labels prepared in the portal, and whether a body wants two people per issuance.

Ordinary tables, not ledger ones: a draft is no fact of the register until a signatory issues
it, and then the label and its ledger entry are the record; the draft only remembers who
prepared it and which label it became.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.bodies.models import value_enum
from registry.db import Base

__all__ = ["DraftState", "IssuanceSetting", "LabelDraft"]


class DraftState(enum.StrEnum):
    OPEN = "open"
    ISSUED = "issued"


class LabelDraft(Base):
    __tablename__ = "portal_label_drafts"
    __table_args__ = (
        CheckConstraint("(state = 'issued') = (label_id IS NOT NULL)", name="issued_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("portal_people.id"))
    # The API's JSON request, exactly as label_request_schema loads it.
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    state: Mapped[DraftState] = mapped_column(value_enum(DraftState))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("portal_people.id"))
    issued_at: Mapped[datetime | None]
    label_id: Mapped[str | None] = mapped_column(String(10), ForeignKey("labels.id"))


class IssuanceSetting(Base):
    """One row per body that changed the default (one person may prepare and issue)."""

    __tablename__ = "portal_issuance_settings"

    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), primary_key=True)
    # On: the author of a draft cannot be the signatory who issues it.
    two_people: Mapped[bool] = mapped_column(Boolean, default=False)

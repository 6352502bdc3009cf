"""A label batch (the uploaded CSV and its job state) and the labels it issued, row by row.

The job row is written in short transactions of its own (claim, lease, progress, outcome); the
labels of a batch and its ``label_batch_items`` are written in one transaction with the final
``done``, so a batch is issued whole or not at all.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.bodies.models import value_enum
from registry.db import Base

__all__ = ["BatchFormat", "BatchState", "LabelBatch", "LabelBatchItem"]


class BatchState(enum.StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    ISSUING = "issuing"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


class BatchFormat(enum.StrEnum):
    """What the upload is: the CSV template's rows, or a JSON file of PACT footprints."""

    CSV = "csv"
    PACT = "pact"


FINAL_STATES = frozenset({BatchState.DONE, BatchState.REFUSED, BatchState.FAILED})


class LabelBatch(Base):
    __tablename__ = "label_batches"
    __table_args__ = (UniqueConstraint("body_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("certification_bodies.id"), index=True)
    # Who uploaded, a token or a portal person (one of the two): the batch issues as them, and
    # stops if the token is revoked or the person disabled meanwhile.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("portal_people.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[BatchState] = mapped_column(value_enum(BatchState), index=True)
    format: Mapped[BatchFormat] = mapped_column(value_enum(BatchFormat))
    # The upload as decoded text (BOM removed); deferred: a status read never loads it.
    content: Mapped[str] = mapped_column(Text, deferred=True)
    rows_total: Mapped[int]
    rows_validated: Mapped[int]
    rows_issued: Mapped[int]
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class LabelBatchItem(Base):
    """The label issued for one row of a batch (``row`` is the spreadsheet's row number)."""

    __tablename__ = "label_batch_items"

    batch_id: Mapped[int] = mapped_column(ForeignKey("label_batches.id"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"), index=True)

"""Ledger tables. All three are append-only: a migration installs triggers refusing UPDATE/DELETE.

``ledger_nodes`` holds every perfect subtree of the RFC 9162 tree (level 0 is the leaves), so
any root or proof is a fold over O(log n) stored hashes fetched by primary key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base

__all__ = [
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerEntry",
    "LedgerEntryScope",
    "LedgerNode",
]

# On SQLite only "INTEGER PRIMARY KEY" makes the key the rowid (the table's clustered key);
# BIGINT would add a second, redundant index. SQLite integers are 64-bit either way.
Position = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One event. ``body`` is exactly the RFC 8785 bytes hashed into the leaf; never re-encoded."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("seq >= 0", name="seq_not_negative"),
        CheckConstraint("length(leaf_hash) = 32", name="leaf_hash_length"),
    )

    seq: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    time: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.seq} {self.event}>"


class LedgerEntryScope(Base):
    """What an entry is about, as columns, so regulators' views filter the ledger by scheme,
    body or label with an index (``/api/v1/audit/entries``); derived from the entry at append
    (see ``registry.ledger.services.entry_scope``) and append-only like it. The scheme of an
    entry that does not state one (a label's status change, an accreditation's) is that of the
    label or accreditation it names."""

    __tablename__ = "ledger_entry_scopes"
    __table_args__ = (
        Index("ix_ledger_entry_scopes_scheme_seq", "scheme", "seq"),
        Index("ix_ledger_entry_scopes_body_seq", "body", "seq"),
        Index("ix_ledger_entry_scopes_label", "label"),
        Index("ix_ledger_entry_scopes_accreditation", "accreditation"),
    )

    seq: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    scheme: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(10))
    accreditation: Mapped[int | None] = mapped_column(Integer)


class LedgerNode(Base):
    """The hash of the perfect subtree covering leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "ledger_nodes"
    __table_args__ = (
        CheckConstraint("level >= 0 AND level < 64", name="level_range"),
        CheckConstraint("length(hash) = 32", name="hash_length"),
        # Clustered on (level, index) on SQLite too: proofs are pure primary-key probes.
        {"sqlite_with_rowid": False},
    )

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """A signed C2SP checkpoint; at most one per tree size (signing is serialised with appends)."""

    __tablename__ = "ledger_checkpoints"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size_not_negative"),
        CheckConstraint("length(root_hash) = 32", name="root_hash_length"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<LedgerCheckpoint size={self.size}>"


class LedgerCosignature(Base):
    """A witness's C2SP cosignature of the checkpoint at ``size``, checked against its key.

    ``line`` is the signature line as served after the checkpoint's own; ``witness`` is the
    witness's verifier key, so a key rotated out of the settings keeps its history. Append-only.
    """

    __tablename__ = "ledger_cosignatures"
    __table_args__ = (
        UniqueConstraint("witness", "size"),  # also each witness's latest size, by index
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    witness: Mapped[str] = mapped_column(String(1024))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<LedgerCosignature size={self.size} {self.witness.partition('+')[0]}>"

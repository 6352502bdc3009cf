"""Create the ledger tables: entries, Merkle tree nodes and signed checkpoints.

Revision ID: acb432c27a73
Revises:
Create Date: 2026-11-23 17:00:48.749727+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "acb432c27a73"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_entries",
        # INTEGER on SQLite makes seq the rowid instead of adding a second index.
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("length(leaf_hash) = 32", name=op.f("ck_ledger_entries_leaf_hash_length")),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_ledger_entries_seq_not_negative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_event"), ["event"], unique=False)

    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("length(hash) = 32", name=op.f("ck_ledger_nodes_hash_length")),
        sa.CheckConstraint("level >= 0 AND level < 64", name=op.f("ck_ledger_nodes_level_range")),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_ledger_nodes")),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_ledger_checkpoints_size_not_negative")),
        sa.CheckConstraint(
            "length(root_hash) = 32", name=op.f("ck_ledger_checkpoints_root_hash_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
        sa.UniqueConstraint("size", name=op.f("uq_ledger_checkpoints_size")),
    )


def downgrade():
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_event"))
    op.drop_table("ledger_entries")

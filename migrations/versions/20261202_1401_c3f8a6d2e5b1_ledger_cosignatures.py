"""Witness cosignatures of ledger checkpoints (C2SP tlog-cosignature), append-only.

Revision ID: c3f8a6d2e5b1
Revises: c3f1a8e5d2b7
Create Date: 2026-12-02 14:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3f8a6d2e5b1"
down_revision = "c3f1a8e5d2b7"
branch_labels = None
depends_on = None

TABLE = "ledger_cosignatures"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("witness", sa.String(length=1024), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_ledger_cosignatures_size_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint("witness", "size", name=op.f("uq_ledger_cosignatures_witness_size")),
    )
    op.create_index(op.f("ix_ledger_cosignatures_size"), TABLE, ["size"], unique=False)
    postgres = op.get_context().dialect.name == "postgresql"
    for operation in ("update", "delete"):
        if postgres:
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{operation} BEFORE {operation.upper()} ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{operation} BEFORE {operation.upper()} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE}: {operation.upper()} refused'); END"
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_cosignatures_size"), table_name=TABLE)
    op.drop_table(TABLE)

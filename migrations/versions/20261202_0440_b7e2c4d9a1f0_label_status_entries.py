"""Where each label status change stands in the ledger (for offline evidence of it).

One row per change, inserted after the ledger append; no foreign key, so the insert takes no
lock on any other row. Changes made before this have no row: an offline verifier then reads
their status from the status list alone, as before. Append-only like the ledger it indexes.

Revision ID: b7e2c4d9a1f0
Revises: a4d8e2f1c6b3
Create Date: 2026-12-02 04:40:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e2c4d9a1f0"
down_revision = "a4d8e2f1c6b3"
branch_labels = None
depends_on = None

TABLE = "label_status_entries"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("label_id", sa.String(length=10), nullable=False),
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("label_id", "seq", name=op.f("pk_label_status_entries")),
    )
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
    op.drop_table(TABLE)

"""Labels remember the ledger entry of their last status change (for offline evidence).

Nullable, with no backfill: a label changed before this has no status evidence in its bundle,
and an offline verifier then reads its status from the status list alone, as before.

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


# Plain ALTER TABLE, not a batch: on SQLite a batch re-creates the table, and with it would go
# the trigger that refuses DELETE on labels (both dialects add and drop a column in place).


def upgrade() -> None:
    column = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column("labels", sa.Column("status_seq", column, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE labels DROP COLUMN status_seq")

"""Status lists opened from now on carry a draw key: indexes are a keyed permutation.

Nullable, with no backfill: lists opened before keep drawing at random (their taken indexes
are not a permutation's prefix), lists opened after draw index n as the permutation of n.

Revision ID: 7c3e9a1f5d20
Revises: 5b1e0c7d9a21
Create Date: 2026-12-02 02:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c3e9a1f5d20"
down_revision = "5b1e0c7d9a21"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: on SQLite a batch re-creates the table, and with it would go
# the trigger that refuses DELETE on status lists (both dialects add and drop a column in place).


def upgrade() -> None:
    op.add_column("status_lists", sa.Column("draw_key", sa.LargeBinary(length=16), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE status_lists DROP COLUMN draw_key")

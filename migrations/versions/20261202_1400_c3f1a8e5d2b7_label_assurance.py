"""Labels record the assurance level of their footprint's verification.

Nullable: labels issued before this state no assurance in their credentials, and a signed
credential is never rewritten. The value is the one the credential states ("limited" or
"reasonable", ISO 14064-3); the issuance schema refuses any other.

A plain ADD COLUMN on both dialects: a batch (copy-and-move) rebuild on SQLite would drop the
labels table's triggers.

Revision ID: c3f1a8e5d2b7
Revises: b7e2c4d9a1f0
Create Date: 2026-12-02 14:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3f1a8e5d2b7"
down_revision = "b7e2c4d9a1f0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("assurance", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # DROP COLUMN without a table rebuild (SQLite >= 3.35), so the triggers stay.
    op.execute("ALTER TABLE labels DROP COLUMN assurance")

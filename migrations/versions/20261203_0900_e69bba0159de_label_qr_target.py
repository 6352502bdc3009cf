"""A label's QR target, chosen at issuance: the short label URL or the product's GS1 Digital Link.

Existing labels keep what their QR encoded by default, the label URL. A plain ADD COLUMN with
the check inline, on both dialects: a batch (copy-and-move) rebuild on SQLite would drop the
labels' no-delete trigger, and SQLite cannot add a constraint to an existing table. The default
stays on SQLite (it cannot drop one without a rebuild); the model always sends the value.

Revision ID: e69bba0159de
Revises: 5b3ece2e7278
Create Date: 2026-12-03 09:00:00.000000+00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e69bba0159de"
down_revision = "5b3ece2e7278"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE labels ADD COLUMN qr_target VARCHAR(16) DEFAULT 'label' NOT NULL "
        "CONSTRAINT ck_labels_qrtarget CHECK (qr_target IN ('label', 'digital-link'))"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("labels", "qr_target", server_default=None)


def downgrade() -> None:
    # DROP COLUMN without a table rebuild (SQLite >= 3.35), so the triggers stay; the column's
    # own check goes with it.
    op.execute("ALTER TABLE labels DROP COLUMN qr_target")

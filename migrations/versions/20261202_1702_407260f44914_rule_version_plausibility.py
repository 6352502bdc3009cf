"""Rule versions state what a label graded under them may be: system boundaries, the maximum age
of the reference period, whether a zero footprint is admitted.

Existing versions get both boundaries and no age limit, so they refuse no label they
admitted before; they do not allow net-negative values, so a zero footprint is refused under
them from now on, as the plausibility rule asks.

A plain ADD COLUMN on both dialects, with a server default that fills the existing rows: UPDATE
is refused on rule_versions by its immutability trigger, and a batch (copy-and-move) rebuild on
SQLite would drop that trigger. The defaults stay on SQLite (it cannot drop one without a
rebuild); the model always sends every value anyway.

Revision ID: 407260f44914
Revises: f6eb842e783f
Create Date: 2026-12-02 17:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "407260f44914"
down_revision = "f6eb842e783f"
branch_labels = None
depends_on = None

COLUMNS = ("system_boundaries", "max_period_age_months", "allows_net_negative")


def upgrade() -> None:
    op.add_column(
        "rule_versions",
        sa.Column(
            "system_boundaries",
            sa.JSON(),
            nullable=False,
            server_default=sa.text('\'["cradle-to-gate", "cradle-to-grave"]\''),
        ),
    )
    op.add_column("rule_versions", sa.Column("max_period_age_months", sa.Integer(), nullable=True))
    op.add_column(
        "rule_versions",
        sa.Column("allows_net_negative", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "postgresql":
        for column in ("system_boundaries", "allows_net_negative"):
            op.alter_column("rule_versions", column, server_default=None)


def downgrade() -> None:
    # DROP COLUMN without a table rebuild (SQLite >= 3.35), so the triggers stay.
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE rule_versions DROP COLUMN {column}")

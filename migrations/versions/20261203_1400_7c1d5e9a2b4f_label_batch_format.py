"""Label batches say what their upload is: a CSV spreadsheet or a JSON file of PACT footprints.

Every batch before this one was a CSV upload, so the column is added with that default, which is
then dropped: a new batch always says its format.

Revision ID: 7c1d5e9a2b4f
Revises: 426807395343
Create Date: 2026-12-03 14:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c1d5e9a2b4f"
down_revision = "426807395343"
branch_labels = None
depends_on = None


def _format() -> sa.Enum:
    return sa.Enum(
        "csv", "pact", name="batchformat", native_enum=False, create_constraint=True, length=16
    )


def upgrade() -> None:
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("format", _format(), nullable=False, server_default="csv"))
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.alter_column("format", existing_type=_format(), server_default=None)


def downgrade() -> None:
    # A PACT batch cannot be read as CSV: those go with the column (their labels stay).
    op.execute(
        "DELETE FROM label_batch_items WHERE batch_id IN "
        "(SELECT id FROM label_batches WHERE format = 'pact')"
    )
    op.execute("DELETE FROM label_batches WHERE format = 'pact'")
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        # SQLite's table copy would keep the check on a column it no longer has.
        batch_op.drop_constraint("batchformat", type_="check")
        batch_op.drop_column("format")

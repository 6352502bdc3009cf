"""What each ledger entry is about (scheme, body, label, accreditation), indexed, so
regulators' views filter the ledger. Append-only like the ledger it indexes; no foreign key,
so the insert under the ledger lock takes no lock on another row.

Revision ID: c5f1a7e3d2b8
Revises: c3f8a6d2e5b1
Create Date: 2026-12-02 14:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5f1a7e3d2b8"
down_revision = "c3f8a6d2e5b1"
branch_labels = None
depends_on = None

TABLE = "ledger_entry_scopes"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("scheme", sa.String(length=32), nullable=True),
        sa.Column("body", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=10), nullable=True),
        sa.Column("accreditation", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entry_scopes")),
    )
    op.create_index("ix_ledger_entry_scopes_scheme_seq", TABLE, ["scheme", "seq"])
    op.create_index("ix_ledger_entry_scopes_body_seq", TABLE, ["body", "seq"])
    op.create_index("ix_ledger_entry_scopes_label", TABLE, ["label"])
    op.create_index("ix_ledger_entry_scopes_accreditation", TABLE, ["accreditation"])
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

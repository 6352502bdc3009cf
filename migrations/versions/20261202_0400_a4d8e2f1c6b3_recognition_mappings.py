"""Recognition mapping revisions: one row per revision, immutable, never deleted.

Revision ID: a4d8e2f1c6b3
Revises: 9e5a1c3b7f42
Create Date: 2026-12-02 04:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a4d8e2f1c6b3"
down_revision = "9e5a1c3b7f42"
branch_labels = None
depends_on = None

TABLE = "recognition_mappings"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("mapping_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source_scheme_id", sa.Integer(), nullable=False),
        sa.Column("target_scheme_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_scheme_id"],
            ["schemes.id"],
            name=op.f("fk_recognition_mappings_source_scheme_id_schemes"),
        ),
        sa.ForeignKeyConstraint(
            ["target_scheme_id"],
            ["schemes.id"],
            name=op.f("fk_recognition_mappings_target_scheme_id_schemes"),
        ),
        sa.PrimaryKeyConstraint("mapping_id", "revision", name=op.f("pk_recognition_mappings")),
    )
    op.create_index(op.f("ix_recognition_mappings_source_scheme_id"), TABLE, ["source_scheme_id"])
    op.create_index(op.f("ix_recognition_mappings_target_scheme_id"), TABLE, ["target_scheme_id"])
    # A revision is never edited nor deleted: a change is the next revision.
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
    if postgres:
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_recognition_mappings_target_scheme_id"), table_name=TABLE)
    op.drop_index(op.f("ix_recognition_mappings_source_scheme_id"), table_name=TABLE)
    op.drop_table(TABLE)

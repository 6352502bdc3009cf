"""Rule versions are immutable; registry records that labels and the ledger name are never deleted.

UPDATE and DELETE are refused on ``rule_versions`` (a correction is a new version), and DELETE
on schemes, rules, bodies, accreditations, keys, status lists and labels: their history lives
in the ledger, and a deleted row would leave ledger entries pointing at nothing.

Revision ID: 5b1e0c7d9a21
Revises: 49dca8573436
Create Date: 2026-12-01 00:42:00.000000+00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5b1e0c7d9a21"
down_revision = "49dca8573436"
branch_labels = None
depends_on = None

IMMUTABLE = ("rule_versions",)
UNDELETABLE = (
    "schemes",
    "rules",
    "certification_bodies",
    "accreditations",
    "body_keys",
    "status_lists",
    "labels",
)


def _refusals():
    for table in IMMUTABLE:
        yield table, "update"
        yield table, "delete"
    for table in UNDELETABLE:
        yield table, "delete"


def upgrade():
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        # ledger_refuse_change() comes from the ledger trigger migration.
        for table in (*IMMUTABLE, *UNDELETABLE):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    for table, operation in _refusals():
        if postgres:
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation} BEFORE {operation.upper()} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation} BEFORE {operation.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {operation.upper()} refused'); END"
            )


def downgrade():
    postgres = op.get_context().dialect.name == "postgresql"
    for table, operation in _refusals():
        op.execute(
            f"DROP TRIGGER {table}_no_{operation}" + (f" ON {table}" if postgres else "")
        )
    if postgres:
        for table in (*IMMUTABLE, *UNDELETABLE):
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")

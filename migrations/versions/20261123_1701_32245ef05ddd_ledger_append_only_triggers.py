"""Refuse UPDATE and DELETE on the ledger tables, on SQLite and PostgreSQL alike.

The ledger is the register's evidence: a row, once committed, must never change. The triggers
make the database itself refuse, whatever code (or person with a SQL prompt) tries. On
PostgreSQL TRUNCATE is refused too, since it bypasses row triggers.

Revision ID: 32245ef05ddd
Revises: acb432c27a73
Create Date: 2026-11-23 17:01:10.000000+00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "32245ef05ddd"
down_revision = "acb432c27a73"
branch_labels = None
depends_on = None

TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")
OPERATIONS = ("update", "delete")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$
            """
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation} BEFORE {operation.upper()} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation.upper()} "
                    "refused'); END"
                )


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION ledger_refuse_change()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER {table}_no_{operation}")

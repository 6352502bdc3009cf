"""The schema is made only by the migrations, and the ledger tables refuse to change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from registry.db import db
from tests.registry.conftest import build_app
from tests.registry.factories import append_entries

ROOT = Path(__file__).resolve().parents[2]
LEDGER_TABLES = ["ledger_entries", "ledger_nodes", "ledger_checkpoints"]
# One harmless-looking change per table: each would rewrite history if it were allowed.
UPDATES = {
    "ledger_entries": "UPDATE ledger_entries SET event = 'label.revoked' WHERE seq = 1",
    "ledger_nodes": "UPDATE ledger_nodes SET hash = hash WHERE level = 0",
    "ledger_checkpoints": "UPDATE ledger_checkpoints SET note = note",
}


def test_db_check_reports_no_pending_changes(app: Flask) -> None:
    # `db check` exits non-zero when autogenerate finds a difference (Alembic prints its
    # message to a stream it captured at import, so the exit code is what we can rely on).
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_flask_db_upgrade_then_check_from_the_command_line(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """The exact commands CI and operators run, through wsgi.py and the environment."""
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database_url,
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_ENV": "development",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db"]
    for command in ("upgrade", "check"):
        done = subprocess.run(  # noqa: S603  # fixed argv, our own interpreter
            [*flask, command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert "No new upgrade operations detected" in done.stdout + done.stderr


def test_downgrade_removes_everything_and_upgrade_restores_it(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    try:
        with app.app_context():
            flask_migrate.downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            flask_migrate.upgrade()
            assert set(LEDGER_TABLES) <= set(inspect(db.engine).get_table_names())
    finally:
        with app.app_context():
            db.engine.dispose()


def _refused(session: scoped_session[Session], statement: str) -> str:
    with pytest.raises(DBAPIError) as info, session.begin_nested():
        session.execute(text(statement))
    return str(info.value.orig)


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_update_is_refused_by_the_database(db_session: scoped_session[Session], table: str) -> None:
    append_entries(3)
    message = _refused(db_session, UPDATES[table])
    assert f"{table} is append-only" in message
    assert "UPDATE" in message


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_delete_is_refused_by_the_database(db_session: scoped_session[Session], table: str) -> None:
    append_entries(3)
    message = _refused(db_session, f"DELETE FROM {table}")  # noqa: S608  # fixed table names
    assert f"{table} is append-only" in message
    assert "DELETE" in message
    count = db_session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    assert count > 0


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_truncate_is_refused_on_postgresql(
    app: Flask, db_session: scoped_session[Session], table: str
) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE trigger covers `DELETE FROM`")
    append_entries(1)
    assert "TRUNCATE refused" in _refused(db_session, f"TRUNCATE {table}")

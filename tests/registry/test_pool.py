"""The connection pool holds every gunicorn thread's connection, so a busy worker never
reconnects.

A worker runs ``threads`` requests at once (registry/gunicorn_conf.py) plus the checkpoint
ticker. If the pool kept fewer connections than that, each request beyond the pool would open
an overflow connection and close it on return: on PostgreSQL a backend started and ended per
request, which costs more CPU than the issuance it serves.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import text

from registry.db import db
from tests.registry.conftest import build_app


def _backend_id(connection: object) -> object:
    """Who is at the other end: the PostgreSQL backend's pid, or the SQLite connection object."""
    if db.engine.dialect.name == "postgresql":
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()  # type: ignore[attr-defined]
    return id(connection.connection.dbapi_connection)  # type: ignore[attr-defined]


def test_a_worker_busy_on_every_thread_reuses_its_connections(
    fresh_database_url: str, tmp_path: Path
) -> None:
    threads = importlib.import_module("registry.gunicorn_conf").threads
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        try:
            in_use = threads + 1  # every request thread, and the ticker
            rounds = []
            for _ in range(3):
                connections = [db.engine.connect() for _ in range(in_use)]
                rounds.append({_backend_id(c) for c in connections})
                for connection in connections:
                    connection.close()
            assert len(rounds[0]) == in_use
            assert rounds[1] == rounds[0] == rounds[2], "connections were closed and reopened"
        finally:
            db.engine.dispose()

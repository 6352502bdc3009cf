"""The request boundary wraps every view once: reads cannot write, writes commit once or not."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import create_app
from registry.db import BOUNDARY_MARK, db, install_request_boundary, transaction
from registry.errors import ConflictError
from registry.ledger.models import LedgerEntry
from registry.ledger.services import append_entry
from tests.registry.conftest import build_app
from tests.registry.factories import make_settings


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


@pytest.fixture
def app_with_probes(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(fresh_database_url, tmp_path)

    @app.get("/probe/read-that-writes")
    def read_that_writes() -> str:
        append_entry("test.appended", {"by": "a read"})
        return "wrote"

    @app.post("/probe/write")
    def write() -> str:
        append_entry("test.appended", {"by": "a write"})
        return "wrote"

    @app.post("/probe/write-then-fail")
    def write_then_fail() -> str:
        append_entry("test.appended", {"by": "a failing write"})
        raise ConflictError("refused after writing")

    install_request_boundary(app)  # a second call wraps only the views added since
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_view_of_the_app_is_inside_the_boundary(app: Flask) -> None:
    unwrapped = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if not getattr(view, BOUNDARY_MARK, False)
    ]
    assert unwrapped == []


def test_a_read_never_keeps_a_write(app_with_probes: Flask) -> None:
    client = app_with_probes.test_client()
    with app_with_probes.app_context():
        if db.engine.dialect.name == "postgresql":
            # As on a replica: the write itself is refused.
            with pytest.raises(Exception, match="read-only transaction"):
                client.get("/probe/read-that-writes")
        else:
            assert client.get("/probe/read-that-writes").status_code == 200
        db.session.remove()
        assert _count() == 0
        db.session.remove()


def test_a_write_commits_once_or_not_at_all(app_with_probes: Flask) -> None:
    client = app_with_probes.test_client()
    with app_with_probes.app_context():
        assert client.post("/probe/write").status_code == 200
        assert client.post("/probe/write-then-fail").status_code == 409
        db.session.remove()
        assert _count() == 1
        db.session.remove()


def test_a_sqlite_read_waits_for_no_writer(tmp_path: Path) -> None:
    """Reads begin DEFERRED: in WAL mode they go ahead while a writer holds the write lock."""
    path = tmp_path / "registry.sqlite3"
    app = create_app(make_settings(f"sqlite:///{path}", tmp_path, sqlite_busy_timeout=0.2))
    with app.app_context():
        flask_migrate.upgrade()
        with transaction():
            append_entry("test.appended", {"by": "the set-up"})
        db.session.remove()
    writer = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    try:
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock for the whole read below
        client = app.test_client()
        assert client.get("/ledger/checkpoint").status_code == 200
        assert client.get("/ledger/entries?start=0&end=1").status_code == 200
        # A write, by contrast, needs the lock and gives up after the busy timeout.
        with app.app_context(), pytest.raises(Exception, match="locked"), transaction():
            append_entry("test.appended", {"by": "a blocked writer"})
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

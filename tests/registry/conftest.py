"""Registry fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL gets a fresh database per test session (created from the ``test`` database, dropped
at the end). The schema comes only from ``alembic upgrade head``. ``db_session`` wraps each test
in an outer transaction that is rolled back, so tests never see each other's rows, which matters
all the more because the ledger tables refuse DELETE.

If PostgreSQL is unreachable the PostgreSQL half is skipped, except under CI (``CI`` set), where
it fails: a green CI run must mean both databases were tested.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from registry import create_app
from registry.clock import CLOCK_KEY, FixedClock
from registry.db import db
from registry.pages.protection import form_limiter
from tests.registry.factories import make_settings

PG_ADMIN = os.environ.get(
    "REGISTRY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the admin server."""
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    host, port, user = info.get("host"), info.get("port", 5432), info.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"


def require_postgres(admin: str) -> None:
    """Skip if PostgreSQL is unreachable, but fail under CI, where both databases must run."""
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL unreachable at {admin}: {str(exc).strip()}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the PostgreSQL tests must run)")
        pytest.skip(f"{reason}; start it or set REGISTRY_TEST_POSTGRES")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin connection string of a reachable PostgreSQL server."""
    require_postgres(PG_ADMIN)
    return PG_ADMIN


@pytest.fixture(scope="session")
def make_pg_database(pg_server: str) -> Iterator[Callable[[], str]]:
    """Create fresh ``registry_test_<random>`` databases; all are dropped at session end."""
    created: list[str] = []

    def make() -> str:
        name = f"registry_test_{secrets.token_hex(6)}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return _pg_url(name)

    yield make
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for name in created:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _fresh_url(request: pytest.FixtureRequest, backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'registry.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("make_pg_database")
    return make()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's database for one backend (schema not yet created)."""
    return _fresh_url(request, request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A brand-new empty database for tests that commit or migrate up and down."""
    return _fresh_url(request, request.param, tmp_path)


def build_app(database_url: str, instance_path: Path, *, upgrade: bool = True) -> Flask:
    app = create_app(make_settings(database_url, instance_path))
    if upgrade:
        with app.app_context():
            flask_migrate.upgrade()
    return app


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per backend for the session, its schema built by the migrations."""
    app = build_app(database_url, tmp_path_factory.mktemp("instance"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app: Flask) -> Iterator[scoped_session[Session]]:
    """``db.session`` inside an outer transaction that is rolled back after the test.

    ``create_savepoint`` turns the code's own commits and rollbacks into savepoint releases and
    rollbacks, so the request boundary behaves as in production while nothing persists. Requests
    made with ``client`` reuse this app context, hence this very session. The app's rate-limit
    counters start empty too: the session's apps outlive a test, and one test's bad tokens
    must not limit the next.
    """
    with app.app_context():
        form_limiter().reset()
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        session = scoped_session(
            sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
        )
        db.session = session  # type: ignore[assignment]  # a plain Session bound to `connection`
        try:
            yield session
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def clock(app: Flask) -> Iterator[FixedClock]:
    """The app's clock, fixed at the real now for this test (``clock.advance`` moves it)."""
    original = app.extensions[CLOCK_KEY]
    fixed = FixedClock(datetime.now(UTC))
    app.extensions[CLOCK_KEY] = fixed
    try:
        yield fixed
    finally:
        app.extensions[CLOCK_KEY] = original


@pytest.fixture
def client(app: Flask, db_session: scoped_session[Session]) -> FlaskClient:
    return app.test_client()

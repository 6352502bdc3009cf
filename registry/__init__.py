"""The carbon-label registry service."""

from __future__ import annotations

from flask import Flask
from flask_migrate import Migrate

from registry.api import register_api
from registry.bodies.keystore import SealedKeyStore
from registry.bodies.services import KEYSTORE_KEY
from registry.cli import register_cli
from registry.clock import CLOCK_KEY, Clock, SystemClock
from registry.config import PROJECT_ROOT, SETTINGS_KEY, Settings
from registry.db import db, init_db, install_request_boundary
from registry.errors import init_errors
from registry.i18n import init_i18n
from registry.labels.grouping import GROUPS_KEY, IssuanceGroups
from registry.ledger import init_ledger
from registry.pages import init_pages
from registry.portal import init_portal
from registry.resolver import init_resolver

__all__ = ["create_app"]

migrate = Migrate()


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the application; tests pass their own ``settings`` (and ``clock``), servers read
    the environment and the system clock."""
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        MAX_CONTENT_LENGTH=settings.max_content_length,
    )
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[CLOCK_KEY] = clock or SystemClock()
    app.extensions[GROUPS_KEY] = IssuanceGroups()
    app.extensions[KEYSTORE_KEY] = SealedKeyStore(settings.kek_bytes, settings.previous_kek_bytes)

    init_db(app, busy_timeout=settings.sqlite_busy_timeout)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    init_errors(app)
    init_i18n(app)
    init_ledger(app, settings)
    register_api(app)
    init_pages(app)
    init_resolver(app)
    init_portal(app)
    register_cli(app)
    install_request_boundary(app)  # last: it wraps every view registered above
    return app


# Connections each process keeps: one per gunicorn thread (REGISTRY_THREADS, 8 by default), the
# checkpoint ticker's and a spare. With SQLAlchemy's default of 5, the threads beyond it open an
# overflow connection per request and close it again, and a PostgreSQL backend's start-up costs
# more CPU than the issuance it serves (tests/registry/test_pool.py).
POOL_SIZE = 10


def _engine_options(settings: Settings) -> dict[str, object]:
    if settings.database_url.startswith("sqlite"):
        # The driver's own timeout also covers the connect itself, not just statements.
        options: dict[str, object] = {"connect_args": {"timeout": settings.sqlite_busy_timeout}}
        if settings.database_url not in ("sqlite://", "sqlite:///:memory:"):
            options["pool_size"] = POOL_SIZE  # an in-memory database has one static connection
        return options
    # Workers are long-lived; drop connections the server or a proxy closed meanwhile.
    # psycopg prepares a statement after a few runs; a generic plan made while a table was
    # still small (a new registry, or autovacuum off) would then scan it for good, so plan
    # every execution for its actual parameters.
    return {
        "pool_size": POOL_SIZE,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "connect_args": {"options": "-c plan_cache_mode=force_custom_plan"},
    }

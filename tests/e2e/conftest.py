"""The end-to-end tests run a real server over a brand-new database of each backend: the
registry tests' own fixtures make it (PostgreSQL: a fresh database, dropped at session end)."""

from tests.registry.conftest import (  # noqa: F401 - fixtures reused, not rewritten
    fresh_database_url,
    make_pg_database,
    pg_server,
)

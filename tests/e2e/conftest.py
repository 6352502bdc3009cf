"""End-to-end fixtures: each test runs a real server over a brand-new database of each backend,
made by the registry tests' own fixtures (PostgreSQL: a fresh database, dropped at session end),
shared rather than redefined."""

from tests.registry.conftest import fresh_database_url, make_pg_database, pg_server

__all__ = ["fresh_database_url", "make_pg_database", "pg_server"]

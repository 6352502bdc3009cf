"""End-to-end fixtures: the registry's database fixtures (a fresh database per test, on SQLite
and on PostgreSQL), shared rather than redefined."""

from tests.registry.conftest import fresh_database_url, make_pg_database, pg_server

__all__ = ["fresh_database_url", "make_pg_database", "pg_server"]

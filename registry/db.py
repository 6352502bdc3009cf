"""Database set-up: the declarative base, SQLite driver fixes and the request-boundary commit.

Services only ``flush()``; the one place that commits is :func:`transaction` (and the
:func:`transactional` decorator built on it), so a request either writes everything it did or
nothing at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any, ParamSpec, TypeVar

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Dialect, Engine, MetaData, Numeric, String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "ExactDecimal",
    "UTCDateTime",
    "db",
    "insert_ignoring_conflicts",
    "read_snapshot",
    "transaction",
    "transactional",
]

# Every constraint gets a predictable name, so migrations can drop and alter them by name on
# PostgreSQL and in SQLite batch mode alike (unnamed constraints cannot be dropped in batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases.

    SQLite stores no offset and hands back naive values; normalising on the way in and out means
    the rest of the code can rely on ``tzinfo`` being UTC everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use aware UTC values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimals stored exactly on both databases: NUMERIC(30, 12) on PostgreSQL, text on SQLite.

    SQLite has no decimal storage class; a NUMERIC column there holds a binary float, so
    123456.789 would read back as 123456.789000000004. Footprints and thresholds are compared
    exactly (grading), so they must come back as they went in.
    """

    impl = Numeric(30, 12, asdecimal=True)
    cache_ok = True
    MAX_INTEGER_DIGITS = 18
    MAX_SCALE = 12

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(30, 12, asdecimal=True))

    @classmethod
    def fits(cls, value: Decimal) -> bool:
        """Whether ``value`` is finite with at most 18 integer digits and 12 decimals."""
        if not isinstance(value, Decimal) or not value.is_finite():
            return False
        _, digits, exponent = value.as_tuple()
        scale = max(0, -int(exponent))
        stripped = value.as_tuple().digits
        # Trailing zeros after the point do not count against the scale.
        while scale and stripped and stripped[-1] == 0:
            stripped, scale = stripped[:-1], scale - 1
        return scale <= cls.MAX_SCALE and len(digits) + int(exponent) <= cls.MAX_INTEGER_DIGITS

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not self.fits(value):
            raise ValueError(f"{value!r} does not fit 18 integer digits and 12 decimals")
        if dialect.name == "sqlite":
            with localcontext() as ctx:
                ctx.prec = 40  # normalize() rounds to the context precision
                return format(value.normalize(), "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    """Typed declarative base for every model; models subclass this, not ``db.Model``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012  # read by SQLAlchemy only


db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})


def init_db(app: Flask, *, busy_timeout: float) -> None:
    """Bind ``db`` to ``app`` and apply the SQLite driver recipe to its engine."""
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout=busy_timeout)


def _configure_sqlite(engine: Engine, *, busy_timeout: float) -> None:
    """The pysqlite recipe for Python < 3.12 (SQLAlchemy docs, "Serializable isolation").

    The driver otherwise opens transactions lazily and commits implicitly around DDL, which
    breaks SAVEPOINTs, transactional migrations and our ledger's serialisation. We take the
    transaction boundaries over: no driver-level transactions, and ``BEGIN IMMEDIATE`` so the
    write lock is taken at the start. Ledger appends read the tree size and then write; with a
    deferred BEGIN two writers could both read the same size, and an upgrade from a read to a
    write lock can fail at once with SQLITE_BUSY instead of waiting.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            # WAL lets offline readers (the CLI's verify) read while the service writes.
            cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {_SQLITE_BEGIN_MODES[mode]}")


_SQLITE_BEGIN_MODES = {"IMMEDIATE": "IMMEDIATE", "DEFERRED": "DEFERRED"}


@contextmanager
def transaction() -> Iterator[None]:
    """Commit once if the block finishes, roll back everything if it raises (anything)."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


@contextmanager
def read_snapshot() -> Iterator[None]:
    """One consistent view of the database for a long read (an audit), blocking no writer.

    PostgreSQL's REPEATABLE READ and a deferred SQLite read in WAL mode both see the database
    as of the first query, so rows committed meanwhile cannot make a multi-query check
    disagree with itself. If a transaction is already open (tests), it is used as it is.
    """
    started = not db.session().in_transaction()
    if started:
        dialect = db.session.get_bind().dialect.name
        options = (
            {"sqlite_begin": "DEFERRED"}
            if dialect == "sqlite"
            else {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        db.session.connection(execution_options=options)
    try:
        yield
    finally:
        if started:
            db.session.rollback()


def insert_ignoring_conflicts(table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (both have it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """The request boundary: the wrapped handler's work is committed once, or not at all."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction():
            return fn(*args, **kwargs)

    return wrapper

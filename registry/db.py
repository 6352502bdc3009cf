"""Database set-up: the declarative base, SQLite driver fixes and the request boundary.

Services only ``flush()``. :func:`install_request_boundary` wraps every view of the app once, so
no handler can forget it: a safe request (GET, HEAD, OPTIONS) runs in a read-only transaction
that is rolled back, so a public read can be served from a read replica and never contends
with a writer; any other request commits once through :func:`transaction`, or rolls back
everything it did.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Numeric,
    String,
    Table,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from credentials import STORAGE_DECIMAL, LexicalError, check_decimal

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "ExactDecimal",
    "UTCDateTime",
    "db",
    "insert_ignoring_conflicts",
    "insert_new",
    "install_request_boundary",
    "read_only",
    "read_snapshot",
    "side_write",
    "transaction",
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

    impl = Numeric(30, 12, asdecimal=True)  # the kit's STORAGE_DECIMAL: 18 + 12 digits
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(30, 12, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            check_decimal(value, limit=STORAGE_DECIMAL)
        except LexicalError as exc:
            raise ValueError(f"{value!r} does not fit the column: {exc}") from None
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
    else:

        @event.listens_for(engine, "begin")
        def _read_only_begin(connection: Any) -> None:
            if _READ_ONLY.get():
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")


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
        if _READ_ONLY.get():
            mode = "DEFERRED"
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


# Set while a read-only boundary is open; the engines' begin hooks read it, so a read that never
# touches the database (the log key, the context) costs no round trip at all.
_READ_ONLY: ContextVar[bool] = ContextVar("registry_read_only", default=False)


@contextmanager
def side_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction on a connection of its own, committed at once, even from inside a
    :func:`read_only` boundary (a long job's progress while it reads)."""
    token = _READ_ONLY.set(False)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        _READ_ONLY.reset(token)


@contextmanager
def read_only(*, snapshot: bool = False) -> Iterator[None]:
    """A transaction that cannot write, rolled back at the end whatever happens.

    On PostgreSQL ``SET TRANSACTION READ ONLY`` makes any write fail, as it would on a read
    replica; on SQLite the read begins DEFERRED, so it takes no write lock and, in WAL mode,
    waits for no writer. Both are applied when the transaction begins, by the engine's begin
    hook; inside a transaction already under way (a test's, a CLI command's) the read gets a
    savepoint of its own instead, made read-only there, so that rolling it back keeps what
    came before.

    With ``snapshot`` (a long read such as an audit) every query sees the database as of the
    first one: PostgreSQL REPEATABLE READ, and a deferred SQLite read in WAL mode does so anyway.
    """
    session = db.session()
    bind = session.get_bind()
    token = _READ_ONLY.set(True)
    nested = None
    try:
        if session.in_transaction() or not isinstance(bind, Engine):
            nested = session.begin_nested()
            if bind.dialect.name == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
        elif snapshot and bind.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield
    finally:
        _READ_ONLY.reset(token)
        if nested is not None:
            nested.rollback()
        else:
            session.rollback()


def read_snapshot() -> Any:
    """:func:`read_only` with one consistent view for every query (audits, the ticker)."""
    return read_only(snapshot=True)


def insert_ignoring_conflicts(table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect (both have it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_new(objects: Sequence[Base]) -> None:
    """INSERT new objects of one mapped class in one statement, then hold them in the session
    as if they had been loaded.

    For rows a write path makes by the hundred and does not change again in its transaction
    (labels, ledger entries): the unit of work's per-object bookkeeping costs far more CPU than
    the insert itself. Set every column attribute on the objects (relationships may be set
    too, for the reader's convenience, but the foreign-key columns are what is written): an
    attribute left unset is inserted as its column default and read back when first used.
    """
    if not objects:
        return
    mapper = inspect(type(objects[0]))
    # Into the table, not the mapper: the ORM's bulk insert would sort, group and re-check every
    # row on the way to the same executemany. Rows are grouped by the attributes they set, as a
    # Core executemany takes its columns from its first row.
    columns = [(attr.key, attr.columns[0].key) for attr in mapper.column_attrs]
    rows: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for obj in objects:
        state = obj.__dict__
        row = {column: state[key] for key, column in columns if key in state}
        rows.setdefault(tuple(row), []).append(row)
    table = mapper.local_table
    if not isinstance(table, Table):
        raise TypeError(f"{mapper.class_.__name__} is not mapped to one table")
    for group in rows.values():
        db.session.execute(insert(table), group)
    for obj in objects:
        make_transient_to_detached(obj)  # resets the history: no UPDATE follows at the flush
        db.session.add(obj)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BOUNDARY_MARK = "_registry_request_boundary"


def _bounded(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            with read_only():
                return view(*args, **kwargs)
        with transaction():
            return view(*args, **kwargs)

    setattr(wrapper, BOUNDARY_MARK, True)
    return wrapper


def install_request_boundary(app: Flask) -> None:
    """Wrap every view registered so far in the request boundary (call once, last)."""
    for endpoint, view in list(app.view_functions.items()):
        if not getattr(view, BOUNDARY_MARK, False):
            app.view_functions[endpoint] = _bounded(view)

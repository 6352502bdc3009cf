"""The label page, ``GET /l/{ID}``: what a shopper's phone opens when it scans the QR code.

It must be right at once and fast under load. Right: the verdict comes from the full
verification (``registry.labels.verification``), and every fact that can change it — the
label's status and when it changed, its supersession, the latest signed checkpoint and the
latest witness cosignature, whether it is inside its validity period — is read fresh on every
request, in ONE indexed query (:data:`_STATE`), and goes into the ETag with the reader's
language and a digest of the templates and catalogues. Fast: the verification report and the
rendered HTML are cached in process under exactly that key, so a revocation changes the key
and shows on the very next request, while an unchanged label costs one small query (a
conditional request, not even the render: 304).

The same URL serves the signed credential itself to clients that ask for JSON(-LD).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cachetools import LRUCache
from flask import current_app, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from credentials import CredentialError, VerificationReport, normalize_label_id, recognise_label
from registry.clock import current_clock
from registry.config import PROJECT_ROOT
from registry.db import db
from registry.errors import BadRequestError, NotFoundError
from registry.i18n import COOKIE, TRANSLATIONS, Language, negotiate
from registry.labels.models import Label, LabelStatus
from registry.labels.verification import label_trust, verify_credential
from registry.ledger.models import LedgerCheckpoint, LedgerCosignature
from registry.ledger.services import latest_checkpoint
from registry.pages import bp
from registry.pages.label_view import build_label_view, build_recognition_view
from registry.schemes.models import Scheme
from registry.schemes.schemas import REGION

__all__ = [
    "CREDENTIAL_TYPES",
    "LabelCodeError",
    "LabelNotFoundError",
    "LabelPageCache",
    "LabelState",
    "label_page",
]

#: Media types that get the signed credential instead of the page, best first.
CREDENTIAL_TYPES: Final = ("application/vc+ld+json", "application/ld+json", "application/json")
VARY: Final = "Accept, Accept-Language, Cookie"
CACHE_CONTROL: Final = "public, no-cache"  # always revalidate: a revocation must show at once
# Per worker; the app config may change them (LABEL_PAGE_CACHE_BYTES, LABEL_REPORT_CACHE_SIZE).
PAGE_BUDGET: Final = 64 * 1024 * 1024  # bytes of rendered HTML (about 5,000 pages)
REPORTS: Final = 16384  # verification reports (each shared by the four languages)
CACHE_KEY: Final = "registry.label_pages"
_PREPARED: Final = b"registry_label_page_state"
FAST_KEY: Final = "registry.label_pages.state"


class LabelCodeError(BadRequestError):
    """The code is not a label code at all (the page offers a box to type it again)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not a label code (10 letters and digits).")
        self.page = {
            "code_box": True,
            "code": code[:40],
            "explanation": _(
                "A label code has 10 letters and digits, as printed under the QR code "
                "(for example 7K3M9QH2XD). Please check it and try again."
            ),
        }


class LabelNotFoundError(NotFoundError):
    """A well-formed code the register has never issued."""

    def __init__(self, label_id: str) -> None:
        super().__init__(f"There is no label {label_id}.")
        self.page = {
            "code_box": True,
            "code": label_id,
            "explanation": _(
                "No label with the code %(code)s is in the register. Check the code printed "
                "under the QR code and type it again. A label the register does not know is "
                "not a genuine carbon label.",
                code=label_id,
            ),
        }


# Everything that can change what the page says about a label, in one indexed statement: the
# label's primary key, the newest checkpoint by the unique index on its size and the newest
# witness cosignature by its primary key. Core columns
# (not ORM attributes), so it can also run as plain SQL on a driver connection (_FastState).
_LABELS = Label.__table__
_STATE: Final = select(
    _LABELS.c.status,
    _LABELS.c.status_changed_at,
    _LABELS.c.superseded_by_id,
    _LABELS.c.valid_from,
    _LABELS.c.valid_until,
    select(func.max(LedgerCheckpoint.__table__.c.size)).scalar_subquery().label("size"),
    # The newest cosignature, by the primary key: a cosignature arriving changes what the
    # report counts (and which checkpoint the evidence is proven under), hence the page.
    select(func.max(LedgerCosignature.__table__.c.id)).scalar_subquery().label("cosignature"),
).where(_LABELS.c.id == bindparam("label_id"))


class _FastState:
    """:data:`_STATE` as one autocommit SELECT on a driver connection kept by each thread.

    The page's hot path is this one read, on every request. Through the ORM session it was a
    transaction of its own (a pool checkout with its ping, BEGIN, on PostgreSQL ``SET
    TRANSACTION READ ONLY``, the SELECT, ROLLBACK) and the session's bookkeeping: four or five
    round trips, and three times the CPU of a trivial endpoint. A single SELECT needs no
    transaction to be consistent and cannot write, so it runs alone, in autocommit, on a
    connection the thread keeps (out of the pool, so no ping nor reset): one round trip. It
    reads the same database with the same statement, and the values go through the columns'
    own result processors, so they are exactly what the session would have returned. A
    connection that fails is dropped and the read retried once on a new one (a database that
    restarted); a second failure is raised as SQLAlchemy's error, so the page answers 503.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = _STATE.compile(dialect=dialect)
        self.engine = engine
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or ()) if compiled.positional else None
        self.processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in _STATE.selected_columns
        ]
        self.postgres = dialect.name == "postgresql"
        # psycopg's dialect compiles the parameter as %(label_id)s; libpq numbers them.
        self.sql_numbered = self.sql.replace("%(label_id)s", "$1")
        if self.postgres and ("$1" not in self.sql_numbered or "%" in self.sql_numbered):
            raise RuntimeError(f"unexpected compiled state query: {self.sql}")
        self._local = threading.local()
        self._all: list[Any] = []  # every kept connection, to close them all (tests, shutdown)
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            proxied = self.engine.raw_connection()  # runs the engine's connect hooks
            proxied.detach()  # ours for good: the pool neither pings, resets nor reuses it
            connection = proxied.dbapi_connection
            # Read-only for good, as every public read is (registry.db.read_only): the
            # database itself refuses a write on this connection, whatever runs on it.
            if self.postgres:
                connection.autocommit = True  # type: ignore[union-attr]
                connection.execute(  # type: ignore[union-attr]
                    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
                )
            else:
                connection.execute("PRAGMA query_only = ON")  # type: ignore[union-attr]
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def _cursor(self) -> Any:
        """The thread's cursor on its kept connection (made once: cursors cost to make)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self._connection().cursor()
        return cursor

    def _discard(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.cursor = self._local.transformer = None
        if connection is not None:
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
            with contextlib.suppress(Exception):  # it is broken already; closing may fail too
                connection.close()

    def close(self) -> None:
        with self._lock:
            kept, self._all = self._all, []
        for connection in kept:
            with contextlib.suppress(Exception):
                connection.close()
        self._local = threading.local()

    def _fetch(self, label_id: str) -> tuple[Any, ...] | None:
        """The raw row, as the driver loads it."""
        if self.postgres:
            return self._fetch_postgres(label_id)
        cursor = self._cursor()
        cursor.execute(self.sql, [label_id for _n in self.names or ()])
        raw: tuple[Any, ...] | None = cursor.fetchone()
        return raw

    def _fetch_postgres(self, label_id: str) -> tuple[Any, ...] | None:
        """libpq's prepared-statement call, under psycopg's own loaders: the same values as a
        cursor gives, for half its CPU (no query rewriting, no wait loop in Python; libpq
        releases the GIL while it waits, so the worker's other threads run)."""
        from psycopg import errors, pq
        from psycopg.adapt import Transformer

        connection = self._connection()
        local = self._local
        if getattr(local, "transformer", None) is None:
            connection.pgconn.prepare(_PREPARED, self.sql_numbered.encode())
            local.transformer = Transformer(connection)
        result = connection.pgconn.exec_prepared(_PREPARED, [label_id.encode()])
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise errors.error_from_result(result, encoding=connection.info.encoding)
        if result.ntuples == 0:
            return None
        local.transformer.set_pgresult(result)
        row: tuple[Any, ...] = local.transformer.load_row(0, tuple)
        return row

    def row(self, label_id: str) -> tuple[Any, ...] | None:
        error_class = self.engine.dialect.loaded_dbapi.Error
        for attempt in (1, 2):
            try:
                raw = self._fetch(label_id)
                break
            except error_class as exc:
                self._discard()
                if attempt == 2:
                    raise DBAPIError.instance(self.sql, None, exc, error_class) from exc
        if raw is None:
            return None
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.processors, raw, strict=True)
        )


def _state_row(label_id: str) -> tuple[Any, ...] | None:
    """The state row, by the fast path when the request's session has not begun anything (a
    plain request in production); inside a transaction already under way (a test's, a CLI
    command's) through the session, which alone sees that transaction's rows."""
    session = db.session()
    # A session of Flask-SQLAlchemy's own has no fixed bind (it resolves to ``db.engine``; the
    # registry has one database); a test's is bound to its connection, and already in a
    # transaction. ``get_bind()`` would say the same, at a cost this path cannot afford.
    bind = session.bind if session.bind is not None else db.engine
    if isinstance(bind, Engine) and not session.in_transaction():
        fast = current_app.extensions.get(FAST_KEY)
        if fast is None or fast.engine is not bind:
            fast = current_app.extensions[FAST_KEY] = _FastState(bind)
        return fast.row(label_id)
    found = session.execute(_STATE, {"label_id": label_id}).one_or_none()
    return None if found is None else tuple(found)


@dataclass(frozen=True, slots=True)
class LabelState:
    """What the freshness of a label's page depends on, read fresh on every request."""

    label_id: str
    status: LabelStatus
    status_changed_at: datetime | None
    superseded_by: str | None
    checkpoint_size: int | None
    phase: str  # "early", "current" or "expired": the validity check's outcome depends on now
    cosignature: int | None = None  # the id of the newest cosignature the registry received

    def key(self) -> tuple[Hashable, ...]:
        changed = None if self.status_changed_at is None else self.status_changed_at.isoformat()
        return (
            self.label_id,
            self.status.value,
            changed,
            self.superseded_by,
            self.checkpoint_size,
            self.phase,
            self.cosignature,
        )

    def etag(self, language: Language) -> str:
        text = "|".join(map(str, (build_digest(), language.tag, *self.key())))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_state(label_id: str) -> LabelState | None:
    """The label's state now, or None if there is no such label: one indexed query."""
    row = _state_row(label_id)
    if row is None:
        return None
    status, changed_at, superseded_by, valid_from, valid_until, size, cosignature = row
    now = current_clock().now()
    phase = "early" if now < valid_from else "expired" if now > valid_until else "current"
    return LabelState(
        label_id=label_id,
        status=LabelStatus(status),
        status_changed_at=changed_at,
        superseded_by=superseded_by,
        checkpoint_size=size,
        phase=phase,
        cosignature=cosignature,
    )


_BUILD: list[str] = []


def build_digest() -> str:
    """A digest of what the page is made from besides the data: its templates, catalogues and
    code. A deployment that changes any of them changes every ETag, so no cache (ours or a
    reader's) serves a page worded by the previous release."""
    if not _BUILD:
        digest = hashlib.sha256()
        here = Path(__file__).resolve().parent
        sources = [
            *sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.mo")),
            *sorted((PROJECT_ROOT / "templates" / "pages").glob("*.html")),
            *sorted(here.glob("*.py")),
        ]
        for path in sources:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _BUILD.append(digest.hexdigest()[:16])
    return _BUILD[0]


class LabelPageCache:
    """Per-process caches of verification reports and rendered pages, bounded in size.

    Both are keyed by the :class:`LabelState` (pages also by language and build), so an entry
    can only ever be served while everything it was computed from still holds. gunicorn threads
    may share one worker, hence the lock (held only around the dictionary operations, never
    while verifying or rendering).
    """

    def __init__(self, *, page_bytes: int = PAGE_BUDGET, reports: int = REPORTS) -> None:
        self._lock = threading.Lock()
        self._reports: LRUCache[tuple[Hashable, ...], VerificationReport] = LRUCache(reports)
        self._pages: LRUCache[tuple[str, str], bytes] = LRUCache(page_bytes, getsizeof=len)

    def page(self, etag: str, label_id: str) -> bytes | None:
        with self._lock:
            return self._pages.get((label_id, etag))

    def keep_page(self, etag: str, label_id: str, html: bytes) -> None:
        with self._lock:
            self._pages[(label_id, etag)] = html

    def report(self, state: LabelState) -> VerificationReport | None:
        with self._lock:
            return self._reports.get(state.key())

    def keep_report(self, state: LabelState, report: VerificationReport) -> None:
        with self._lock:
            self._reports[state.key()] = report

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()
            self._pages.clear()


def _cache() -> LabelPageCache:
    cache = current_app.extensions.get(CACHE_KEY)
    if cache is None:
        config = current_app.config
        made = LabelPageCache(
            page_bytes=int(config.get("LABEL_PAGE_CACHE_BYTES", PAGE_BUDGET)),
            reports=int(config.get("LABEL_REPORT_CACHE_SIZE", REPORTS)),
        )
        cache = current_app.extensions.setdefault(CACHE_KEY, made)
    return cache  # type: ignore[no-any-return]


def _normalised(code: str) -> str:
    try:
        return normalize_label_id(code)
    except CredentialError:
        raise LabelCodeError(code) from None


def _render(label_id: str, state: LabelState, language: Language, region: str | None) -> bytes:
    """Verify (unless this state's report is cached) and render the page."""
    label = db.session.get(Label, label_id)
    if label is None:  # gone between the two reads: only a rolled-back issuance can do that
        raise LabelNotFoundError(label_id)
    cache = _cache()
    report = cache.report(state)
    if report is None:
        report = verify_credential(json.loads(label.credential))
        cache.keep_report(state, report)
    view = build_label_view(label, report, latest_checkpoint(), language)
    regions = tuple(
        db.session.execute(select(Scheme.region).distinct().order_by(Scheme.region)).scalars()
    )
    recognition = None
    if region is not None:
        answer = recognise_label(report, label_trust(label), region, at=current_clock().now())
        recognition = build_recognition_view(answer)
    view = dataclasses.replace(view, regions=regions, recognition=recognition)
    return render_template("pages/label.html", page=view).encode()


def _region() -> str | None:
    """The region the reader asks about (the page's plain GET form), if any."""
    region = request.args.get("region", "")
    if not region:
        return None
    if len(region) > 16 or not REGION.match(region):
        raise BadRequestError(_("A region is a code such as HK, MO, CN-SH or EU."))
    return region


def _region_etag(etag: str, region: str | None) -> str:
    if region is None:
        return etag
    # Mappings come into and go out of effect with time: an answer is revalidated hourly.
    hour = current_clock().now().strftime("%Y%m%d%H")
    return hashlib.sha256(f"{etag}|{region}|{hour}".encode()).hexdigest()[:32]


def _headers(response: Response, etag: str, language: Language) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = VARY
    response.headers["Content-Language"] = language.tag
    return response


def _credential_type() -> str | None:
    """The credential media type the client prefers to the page, if it does."""
    if "json" not in request.headers.get("Accept", ""):
        return None  # every credential type says json: browsers' Accept need not be parsed
    best = request.accept_mimetypes.best_match(("text/html", *CREDENTIAL_TYPES))
    return best if best in CREDENTIAL_TYPES else None


def _credential(label_id: str, mimetype: str, *, download: bool = False) -> Response:
    stmt = select(Label.credential, Label.credential_digest).where(Label.id == label_id)
    row = db.session.execute(stmt).one_or_none()
    if row is None:
        raise LabelNotFoundError(label_id)
    # Exactly the stored bytes: the credential as signed, whose digest is in the ledger.
    response = current_app.response_class(row.credential, mimetype=mimetype)
    response.set_etag(hashlib.sha256(row.credential_digest.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = VARY
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{label_id}.json"'
    return response.make_conditional(request)


@bp.get("/l/<code>")
@bp.get("/L/<code>")  # the QR code's upper-case form, HTTPS://HOST/L/ID
def label_page(code: str) -> Response:
    label_id = _normalised(code)
    wanted = _credential_type()
    if wanted is not None:
        return _credential(label_id, wanted)
    language = negotiate(request.headers.get("Accept-Language"), request.cookies.get(COOKIE))
    state = read_state(label_id)
    if state is None:
        raise LabelNotFoundError(label_id)
    region = _region()
    etag = _region_etag(state.etag(language), region)
    # Weak comparison, as RFC 9110 has it for If-None-Match: a proxy that compressed the page
    # hands back W/"…", which still names this very content.
    if request.if_none_match.contains_weak(etag):
        return _headers(current_app.response_class(status=304), etag, language)
    cache = _cache()
    html = cache.page(etag, label_id)
    if html is None:
        html = _render(label_id, state, language, region)
        cache.keep_page(etag, label_id, html)
    return _headers(current_app.response_class(html, mimetype="text/html"), etag, language)


@bp.get("/l/<code>/credential.json")
def label_credential(code: str) -> Response:
    """The signed credential as a file, for ``carbonlabel verify``."""
    return _credential(_normalised(code), "application/vc+ld+json", download=True)


@bp.get("/l")
def find_label() -> Any:
    """The code box of the label and error pages: a plain GET form, so it works without JS."""
    code = request.args.get("code", "")
    return redirect(f"/l/{_normalised(code)}", code=303)

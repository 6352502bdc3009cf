"""Helpers shared by the registry benchmarks: scratch databases, a real gunicorn, HTTP load.

Everything here cleans up after itself: scratch PostgreSQL databases are dropped and gunicorn's
process group is stopped (by its own process id) even on Ctrl-C, SIGTERM or an error. Traffic
stays on the loopback interface.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from psycopg import sql  # noqa: E402

from registry.config import Settings, fresh_secrets  # noqa: E402
from registry.db import db  # noqa: E402

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
# The maintenance database we connect to for CREATE/DROP DATABASE; override with BENCH_PG_ADMIN.
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DATABASES = ("sqlite", "postgresql")


# --- process hygiene -------------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks clean up as they do on Ctrl-C."""

    def _handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)


@contextmanager
def shielded() -> Iterator[None]:
    """Defer Ctrl-C and SIGTERM while cleaning up, so a second Ctrl-C cannot leak a database."""
    pending: list[int] = []

    def _defer(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    old = {s: signal.signal(s, _defer) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if pending:
            raise KeyboardInterrupt


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        with shielded():
            shutil.rmtree(path, ignore_errors=True)


def migrate(app: Flask) -> None:
    """``flask db upgrade`` for ``app``; Alembic's progress lines are shown only on failure."""
    import flask_migrate

    buffer = io.StringIO()
    try:
        with app.app_context(), contextlib.redirect_stderr(buffer):
            flask_migrate.upgrade()
            db.engine.dispose()
    except BaseException:
        sys.stderr.write(buffer.getvalue())
        raise


def pg_url(database: str) -> str:
    admin = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    admin["dbname"] = database
    return "postgresql://{user}@{host}:{port}/{dbname}".format(
        user=admin.get("user", "postgres"),
        host=admin.get("host", HOST),
        port=admin.get("port", 5432),
        dbname=database,
    )


@contextmanager
def scratch_database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file in ``workdir`` or ``bench_<random>`` on PG."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'registry.sqlite3'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_url(name)
    finally:
        with shielded(), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            # FORCE ends the sessions gunicorn or a leaked pool may still hold (PostgreSQL 13+).
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


# --- configuration ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_environment(
    *, database_url: str, instance: Path, port: int, workers: int
) -> dict[str, str]:
    """A production-mode environment with fresh secrets for one benchmark server.

    The bench process reads the same environment (``Settings.from_env``) to set the registry up,
    so the key-encryption key that seals the bodies' keys is the one gunicorn unseals with.
    """
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "REGISTRY_ENV": "production",
        **fresh_secrets(f"http://{HOST}:{port}"),
        "DATABASE_URL": database_url,
        "REGISTRY_INSTANCE_PATH": str(instance),
        "REGISTRY_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": str(workers),
        "REGISTRY_LOG_LEVEL": "warning",
        "PYTHONUNBUFFERED": "1",
        # gunicorn imports wsgi:app from ROOT: make this checkout's packages win over any
        # editable install of another checkout in the venv.
        "PYTHONPATH": str(ROOT),
    }


def settings_for(env: Mapping[str, str]) -> Settings:
    return Settings.from_env(env)


# --- gunicorn --------------------------------------------------------------------------------


def _ppid(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text.rsplit(")", 1)[1].split()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Gunicorn:
    """``gunicorn -c registry/gunicorn_conf.py wsgi:app`` in its own process group."""

    def __init__(
        self, env: Mapping[str, str], log_path: Path, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.extra_args = extra_args
        self.port = int(self.env["REGISTRY_BIND"].rsplit(":", 1)[1])
        self.workers = int(self.env["WEB_CONCURRENCY"])
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_before_stop: int | None = None

    def __enter__(self) -> Gunicorn:
        try:
            self.start()
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ raises
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        cmd = [str(BIN / "gunicorn"), "-c", "registry/gunicorn_conf.py", *self.extra_args]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, no shell
                [*cmd, "wsgi:app"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited early; see {self.log_path}:\n{self.log_tail()}"
                )
            if len(self.worker_pids()) == self.workers and self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not come up in {timeout:.0f} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", "/ledger/log-key")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        master = self.proc.pid
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _ppid(int(entry)) == master:
                pids.append(int(entry))
        return sorted(pids)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with shielded():
            # The master logs its own shutdown of the workers as errors; judge only what came
            # before it.
            self._log_before_stop = self.log_path.stat().st_size
            pgid = self.proc.pid  # start_new_session: the group id is gunicorn's own pid
            try:
                os.killpg(pgid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        """Lines of gunicorn's log that report trouble (tracebacks, worker timeouts, errors)."""
        marks = ("Traceback", "[ERROR]", "[CRITICAL]", "WORKER TIMEOUT", "Worker exiting")
        if not self.log_path.exists():
            return []
        with self.log_path.open("rb") as fh:
            text = fh.read(self._log_before_stop).decode(errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in marks)]


def postgres_backend_pids(database: str) -> list[int]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def pg_scan_notes(url: str) -> list[str]:
    """Sequential scans of big tables during the run: a plan gone wrong shows up here.

    Also says whether autovacuum is on: without it tables are never analysed, and a generic
    plan that psycopg's server-side prepared statements fixed while a table was empty is never
    replaced.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()
        rows = conn.execute(
            "SELECT relname, seq_scan, seq_tup_read, n_live_tup FROM pg_stat_user_tables "
            "WHERE n_live_tup >= 1000 AND seq_tup_read > 10 * n_live_tup ORDER BY relname"
        ).fetchall()
    notes = [f"PostgreSQL autovacuum is {autovacuum[0] if autovacuum else '?'}"]
    notes += [
        f"{name}: {scans:,} sequential scans read {read:,} rows ({live:,} rows in the table)"
        for name, scans, read, live in rows
    ]
    return notes


# --- HTTP load -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    client_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return len(self.failures)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = math.ceil(q / 100 * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values) - 1, rank - 1))]


_STALE_CONNECTION = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)


def _exchange(
    conn: http.client.HTTPConnection, req: Request
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(req.method, req.path, body=req.body, headers=dict(req.headers))
    resp = conn.getresponse()
    return resp, resp.read()


def run_load(
    port: int,
    make: Callable[[int], Request],
    *,
    clients: int,
    expect: frozenset[int],
    seconds: float | None = None,
    count: int | None = None,
    keep_bodies: int = 0,
    on_response: Callable[[Request, int, bytes], str | None] | None = None,
) -> LoadResult:
    """Send requests from ``clients`` threads, each with its own keep-alive connection.

    Stops after ``seconds`` or after ``count`` requests, whichever is given (both bound it). A
    response whose status is not in ``expect``, or a transport error, is a failure. A closed
    connection is reopened by http.client itself. ``on_response`` sees every response (in the
    client's thread) and may judge it: a reason it returns makes the response a failure.
    """
    if seconds is None and count is None:
        raise ValueError("bound the load by seconds or count")
    tickets = itertools.count()
    result = LoadResult()
    lock = threading.Lock()
    stop = threading.Event()
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        try:
            while not stop.is_set():
                n = next(tickets)
                if count is not None and n >= count:
                    break
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                req = make(n)
                t0 = time.perf_counter()
                try:
                    try:
                        resp, data = _exchange(conn, req)
                    except _STALE_CONNECTION:
                        # A kept-alive connection the server closed meanwhile (idle timeout, a
                        # worker recycled): retry a GET once on a new one, as HTTP clients do.
                        if req.method != "GET":
                            raise
                        conn.close()
                        resp, data = _exchange(conn, req)
                except (OSError, http.client.HTTPException) as exc:
                    failures.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
                    conn.close()
                    continue
                elapsed = time.perf_counter() - t0
                statuses[resp.status] += 1
                problem = None if on_response is None else on_response(req, resp.status, data)
                if resp.status in expect and problem is None:
                    latencies.append(elapsed)
                    if keep_bodies:
                        with lock:
                            if len(result.bodies) < keep_bodies:
                                result.bodies.append(data)
                else:
                    why = problem or repr(data[:300])
                    failures.append(f"{req.method} {req.path}: {resp.status} {why}")
        finally:
            conn.close()
            with lock:
                result.latencies.extend(latencies)
                result.statuses.update(statuses)
                result.failures.extend(failures)

    cpu0 = time.process_time()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(65)
    result.elapsed = time.perf_counter() - start
    result.client_cpu = time.process_time() - cpu0
    result.latencies.sort()
    return result


def json_request(
    method: str, path: str, payload: object, headers: Mapping[str, str] | None = None
) -> Request:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Request(method, path, body, {"Content-Type": "application/json", **(headers or {})})


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"

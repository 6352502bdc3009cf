"""A real registry for the browser tests: gunicorn as the README runs it, demo data loaded.

Like ``python -m registry``: the schema is upgraded by the migrations, the demo is loaded, and
gunicorn serves with ``registry/gunicorn_conf.py`` (its default workers and threads) on a free
loopback port, whose address is the public base URL, so the URLs in the QR codes open here.
The one difference is the WSGI module (``tests.browser.clocked_wsgi``), whose clock the tests
can move forward to see a label expire.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate

from registry import create_app
from registry.config import Settings, fresh_secrets
from registry.db import db
from registry.demo import DemoLoad, load_demo

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class LiveServer:
    """A running registry: its address, settings, demo load and the file its clock reads."""

    backend: str
    base_url: str
    settings: Settings
    demo: DemoLoad
    clock_file: Path
    log_path: Path
    master_pid: int = 0  # gunicorn's master, the leader of its process group

    def worker_pids(self) -> list[int]:
        """The master's live worker processes (its children), from /proc."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.master_pid and fields[0] != "Z":
                found.append(int(entry.name))
        return sorted(found)

    def set_clock_offset(self, seconds: float) -> None:
        """Move every worker's clock ``seconds`` ahead of the system clock."""
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(f"{seconds}\n", encoding="ascii")
        tmp.replace(self.clock_file)  # atomic: a worker never reads a half-written number

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request to the server; returns status, headers and body."""
        port = int(self.base_url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            data = None if body is None else json.dumps(body).encode("utf-8")
            sent = dict(headers or {})
            if data is not None:
                sent["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def json(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        expect: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "POST":
            headers["Idempotency-Key"] = secrets.token_hex(16)
        status, _, payload = self.request(method, path, body, headers)
        assert status == expect, f"{method} {path}: {status} {payload[:2000]!r}"
        return json.loads(payload)


def server_environment(*, database_url: str, instance: Path, port: int) -> dict[str, str]:
    """A production-mode environment with fresh secrets, served at ``http://HOST:port``."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "REGISTRY_ENV": "production",
        **fresh_secrets(f"http://{HOST}:{port}"),
        "DATABASE_URL": database_url,
        "REGISTRY_INSTANCE_PATH": str(instance),
        "REGISTRY_BIND": f"{HOST}:{port}",
        "REGISTRY_LOG_LEVEL": "warning",
        "BROWSER_TEST_CLOCK_OFFSET_FILE": str(instance / "clock-offset"),
        "PYTHONUNBUFFERED": "1",
        # gunicorn imports the app from ROOT: this checkout's packages win over any editable
        # install of another checkout in the venv.
        "PYTHONPATH": str(ROOT),
    }


def prepare_database(settings: Settings, *, load: bool = True) -> DemoLoad | None:
    """Upgrade the schema with the migrations and (``load``) load the demo, in this process."""
    app = create_app(settings)
    buffer = io.StringIO()
    with app.app_context():
        try:
            with contextlib.redirect_stderr(buffer):
                flask_migrate.upgrade()
            return load_demo() if load else None
        except BaseException:
            sys.stderr.write(buffer.getvalue())
            raise
        finally:
            db.session.remove()
            db.engine.dispose()


def _answers(port: int) -> bool:
    """One GET; it waits (up to the start timeout) for a worker to take the connection from the
    listening socket's backlog, so nothing polls while gunicorn boots."""
    conn = http.client.HTTPConnection(HOST, port, timeout=START_TIMEOUT)
    try:
        conn.request("GET", "/ledger/log-key")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def live_server(
    backend: str,
    database_url: str,
    workdir: Path,
    *,
    port: int = 0,
    demo: DemoLoad | None = None,
) -> Iterator[LiveServer]:
    """Prepare the database, start gunicorn in its own process group, stop it afterwards.

    ``port`` 0 is any free one; a registry served again at the address it had (a restored
    one) names it. With ``demo`` (what loading it gave, in the database already) the schema is
    upgraded and nothing loaded."""
    # Bound and listening before gunicorn starts (it inherits the socket, --bind fd://N): a
    # client's connection waits in the backlog until a worker is up, instead of being refused.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(128)
    listener.set_inheritable(True)
    port = int(listener.getsockname()[1])
    instance = workdir / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = server_environment(database_url=database_url, instance=instance, port=port)
    settings = Settings.from_env(env)
    demo = prepare_database(settings, load=demo is None) or demo
    assert demo is not None
    log_path = workdir / "gunicorn.log"
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        "registry/gunicorn_conf.py",
        "--bind",
        f"fd://{listener.fileno()}",
        "tests.browser.clocked_wsgi:app",
    ]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, no shell
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(listener.fileno(),),
        )
    listener.close()  # gunicorn holds its own copy
    try:
        if not _answers(port):
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise RuntimeError(f"gunicorn did not come up on port {port}:\n{tail}")
        yield LiveServer(
            backend=backend,
            base_url=settings.public_base_url,
            settings=settings,
            demo=demo,
            clock_file=instance / "clock-offset",
            log_path=log_path,
            master_pid=proc.pid,
        )
    finally:
        # gunicorn's master is the leader of the group we started: stop it and its workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

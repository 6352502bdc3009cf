"""The moving parts the crash-safety test (``test_crash_safety.py``) runs and disrupts: a
witness the registry pushes its checkpoints to, gunicorn's workers (which of them is serving a
request) and a private PostgreSQL cluster it can restart without touching the shared server.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import tests.browser.server as live
from credentials.witness import Witness
from tests.browser.server import LiveServer
from tests.e2e.crash_clients import WAIT_FOR

WORKERS = 3
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class LocalWitness:
    """A ``carbonlabel witness serve`` the registry's tickers push every checkpoint to."""

    workdir: Path
    process: subprocess.Popen[str] | None = None
    verifier_key: str = ""

    def start(self, log_verifier_key: str) -> str:
        """Trust the log, serve on a free port; the ``REGISTRY_WITNESSES`` entry."""
        directory = self.workdir / "witness"
        # Set up as `carbonlabel witness init` and `trust` do; served by the CLI, as deployed.
        self.verifier_key = Witness.init(directory, "crash.example/witness").verifier_key
        Witness(directory).trust(log_verifier_key)
        cli = [sys.executable, "-m", "credentials.cli", "witness"]
        self.process = subprocess.Popen(  # noqa: S603
            [*cli, "serve", str(directory), "--listen", f"{live.HOST}:0"],
            stdout=subprocess.PIPE, text=True, cwd=live.ROOT,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once the socket is bound
        assert line.startswith("listening on "), line
        return f"{self.verifier_key}=http://{line.split()[2]}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()


def established(port: int) -> set[str]:
    """Socket inodes of the established TCP connections to ``port`` on the loopback."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port:
            found.add(f"socket:[{inode}]")
    return found


def busy_workers(server: LiveServer) -> list[int]:
    """The workers holding a client's connection: each is in the middle of a request (the
    clients send one request per connection)."""
    connections = established(int(server.base_url.rsplit(":", 1)[1]))
    busy = []
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):  # the worker may be gone meanwhile
            fds = Path(f"/proc/{pid}/fd")
            if any(os.readlink(fd) in connections for fd in fds.iterdir()):
                busy.append(pid)
    return busy


def kill_a_busy_worker(server: LiveServer) -> int:
    """SIGKILL a worker while it serves a request, once all of them are up; its pid."""
    deadline = time.monotonic() + WAIT_FOR
    while len(server.worker_pids()) < WORKERS or not (busy := busy_workers(server)):
        assert time.monotonic() < deadline, "no worker up and serving"
        threading.Event().wait(0.01)  # polling for the master's fork or a request, with a timeout
    pid = random.choice(busy)
    os.kill(pid, signal.SIGKILL)
    return pid


@dataclass(frozen=True)
class Cluster:
    data: Path
    port: int
    socket_dir: Path
    log: Path

    @property
    def admin(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        # fsync off: the cluster is this test's scratch; a fast restart still checkpoints.
        options += " -c fsync=off -c max_connections=100"
        as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", "60", "-o", options, *args, log=self.log,
        )  # fmt: skip


def as_postgres(*argv: str, log: Path | None = None) -> None:
    """initdb and pg_ctl refuse to run as root: as root, run them as the ``postgres`` user.
    On failure, the server's ``log`` tail is in the message (its directory is removed after)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
        [*prefix, *argv], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise AssertionError(f"{argv[0]}: {done.stdout}{done.stderr}{tail}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((live.HOST, 0))
        return int(s.getsockname()[1])

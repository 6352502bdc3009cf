"""The registry as a C2SP tlog-witness client against ``carbonlabel witness serve`` (a process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from credentials import KeyPair, NoteSigner, NoteVerifier
from credentials.checkpoint import Checkpoint, open_cosigned_checkpoint, sign_checkpoint
from credentials.merkle import leaf_hash, root_hash
from credentials.witness import Witness, add_checkpoint_request
from registry import create_app
from registry.clock import FixedClock
from registry.config import ConfigError, parse_witness
from registry.db import db, transaction
from registry.ledger.services import latest_checkpoint
from registry.ledger.ticker import start_checkpoint_ticker, tick
from registry.ledger.witnessing import (
    BASE_BACKOFF,
    WITNESSING_KEY,
    ConfiguredWitness,
    Head,
    WitnessRefusedError,
    cosignature_lines,
    request_cosignature,
    witness_health,
)
from tests.registry.factories import LOG_SIGNER, ORIGIN, append_entries, make_settings

REPO = Path(__file__).resolve().parents[3]
LOG_VERIFIER = NoteVerifier.from_verifier_key(LOG_SIGNER.verifier_key())
START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass
class WitnessProcess:
    directory: Path
    vkey: str
    url: str
    port: int
    stderr: Path
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self.stderr.open("a") as stderr:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603  # our own CLI, fixed arguments
                [*_cli(), "serve", str(self.directory), "--listen", f"127.0.0.1:{self.port}"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=_env(),
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until bound: no sleep, no polling
        assert line.startswith("listening on 127.0.0.1:"), line
        self.port = int(line.split()[2].rpartition(":")[2])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None

    @property
    def state(self) -> Witness:
        return Witness(self.directory)

    @property
    def configured(self) -> str:
        return f"{self.vkey}={self.url}"


def _cli() -> list[str]:
    return [sys.executable, "-m", "credentials.cli", "witness"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _run(*args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [*_cli(), *args], capture_output=True, text=True, env=_env(), check=True, timeout=60
    )
    return done.stdout.strip()


def _make_witness(
    tmp_path: Path, *, trust: str | None = LOG_SIGNER.verifier_key()
) -> WitnessProcess:
    directory = tmp_path / "witness"
    vkey = _run("init", str(directory), "--name", "witness.example/w1")
    if trust is not None:
        assert _run("trust", str(directory), trust) == f"trusting log {ORIGIN}"
    server = WitnessProcess(directory, vkey, "", 0, tmp_path / "witness.err")
    server.start()
    return server


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[WitnessProcess]:
    server = _make_witness(tmp_path)
    yield server
    server.stop()


def _app(database_url: str, tmp_path: Path, *entries: str, timeout: float = 5.0) -> Flask:
    settings = make_settings(
        database_url, tmp_path / "instance", witnesses=entries, witness_timeout=timeout
    )
    app = create_app(settings, clock=FixedClock(START))
    with app.app_context():
        flask_migrate.upgrade()
    return app


@pytest.fixture
def dispose() -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _append(app: Flask, count: int) -> int:
    """Append ``count`` entries as issuance does (each round signs its checkpoint)."""
    with app.app_context():
        with transaction():
            append_entries(count)
        latest = latest_checkpoint()
        assert latest is not None
        db.session.remove()
        return latest.size


def _served(app: Flask, vkey: str) -> int:
    response = app.test_client().get("/ledger/checkpoint")
    assert response.status_code == 200
    opened = open_cosigned_checkpoint(
        response.get_data(as_text=True),
        verifier=LOG_VERIFIER,
        witnesses=[NoteVerifier.from_verifier_key(vkey)],
        quorum=1,
    )
    return opened.checkpoint.size


def _progress_error(app: Flask, witness: WitnessProcess) -> str:
    key = NoteVerifier.from_verifier_key(witness.vkey).verifier_key()
    return str(app.extensions[WITNESSING_KEY].progress[key].last_error)


def test_parse_witness_accepts_only_cosignature_keys_and_http_urls(
    witness: WitnessProcess,
) -> None:
    verifier, url = parse_witness(witness.configured + "/")
    assert (verifier.verifier_key(), url) == (witness.vkey, witness.url)
    for bad in (
        f"{LOG_SIGNER.verifier_key()}={witness.url}",  # a log key, not a witness key
        f"{witness.vkey}=file:///etc/passwd",
        witness.vkey,
        f"nonsense={witness.url}",
    ):
        with pytest.raises(ConfigError, match="REGISTRY_WITNESSES"):
            parse_witness(bad)


def test_the_ticker_gets_checkpoints_cosigned_and_the_registry_serves_them(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    assert _append(app, 3) == 3
    assert tick(app) is True  # stored a cosignature
    assert _served(app, witness.vkey) == 3
    etag = app.test_client().get("/ledger/checkpoint").headers["ETag"]
    not_modified = app.test_client().get("/ledger/checkpoint", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert tick(app) is False, "already cosigned: the witness is not asked again"

    assert _append(app, 4) == 7  # old 3 and a real consistency proof 3 → 7
    tick(app)
    assert _served(app, witness.vkey) == 7
    cosigned = witness.state.cosigned(ORIGIN)
    assert cosigned is not None
    assert cosigned[0] == 7
    with app.app_context():
        assert len(cosignature_lines(3)) == len(cosignature_lines(7)) == 1
        db.session.remove()


def test_a_409_resyncs_to_the_size_the_witness_cosigned(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    _append(app, 5)
    with app.app_context():
        latest = latest_checkpoint()
        assert latest is not None
        note = latest.note
        db.session.remove()
    # Someone else (a monitor, another registry worker) had size 5 cosigned already.
    request = urllib.request.Request(  # noqa: S310  # a local http:// URL
        f"{witness.url}/add-checkpoint", data=add_checkpoint_request(0, [], note), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    _append(app, 3)
    tick(app)  # sends old 0, gets 409 "5", resends old 5 with the proof 5 → 8
    assert _served(app, witness.vkey) == 8
    assert witness.state.cosigned(ORIGIN) is not None


def test_an_outage_never_fails_publication_and_is_retried_with_back_off(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    witness.stop()
    assert _append(app, 2) == 2
    tick(app)
    served = app.test_client().get("/ledger/checkpoint")
    assert served.status_code == 200, "the checkpoint is served without cosignatures"
    assert "unreachable" in _progress_error(app, witness)
    progress = app.extensions[WITNESSING_KEY].progress
    (state,) = progress.values()
    assert (state.failures, state.retry_at) == (1, START + BASE_BACKOFF)
    witness.start()  # back, on the same port
    tick(app)
    assert state.failures == 1, "not asked again before the back-off ends"
    with app.app_context():
        assert cosignature_lines(2) == []
        db.session.remove()
    app.extensions["registry.clock"].advance(BASE_BACKOFF)
    assert tick(app) is True
    assert _served(app, witness.vkey) == 2
    assert state.failures == 0


def test_a_silent_witness_times_out(
    fresh_database_url: str, tmp_path: Path, dispose: list[Flask]
) -> None:
    # A socket that accepts connections (the backlog) but never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        vkey = Witness.init(tmp_path / "w", "silent.example/w").verifier_key
        entry = f"{vkey}=http://127.0.0.1:{silent.getsockname()[1]}"
        app = _app(fresh_database_url, tmp_path, entry, timeout=0.3)
        dispose.append(app)
        _append(app, 1)
        tick(app)
        (state,) = app.extensions[WITNESSING_KEY].progress.values()
        assert state.failures == 1
        assert "timed out" in state.last_error
    finally:
        silent.close()


def test_unknown_origin_404_and_untrusted_key_403_store_nothing(
    fresh_database_url: str, tmp_path: Path, dispose: list[Flask]
) -> None:
    untrusting = _make_witness(tmp_path / "a", trust=None)
    impostor = NoteSigner(ORIGIN, KeyPair.from_seed(b"\x66" * 32))
    other_key = _make_witness(tmp_path / "b", trust=impostor.verifier_key())
    try:
        app = _app(fresh_database_url, tmp_path, untrusting.configured, other_key.configured)
        dispose.append(app)
        _append(app, 2)
        assert tick(app) is False
        assert _progress_error(app, untrusting).startswith("HTTP 404")
        assert _progress_error(app, other_key).startswith("HTTP 403")
        with app.app_context():
            assert cosignature_lines(2) == []
            db.session.remove()
    finally:
        untrusting.stop()
        other_key.stop()


def test_old_above_the_size_is_400(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    _append(app, 2)
    with app.app_context():
        latest = latest_checkpoint()
        assert latest is not None
        configured = ConfiguredWitness(*parse_witness(witness.configured))
        with pytest.raises(WitnessRefusedError, match="HTTP 400"):
            request_cosignature(configured, Head(latest.size, latest.note), old=3)
        db.session.remove()


def test_a_cosignature_from_another_key_is_not_stored(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    # The settings pin one key; whoever answers at the URL signs with another.
    pinned = Witness.init(tmp_path / "pinned", "witness.example/w1").verifier_key
    app = _app(fresh_database_url, tmp_path, f"{pinned}={witness.url}")
    dispose.append(app)
    _append(app, 2)
    assert tick(app) is False
    (state,) = app.extensions[WITNESSING_KEY].progress.values()
    assert "no cosignature from the witness's key" in state.last_error
    with app.app_context():
        assert cosignature_lines(2) == []
        db.session.remove()


def _feed_fork(witness: WitnessProcess, size: int) -> str:
    """The log key signs a second history of ``size`` entries; the witness cosigns it first."""
    forked = sign_checkpoint(
        Checkpoint(ORIGIN, size, root_hash([leaf_hash(b"fork %d" % i) for i in range(size)])),
        LOG_SIGNER,
    )
    request = urllib.request.Request(  # noqa: S310  # a local http:// URL
        f"{witness.url}/add-checkpoint", data=add_checkpoint_request(0, [], forked), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    return forked


@pytest.mark.parametrize(("fork_size", "status"), [(3, "HTTP 409"), (2, "HTTP 422")])
def test_a_fork_is_refused_and_recorded_by_the_witness(
    fresh_database_url: str,
    tmp_path: Path,
    witness: WitnessProcess,
    dispose: list[Flask],
    fork_size: int,
    status: str,
) -> None:
    forked = _feed_fork(witness, fork_size)
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    _append(app, 3)
    assert tick(app) is False
    assert _progress_error(app, witness).startswith(status)
    (evidence,) = witness.state.evidence()
    assert evidence.cosigned_note == forked
    with app.app_context():
        latest = latest_checkpoint()
        assert latest is not None
        assert evidence.offered_note == latest.note
        assert cosignature_lines(3) == []
        db.session.remove()
    witness.stop()  # flushes its stderr
    assert "MISBEHAVIOUR: log " + ORIGIN in witness.stderr.read_text()


def test_witness_health_reports_how_long_the_log_waits(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    _append(app, 1)
    tick(app)
    clock: FixedClock = app.extensions["registry.clock"]
    with app.app_context():
        health = witness_health(clock.advance(timedelta(hours=5)))
        assert health["ok"] is True, "a quiet log stays healthy"
        (entry,) = health["witnesses"]
        assert (entry["cosigned_size"], entry["behind"]) == (1, 0.0)
        db.session.remove()
    witness.stop()
    _append(app, 1)  # signed at the clock's now, never cosigned
    tick(app)
    with app.app_context():
        health = witness_health(clock.advance(timedelta(hours=2)))
        (entry,) = health["witnesses"]
        assert health["ok"] is False
        assert entry["behind"] == 7200.0
        assert "unreachable" in entry["last_error"]
        db.session.remove()


def test_a_garbled_answer_is_a_failure_not_a_crash(
    fresh_database_url: str, tmp_path: Path, dispose: list[Flask]
) -> None:
    garbler = socket.socket()
    garbler.bind(("127.0.0.1", 0))
    garbler.listen(1)

    def answer_once() -> None:
        conn, _ = garbler.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        vkey = Witness.init(tmp_path / "w", "garbled.example/w").verifier_key
        entry = f"{vkey}=http://127.0.0.1:{garbler.getsockname()[1]}"
        app = _app(fresh_database_url, tmp_path, entry)
        dispose.append(app)
        _append(app, 1)
        assert tick(app) is False
        (state,) = app.extensions[WITNESSING_KEY].progress.values()
        assert (state.failures, state.last_error.startswith("unreachable")) == (1, True)
    finally:
        thread.join(10)
        garbler.close()


def test_stored_cosignatures_cannot_be_changed(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    _append(app, 1)
    assert tick(app) is True
    with app.app_context():
        for statement in (
            "UPDATE ledger_cosignatures SET line = 'x'",
            "DELETE FROM ledger_cosignatures",
        ):
            with pytest.raises(DBAPIError), transaction():
                db.session.execute(text(statement))
        assert len(cosignature_lines(1)) == 1
        db.session.remove()


def test_the_ticker_asks_witnesses_from_a_thread_of_their_own(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, dispose: list[Flask]
) -> None:
    app = _app(fresh_database_url, tmp_path, witness.configured)
    dispose.append(app)
    ticker = start_checkpoint_ticker(app)
    try:
        assert ticker.witness_thread is not None
        assert ticker.witness_thread.is_alive()
        assert ticker.witness_thread is not ticker.thread
    finally:
        ticker.stop(timeout=30)
    assert not ticker.witness_thread.is_alive()
    assert not ticker.thread.is_alive()

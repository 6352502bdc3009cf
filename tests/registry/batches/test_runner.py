"""The runner: one holder per batch, a dead worker's batch taken up again, all or none.

The kill test runs the batch in a real ``flask batches run-once`` process on PostgreSQL, waits
until its progress (written on its own short transactions) shows labels issued inside the
batch's still-open transaction, SIGKILLs it, and checks that nothing of the batch remains;
then a runner here claims the abandoned batch once its lease has expired and issues it whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.auth.models import Role
from registry.auth.services import create_token, revoke_token
from registry.batches.models import BatchState, LabelBatch, LabelBatchItem
from registry.batches.runner import (
    LEASE,
    MAX_ATTEMPTS,
    claim_batch,
    run_once,
    start_batch_runner,
)
from registry.clock import CLOCK_KEY, FixedClock
from registry.config import SETTINGS_KEY, Settings
from registry.db import db, read_only, transaction
from tests.registry.batches.support import batch_app, counts, csv_of, row, upload
from tests.registry.factories import LabelWorld

__all__ = ["batch_app"]

ROOT = Path(__file__).resolve().parents[3]
Setup = tuple[Flask, LabelWorld, str]


@contextmanager
def _clock_at(app: Flask, at: datetime) -> Iterator[FixedClock]:
    original = app.extensions[CLOCK_KEY]
    fixed = FixedClock(at)
    app.extensions[CLOCK_KEY] = fixed
    try:
        yield fixed
    finally:
        app.extensions[CLOCK_KEY] = original


def _batch(app: Flask, batch_id: int) -> LabelBatch:
    with app.app_context():
        try:
            with read_only():  # on SQLite, a reader that waits for no writer
                batch = db.session.get_one(LabelBatch, batch_id, populate_existing=True)
                db.session.expunge(batch)
            return batch
        finally:
            db.session.remove()


def test_one_claim_per_batch_and_a_dead_holder_is_replaced_only_after_its_lease(
    batch_app: Setup,
) -> None:
    app, world, _ = batch_app
    queued = upload(app.test_client(), world.certifier, csv_of([row()]))
    start = datetime.now(UTC)
    with _clock_at(app, start) as clock, app.app_context():
        with transaction():
            assert claim_batch(worker="dead-1") == queued["id"]
        with transaction():  # held: nobody else gets it while the lease runs
            assert claim_batch(worker="other") is None
        clock.advance(LEASE - timedelta(seconds=1))
        with transaction():
            assert claim_batch(worker="other") is None
        # The holder died without a word: after its lease, the batch is claimable again,
        # and each claim counts as an attempt.
        for attempt in range(2, MAX_ATTEMPTS + 1):
            clock.advance(LEASE + timedelta(seconds=1))
            with transaction():
                assert claim_batch(worker=f"dead-{attempt}") == queued["id"]
        clock.advance(LEASE + timedelta(seconds=1))
        ran = run_once(worker="last")
        db.session.remove()
    assert ran == (queued["id"], BatchState.FAILED)
    batch = _batch(app, queued["id"])
    assert batch.state is BatchState.FAILED
    assert batch.reason is not None
    assert f"stopped {MAX_ATTEMPTS} times" in batch.reason
    assert batch.rows_issued == 0
    assert batch.lease_owner is None


def test_a_runner_takes_back_at_once_a_batch_it_could_not_record_giving_up(
    batch_app: Setup,
) -> None:
    """The database went away mid-batch and was still gone when the runner tried to put the
    batch back in the queue: the batch stays leased to that runner, which, once the database
    is back, runs it again at its next look instead of after its own lease (a minute)."""
    app, world, _ = batch_app
    queued = upload(app.test_client(), world.certifier, csv_of([row(), row()]))
    with _clock_at(app, datetime.now(UTC)), app.app_context():
        with transaction():
            assert claim_batch(worker="runner-a") == queued["id"]
        with transaction():  # to anyone else it is held, as before
            assert claim_batch(worker="other") is None
        ran = run_once(worker="runner-a")
        db.session.remove()
    assert ran == (queued["id"], BatchState.DONE)
    batch = _batch(app, queued["id"])
    assert (batch.rows_issued, batch.attempts, batch.lease_owner) == (2, 2, None)


def test_a_revoked_token_stops_its_batch(batch_app: Setup) -> None:
    app = batch_app[0]

    with app.app_context():
        with transaction():
            token, secret = create_token(role=Role.CERTIFIER, name="short", body_code="lingnan")
        token_id = token.id
        db.session.remove()
    queued = upload(app.test_client(), secret, csv_of([row()]))
    with app.app_context():
        with transaction():
            revoke_token(token_id)
        before = counts(app)
        assert run_once() == (queued["id"], BatchState.FAILED)
        db.session.remove()
    batch = _batch(app, queued["id"])
    assert batch.reason is not None
    assert "revoked" in batch.reason
    assert counts(app).labels == before.labels


def _environment(settings: Settings, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "REGISTRY_LOG_KEY": settings.log_key,
        "REGISTRY_KEK": settings.kek,
        "REGISTRY_BUNDLE_KEY": settings.bundle_key,
        "REGISTRY_ENV": "testing",
        "REGISTRY_PUBLIC_BASE_URL": settings.public_base_url,
        "REGISTRY_INSTANCE_PATH": str(tmp),
        "REGISTRY_CHECKPOINT_INTERVAL": "0",
        "PYTHONPATH": str(ROOT),
    }


ROWS = 2000


def _mid_batch(url: str, batch: LabelBatch) -> bool:
    """Whether the runner is inside the batch's issuing transaction.

    PostgreSQL: its progress (own short transactions) shows labels issued but not all. SQLite
    cannot take progress writes then, so: the batch is issuing and the write lock is held
    (an immediate transaction is refused at once).
    """
    if batch.state is not BatchState.ISSUING:
        return False
    if url.startswith("postgresql"):
        return 0 < batch.rows_issued < ROWS
    path = url.removeprefix("sqlite:///")
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    else:
        return False
    finally:
        probe.close()


def test_a_worker_killed_mid_batch_leaves_nothing_and_the_batch_runs_again(
    batch_app: Setup, tmp_path: Path
) -> None:
    app, world, url = batch_app
    postgres = url.startswith("postgresql")
    before = counts(app)
    rows = [row(product_name=f"Killed {n}") for n in range(ROWS)]
    queued = upload(app.test_client(), world.certifier, csv_of(rows))
    log = tmp_path / "worker.log"
    out = log.open("wb")
    worker = subprocess.Popen(  # our own interpreter, fixed argv
        [sys.executable, "-m", "flask", "--app", "wsgi", "batches", "run-once"],
        cwd=ROOT,
        env=_environment(app.extensions[SETTINGS_KEY], tmp_path),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            batch = _batch(app, queued["id"])
            seen.append((batch.state, batch.rows_issued))
            if _mid_batch(url, batch):
                break
            # Wait on the worker itself: back at once if it ends, else look at its batch again.
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=0.05)
        else:
            pytest.fail(f"never saw the batch mid-way: {sorted(set(seen))}, {log.read_text()}")
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(30)
        out.close()
    assert worker.returncode == -signal.SIGKILL
    killed = _batch(app, queued["id"])
    # Progress was visible while the batch ran, yet nothing of it was committed.
    assert killed.state is BatchState.ISSUING
    if postgres:
        assert 0 < killed.rows_issued < ROWS
    after_kill = counts(app)
    assert (after_kill.labels, after_kill.entries, after_kill.keys) == (
        before.labels,
        before.entries,
        before.keys,
    )
    with app.app_context():
        assert not db.session.scalar(
            select(func.count())
            .select_from(LabelBatchItem)
            .where(LabelBatchItem.batch_id == queued["id"])
        )
        db.session.remove()
    # Its lease still runs: no other runner takes it yet; once expired, one does.
    with app.app_context():
        assert run_once(worker="too-early") is None
        db.session.remove()
    later = datetime.now(UTC) + LEASE + timedelta(seconds=5)
    with _clock_at(app, later), app.app_context():
        assert run_once(worker="successor") == (queued["id"], BatchState.DONE)
        db.session.remove()
    done = _batch(app, queued["id"])
    assert done.attempts == 2
    assert done.rows_issued == ROWS
    final = counts(app)
    assert final.labels == before.labels + ROWS
    assert final.entries >= before.entries + ROWS


def test_the_runner_thread_runs_what_is_uploaded(batch_app: Setup) -> None:
    """The embedded default: the thread each gunicorn worker starts takes the batch itself."""
    app, world, _ = batch_app
    ended: dict[int, BatchState] = {}
    finished = threading.Event()

    def ran(batch_id: int, state: BatchState) -> None:
        ended[batch_id] = state
        finished.set()

    runner = start_batch_runner(app, poll=0.05, ran=ran)
    try:
        queued = upload(app.test_client(), world.certifier, csv_of([row(), row()]))
        assert finished.wait(60), _batch(app, queued["id"]).state
        assert ended == {queued["id"]: BatchState.DONE}
    finally:
        runner.stop(timeout=60)
    assert not runner.thread.is_alive()
    assert _batch(app, queued["id"]).rows_issued == 2

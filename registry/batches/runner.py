"""The batch runner: a thread per worker that claims queued batches and runs them.

No extra server: every gunicorn worker starts one (``post_worker_init``), like the checkpoint
ticker, and the batches table is the queue. A runner claims a batch with a compare-and-set on
its row (queued, or running under a lease that has expired), so one runner holds it; it renews
the lease from a thread of its own while it works, on separate short transactions that also
carry the progress (rows validated, rows issued) a reader polls.

The labels are issued in ONE transaction that ends by setting the batch ``done``, fenced on the
lease (``WHERE lease_owner = me``): a runner that lost its lease cannot commit, and a runner
killed mid-batch commits nothing, so its batch is issued whole or not at all. Its lease then
expires and another runner claims it again, up to ``MAX_ATTEMPTS`` times; after that it is
marked failed with the reason.

On SQLite the issuing transaction holds the database's one write lock from its first
statement, so no other connection can write progress or renew the lease until it ends (and no
other runner can claim it either: the claim is a write). Progress there moves from 0 to all at
the commit; on PostgreSQL it is visible chunk by chunk.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, CursorResult, Engine, and_, func, or_, select, update

from registry.batches.csvformat import RowError
from registry.batches.models import BatchState, LabelBatch
from registry.batches.services import (
    BatchRefusedError,
    BatchStoppedError,
    issue_batch,
    principal_of,
    validate_batch,
)
from registry.clock import Clock, current_clock, to_millis, utcnow
from registry.db import db, read_only, side_write, transaction

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "BatchRunner",
    "batch_waiting",
    "claim_batch",
    "run_batch",
    "run_once",
    "start_batch_runner",
    "worker_name",
]

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
HEARTBEAT = 10.0  # seconds between lease renewals: several per lease
MAX_ATTEMPTS = 3
POLL = 1.0  # seconds between looks at the queue when it is empty
_RUNNING = (BatchState.VALIDATING, BatchState.ISSUING)


def worker_name() -> str:
    """Who holds a lease: host, process, and a random part (a restarted pid is another)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _count(result: object) -> int:
    """Rows an UPDATE matched (``Session.execute`` types its result as a plain ``Result``)."""
    assert isinstance(result, CursorResult)  # noqa: S101  # an UPDATE's result always is
    return result.rowcount


class LeaseLostError(Exception):
    """Another runner holds the batch now; this one must not write its outcome."""


def _claimable(now: datetime, worker: str | None = None) -> ColumnElement[bool]:
    abandoned: ColumnElement[bool] = LabelBatch.lease_expires_at < now
    if worker is not None:
        # A runner holds one batch at a time, so one still leased to it while it looks for
        # work is one it gave up without recording so (the database was gone when it tried):
        # it takes it back at once rather than after its own lease runs out.
        abandoned = or_(abandoned, LabelBatch.lease_owner == worker)
    return or_(
        LabelBatch.state == BatchState.QUEUED,
        and_(LabelBatch.state.in_(_RUNNING), abandoned),
    )


def batch_waiting(*, worker: str | None = None) -> bool:
    """Whether any batch is claimable (by ``worker``): a read, so an idle runner takes no
    write lock."""
    with read_only():
        found = db.session.execute(
            select(LabelBatch.id).where(_claimable(utcnow(), worker)).limit(1)
        ).first()
    return found is not None


def claim_batch(*, worker: str) -> int | None:
    """Take the oldest claimable batch for ``worker`` (in the caller's transaction), which
    must hold no batch it is still running."""
    now = utcnow()
    claimable = _claimable(now, worker)
    candidates = db.session.execute(
        select(LabelBatch.id).where(claimable).order_by(LabelBatch.id).limit(5)
    ).scalars()
    for batch_id in list(candidates):
        claimed = db.session.execute(
            update(LabelBatch)
            .where(LabelBatch.id == batch_id, claimable)
            .values(
                # Running from the claim on: a queued batch is anyone's to take.
                state=BatchState.VALIDATING,
                lease_owner=worker,
                lease_expires_at=now + LEASE,
                attempts=LabelBatch.attempts + 1,
                started_at=func.coalesce(LabelBatch.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        if _count(claimed) == 1:
            return batch_id
    return None


@dataclass(slots=True)
class _Lease:
    """The lease a runner holds, renewed (with progress) on connections of its own."""

    engine: Engine
    clock: Clock
    batch_id: int
    worker: str
    paused: bool = False  # while an SQLite write transaction holds the lock

    def write(self, **values: Any) -> None:
        if self.paused:
            return
        expires = to_millis(self.clock.now()) + LEASE
        with side_write(self.engine) as connection:
            done = connection.execute(
                update(LabelBatch)
                .where(LabelBatch.id == self.batch_id, LabelBatch.lease_owner == self.worker)
                .values(lease_expires_at=expires, **values)
            )
        if _count(done) != 1:
            raise LeaseLostError(f"batch {self.batch_id} is no longer held by {self.worker}")

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Renew the lease every ``HEARTBEAT`` seconds while the block runs."""
        stopping = threading.Event()

        def beat() -> None:
            while not stopping.wait(HEARTBEAT):
                try:
                    self.write()
                except LeaseLostError:
                    return
                except Exception:  # a database hiccup: the next beat retries
                    logger.exception("renewing the lease of batch %s failed", self.batch_id)

        thread = threading.Thread(target=beat, name=f"batch-{self.batch_id}-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stopping.set()
            thread.join()


def _finish(batch_id: int, worker: str, **values: Any) -> None:
    """Record an outcome in the caller's transaction, only if ``worker`` still holds it."""
    done = db.session.execute(
        update(LabelBatch)
        .where(LabelBatch.id == batch_id, LabelBatch.lease_owner == worker)
        .values(lease_owner=None, lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    if _count(done) != 1:
        raise LeaseLostError(f"batch {batch_id} is no longer held by {worker}")


def _set_state(batch_id: int, worker: str, state: BatchState) -> None:
    with transaction():
        done = db.session.execute(
            update(LabelBatch)
            .where(LabelBatch.id == batch_id, LabelBatch.lease_owner == worker)
            .values(state=state)
            .execution_options(synchronize_session=False)
        )
        if _count(done) != 1:
            raise LeaseLostError(f"batch {batch_id} is no longer held by {worker}")


def _refuse(batch_id: int, worker: str, errors: list[RowError]) -> None:
    rows = len({error.row for error in errors})
    with transaction():
        _finish(
            batch_id,
            worker,
            state=BatchState.REFUSED,
            errors=[error.to_json() for error in errors],
            reason=f"{rows} rows have problems; nothing was issued.",
            finished_at=utcnow(),
        )


def run_batch(batch_id: int, *, worker: str) -> BatchState:
    """Run a batch ``worker`` has claimed to its end; the state it ends in."""
    with transaction():
        batch = db.session.get_one(LabelBatch, batch_id, populate_existing=True)
        attempts, text, batch_format = batch.attempts, batch.content, batch.format
        if attempts > MAX_ATTEMPTS:
            _finish(
                batch_id,
                worker,
                state=BatchState.FAILED,
                reason=f"The worker running this batch stopped {attempts - 1} times; "
                "nothing was issued. Upload it again.",
                finished_at=utcnow(),
            )
            return BatchState.FAILED
    db.session.expunge_all()
    lease = _Lease(db.engine, current_clock(), batch_id, worker)
    sqlite = db.engine.dialect.name == "sqlite"
    with lease.kept():
        try:
            # A PACT footprint's mapping reads its rule version; a read takes no write lock, so
            # the lease's progress writes go on beside it (on SQLite too).
            with read_only():
                validated = validate_batch(
                    batch_format, text, progress=lambda n: lease.write(rows_validated=n)
                )
        except BatchRefusedError as exc:
            _refuse(batch_id, worker, exc.errors)
            return BatchState.REFUSED
        del text
        _set_state(batch_id, worker, BatchState.ISSUING)
        try:
            lease.paused = sqlite
            with transaction():
                with db.session.no_autoflush:
                    batch = db.session.get_one(LabelBatch, batch_id)
                    principal = principal_of(batch)
                issued = issue_batch(
                    principal,
                    batch_id,
                    validated,
                    progress=lambda n: lease.write(rows_issued=n),
                )
                _finish(
                    batch_id,
                    worker,
                    state=BatchState.DONE,
                    rows_issued=issued,
                    finished_at=utcnow(),
                )
        except BatchRefusedError as exc:
            lease.paused = False
            _refuse(batch_id, worker, exc.errors)
            return BatchState.REFUSED
        except BatchStoppedError as exc:
            lease.paused = False
            with transaction():
                _finish(
                    batch_id,
                    worker,
                    state=BatchState.FAILED,
                    reason=f"{exc} Nothing was issued.",
                    finished_at=utcnow(),
                )
            return BatchState.FAILED
        finally:
            lease.paused = False
            db.session.expunge_all()
    return BatchState.DONE


def run_once(*, worker: str | None = None) -> tuple[int, BatchState] | None:
    """Claim one batch and run it; (batch id, final state), or None if none was waiting.

    A failure that is not the batch's fault (a bug, a lost database) puts it back in the queue
    for another attempt, up to ``MAX_ATTEMPTS``, after which it is failed with the reason.
    """
    worker = worker or worker_name()
    if not batch_waiting(worker=worker):
        return None
    with transaction():
        batch_id = claim_batch(worker=worker)
    if batch_id is None:
        return None
    try:
        return batch_id, run_batch(batch_id, worker=worker)
    except LeaseLostError:
        logger.warning("batch %s was taken over by another runner", batch_id)
        raise
    except Exception as exc:
        db.session.rollback()
        logger.exception("batch %s failed", batch_id)
        _retry_or_fail(batch_id, worker, exc)
        raise


def _retry_or_fail(batch_id: int, worker: str, exc: Exception) -> None:
    with transaction():
        batch = db.session.get_one(LabelBatch, batch_id, populate_existing=True)
        if batch.attempts < MAX_ATTEMPTS:
            _finish(batch_id, worker, state=BatchState.QUEUED)
        else:
            _finish(
                batch_id,
                worker,
                state=BatchState.FAILED,
                reason=f"Failed {batch.attempts} times ({type(exc).__name__}); nothing was issued.",
                finished_at=utcnow(),
            )


@dataclass(frozen=True, slots=True)
class BatchRunner:
    """A running runner thread; :meth:`stop` ends it after the batch in hand."""

    thread: threading.Thread
    stopping: threading.Event

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.thread.join(timeout)


def start_batch_runner(
    app: Flask,
    *,
    poll: float = POLL,
    ran: Callable[[int, BatchState], None] | None = None,
) -> BatchRunner:
    """Run queued batches in a daemon thread, one at a time, until stopped; ``ran`` is told
    each batch's id and end state as it ends (a caller waiting for one needs no polling)."""
    stopping = threading.Event()
    worker = worker_name()

    def run() -> None:
        while not stopping.wait(poll):
            with app.app_context():
                try:
                    while not stopping.is_set():
                        done = run_once(worker=worker)
                        if done is None:
                            break
                        if ran is not None:
                            ran(*done)
                except Exception:  # logged by run_once; the thread must outlive one batch
                    logger.exception("batch runner: retrying in %.1f s", poll)
                finally:
                    db.session.remove()

    thread = threading.Thread(target=run, name="batch-runner", daemon=True)
    thread.start()
    return BatchRunner(thread, stopping)

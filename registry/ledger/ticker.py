"""A background tick per worker: the signing that readers must never do.

Reads never write, so whatever they serve must already be signed: every tick signs a
checkpoint over entries the appends left uncovered (only with a checkpoint interval above 0;
by default every append round signs its own), signs the first checkpoint of an empty ledger,
and re-signs status lists older than a day; then it asks the configured witnesses to cosign
the latest checkpoint (:mod:`registry.ledger.witnessing`). Every gunicorn worker runs it
(``post_worker_init`` in the gunicorn config); the checks are lock-free reads, and only stale
state takes the locks, which serialise the workers, so however many run, each entry is covered
within about two intervals and no status list read is older than ``REFRESH`` plus a tick.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask

from registry.audit.health import sweep_integrity
from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db, read_snapshot, transaction
from registry.labels.status_lists import refresh_status_lists
from registry.ledger.services import (
    get_ledger_config,
    latest_checkpoint,
    publish_checkpoint,
    tree_size,
)
from registry.ledger.witnessing import push_checkpoint

__all__ = ["Ticker", "start_checkpoint_ticker", "tick"]

logger = logging.getLogger(__name__)


def tick(app: Flask, *, witnesses: bool = True) -> bool:
    """Sign what readers will need, then (unless told not to) ask the witnesses.

    True if anything was signed or cosigned.
    """
    with app.app_context():
        try:
            with read_snapshot():
                latest = latest_checkpoint()
                stale = latest is None or tree_size() > latest.size
            if stale:
                with transaction():
                    publish_checkpoint()
            with transaction():
                refreshed = refresh_status_lists(
                    base_url=current_settings().public_base_url, now=utcnow()
                )
            sweep_integrity(app, now=utcnow())
        finally:
            db.session.remove()
    # After every commit, with no transaction open: a slow or absent witness delays nothing.
    cosigned = push_checkpoint(app) if witnesses else 0
    return stale or refreshed > 0 or cosigned > 0


@dataclass(frozen=True, slots=True)
class Ticker:
    """A running ticker thread; :meth:`stop` ends it and waits for a tick in flight."""

    thread: threading.Thread
    stopping: threading.Event
    witness_thread: threading.Thread | None = None

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.thread.join(timeout)
        if self.witness_thread is not None:
            self.witness_thread.join(timeout)


def start_checkpoint_ticker(app: Flask) -> Ticker:
    """Run :func:`tick` every checkpoint interval (at least a second) in a daemon thread.

    With witnesses configured, a second thread asks them on the same beat, so a witness that
    times out never holds back the signing.
    """
    with app.app_context():
        interval = max(get_ledger_config().checkpoint_interval, 1.0)
        witnessing = bool(current_settings().witnesses)
    stopping = threading.Event()

    def run() -> None:
        while not stopping.wait(interval):
            try:
                tick(app, witnesses=False)
            except Exception:  # a database outage must not kill the thread for good
                logger.exception("checkpoint tick failed; retrying in %.1f s", interval)

    def ask_witnesses() -> None:
        while not stopping.wait(interval):
            try:
                push_checkpoint(app)
            except Exception:  # the same: a database outage is retried at the next beat
                logger.exception("witness push failed; retrying in %.1f s", interval)

    thread = threading.Thread(target=run, name="checkpoint-ticker", daemon=True)
    thread.start()
    witness_thread = None
    if witnessing:
        witness_thread = threading.Thread(target=ask_witnesses, name="witness-push", daemon=True)
        witness_thread.start()
    return Ticker(thread, stopping, witness_thread)

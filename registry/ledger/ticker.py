"""A background tick per worker that signs a checkpoint once entries are left uncovered.

Appends sign a checkpoint at most once per interval, and reading ``/ledger/checkpoint`` signs
one on demand, but the last entries of a burst would otherwise wait for the next append or
read. Every gunicorn worker runs this tick (``post_worker_init`` in the gunicorn config); the
check is a lock-free read, and only a stale checkpoint takes the ledger lock, which serialises
the workers, so however many run, each entry is covered within about two intervals.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from registry.db import db, read_snapshot, transaction
from registry.ledger.services import (
    get_ledger_config,
    latest_checkpoint,
    publish_checkpoint,
    tree_size,
)

__all__ = ["start_checkpoint_ticker", "tick"]

logger = logging.getLogger(__name__)


def tick(app: Flask) -> bool:
    """Sign a checkpoint if some committed entry is not covered; True if one was signed."""
    with app.app_context():
        try:
            with read_snapshot():
                latest = latest_checkpoint()
                stale = tree_size() > (0 if latest is None else latest.size)
            if not stale:
                return False
            with transaction():
                publish_checkpoint()
            return True
        finally:
            db.session.remove()


def start_checkpoint_ticker(app: Flask) -> threading.Event:
    """Run :func:`tick` every checkpoint interval (at least a second) in a daemon thread.

    Returns the event that stops it when set.
    """
    with app.app_context():
        interval = max(get_ledger_config().checkpoint_interval, 1.0)
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                tick(app)
            except Exception:  # a database outage must not kill the thread for good
                logger.exception("checkpoint tick failed; retrying in %.1f s", interval)

    threading.Thread(target=run, name="checkpoint-ticker", daemon=True).start()
    return stop

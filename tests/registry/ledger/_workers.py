"""Worker processes for the concurrency test (spawned, so this module must import cleanly).

Each worker is a separate process with its own app, engine and connections, like a gunicorn
worker, and commits every append: no test transaction hides anything here.
"""

from __future__ import annotations

import time
from multiprocessing.synchronize import Barrier
from queue import Queue

from registry import create_app
from registry.config import Settings
from registry.db import db, transaction
from registry.ledger.services import append_entry, publish_checkpoint


def append_for(
    settings: Settings, worker: int, start: Barrier, seconds: float, results: Queue[tuple[int, int]]
) -> None:
    app = create_app(settings)
    appended = 0
    with app.app_context():
        start.wait()  # every worker has started up: from here on they all write at once
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with transaction():
                append_entry("test.concurrent", {"worker": worker, "n": appended})
            appended += 1
            if appended % 7 == 0:
                # Readers of /ledger/checkpoint race the appenders to sign checkpoints too.
                with transaction():
                    publish_checkpoint()
        db.session.remove()
        db.engine.dispose()
    results.put((worker, appended))

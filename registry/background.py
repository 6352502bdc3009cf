"""What each gunicorn worker runs beside its requests: the checkpoint ticker and the batch
runner, on the primary's hosts only (a replica host's database refuses writes)."""

from __future__ import annotations

from flask import Flask

from registry.config import SETTINGS_KEY, Settings

__all__ = ["start_background_jobs"]


def start_background_jobs(app: Flask) -> list[str]:
    """Start the worker's background threads; the names of those started."""
    from registry.batches.runner import start_batch_runner
    from registry.ledger.ticker import start_checkpoint_ticker

    settings: Settings = app.extensions[SETTINGS_KEY]
    if settings.replica:
        return []
    start_checkpoint_ticker(app)
    start_batch_runner(app)  # CSV and PACT label batches
    return ["checkpoint-ticker", "batch-runner"]

"""The append-only ledger: entries, the RFC 9162 tree over them, and signed checkpoints."""

from __future__ import annotations

from flask import Flask

from registry.audit.health import extra_checks
from registry.clock import utcnow
from registry.config import Settings
from registry.ledger.services import EXTENSION_KEY, LedgerConfig
from registry.ledger.witnessing import witness_health

__all__ = ["init_ledger"]


def init_ledger(app: Flask, settings: Settings) -> None:
    """Parse the log key once per process; services read it from the app."""
    app.extensions[EXTENSION_KEY] = LedgerConfig(
        signer=settings.log_signer(), checkpoint_interval=settings.checkpoint_interval
    )
    if settings.witnesses:
        # /health fails when a witness has left the newest checkpoints uncosigned too long.
        extra_checks(app).append(lambda: {"name": "witnesses", **witness_health(utcnow())})

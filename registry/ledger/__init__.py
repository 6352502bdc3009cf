"""The append-only ledger: entries, the RFC 9162 tree over them, and signed checkpoints."""

from __future__ import annotations

from flask import Flask

from registry.config import Settings
from registry.ledger.services import EXTENSION_KEY, LedgerConfig

__all__ = ["init_ledger"]


def init_ledger(app: Flask, settings: Settings) -> None:
    """Parse the log key once per process; services read it from the app."""
    app.extensions[EXTENSION_KEY] = LedgerConfig(
        signer=settings.log_signer(), checkpoint_interval=settings.checkpoint_interval
    )

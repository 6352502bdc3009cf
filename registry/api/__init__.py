"""Machine-readable endpoints: one blueprint module per resource."""

from __future__ import annotations

from flask import Flask

from registry.api.ledger import bp as ledger_bp

__all__ = ["register_api"]


def register_api(app: Flask) -> None:
    app.register_blueprint(ledger_bp)

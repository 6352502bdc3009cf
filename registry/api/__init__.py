"""Machine-readable endpoints: one blueprint module per resource."""

from __future__ import annotations

from flask import Flask

from registry.api import bodies, labels, ledger, openapi, schemes, tokens, vcapi

__all__ = ["register_api"]


def register_api(app: Flask) -> None:
    for module in (ledger, labels, schemes, bodies, tokens, vcapi, openapi):
        app.register_blueprint(module.bp)

"""Machine-readable endpoints: one blueprint module per resource."""

from __future__ import annotations

from flask import Flask

from registry.api import admin, labels, ledger, openapi, vcapi

__all__ = ["register_api"]


def register_api(app: Flask) -> None:
    for module in (ledger, labels, admin, vcapi, openapi):
        app.register_blueprint(module.bp)

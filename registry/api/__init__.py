"""Machine-readable endpoints: one blueprint module per resource."""

from __future__ import annotations

from flask import Flask

from registry.api import (
    audit,
    batches,
    bodies,
    docs,
    exports,
    findings,
    health,
    labels,
    ledger,
    me,
    openapi,
    pact_labels,
    preparations,
    recognition,
    reports,
    schemes,
    tiles,
    tokens,
    trust,
    vcapi,
)
from registry.api.common import CONVERTERS
from registry.pact import views as pact

__all__ = ["register_api"]


def register_api(app: Flask) -> None:
    app.url_map.converters.update(CONVERTERS)  # before the routes that use them
    for module in (
        ledger,
        tiles,
        labels,
        preparations,
        pact_labels,
        batches,
        exports,
        schemes,
        bodies,
        recognition,
        tokens,
        me,
        vcapi,
        reports,
        audit,
        trust,
        findings,
        health,
        openapi,
        pact,
        docs,
    ):
        app.register_blueprint(module.bp)

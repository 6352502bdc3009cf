"""GS1 Digital Link: the resolver of GTINs to their carbon labels, and Digital Link URIs for
labels' QR codes."""

from __future__ import annotations

from flask import Flask

__all__ = ["init_resolver"]


def init_resolver(app: Flask) -> None:
    from registry.resolver.views import bp

    app.register_blueprint(bp)

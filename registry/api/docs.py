"""``/api/docs``: the OpenAPI document rendered by a bundled copy of Swagger UI.

The renderer is vendored under ``registry/api/static/swagger-ui`` (its LICENSE and NOTICE with
it) and configured by a small script of our own, so the page loads nothing from another host
and runs no inline script: its policy allows scripts from this origin only, and requests
(``Try it out``) to this origin only.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue

__all__ = ["DOCS_CONTENT_SECURITY_POLICY", "bp"]

bp = Blueprint("api_docs", __name__, static_folder="static", static_url_path="/api/docs/static")

# Swagger UI sets element styles through the DOM (allowed without 'unsafe-inline') and draws
# its icons as data: images.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


@bp.get("/api/docs")
def api_docs() -> ResponseReturnValue:
    body = render_template("api/docs.html", document=url_for("openapi.get_openapi"))
    return (
        body,
        200,
        {
            "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
            "Cache-Control": "public, max-age=300",
        },
    )

"""The public pages people read: what a QR code opens, and the pages around it.

Every page is rendered in the reader's language (``registry.i18n``), from the same services
and verification the JSON API uses, and carries the same strict security headers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, request
from werkzeug.wrappers import Response

from registry.i18n import COOKIE, COOKIE_MAX_AGE, language_for
from registry.pages.protection import over_https

__all__ = ["SECURITY_HEADERS", "bp", "init_pages", "safe_next"]

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/static/pages")

# No script runs on any page; styles come from our own stylesheet only; nothing is framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def safe_next(target: str | None) -> str:
    """A path on this site to go back to, never another host (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x21 for c in target):
        return "/"
    return target


@bp.get("/lang/<tag>")
def switch_language(tag: str) -> Response:
    """A plain link on every page: remember the choice and go back where the reader was."""
    target = safe_next(request.args.get("next"))
    response = redirect(target, code=303)
    language = language_for(tag)
    if language is not None:
        response.set_cookie(
            COOKIE,
            language.tag,
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            httponly=True,
            secure=over_https(),
        )
    response.headers["Cache-Control"] = "no-store"
    return response


# Two years, subdomains included: the register's host serves nothing over plain HTTP.
HSTS = "max-age=63072000; includeSubDomains"


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if over_https():
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_pages(app: Flask) -> None:
    # The modules add their routes to ``bp`` when imported; import them before registering it.
    from registry.pages import certificate, label, problems, report, site, verify  # noqa: F401
    from registry.pages.protection import init_protection

    init_protection(app)
    app.register_blueprint(bp)
    app.after_request(_secure)

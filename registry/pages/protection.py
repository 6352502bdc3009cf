"""What guards the public forms: a CSRF token, per-address rate limits, and which address.

Only views that call ``csrf.protect()`` are checked: the JSON API and the VC-API take bearer
tokens, which a foreign page cannot make a browser send, and must keep working for clients
that hold no session. Each app gets its own limiter (not a module global), so two apps in one
process, and every test, count on their own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from registry.config import SETTINGS_KEY, Settings

__all__ = [
    "LIMITER_KEY",
    "client_address",
    "csrf",
    "form_limiter",
    "init_protection",
    "over_https",
]

LIMITER_KEY = "registry.form_limiter"
_PROXIES_KEY = "registry.trusted_proxies"

csrf = CSRFProtect()

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_trusted(address: str, proxies: Sequence[_Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address() -> str:
    """The address a request came from, as far as we can trust it.

    Behind the reverse proxy every request comes from the proxy, so a per-address limit would
    be one limit for everybody. ``X-Forwarded-For`` is believed only as far as it was written
    by proxies we trust (``REGISTRY_TRUSTED_PROXIES``): the client is the rightmost address
    that is not one of them. Anything to its left was written by the client and is ignored.
    """
    proxies: Sequence[_Network] = current_app.extensions.get(_PROXIES_KEY, ())
    peer = request.remote_addr or "unknown"
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _is_trusted(hop, proxies):
            return hop
    return peer


def over_https() -> bool:
    """Whether the reader is served over HTTPS: the request says so, or the registry's public
    address is HTTPS (behind a TLS proxy that forgot X-Forwarded-Proto, which gunicorn trusts
    only from FORWARDED_ALLOW_IPS). Then cookies are Secure and HSTS is sent, so a session
    cookie never travels in clear."""
    settings: Settings = current_app.extensions[SETTINGS_KEY]
    return request.is_secure or settings.public_base_url.startswith("https://")


def form_limiter() -> Limiter:
    """The running app's limiter for its public forms."""
    limiter: Limiter = current_app.extensions[LIMITER_KEY]
    return limiter


def init_protection(app: Flask) -> None:
    settings: Settings = app.extensions[SETTINGS_KEY]
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # The session holds only the CSRF secret; in production it never travels over plain HTTP.
    app.config.setdefault("SESSION_COOKIE_SECURE", settings.env == "production")
    csrf.init_app(app)
    app.extensions[_PROXIES_KEY] = tuple(
        ipaddress.ip_network(proxy, strict=False) for proxy in settings.trusted_proxies
    )
    app.extensions[LIMITER_KEY] = Limiter(
        client_address,
        app=app,
        storage_uri=settings.ratelimit_storage,
        strategy="moving-window",
        default_limits=[],
    )

"""What guards the public forms: a CSRF token, per-address rate limits, and which address;
and the counters of failed attempts (:class:`FailureCounter`) that the portal's sign-in and
every API's credentials (``registry.auth.attempts``) are limited by, in the same limiter.

Only views that call ``csrf.protect()`` are checked: the JSON API and the VC-API take bearer
tokens, which a foreign page cannot make a browser send, and must keep working for clients
that hold no session. Each app gets its own limiter (not a module global), so two apps in one
process, and every test, count on their own.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItem, parse_many

from registry.config import SETTINGS_KEY, Settings

__all__ = [
    "LIMITER_KEY",
    "FailureCounter",
    "client_address",
    "count_failure",
    "csrf",
    "failures_wait",
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


@dataclass(frozen=True, slots=True)
class FailureCounter:
    """One count of failed attempts: its limits (a limits string such as "20 per 5 minutes"),
    a named scope (the counters of several hosts share one store, so the name is the key), and
    whose failures they are (an address, an account)."""

    limits: str
    scope: str
    key: str


@functools.cache
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    # Asked on every request that carries a credential: the few settings' strings, parsed once.
    return tuple(parse_many(limits))


def failures_wait(*counters: FailureCounter) -> int | None:
    """Seconds until every counter takes another attempt, or ``None`` if none is spent.

    Only failures are counted (:func:`count_failure`), so whoever succeeds is never limited;
    once a counter is spent, attempts are refused before they are checked, so guessing stops.
    """
    strategy = form_limiter().limiter
    now = time.time()  # the limits storage's own clock, which its reset times are on
    waits = [
        math.ceil(strategy.get_window_stats(item, counter.scope, counter.key).reset_time - now)
        for counter in counters
        for item in _parsed(counter.limits)
        if not strategy.test(item, counter.scope, counter.key)
    ]
    return max(1, *waits) if waits else None


def count_failure(*counters: FailureCounter) -> None:
    """Count one failed attempt against each counter."""
    strategy = form_limiter().limiter
    for counter in counters:
        for item in _parsed(counter.limits):
            strategy.hit(item, counter.scope, counter.key)


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

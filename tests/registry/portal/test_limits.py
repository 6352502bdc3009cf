"""Repeated sign-in failures are limited per account and per address (Flask-Limiter), in
memory by default and in the real Redis at 127.0.0.1:6379 when configured."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limiter
from sqlalchemy import select

from registry.db import db
from registry.pages.protection import LIMITER_KEY, client_address
from registry.portal.models import AccessEvent, AccessKind, PersonRole
from registry.portal.policy import PortalPolicy
from tests.registry.portal.conftest import set_policy
from tests.registry.portal.support import PASSWORD, make_person

pytestmark = pytest.mark.usefixtures("world")
REDIS = "redis://127.0.0.1:6379/0"


def attempt(client: FlaskClient, email: str, password: str, address: str = "203.0.113.7") -> int:
    page = client.get("/portal/sign-in", environ_base={"REMOTE_ADDR": address})
    from tests.registry.portal.support import csrf_from

    return client.post(
        "/portal/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_from(page)},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def test_failures_for_one_account_are_limited_from_any_address(
    app: Flask, client: FlaskClient, policy: PortalPolicy
) -> None:
    # Lockout later than the limit, to see the limit alone.
    set_policy(app, account_limit="3 per 15 minutes", lockout_after=50)
    make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    for n in range(3):
        assert attempt(client, "chan@lingnan.example", "wrong", f"198.51.100.{n}") == 401
    # The fourth try is refused before the password is even looked at, the right one too.
    assert attempt(client, "chan@lingnan.example", PASSWORD, "198.51.100.9") == 429
    assert attempt(client, "CHAN@lingnan.example ", PASSWORD, "198.51.100.10") == 429
    kinds = db.session.execute(select(AccessEvent.kind)).scalars().all()
    assert AccessKind.SIGN_IN_LIMITED in kinds


def test_failures_from_one_address_are_limited_across_accounts(
    app: Flask, client: FlaskClient, policy: PortalPolicy
) -> None:
    set_policy(app, address_limit="4 per 15 minutes")
    make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    for n in range(4):
        assert attempt(client, f"guess{n}@lingnan.example", "wrong") == 401
    assert attempt(client, "chan@lingnan.example", PASSWORD) == 429
    # Another address is not affected.
    assert attempt(client, "chan@lingnan.example", PASSWORD, "192.0.2.44") == 303


@pytest.fixture
def redis_limits(app: Flask) -> Iterator[Limiter]:
    """The app's limiter counting in the real Redis, as ``REGISTRY_RATELIMIT_STORAGE`` sets it."""
    original = app.extensions[LIMITER_KEY]
    limiter = Limiter(
        client_address, app=Flask("redis-limits"), storage_uri=REDIS, strategy="moving-window"
    )
    app.extensions[LIMITER_KEY] = limiter
    yield limiter
    app.extensions[LIMITER_KEY] = original


def test_the_limit_counts_in_redis_when_configured(
    app: Flask, client: FlaskClient, policy: PortalPolicy, redis_limits: Limiter
) -> None:
    import redis

    server = redis.Redis.from_url(REDIS)
    # Redis outlives the test: an address of its own, so no earlier run's count is seen.
    email = f"chan-{secrets.token_hex(6)}@lingnan.example"
    set_policy(app, account_limit="2 per 15 minutes", lockout_after=50)
    make_person(email, PersonRole.SIGNATORY, body="lingnan")
    try:
        for _ in range(2):
            assert attempt(client, email, "wrong") == 401
        assert attempt(client, email, PASSWORD) == 429
        keys = server.keys(f"*portal-account*{email}*")
        assert keys, "the account's counter is not in Redis"
    finally:
        for key in server.keys(f"*{email}*") + server.keys("*portal-address*203.0.113.7*"):
            server.delete(key)

"""Failed credentials are limited per client address, over the JSON API, the VC-API and PACT
(``registry.auth.attempts``): in memory by default, in the real Redis at 127.0.0.1:6379 when
several hosts share it."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import limits.storage.memory
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from registry import create_app
from registry.auth.attempts import SCOPE
from registry.auth.models import Role
from registry.auth.services import create_token, revoke_token
from registry.clock import FixedClock
from registry.config import SETTINGS_KEY
from registry.db import db, transaction
from registry.pact.services import TOKEN_TTL, create_client
from tests.registry.factories import LabelWorld, make_settings
from tests.registry.labels.support import app, auth, label_app, problem, world
from tests.registry.pact.support import HTTPS, basic

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures

HOME = "203.0.113.7"
ELSEWHERE = "192.0.2.44"
REDIS = os.environ.get("REGISTRY_TEST_REDIS", "redis://127.0.0.1:6379/3")
BAD = "clr_" + "A" * 43  # well-formed, but no token of this registry


def me(client: FlaskClient, secret: str | None, address: str = HOME) -> TestResponse:
    return client.get("/api/v1/me", headers=auth(secret), environ_base={"REMOTE_ADDR": address})


def limited(app: Flask, limit: str) -> None:
    """This test's failure limit (the app's settings are restored by ``restore_settings``)."""
    app.extensions[SETTINGS_KEY] = replace(app.extensions[SETTINGS_KEY], auth_failure_limit=limit)


@pytest.fixture(autouse=True)
def restore_settings(app: Flask) -> Iterator[None]:
    original = app.extensions[SETTINGS_KEY]
    yield
    app.extensions[SETTINGS_KEY] = original


def pact_token(client: FlaskClient, address: str = HOME) -> tuple[str, str, str]:
    """A PACT client's id, secret and access token."""
    with transaction():
        pact_client, secret = create_client("buyer's PACT tool")
    response = token_for(client, pact_client.client_id, secret, address)
    assert response.status_code == 200, response.get_json()
    return pact_client.client_id, secret, response.get_json()["access_token"]


def token_for(client: FlaskClient, client_id: str, secret: str, address: str) -> TestResponse:
    return client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret),
        base_url=HTTPS,
        environ_base={"REMOTE_ADDR": address},
    )


def footprints(client: FlaskClient, token: str, address: str = HOME) -> TestResponse:
    return client.get(
        "/3/footprints", headers=auth(token), base_url=HTTPS, environ_base={"REMOTE_ADDR": address}
    )


def retry_after(response: TestResponse, window: int) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= window
    return seconds


def test_the_default_limit_refuses_every_token_after_twenty_bad_ones(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    assert app.extensions[SETTINGS_KEY].auth_failure_limit == "20 per 5 minutes"
    for n in range(20):
        # Unknown, malformed, or not a bearer token at all: each a failure.
        headers = [auth(BAD), auth("clr_short"), {"Authorization": f"Basic guess-{n}"}][n % 3]
        response = client.get("/api/v1/me", headers=headers, environ_base={"REMOTE_ADDR": HOME})
        problem(response, 401, "unauthenticated")
    # The 21st is refused before it is read: the operator's own valid token too.
    body = problem(me(client, world.operator), 429, "too-many-failures")
    response = me(client, world.operator)
    assert retry_after(response, 300) > 290  # the window just began
    assert "retry after" in body["detail"]
    assert response.headers["Cache-Control"] == "no-store"
    # Another address is not affected, a valid token there still works.
    assert me(client, world.operator, ELSEWHERE).status_code == 200


def test_one_counter_for_the_json_api_the_vc_api_and_pact(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    client_id, secret, access = pact_token(client)
    with transaction():
        token, revoked = create_token(role=Role.OPERATOR, name="retired")
        revoke_token(token.id)
    limited(app, "3 per 5 minutes")
    problem(me(client, revoked), 401, "unauthenticated")  # JSON API: a revoked token
    vc = client.post(
        "/credentials/issue", json={}, headers=auth(BAD), environ_base={"REMOTE_ADDR": HOME}
    )
    problem(vc, 401, "unauthenticated")  # VC-API: an unknown token
    # One signature character off (not the last, whose low bits base64 may ignore).
    forged = access[:-5] + ("A" if access[-5] != "A" else "B") + access[-4:]
    bad_pact = footprints(client, forged)
    assert bad_pact.status_code == 400  # PACT: a token we did not sign
    assert bad_pact.get_json()["code"] == "BadRequest"

    # Spent: the JSON API answers its problem, PACT its own Error, the token endpoint OAuth's.
    problem(me(client, world.certifier), 429, "too-many-failures")
    refused = footprints(client, access)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "BadRequest"  # PACT's Error has no code of its own
    assert set(refused.get_json()) == {"code", "message"}
    retry_after(refused, 300)
    no_token = token_for(client, client_id, secret, HOME)
    assert no_token.status_code == 429
    assert no_token.get_json()["error"] == "temporarily_unavailable"
    retry_after(no_token, 300)
    # The same credentials from another address.
    assert footprints(client, access, ELSEWHERE).status_code == 200
    assert token_for(client, client_id, secret, ELSEWHERE).status_code == 200


def test_wrong_client_secrets_are_limited(app: Flask, client: FlaskClient) -> None:
    client_id, secret, _ = pact_token(client)
    limited(app, "2 per 5 minutes")
    for wrong in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), "not-the-secret"):
        refused = token_for(client, client_id, wrong, HOME)
        assert refused.status_code == 401
        assert refused.get_json()["error"] == "invalid_client"
    assert token_for(client, client_id, secret, HOME).status_code == 429
    # An unknown client counts as well, from wherever it comes.
    for _ in range(2):
        assert token_for(client, "pact_unknown", secret, ELSEWHERE).status_code == 401
    assert token_for(client, client_id, secret, ELSEWHERE).status_code == 429


def test_only_failures_count_and_a_success_does_not_reset_them(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    limited(app, "3 per 5 minutes")
    for _ in range(25):  # honest clients are never limited
        assert me(client, world.certifier).status_code == 200
    for _ in range(2):
        problem(me(client, BAD), 401, "unauthenticated")
    assert me(client, world.certifier).status_code == 200  # two failures: not yet spent
    problem(me(client, BAD), 401, "unauthenticated")  # the third, after a success
    problem(me(client, world.certifier), 429, "too-many-failures")


def test_no_credential_and_an_expired_pact_token_are_not_guesses(
    app: Flask, client: FlaskClient, clock: FixedClock, world: LabelWorld
) -> None:
    _, _, access = pact_token(client)
    limited(app, "2 per 5 minutes")
    for _ in range(4):
        problem(me(client, None), 401, "unauthenticated")
        assert client.get("/3/footprints", base_url=HTTPS).status_code == 400
    clock.advance(TOKEN_TTL + timedelta(seconds=1))
    for _ in range(4):
        expired = footprints(client, access)
        assert expired.status_code == 401
        assert expired.get_json()["code"] == "TokenExpired"
    assert me(client, world.certifier).status_code == 200


def test_the_block_lifts_once_the_window_has_moved_on(
    app: Flask, client: FlaskClient, world: LabelWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # limits takes no clock: its memory storage reads time.time() from its own module, so that
    # module's clock is the one moved (never the process's, and nothing sleeps).
    now = [time.time()]
    monkeypatch.setattr(limits.storage.memory, "time", SimpleNamespace(time=lambda: now[0]))
    limited(app, "2 per 5 minutes")
    problem(me(client, BAD), 401, "unauthenticated")
    now[0] += 100
    problem(me(client, BAD), 401, "unauthenticated")
    now[0] += 199
    problem(me(client, world.operator), 429, "too-many-failures")
    now[0] += 2  # the first failure is more than five minutes old: one attempt is free again
    assert me(client, world.operator).status_code == 200
    problem(me(client, BAD), 401, "unauthenticated")
    problem(me(client, world.operator), 429, "too-many-failures")
    now[0] += 100  # and the second
    assert me(client, world.operator).status_code == 200


# ---- several hosts: the counters in the real Redis ------------------------------------------


def require_redis(url: str) -> redis.Redis:
    """The Redis at ``url``; skip if it is unreachable, but fail under CI, where it must run."""
    server = redis.Redis.from_url(url)
    try:
        server.ping()
    except redis.ConnectionError as exc:
        reason = f"Redis unreachable at {url}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the Redis tests must run)")
        pytest.skip(f"{reason}; start it or set REGISTRY_TEST_REDIS")
    return server


@pytest.fixture
def hosts(app: Flask, tmp_path: Path) -> Iterator[tuple[Flask, Flask, str]]:
    """Two registry hosts over the label registry's database, configured as production is
    for several hosts (``REGISTRY_RATELIMIT_STORAGE=redis://…``), and an address of this run
    (Redis outlives the test, so no earlier run's count is seen); its keys are deleted after."""
    server = require_redis(REDIS)
    database_url = app.extensions[SETTINGS_KEY].database_url
    env: dict[str, Any] = {"ratelimit_storage": REDIS, "auth_failure_limit": "3 per 5 minutes"}
    first = create_app(make_settings(database_url, tmp_path / "one", **env))
    second = create_app(make_settings(database_url, tmp_path / "two", **env))
    address = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"
    try:
        yield first, second, address
    finally:
        for host in (first, second):
            with host.app_context():
                db.engine.dispose()
        for key in server.scan_iter(f"*{SCOPE}*{address}*"):
            server.delete(key)


def test_hosts_share_the_count_in_redis(hosts: tuple[Flask, Flask, str], world: LabelWorld) -> None:
    first, second, address = hosts
    one, two = first.test_client(), second.test_client()
    for _ in range(3):
        problem(me(one, BAD, address), 401, "unauthenticated")
    # Failures on the first host spend the address on the second.
    problem(me(two, world.operator, address), 429, "too-many-failures")
    retry_after(me(two, world.operator, address), 300)
    assert me(two, world.operator, ELSEWHERE).status_code == 200
    server = redis.Redis.from_url(REDIS)
    assert list(server.scan_iter(f"*{SCOPE}*{address}*")), "the counter is not in Redis"

"""No secret in what the registry leaves behind, on SQLite and PostgreSQL.

A live registry (gunicorn, demo loaded, its access log on) is used as people and machines use
it: tokens right and wrong, labels issued, a person invited who sets a password, signs in
(once with a wrong password), a PACT client takes a token (once with a wrong secret), the
operator and a regulator export the ledger, the labels and the audit views. Then every trace is
searched for every secret the run knew: the server's log, every response body, the exports, the
ledger's entries and the whole database's text. The secrets: the API tokens, the PACT client
secret and access token, the person's password, invitation link and session cookie, the
SECRET_KEY, the log key, the bundle key, the key-encryption key, and every body's signing key
(unsealed here, by the registry's own key store, as hex, base64 and multibase).
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

import tests.browser.server as live
from credentials import KeyPair
from registry import create_app
from registry.bodies.models import BodyKey
from registry.bodies.services import get_keystore
from registry.db import db
from tests.browser.flow import _payload
from tests.browser.server import LiveServer, live_server

PASSWORD = "nine silent ferries crossing"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A cookie-keeping HTTP client, as a person's browser is (no script)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.bodies: list[bytes] = []

    def go(
        self,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        data: bytes | None = None,
        *,
        delivers: bool = False,
    ) -> tuple[int, str]:
        """One request; its answer is searched afterwards unless it ``delivers`` a secret to
        its holder (the invitation page to the invited, a PACT token to its client)."""
        body = data if form is None else urllib.parse.urlencode(form).encode()
        url = self.base + path  # always http://127.0.0.1:…, the live server
        request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=30) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            payload, status = exc.read(), exc.code
        if not delivers:
            self.bodies.append(payload)
        return status, payload.decode("utf-8", "replace")

    def csrf(self, path: str, *, delivers: bool = False) -> str:
        _, page = self.go(path, delivers=delivers)
        found = _CSRF.search(page)
        assert found is not None, f"no CSRF token on {path}"
        return found.group(1)


def _exercise(server: LiveServer, browser: Browser) -> dict[str, str]:
    """Use the registry as its users do; the secrets this made or used, by name."""
    demo = server.demo
    token = demo.certifier_tokens["lingnan-pcc"]
    found: dict[str, str] = {}
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = _payload(8800 + secrets.randbelow(99), "41.8")
    status, _ = browser.go(
        "/api/v1/labels",
        data=json.dumps(request).encode(),
        headers={**bearer, "Idempotency-Key": secrets.token_hex(8)},
    )
    assert status == 201
    wrong = "clt_" + secrets.token_urlsafe(24)
    found["wrong token"] = wrong
    assert browser.go("/api/v1/labels", headers={"Authorization": f"Bearer {wrong}"})[0] == 401

    # A person: invited (as `flask people invite` prints it), sets a password, signs in.
    app = create_app(server.settings)
    email = f"trace-{secrets.token_hex(3)}@lingnan.example"
    result = app.test_cli_runner().invoke(
        args=["people", "invite", "--email", email, "--body", "lingnan-pcc", "--role", "signatory"]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"(/portal/invitation/[^\s]+)", result.output)
    assert link is not None
    found["invitation"] = link.group(1).rsplit("/", 1)[1]
    found["password"] = PASSWORD
    csrf = browser.csrf(link.group(1), delivers=True)
    status, _ = browser.go(
        link.group(1),
        {"password": PASSWORD, "confirm": PASSWORD, "csrf_token": csrf},
        delivers=True,
    )
    assert status == 200
    wrong_password = "eight wrong ferries " + secrets.token_hex(3)
    found["wrong password"] = wrong_password
    csrf = browser.csrf("/portal/sign-in")
    browser.go("/portal/sign-in", {"email": email, "password": wrong_password, "csrf_token": csrf})
    csrf = browser.csrf("/portal/sign-in")
    status, page = browser.go(
        "/portal/sign-in", {"email": email, "password": PASSWORD, "csrf_token": csrf}
    )
    assert status == 200
    assert email in page
    for cookie in browser.jar:
        found[f"cookie {cookie.name}"] = cookie.value or ""
    with app.app_context():
        db.engine.dispose()

    # A PACT data recipient takes a token, once with a wrong secret.
    client_id, client_secret = demo.pact_client
    found["PACT client secret"] = client_secret
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    status, answer = browser.go(
        "/auth/token",
        {"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        delivers=True,
    )
    assert status == 200, answer
    access = json.loads(answer)["access_token"]
    found["PACT access token"] = access
    bad = base64.b64encode(f"{client_id}:{secrets.token_urlsafe(16)}".encode()).decode()
    browser.go(
        "/auth/token",
        {"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {bad}"},
    )
    assert browser.go("/3/footprints", headers={"Authorization": f"Bearer {access}"})[0] == 200

    # The operator's and a regulator's exports and audit views.
    for who in (demo.operator_token, demo.regulator_token):
        for path in (
            "/api/v1/exports/ledger.jsonl",
            "/api/v1/exports/labels.csv",
            "/api/v1/audit/issuance",
            "/api/v1/audit/entries",
        ):
            status, _ = browser.go(path, headers={"Authorization": f"Bearer {who}"})
            assert status == 200, path
    browser.go("/ledger/tile/entries/000.p/7")
    return found


def _server_secrets(server: LiveServer) -> dict[str, str]:
    settings = server.settings
    found = {
        "SECRET_KEY": settings.secret_key,
        "REGISTRY_LOG_KEY": settings.log_key,
        "REGISTRY_LOG_KEY's key part": settings.log_key.rsplit("+", 1)[-1],
        "REGISTRY_BUNDLE_KEY": settings.bundle_key,
        "REGISTRY_KEK": settings.kek,
        "operator token": server.demo.operator_token,
        "regulator token": server.demo.regulator_token,
    }
    for code, token in server.demo.certifier_tokens.items():
        found[f"token of {code}"] = token
    app = create_app(settings)
    with app.app_context():
        try:
            store = get_keystore()
            for key in db.session.scalars(select(BodyKey).where(BodyKey.secret_box.is_not(None))):
                pair: KeyPair = store.open(
                    key.secret_box or b"", public_key_multibase=key.public_key_multibase
                )
                found[f"seed of key {key.id} (hex)"] = pair.seed.hex()
                found[f"seed of key {key.id} (base64)"] = base64.b64encode(pair.seed).decode()
                found[f"secret of key {key.id}"] = pair.secret_multibase
        finally:
            db.session.remove()
            db.engine.dispose()
    return found


def _database_text(server: LiveServer) -> str:
    """Every text and binary value of every table, as text (what a database copy holds)."""
    app = create_app(server.settings)
    parts: list[str] = []
    with app.app_context():
        try:
            for table in inspect(db.engine).get_table_names():
                rows = db.session.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
                for row in rows:
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            parts.append(bytes(value).decode("utf-8", "replace"))
                        elif value is not None:
                            parts.append(str(value))
        finally:
            db.session.remove()
            db.engine.dispose()
    return "\n".join(parts)


def test_no_secret_is_in_logs_answers_exports_the_ledger_or_the_database(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database_url
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"

    made = live.server_environment

    def with_access_log(**kwargs: Any) -> dict[str, str]:
        return {**made(**kwargs), "REGISTRY_LOG_LEVEL": "info"}

    monkeypatch.setattr(live, "server_environment", with_access_log)
    with live_server(backend, url, tmp_path / "server") as server:
        browser = Browser(server.base_url)
        used = _exercise(server, browser)
        known = {**_server_secrets(server), **used}
        log = server.log_path.read_text(encoding="utf-8", errors="replace")
        assert "POST /api/v1/labels" in log, "the access log is on"
        traces = {
            "the server's log": log,
            "the answers and exports": "\n".join(
                b.decode("utf-8", "replace") for b in browser.bodies
            ),
        }
        database = _database_text(server)
    # The database holds secrets only sealed or hashed; the log and every answer none at all.
    traces["the database"] = database
    leaks = [
        f"{name} in {where}"
        for name, value in known.items()
        if len(value) >= 8
        for where, haystack in traces.items()
        if value in haystack
    ]
    assert not leaks, leaks

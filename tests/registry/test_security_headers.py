"""Security headers on every response the registry gives, on SQLite and PostgreSQL: pages, API
JSON, problem answers, ledger tiles, static files, redirects; HSTS whenever the registry's
public address is HTTPS, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.db import db
from tests.registry.factories import make_settings

# Each kind of answer: a page, a redirect, API JSON, a problem, a tile, a static file, a portal
# page, the OpenAPI document, a PACT error, a GS1 resolver refusal.
PATHS = (
    "/",
    "/verify",
    "/lang/zh-Hant?next=/verify",
    "/api/v1/schemes",
    "/api/v1/labels/NOSUCHLBL",
    "/ledger/checkpoint",
    "/ledger/log-key",
    "/static/pages/site.css",
    "/portal/sign-in",
    "/api/v1/openapi.json",
    "/3/footprints",
    "/01/12345678901234",
    "/no/such/path",
)
EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _get(client: FlaskClient, path: str) -> tuple[int, dict[str, str]]:
    with client.get(path) as response:  # closes a streamed static file
        return response.status_code, dict(response.headers)


@pytest.mark.parametrize("path", PATHS)
def test_every_kind_of_answer_carries_the_headers_and_hsts_on_an_https_registry(
    client: FlaskClient, path: str
) -> None:
    status, headers = _get(client, path)
    assert status < 500, (path, status)
    for name, value in EVERY_RESPONSE.items():
        assert headers.get(name) == value, (path, name, headers)
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, (path, csp)
    # The test registry's public address is HTTPS: a browser must never come back in clear.
    assert headers.get("Strict-Transport-Security", "").startswith("max-age="), (path, headers)
    assert int(headers["Strict-Transport-Security"].split(";")[0].split("=")[1]) >= 31536000


def test_no_hsts_from_a_registry_served_over_plain_http(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        public_base_url="http://127.0.0.1:8000",
        log_origin="registry.example.test/carbon-label-log",
    )
    app: Flask = create_app(settings)
    try:
        client = app.test_client()
        status, headers = _get(client, "/verify")
        assert status == 200
        assert "Strict-Transport-Security" not in headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        # Behind a TLS proxy that says so, it is sent.
        with client.get("/verify", base_url="https://127.0.0.1:8000") as secure:
            assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        with app.app_context():
            db.engine.dispose()

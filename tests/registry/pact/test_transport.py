"""TLS for the PACT routes behind a reverse proxy, and plain HTTP in development."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask

from registry import create_app
from registry.db import db, transaction
from registry.pact.services import create_client
from tests.registry.factories import make_settings
from tests.registry.pact.support import basic


def _app(url: str, folder: Path, **settings: object) -> Flask:
    app = create_app(make_settings(url, folder, **settings))
    with app.app_context():
        flask_migrate.upgrade()
    return app


@pytest.fixture
def proxied(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    # The test client's peer is 127.0.0.1: here, the trusted reverse proxy.
    app = _app(fresh_database_url, tmp_path, trusted_proxies=("127.0.0.1",))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(app: Flask, base_url: str, headers: dict[str, str] | None = None) -> int:
    with app.app_context():
        with transaction():
            client, secret = create_client("proxy test")
        http = app.test_client()
        response = http.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client.client_id, secret) | (headers or {}),
            base_url=base_url,
        )
        if response.status_code == 200:
            token = response.get_json()["access_token"]
            listed = http.get(
                "/3/footprints",
                headers={"Authorization": f"Bearer {token}"} | (headers or {}),
                base_url=base_url,
            )
            assert listed.status_code == 200
            assert listed.get_json() == {"data": []}
        return response.status_code


def test_https_forwarded_by_a_trusted_proxy_counts(proxied: Flask) -> None:
    http = "http://registry.example.test"
    assert _token(proxied, http, {"X-Forwarded-Proto": "https"}) == 200
    assert _token(proxied, http) == 400
    assert _token(proxied, http, {"X-Forwarded-Proto": "http"}) == 400
    # The proxy's own value is the last one; a client's earlier "https" does not count.
    assert _token(proxied, http, {"X-Forwarded-Proto": "https, http"}) == 400


def test_plain_http_in_development(fresh_database_url: str, tmp_path: Path) -> None:
    app = _app(
        fresh_database_url,
        tmp_path,
        public_base_url="http://127.0.0.1:8000",
        log_origin="registry.example.test/carbon-label-log",  # the test log key's name
    )
    try:
        assert _token(app, "http://127.0.0.1:8000") == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

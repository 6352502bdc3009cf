"""``/api/docs`` over HTTP: its own strict policy, and every asset it names served from here."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from registry.api.docs import DOCS_CONTENT_SECURITY_POLICY


def _fetch(client: FlaskClient, path: str) -> tuple[int, str]:
    """Status and text of a static file, its file handle closed."""
    response = client.get(path)
    try:
        return response.status_code, response.get_data(as_text=True)
    finally:
        response.close()


def test_docs_page_has_a_strict_policy_and_loads_only_our_files(client: FlaskClient) -> None:
    response = client.get("/api/docs", headers={"Accept-Language": "pt-MO"})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == DOCS_CONTENT_SECURITY_POLICY
    policy = dict(part.strip().split(" ", 1) for part in DOCS_CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert '<html lang="pt-MO">' in html
    assert "<script>" not in html  # configured by a file, not an inline script
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in scripts)
    assert any(s.endswith("api-docs.js") for s in scripts)
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), asset
        if asset.startswith("/api/docs/static/") or asset.startswith("/static/"):
            assert _fetch(client, asset)[0] == 200, asset


def test_the_bundled_renderer_ships_with_its_licence(client: FlaskClient) -> None:
    status, licence = _fetch(client, "/api/docs/static/swagger-ui/LICENSE")
    assert status == 200
    assert "Apache License" in licence
    _, configuration = _fetch(client, "/api/docs/static/api-docs.js")
    assert "dataset.document" in configuration
    assert "http" not in configuration.replace('"use strict"', "")

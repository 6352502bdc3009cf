"""The OpenAPI document covers the resolver's routes (SQLite and PostgreSQL apps)."""

from __future__ import annotations

from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_the_resolver_routes_are_documented(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    paths = document["paths"]
    for path in ("/01/{gtin}", "/01/{gtin}/{qualifiers}"):
        get = paths[path]["get"]
        assert get["tags"] == ["gs1"]
        assert {"200", "300", "307", "400", "404"} <= set(get["responses"])
        names = {p["name"] for p in get["parameters"]}
        assert {"gtin", "linkType"} <= names
        assert ("qualifiers" in names) == path.endswith("{qualifiers}")
    assert "get" in paths["/.well-known/gs1resolver"]
    for artwork in ("qr.svg", "qr.png", "label.svg"):
        parameters = paths[f"/api/v1/labels/{{label_id}}/{artwork}"]["get"]["parameters"]
        (target,) = [p for p in parameters if p["name"] == "target"]
        assert target["schema"]["enum"] == ["label", "digital-link"]
        assert "issuer chose" in target["description"]


def test_the_qr_choice_at_issuance_is_documented(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    asked = schemas["LabelRequest"]["properties"]["qr"]
    assert asked["enum"] == ["label", "digital-link"]
    assert asked["default"] == "label"
    assert "GTIN" in asked["description"]
    assert schemas["Label"]["properties"]["qr"]["enum"] == ["label", "digital-link"]

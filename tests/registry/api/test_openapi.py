"""The OpenAPI document: valid OpenAPI 3.1, and every machine route is in it."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from registry.api.openapi import DOCUMENTED_PREFIXES


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi_3_1(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_machine_route_and_method_is_documented(app: Flask, client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in paths.get(_openapi_path(rule.rule), {}):
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes without an OpenAPI operation in their docstring: {missing}"


def test_schemas_referenced_by_name_become_components(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert {"Label", "LabelRequest", "StatusChange", "Problem", "InclusionProof"} <= set(schemas)
    footprint = schemas["Footprint"]["properties"]
    assert "value" in footprint


def test_every_operation_that_takes_a_token_documents_the_failure_limit(
    client: FlaskClient,
) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    limited = document["components"]["responses"]["TooManyFailures"]
    assert limited["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    example = limited["content"]["application/problem+json"]["example"]
    assert example["type"].endswith("/problems/too-many-failures")
    secured = [
        (path, method, operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert secured
    missing = [(p, m) for p, m, responses in secured if "429" not in responses]
    assert not missing
    public = document["paths"]["/api/v1/labels/{label_id}"]["get"]
    assert "429" not in public["responses"]

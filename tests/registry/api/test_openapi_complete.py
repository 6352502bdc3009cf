"""The OpenAPI document is complete, and stays so: every operation, parameter, field and
response carries what a reader and a client generator need (``documentation_gaps``), and every
example in it is valid against its own schema.

A route added later without an ``operationId``-worthy docstring, a field without
``metadata={"description": ...}``, or an answer without a schema fails here, with the place and
the missing piece named.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from marshmallow import Schema, fields

from credentials import RecognitionMapping
from registry import create_app
from registry.api.openapi import TAGS, build_openapi
from registry.api.openapi_check import documentation_counts, documentation_gaps
from tests.registry.factories import BASE_URL, make_settings


def _build(extra: Blueprint | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings("sqlite://", Path(folder)))
        if extra is not None:
            app.register_blueprint(extra)
        with app.app_context():
            return build_openapi(app)


DOCUMENT = _build()


def test_the_document_has_no_documentation_gaps() -> None:
    gaps = documentation_gaps(DOCUMENT)
    assert not gaps, f"{len(gaps)} gaps in the OpenAPI document:\n" + "\n".join(gaps)


def test_counts_agree_with_no_gaps() -> None:
    counts = documentation_counts(DOCUMENT)
    assert counts["operations"] > 50
    for total, part in (
        ("operations", "with operationId"),
        ("operations", "with tags"),
        ("operations", "with description"),
        ("operations with request body", "with request example"),
        ("fields", "fields with description"),
        ("parameters", "parameters with description"),
    ):
        assert counts[part] == counts[total], (part, counts)


def _examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if "example" in parameter:
                    name = f"{where} parameter {parameter['name']}"
                    found.append((name, parameter["schema"], parameter["example"]))
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += [(f"response {c}", r) for c, r in operation["responses"].items()]
            for name, body in bodies:
                for media, content in body.get("content", {}).items():
                    if "example" in content:
                        found.append(
                            (f"{where} {name} {media}", content["schema"], content["example"])
                        )
    for name, response in document["components"]["responses"].items():
        for media, content in response["content"].items():
            found.append((f"response {name} {media}", content["schema"], content["example"]))
    return found


@pytest.mark.parametrize(
    ("where", "schema", "example"),
    _examples(DOCUMENT),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_example_is_valid_against_its_schema(
    where: str, schema: dict[str, Any], example: Any
) -> None:
    validator = Draft202012Validator(
        {**schema, "components": DOCUMENT["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(example)
    ]
    assert not problems, f"{where}: the example does not fit its schema: {problems}"


def test_the_mapping_example_is_a_mapping_the_kit_reads() -> None:
    """The publish example is no placeholder: the kit reads it, and writes it back the same."""
    body = DOCUMENT["paths"]["/api/v1/recognition/mappings"]["post"]["requestBody"]
    example = body["content"]["application/json"]["example"]
    assert RecognitionMapping.from_json(example).to_json() == example


def test_every_declared_tag_is_used_and_described() -> None:
    used = {
        tag
        for item in DOCUMENT["paths"].values()
        for operation in item.values()
        for tag in operation.get("tags", [])
    }
    assert {t["name"] for t in DOCUMENT["tags"]} == set(TAGS) == used
    assert all(t["description"] for t in DOCUMENT["tags"])


def test_servers_name_the_configured_and_the_requested_base_url(client: FlaskClient) -> None:
    assert DOCUMENT["servers"][0]["url"] == BASE_URL
    served = client.get("/api/v1/openapi.json", base_url="http://staging.example:8080")
    urls = [server["url"] for server in served.get_json()["servers"]]
    assert urls == [BASE_URL, "http://staging.example:8080"]


class _UndocumentedSchema(Schema):
    colour = fields.String()


def test_a_route_added_without_documentation_is_named_with_what_it_lacks() -> None:
    """The completeness test can fail: a new blueprint with a bare operation shows up."""
    extra = Blueprint("extra", __name__, url_prefix="/api/v1")

    @extra.post("/widgets/<int:widget_id>")
    def paint_widget(widget_id: int) -> str:
        """Paint a widget.
        ---
        post:
          summary: Paint a widget
          tags: [widgets]
          parameters:
            - {in: query, name: coat, schema: {type: integer}}
          requestBody:
            content: {application/json: {schema: _UndocumentedSchema}}
          responses:
            200: {description: Painted}
        """
        return ""

    gaps = documentation_gaps(_build(extra))
    mine = [g for g in gaps if "/widgets/" in g or "_Undocumented" in g]
    where = "POST /api/v1/widgets/{widget_id}"
    assert f"{where}: tag 'widgets' is not declared in TAGS (registry/api/openapi.py)" in mine
    assert f"{where}: no description" in mine
    assert f"{where}: query parameter 'coat' has no description" in mine
    assert f"{where}: path parameter 'widget_id' has no description" in mine
    assert f"{where}: response 200 has no content (media type and schema)" in mine
    assert any(g.endswith(".colour: no description") for g in mine), mine

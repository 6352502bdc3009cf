"""The OpenAPI 3.1 document, built from the app's own routes and marshmallow schemas.

Each handler documents itself: the YAML after ``---`` in its docstring is its operation object,
naming request and response schemas by their marshmallow class name (``schema: LabelSchema``;
apispec finds the class in marshmallow's registry and adds it as a component). So the document
cannot drift from the routes: a route without a docstring operation would be missing from it,
and a test checks that none is.

What every operation of a kind can answer is added to it (:func:`_complete`: a body's 400, 413,
415 and 422, a token's 401 and 403, a path's 404, a 500), and path parameters take their
schema from their URL converter, so the document states every status code and accepts every
path the routes accept; ``tests/registry/api/test_openapi_conformance.py`` walks each operation
with hostile input to hold it to that.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.routing import Rule

from registry.api.idempotency import (
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BATCH_IDEMPOTENCY_KEY,
    MAX_IDEMPOTENCY_KEY,
)
from registry.auth.schemas import ApiTokenSchema
from registry.config import current_settings
from registry.errors import PROBLEM_PATH
from registry.labels.vc_api import VcStatusRequestSchema
from registry.pact.mapping import openapi_pointer

__all__ = ["DOCUMENTED_PREFIXES", "bp", "build_openapi"]

DOCUMENTED_PREFIXES = (
    "/api/v1/",
    "/credentials/",
    "/status-lists/",
    "/ledger/",
    "/trust-bundle",
    "/01/",
    "/.well-known/gs1resolver",
)
_METHODS = ("get", "post", "put", "patch", "delete")

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

# Shared problem responses: handlers write ``404: {$ref: '#/components/responses/NotFound'}``.
_PROBLEM_RESPONSES = {
    "BadRequest": "The request could not be understood (not JSON, say)",
    "Unauthenticated": "No valid API token",
    "Forbidden": "The token's role or body may not do this",
    "NotFound": "No such resource",
    "Conflict": "Contradicts the current state",
    "Unprocessable": "Invalid fields (see errors), or refused by a registry rule",
    "TooLarge": "The body exceeds the size limit",
    "UnsupportedMediaType": "The body is not JSON",
    "InternalError": "A bug on our side; the problem's error_id finds it in our logs",
}
_WRITES = ("post", "put", "patch")


def _idempotency_key(limit: int) -> dict[str, Any]:
    return {
        "in": "header",
        "name": "Idempotency-Key",
        "description": "Retrying with the same key and request replays the answer (200).",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": limit,
            "pattern": IDEMPOTENCY_KEY_PATTERN,
        },
    }


# Parameters a docstring names instead of spelling out (``parameters: [IdempotencyKey]``).
_SHARED_PARAMETERS = {
    "IdempotencyKey": _idempotency_key(MAX_IDEMPOTENCY_KEY),
    "BatchIdempotencyKey": _idempotency_key(MAX_BATCH_IDEMPOTENCY_KEY),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _complete(operation: dict[str, Any], method: str, rule: Rule) -> dict[str, Any]:
    """The operation with what every handler of its kind can answer, so no status code is
    left out: a body can be malformed (400), too large (413), not JSON (415) or invalid (422);
    a token missing (401) or of another role (403); a path value unknown (404); parameters
    invalid (422); and anything can fail (500). Path parameters are typed by their converter.
    """
    operation = {**operation, "responses": {str(k): v for k, v in operation["responses"].items()}}
    responses = operation["responses"]
    parameters = [
        dict(_SHARED_PARAMETERS[p] if isinstance(p, str) else p)
        for p in operation.get("parameters", [])
    ]
    wanted: list[tuple[str, str]] = [("500", "InternalError")]
    if method in _WRITES:
        wanted += [
            ("400", "BadRequest"),
            ("413", "TooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "Unprocessable"),
        ]
    if operation.get("security"):
        wanted += [("401", "Unauthenticated"), ("403", "Forbidden")]
    if rule.arguments:
        wanted.append(("404", "NotFound"))
    if any(p.get("in") in ("query", "header") for p in parameters):
        wanted.append(("422", "Unprocessable"))
    for code, name in wanted:
        responses.setdefault(code, _ref(name))
    converters: dict[str, Any] = rule._converters
    documented = {p["name"] for p in parameters if p.get("in") == "path"}
    for name in sorted(rule.arguments - documented):
        parameters.append({"in": "path", "name": name, "required": True})
    for parameter in parameters:
        converter = converters.get(parameter["name"]) if parameter.get("in") == "path" else None
        if converter is not None and hasattr(converter, "openapi"):
            parameter["schema"] = converter.openapi
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _override(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """A field's ``metadata["openapi"]``: JSON Schema apispec cannot derive (``const``, a
    member that is never valid, item constraints), applied last."""
    return dict(field.metadata.get("openapi", {}))


def build_openapi(app: Flask) -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Carbon-label registry API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": (
                "Issue, change and verify product carbon-label credentials (W3C VC 2.0 with "
                "Ed25519 Data Integrity proofs), and read the append-only ledger. Errors are "
                "RFC 9457 problem details whose type is the registry's page explaining it, "
                f"{{public base URL}}{PROBLEM_PATH}<slug>."
            )
        },
    )
    if plugin.converter is None:  # pragma: no cover - APISpec sets it
        raise RuntimeError("the marshmallow plugin was not initialised")
    plugin.converter.add_attribute_function(_override)  # type: ignore[no-untyped-call]
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "API token (clr_…)"}
    )
    spec.components.schema(
        "Problem",
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {"type": "object"},
            },
            "required": ["type", "title", "status"],
        },
    )
    for name, description in _PROBLEM_RESPONSES.items():
        spec.components.response(
            name,
            {
                "description": description,
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            },
        )
    by_path: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        for method in sorted(m.lower() for m in rule.methods or ()):
            if method in _METHODS and method in operations:
                operation = _complete(operations[method], method, rule)
                by_path.setdefault(_path(rule.rule), {})[method] = operation
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["x-pact"] = openapi_pointer(current_settings().public_base_url)  # PACT's own routes
    # Cross-field rules a schema states for the document (JSON Schema if/then).
    for name, schema in (("ApiToken", ApiTokenSchema), ("VcStatusRequest", VcStatusRequestSchema)):
        document["components"]["schemas"][name].update(schema.OPENAPI_RULES)
    return document


@bp.get("/openapi.json")
def get_openapi() -> ResponseReturnValue:
    """The OpenAPI document of this API.
    ---
    get:
      summary: This OpenAPI document
      tags: [meta]
      responses:
        200:
          description: OpenAPI 3.1
    """
    document = current_app.extensions.get("registry.openapi")
    if document is None:
        document = current_app.extensions["registry.openapi"] = build_openapi(current_app)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response

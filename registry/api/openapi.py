"""The OpenAPI 3.1 document, built from the app's own routes and marshmallow schemas.

Each handler documents itself: the YAML after ``---`` in its docstring is its operation object,
naming request and response schemas by their marshmallow class name (``schema: LabelSchema``;
apispec finds the class in marshmallow's registry and adds it as a component). So the document
cannot drift from the routes: a route without a docstring operation would be missing from it,
and a test checks that none is.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from registry.errors import PROBLEM_BASE

__all__ = ["DOCUMENTED_PREFIXES", "bp", "build_openapi"]

DOCUMENTED_PREFIXES = ("/api/v1/", "/credentials/", "/status-lists/", "/ledger/")
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
}


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def build_openapi(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Carbon-label registry API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Issue, change and verify product carbon-label credentials (W3C VC 2.0 with "
                "Ed25519 Data Integrity proofs), and read the append-only ledger. Errors are "
                f"RFC 9457 problem details whose type is {PROBLEM_BASE}<slug>."
            )
        },
    )
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
                by_path.setdefault(_path(rule.rule), {})[method] = operations[method]
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


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

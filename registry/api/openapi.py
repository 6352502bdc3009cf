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

Completeness is checked too (``registry/api/openapi_check.py``, run by
``tests/registry/api/test_openapi_complete.py``): every operation has an ``operationId`` (its
view function's name unless the docstring gives one), declared tags (:data:`TAGS`), a summary
and a description; every field a description (``metadata={"description": …}`` on the
marshmallow field, its one home); every parameter a description (:data:`PATH_PARAMETERS` and
:data:`QUERY_PARAMETERS` describe the common ones by name); every answer a schema, and every
JSON body an example. Examples are composed from the fields' own ``example`` metadata
(:func:`example_of`) unless the docstring states one, and each is validated against its schema,
so a field whose shape cannot be guessed (a pattern) must give one. Answers no marshmallow
schema dumps use :data:`SHARED_SCHEMAS`.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import Rule

from registry.api.idempotency import (
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BATCH_IDEMPOTENCY_KEY,
    MAX_IDEMPOTENCY_KEY,
)
from registry.api.openapi_examples import add_examples, example_of
from registry.auth.schemas import ApiTokenSchema
from registry.config import current_settings
from registry.errors import PROBLEM_PATH, problem_type
from registry.labels.vc_api import VcStatusRequestSchema
from registry.pact.mapping import openapi_pointer

__all__ = [
    "DOCUMENTED_PREFIXES",
    "PATH_PARAMETERS",
    "QUERY_PARAMETERS",
    "SHARED_SCHEMAS",
    "TAGS",
    "bp",
    "build_openapi",
    "example_of",
    "json_content",
]

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
    "BadRequest": (400, "bad-request", "The request could not be understood (not JSON, say)"),
    "Unauthenticated": (401, "unauthenticated", "No valid API token"),
    "Forbidden": (403, "forbidden", "The token's role or body may not do this"),
    "NotFound": (404, "not-found", "No such resource"),
    "Conflict": (409, "conflict", "Contradicts the current state"),
    "Unprocessable": (
        422,
        "validation-failed",
        "Invalid fields (see errors), or refused by a registry rule",
    ),
    "TooLarge": (413, "payload-too-large", "The body exceeds the size limit"),
    "UnsupportedMediaType": (415, "unsupported-media-type", "The body is not JSON"),
    "TooManyFailures": (
        429,
        "too-many-failures",
        "Too many failed tokens from this address: every token is refused until Retry-After",
    ),
    "InternalError": (
        500,
        "internal-error",
        "A bug on our side; the problem's error_id finds it in our logs",
    ),
}
_PROBLEM_DETAILS = {
    "Unauthenticated": "Send the API token as 'Authorization: Bearer clr_…'.",
    "NotFound": "No label 7Q2M9XK4TZ.",
    "Unprocessable": "Some fields are invalid; see errors.",
    "TooManyFailures": (
        "Too many failed authentications from your address; retry after 300 seconds."
    ),
}
_WRITES = ("post", "put", "patch")

# Every tag an operation may carry, with what it groups; a tag not listed here fails the
# completeness test (tests/registry/api/test_openapi_complete.py).
TAGS = {
    "labels": "Issue carbon labels, list them, change their status (certifiers), read one (anyone)",
    "artwork": "The QR code and the printable label of a label, as SVG or PNG",
    "schemes": "Label schemes, their rules and the rule versions that set the grade thresholds",
    "bodies": "Certification bodies and their accreditations (operator), read by anyone",
    "keys": "The signing keys of a certification body: add, rotate, retire",
    "tokens": "API tokens: issue and revoke (operator); who am I",
    "recognition": "Mutual-recognition mappings between schemes and regions",
    "audit": "What a regulator audits: ledger entries, issuance, status changes, findings",
    "reports": "Suspect labels reported by the public, triaged by regulators",
    "ledger": "The append-only ledger: signed checkpoints, entries, Merkle proofs, C2SP tiles",
    "status lists": "Bitstring Status List credentials (revocation and suspension)",
    "trust": "The signed trust bundle for verifying labels offline",
    "VC-API": "W3C VC-API: issue, verify and change the status of credentials",
    "batches": (
        "CSV label batches (certifiers): the template, the upload issued in the background all "
        "or none, its state and row errors, the issued labels as CSV and their artwork as ZIP"
    ),
    "gs1": (
        "The GS1 Digital Link resolver: /01/{GTIN} redirects to the product's current carbon "
        "label or answers its linkset; the resolver description file"
    ),
    "meta": "This document",
}

# Path parameters, described once (a docstring may still describe its own).
PATH_PARAMETERS: dict[str, tuple[str, Any]] = {
    "label_id": (
        "The label's code: 10 characters of Crockford base32, case-insensitive",
        "7Q2M9XK4TZ",
    ),
    "code": ("The code of the scheme or certification body", "cn-gd"),
    "body": ("The code of the certification body", "acme-cert"),
    "rule": ("The code of the rule, unique in its scheme", "electricity"),
    "version": ("The rule version", "2026.1"),
    "accreditation_id": ("The accreditation's registry id", 1),
    "mapping_id": ("The recognition mapping's id", "gd-to-hk-2026"),
    "report_id": ("The suspect report's registry id", 1),
    "token_id": ("The API token's registry id (never its secret)", 1),
    "public_key_multibase": (
        "The body's Ed25519 public key as a Multikey (multibase base58btc, z6Mk…)",
        "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ),
    "list_id": ("The status list's id", "1"),
    "level": ("The tile level (0 to 63), C2SP tlog-tiles", 0),
    "batch_id": ("The label batch's registry id (the upload's Location)", 1),
    "preparation_id": (
        "The preparation's id (32 hex digits), from POST /api/v1/labels/prepare",
        "5f0c8e2a9b7d4c1e8a6f3b2d1c0e9f8a",
    ),
    "gtin": (
        "The trade item's GTIN: 8, 12, 13 or 14 digits with a valid check digit, read as the "
        "GTIN-14 it pads to with leading zeros",
        "06901234567892",
    ),
    "rest": ("The tile index path, C2SP tlog-tiles (x001/x234/067, and .p/W for a partial)", "000"),
}


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
    "DryRun": {
        "in": "query",
        "name": "dry_run",
        "description": "`true`: check (a PACT footprint: map and check) and show what would be "
        "issued, writing nothing.",
        "schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


_MULTIBASE = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
# Schemas of answers no marshmallow schema dumps (the handler builds them), named here once so
# docstrings can refer to them (``schema: {$ref: '#/components/schemas/SignedTrustBundle'}``).
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    "BundleSignature": {
        "type": "object",
        "description": "An Ed25519 signature over the payload's RFC 8785 (JCS) bytes",
        "properties": {
            "alg": {"const": "Ed25519", "description": "The signature algorithm"},
            "key": {
                "type": "string",
                "description": "The signing key as a Multikey (see /trust-bundle/key)",
                "example": _MULTIBASE,
            },
            "value": {"type": "string", "description": "The signature value"},
        },
        "required": ["alg", "key", "value"],
    },
    "SignedTrustBundle": {
        "type": "object",
        "description": "What an offline verifier needs, signed by the registry's bundle key",
        "properties": {
            "payload": {
                "type": "object",
                "description": (
                    "bodies with their keys and accreditations, rules, statusLists, logKey, "
                    "ledger, schemes, mappings, checkpoint, registry, issued, validUntil"
                ),
                "additionalProperties": True,
                "example": {"registry": "https://registry.example", "bodies": []},
            },
            "signature": {
                "$ref": "#/components/schemas/BundleSignature",
                "description": "The registry's signature over the payload",
            },
        },
        "required": ["payload", "signature"],
    },
    "RecognitionMappingDocument": {
        "type": "object",
        "additionalProperties": True,
        "description": (
            "A recognition mapping revision in the kit's JSON form (credentials.recognition): "
            "source scheme, rules, versions and grades; target scheme or region; mode (table, "
            "recompute, value-only); conditions; period of effect; who approved it"
        ),
        "example": {
            "mappingId": "gd-to-hk-battery",
            "revision": 1,
            "source": {
                "scheme": "CN-GD",
                "rules": ["CN-GD-PCR-LIB"],
                "versions": {"minimum": "2026.1", "maximum": None},
                "grades": ["A", "B", "C"],
            },
            "target": {
                "scheme": "HK-CL",
                "region": "HK",
                "ruleId": "HK-CL-BATTERY",
                "ruleVersion": "2026.1",
            },
            "mode": "table",
            "table": {"A": "A", "B": "B", "C": "C"},
            "conversion": None,
            "conditions": {
                "standards": ["ISO 14067"],
                "systemBoundaries": ["cradle-to-gate"],
                "maxPeriodAgeDays": 730,
                "accreditationCategories": [],
                "minAssurance": None,
                "issuedFrom": None,
                "issuedUntil": None,
                "maxValidityDays": None,
            },
            "effectiveFrom": "2026-03-01T00:00:00Z",
            "effectiveUntil": None,
            "approvedBy": "HK Environment and Ecology Bureau",
            "agreementSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "transitive": False,
            "withdrawn": False,
        },
    },
    "TrustBundleKey": {
        "type": "object",
        "description": "The key trust bundles are signed with, to pin",
        "properties": {
            "alg": {"const": "Ed25519", "description": "The key's algorithm"},
            "publicKeyMultibase": {
                "type": "string",
                "description": "The public key as a Multikey (multibase base58btc)",
                "example": _MULTIBASE,
            },
            "registry": {
                "type": "string",
                "format": "uri",
                "description": "The registry's public base URL",
                "example": "https://registry.example",
            },
        },
        "required": ["alg", "publicKeyMultibase", "registry"],
    },
}


# Query parameters, described once by name (a docstring may still describe its own).
QUERY_PARAMETERS: dict[str, str] = {
    "after": "The page after this position (take it from `next`); -1 starts at the first",
    "limit": "How many items per page",
    "scheme": "Only what falls under this scheme (its code)",
    "body": "Only what concerns this certification body (its code)",
    "from": "From this instant, inclusive (RFC 3339 with an offset)",
    "to": "To this instant, exclusive (RFC 3339 with an offset)",
    "status": "Only items with this status",
    "start": "Index of the first ledger entry",
    "end": "Index after the last ledger entry",
    "index": "Index of the ledger entry to prove",
    "size": "Size of the tree to prove it in (a checkpoint's size)",
    "first": "The older tree size",
    "second": "The newer tree size",
    "event": "Only entries of this event kind, e.g. label.suspended",
    "by": "The length of each counting period",
    "severity": "Only findings of this severity",
    "lang": "The language of the label's text",
    "scale": "Pixels per QR module (2 to 32)",
    "gtin": "Only labels of this GTIN",
    "target": (
        "What the QR code encodes: the short label URL (label) or the product's GS1 Digital "
        "Link URI HTTPS://HOST/01/{GTIN-14} (digital-link), which the resolver redirects to the "
        "same page; without it, what the label's issuer chose (its qr)"
    ),
}
# Examples of required query parameters, by name.
_QUERY_EXAMPLES: dict[str, Any] = {
    "start": 0,
    "end": 10,
    "index": 0,
    "size": 42,
    "first": 10,
    "second": 42,
}


def json_content(schema: str | dict[str, Any], example: Any = None) -> dict[str, Any]:
    """An ``application/json`` content object for a schema (a component name or inline)."""
    body: dict[str, Any] = {
        "schema": {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    }
    if example is not None:
        body["example"] = example
    return {"application/json": body}


def _operation_id(view: Any, method: str, methods: int) -> str:
    """The view function's name (``get_label``, less a ``_view`` suffix); with the method
    prefixed when one view answers several. The completeness test checks they are unique."""
    name: str = view.__name__.removesuffix("_view")
    return f"{method}_{name}" if methods > 1 else name


def _complete(operation: dict[str, Any], method: str, rule: Rule) -> dict[str, Any]:
    """The operation with what every handler of its kind can answer, so no status code is
    left out: a body can be malformed (400), too large (413), not JSON (415) or invalid (422);
    a token missing (401), of another role (403) or refused unread after too many bad ones
    (429); a path value unknown (404); parameters invalid (422); and anything can fail (500).
    Path parameters are typed by their converter.
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
        wanted += [("401", "Unauthenticated"), ("403", "Forbidden"), ("429", "TooManyFailures")]
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
        if parameter.get("in") == "path" and parameter["name"] in PATH_PARAMETERS:
            description, example = PATH_PARAMETERS[parameter["name"]]
            parameter.setdefault("description", description)
            parameter.setdefault("example", example)
        if parameter.get("in") == "query" and parameter["name"] in QUERY_PARAMETERS:
            parameter.setdefault("description", QUERY_PARAMETERS[parameter["name"]])
            if parameter.get("required") and parameter["name"] in _QUERY_EXAMPLES:
                parameter.setdefault("example", _QUERY_EXAMPLES[parameter["name"]])
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
            "description": "An RFC 9457 problem: what went wrong, and what to do about it",
            "properties": {
                "type": {
                    "type": "string",
                    "format": "uri",
                    "description": "Stable URI of the kind of problem; it opens a page on it",
                },
                "title": {"type": "string", "description": "Short summary of the kind"},
                "status": {"type": "integer", "description": "The HTTP status code"},
                "detail": {"type": "string", "description": "What went wrong this time"},
                "instance": {"type": "string", "description": "The path of the request"},
                "error_id": {
                    "type": "string",
                    "description": "On a 500: the id that finds this error in the logs",
                },
                "errors": {
                    "type": "object",
                    "description": "On a 422: messages by field, nested like the request body",
                },
            },
            "required": ["type", "title", "status"],
        },
    )
    for name, (status, slug, description) in _PROBLEM_RESPONSES.items():
        example = {
            "type": problem_type(slug),
            "title": description,
            "status": status,
            "detail": _PROBLEM_DETAILS.get(name, description),
            "instance": "/api/v1/labels/7Q2M9XK4TZ",
        }
        if name == "Unprocessable":
            example["errors"] = {"footprint": {"value": ["Not a valid decimal."]}}
        headers = {}
        if status == 429:
            headers["Retry-After"] = {
                "description": "Seconds until this address's tokens are checked again",
                "schema": {"type": "integer", "minimum": 1},
            }
        spec.components.response(
            name,
            {
                "description": description,
                **({"headers": headers} if headers else {}),
                "content": {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"},
                        "example": example,
                    }
                },
            },
        )
    for name, shared in SHARED_SCHEMAS.items():
        spec.components.schema(name, shared)
    for tag, description in TAGS.items():
        spec.tag({"name": tag, "description": description})
    by_path: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        methods = [m for m in sorted(m.lower() for m in rule.methods or ()) if m in _METHODS]
        for method in methods:
            if method in operations:
                operation = _complete(operations[method], method, rule)
                operation.setdefault("operationId", _operation_id(view, method, len(methods)))
                by_path.setdefault(_path(rule.rule), {})[method] = operation
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["x-pact"] = openapi_pointer(current_settings().public_base_url)  # PACT's own routes
    document["servers"] = [
        {"url": current_settings().public_base_url, "description": "This registry"}
    ]
    add_examples(document)
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
      description: 'OpenAPI 3.1, built from the routes and their schemas; rendered at /api/docs.'
      tags: [meta]
      responses:
        200:
          description: OpenAPI 3.1
          content:
            application/json:
              schema: {type: object, additionalProperties: true, description: OpenAPI 3.1}
              example: {openapi: 3.1.0, info: {title: Carbon-label registry API, version: '1'}}
    """
    document = current_app.extensions.get("registry.openapi")
    if document is None:
        document = current_app.extensions["registry.openapi"] = build_openapi(current_app)
    # The configured public URL first; the address this request came to too, when it differs
    # (a staging host, a port-forward), so "Try it out" talks to the registry that answered.
    here = request.host_url.rstrip("/")
    servers = list(document["servers"])
    if all(server["url"] != here for server in servers):
        servers.append({"url": here, "description": "The address this document was read from"})
    response = jsonify({**document, "servers": servers})
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Vary"] = "Host"
    return response

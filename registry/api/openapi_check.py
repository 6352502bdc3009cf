"""How complete the OpenAPI document is: counts for the record, and what is missing, by name.

A document a client can be generated from, and a person can read, states for each operation an
``operationId``, declared tags, a summary and a description; a description on every parameter
and on every field of every schema; a schema and an example for every body it takes or gives;
and a description for every response. :func:`documentation_gaps` names each place that lacks
one, so the test that asserts there are none tells whoever adds a route what to write, and
where. ``bench/openapi_counts.py`` prints :func:`documentation_counts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["documentation_counts", "documentation_gaps"]

_METHODS = ("get", "post", "put", "patch", "delete")
# A 304 repeats nothing; a body of these types is bytes (an image, an archive), which has no
# JSON example.
_BODYLESS = {"204", "304"}
_BINARY = ("image/png", "image/jpeg", "image/webp", "application/octet-stream", "application/zip")


@dataclass(frozen=True)
class _Field:
    where: str  # "components.schemas.Label.properties.id", or an operation's inline schema
    schema: dict[str, Any]


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _resolve(document: dict[str, Any], thing: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in thing and isinstance(thing["$ref"], str) and thing["$ref"].startswith("#/"):
        node: Any = document
        for part in thing["$ref"][2:].split("/"):
            node = node[part]
        thing = node
    return thing


def _fields(where: str, schema: Any) -> Iterator[_Field]:
    """Every property of ``schema`` and of the inline schemas inside it (not through $ref: a
    referenced component is walked once, under its own name)."""
    if not isinstance(schema, dict):
        return
    for name, prop in schema.get("properties", {}).items():
        yield _Field(f"{where}.{name}", prop)
        yield from _fields(f"{where}.{name}", prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _fields(f"{where}[]", schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for n, part in enumerate(schema.get(key, [])):
            yield from _fields(f"{where}.{key}[{n}]", part)


def _all_fields(document: dict[str, Any]) -> Iterator[_Field]:
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield from _fields(f"schema {name}", schema)
    for label, operation in _operations(document):
        for code, response in operation.get("responses", {}).items():
            for media, content in response.get("content", {}).items():
                yield from _fields(f"{label} {code} {media}", content.get("schema"))
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            yield from _fields(f"{label} request {media}", content.get("schema"))


def _has_example(content: dict[str, Any]) -> bool:
    return "example" in content or bool(content.get("examples"))


def _bodies(
    document: dict[str, Any], operation: dict[str, Any]
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(status code, description, response object) of each response, refs resolved."""
    for code, response in operation.get("responses", {}).items():
        resolved = _resolve(document, response)
        yield str(code), resolved.get("description", ""), resolved


def documentation_gaps(document: dict[str, Any]) -> list[str]:
    """Each missing piece, as ``"<where>: <what is missing>"``; empty when complete."""
    gaps: list[str] = []
    declared = {tag["name"]: tag for tag in document.get("tags", [])}
    for tag in declared.values():
        if not tag.get("description"):
            gaps.append(f"tag {tag['name']!r}: no description")
    if not document.get("servers"):
        gaps.append("document: no servers entry")
    seen_ids: dict[str, str] = {}
    for label, operation in _operations(document):
        operation_id = operation.get("operationId")
        if not operation_id:
            gaps.append(f"{label}: no operationId")
        elif operation_id in seen_ids:
            gaps.append(
                f"{label}: operationId {operation_id!r} also used by {seen_ids[operation_id]}"
            )
        else:
            seen_ids[operation_id] = label
        if not operation.get("tags"):
            gaps.append(f"{label}: no tags")
        for tag in operation.get("tags", []):
            if tag not in declared:
                gaps.append(
                    f"{label}: tag {tag!r} is not declared in TAGS (registry/api/openapi.py)"
                )
        for key in ("summary", "description"):
            if not operation.get(key):
                gaps.append(f"{label}: no {key}")
        for parameter in operation.get("parameters", []):
            parameter = _resolve(document, parameter)
            name = f"{parameter.get('in')} parameter {parameter.get('name')!r}"
            if not parameter.get("description"):
                gaps.append(f"{label}: {name} has no description")
            if parameter.get("required") and "example" not in parameter:
                gaps.append(f"{label}: required {name} has no example")
        body = operation.get("requestBody")
        if body is not None:
            body = _resolve(document, body)
            for media, content in body.get("content", {}).items():
                if "schema" not in content:
                    gaps.append(f"{label}: request body {media} has no schema")
                if not _has_example(content):
                    gaps.append(f"{label}: request body {media} has no example")
        if not any(code.startswith("2") for code in operation.get("responses", {})):
            gaps.append(f"{label}: no success response")
        for code, description, response in _bodies(document, operation):
            if not description:
                gaps.append(f"{label}: response {code} has no description")
            content = (response or {}).get("content", {})
            if code in _BODYLESS:
                continue
            if not content:
                gaps.append(f"{label}: response {code} has no content (media type and schema)")
            for media, item in content.items():
                if "schema" not in item:
                    gaps.append(f"{label}: response {code} {media} has no schema")
                if code.startswith("2") and media not in _BINARY and not _has_example(item):
                    gaps.append(f"{label}: response {code} {media} has no example")
    for field in _all_fields(document):
        if not field.schema.get("description"):
            gaps.append(f"{field.where}: no description")
    return gaps


def documentation_counts(document: dict[str, Any]) -> dict[str, int]:
    """What the closing note of issue 12 compares before and after."""
    counts = dict.fromkeys(
        (
            "operations",
            "with operationId",
            "with tags",
            "with description",
            "fields",
            "fields with description",
            "parameters",
            "parameters with description",
            "responses",
            "responses with schema",
            "operations with request body",
            "with request example",
            "with response example",
        ),
        0,
    )
    for _label, operation in _operations(document):
        counts["operations"] += 1
        counts["with operationId"] += bool(operation.get("operationId"))
        counts["with tags"] += bool(operation.get("tags"))
        counts["with description"] += bool(operation.get("description"))
        for parameter in operation.get("parameters", []):
            counts["parameters"] += 1
            counts["parameters with description"] += bool(
                _resolve(document, parameter).get("description")
            )
        body = operation.get("requestBody")
        if body is not None:
            counts["operations with request body"] += 1
            counts["with request example"] += any(
                _has_example(c) for c in _resolve(document, body).get("content", {}).values()
            )
        example = False
        for code, _description, response in _bodies(document, operation):
            counts["responses"] += 1
            content = (response or {}).get("content", {})
            counts["responses with schema"] += bool(content) and all(
                "schema" in c for c in content.values()
            )
            example |= code.startswith("2") and any(_has_example(c) for c in content.values())
        counts["with response example"] += example
    for field in _all_fields(document):
        counts["fields"] += 1
        counts["fields with description"] += bool(field.schema.get("description"))
    return counts

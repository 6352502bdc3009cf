"""Examples for the OpenAPI document, composed from the schemas' own field examples.

Re-exported by :mod:`registry.api.openapi`, where the document is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["add_examples", "example_of"]

_METHODS = ("get", "post", "put", "patch", "delete")

# What a string of a given format looks like, where a field gives no example of its own.
_FORMAT_EXAMPLES = {
    "date-time": "2026-03-01T08:00:00Z",
    "date": "2026-03-01",
    "uri": "https://registry.example/l/7Q2M9XK4TZ",
    "email": "registry@example.org",
}


def example_of(
    document: dict[str, Any], schema: dict[str, Any], *, writing: bool, depth: int = 0
) -> Any:
    """An example of ``schema`` made from its fields' own examples (``metadata={"example":
    …}``), else their defaults, first enum member, or format; ``readOnly`` members are left
    out of what a client writes and ``writeOnly`` ones out of what it reads. The completeness
    test validates every example against its schema, so a field whose shape cannot be guessed
    (a pattern, say) has to state one."""
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    for key in ("example", "const", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), None)
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return example_of(document, schema[key][0], writing=writing, depth=depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth > 8:
            return {}
        skip = "readOnly" if writing else "writeOnly"
        return {
            name: example_of(document, prop, writing=writing, depth=depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if not prop.get(skip) and prop.get("not") != {}
        }
    if kind == "array":
        items = schema.get("items", {})
        return [example_of(document, items, writing=writing, depth=depth + 1)] if items else []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _FORMAT_EXAMPLES.get(schema.get("format", ""), "text")


def add_examples(document: dict[str, Any]) -> None:
    """An example on every JSON body that has a schema and none of its own."""
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            bodies = [(True, operation.get("requestBody", {}))]
            bodies += [(False, r) for r in operation["responses"].values()]
            for writing, body in bodies:
                for media, content in body.get("content", {}).items():
                    if "json" not in media or "schema" not in content:
                        continue
                    if "example" not in content and "examples" not in content:
                        content["example"] = example_of(
                            document, content["schema"], writing=writing
                        )

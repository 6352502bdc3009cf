"""Helpers every JSON handler shares."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from credentials import CredentialError, parse_json
from registry.errors import BadRequestError, UnsupportedMediaTypeError

__all__ = ["created", "json_body", "json_object"]


def json_body() -> Any:
    """The request's JSON, parsed with the kit's limits (size, depth, node count, no NaN)."""
    if not request.is_json:
        raise UnsupportedMediaTypeError("Send JSON with Content-Type: application/json.")
    try:
        return parse_json(request.get_data(cache=True))
    except CredentialError as exc:
        raise BadRequestError(f"The request body is not acceptable JSON: {exc}") from exc


def json_object() -> Any:
    """Like :func:`json_body`, but an empty body counts as ``{}`` (for action endpoints)."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


def created(payload: Any, location: str) -> ResponseReturnValue:
    """201 Created with the new resource and its ``Location``."""
    return jsonify(payload), 201, {"Location": location}

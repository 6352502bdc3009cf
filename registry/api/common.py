"""Helpers every JSON handler shares."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter, ValidationError

from credentials import CredentialError, parse_json
from registry.errors import BadRequestError, UnsupportedMediaTypeError
from registry.schemes.schemas import MAX_ID

__all__ = ["IdConverter", "created", "json_body", "json_object"]


class IdConverter(BaseConverter):
    """``<id:name>``: a row id, 0 to 2**63 - 1 in ASCII digits; anything else is a 404.

    werkzeug's ``int`` converter matches ``\\d``, which takes other scripts' digits, and has
    no upper bound, so a 20-digit id reached SQL as a BIGINT overflow (a 500).
    """

    regex = r"[0-9]{1,19}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()  # the rule does not match: 404
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


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

"""Helpers every JSON handler shares."""

from __future__ import annotations

from typing import Any

from flask import request

from credentials import CredentialError, parse_json
from registry.errors import BadRequestError

__all__ = ["json_body"]


def json_body() -> Any:
    """The request's JSON, parsed with the kit's limits (size, depth, node count, no NaN)."""
    if not request.is_json:
        raise BadRequestError("Send JSON with Content-Type: application/json.")
    try:
        return parse_json(request.get_data(cache=True))
    except CredentialError as exc:
        raise BadRequestError(f"The request body is not acceptable JSON: {exc}") from exc

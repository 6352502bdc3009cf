"""Helpers every JSON handler shares."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter, ValidationError

from credentials import (
    LABEL_ID_PATTERN,
    MAX_DOCUMENT_BYTES,
    CredentialError,
    LexicalError,
    parse_ascii_integer,
    parse_json,
)
from registry.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError
from registry.fields import MAX_ID

__all__ = [
    "CONVERTERS",
    "MAX_ROW_ID",
    "CodeConverter",
    "IdConverter",
    "LabelIdConverter",
    "MultibaseConverter",
    "created",
    "json_body",
    "json_object",
]


# Row ids (tokens, accreditations, …) are SQL INTEGER primary keys.
MAX_ROW_ID = 2**31 - 1


class IdConverter(BaseConverter):
    """``<id:name>``: a row id, 0 to 2**31 - 1 in ASCII digits; anything else is a 404.
    ``<id(max=…):name>`` for a BIGINT (at most 2**63 - 1).

    werkzeug's ``int`` converter matches ``\\d``, which takes other scripts' digits, and has
    no upper bound, so a 20-digit id reached SQL as an INTEGER overflow (a 500).
    """

    regex = f"[0-9]{{1,{len(str(MAX_ID))}}}"  # routing only; to_python applies the rule
    part_isolating = True

    def __init__(self, url_map: Any, max: int = MAX_ROW_ID) -> None:  # werkzeug's argument name
        super().__init__(url_map)
        self.max = min(max, MAX_ID)
        self.openapi = {"type": "integer", "minimum": 0, "maximum": self.max}

    def to_python(self, value: str) -> int:
        try:
            return parse_ascii_integer(value, maximum=self.max)
        except LexicalError:
            raise ValidationError() from None  # the rule does not match: 404

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


class _PatternConverter(BaseConverter):
    """A path segment that must match ``regex``; anything else is a 404 before any query (so
    a NUL or a 10 kB segment never reaches SQL), and a sibling route's literal segment
    (``/labels/batch``, ``/keys/rotate``) is never taken for a value."""

    part_isolating = True

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map)
        self.openapi = {"type": "string", "pattern": f"^{self.regex}$"}


class CodeConverter(_PatternConverter):
    """``<code:name>``: a scheme, body, rule, version or status-list code (see ``CODE``)."""

    regex = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"


class LabelIdConverter(_PatternConverter):
    """``<label:name>``: a label id, any case (the service normalises it)."""

    regex = LABEL_ID_PATTERN


class MultibaseConverter(_PatternConverter):
    """``<multibase:name>``: a base58btc multibase public key."""

    regex = r"z[1-9A-HJ-NP-Za-km-z]{1,63}"


CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter,
    "code": CodeConverter,
    "label": LabelIdConverter,
    "multibase": MultibaseConverter,
}


def json_body() -> Any:
    """The request's JSON, parsed as the kit parses documents (I-JSON: UTF-8, no member named
    twice, no lone surrogate, no NaN; size, depth and node-count limits)."""
    if not request.is_json:
        raise UnsupportedMediaTypeError("Send JSON with Content-Type: application/json.")
    data = request.get_data(cache=True)
    if len(data) > MAX_DOCUMENT_BYTES:  # within MAX_CONTENT_LENGTH, but beyond the parser's
        raise PayloadTooLargeError(f"The body exceeds {MAX_DOCUMENT_BYTES} bytes.")
    try:
        value = parse_json(data)
    except CredentialError as exc:
        raise BadRequestError(f"The request body is not acceptable JSON: {exc}") from exc
    return value


def json_object() -> Any:
    """Like :func:`json_body`, but an empty body counts as ``{}`` (for action endpoints)."""
    if not request.get_data(cache=True):
        return {}
    return json_body()


def created(payload: Any, location: str) -> ResponseReturnValue:
    """201 Created with the new resource and its ``Location``."""
    return jsonify(payload), 201, {"Location": location}

"""``/api/v1/me``: the presented token and what it may do. The YAML after ``---`` in the
docstring is the route's OpenAPI operation.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.auth.schemas import dump_me
from registry.auth.services import get_token

__all__ = ["bp"]

bp = Blueprint("me", __name__, url_prefix="/api/v1")


@bp.get("/me")
def me_view() -> ResponseReturnValue:
    """The presented token and what it may do (any token).
    ---
    get:
      summary: What the presented token may do
      description: >-
        Role, body (certifier) or schemes (regulator), the token's id and name, and `actions`:
        the things the registry would let it do, asked of the checks that enforce them.
      tags: [tokens]
      security: [{bearer: []}]
      responses:
        200: {description: The token, content: {application/json: {schema: ApiTokenSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
    """
    principal = current_principal()
    assert principal.token_id is not None  # noqa: S101 - the API's principals are tokens
    return jsonify(dump_me(get_token(principal.token_id), principal.capabilities()))

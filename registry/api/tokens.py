"""API tokens (operator only): the secret is shown once, at creation. The YAML after ``---``
in each docstring is the route's OpenAPI operation.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import created, json_object
from registry.auth.models import Role
from registry.auth.schemas import api_token_schema, dump_created_token, token_action_schema
from registry.auth.services import create_token, get_token, revoke_token

__all__ = ["bp"]

bp = Blueprint("tokens", __name__, url_prefix="/api/v1")


@bp.post("/tokens")
def create_token_view() -> ResponseReturnValue:
    """Create an API token; its secret is in this answer and nowhere else, ever (operator).
    ---
    post:
      summary: Create an API token
      description: >-
        The answer's `token` member is the secret. Only its hash is stored: it is shown in this
        answer and never again. A certifier token names one `body`, a regulator token `schemes`.
      tags: [tokens]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: ApiTokenSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: ApiTokenSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    current_principal(Role.OPERATOR)
    data = api_token_schema.load(json_object())
    token, secret = create_token(
        role=data["role"], name=data["name"], body_code=data["body"], schemes=data["schemes"]
    )
    location = url_for(".get_token_view", token_id=token.id)
    return created(dump_created_token(token, secret), location)


@bp.get("/tokens/<id:token_id>")
def get_token_view(token_id: int) -> ResponseReturnValue:
    """A token's description, never its secret (operator).
    ---
    get:
      summary: An API token (without its secret)
      description: >
        Operator only: the token's name, role, binding and whether it is revoked; never its secret.
      tags: [tokens]
      parameters: [{in: path, name: token_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      responses:
        200: {description: The token, content: {application/json: {schema: ApiTokenSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    current_principal(Role.OPERATOR)
    return jsonify(api_token_schema.dump(get_token(token_id)))


@bp.post("/tokens/<id:token_id>/revoke")
def revoke_token_view(token_id: int) -> ResponseReturnValue:
    """Revoke a token at once; revoking a revoked token changes nothing (operator).
    ---
    post:
      summary: Revoke an API token
      description: 'Operator only, no body. From now on the token is refused everywhere.'
      tags: [tokens]
      parameters: [{in: path, name: token_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      responses:
        200: {description: The result, content: {application/json: {schema: ApiTokenSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    current_principal(Role.OPERATOR)
    token_action_schema.load(json_object())  # takes no input; refuses whatever is sent
    return jsonify(api_token_schema.dump(revoke_token(token_id)))

"""Recognition mappings: public reads; the operator or a regulator of the target scheme
publishes and withdraws. The YAML after ``---`` in each docstring is the route's OpenAPI
operation.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import created, json_object
from registry.auth.models import Role
from registry.errors import ValidationFailedError
from registry.recognition.models import MappingRevision
from registry.recognition.schemas import mapping_revision_schema
from registry.recognition.services import (
    current_mappings,
    mapping_revisions,
    publish_mapping,
    withdraw_mapping,
)

__all__ = ["bp"]

bp = Blueprint("recognition", __name__, url_prefix="/api/v1/recognition")


def _dump(row: MappingRevision) -> dict[str, Any]:
    return mapping_revision_schema.dump(row)  # type: ignore[no-any-return]


@bp.get("/mappings")
def list_mappings_view() -> ResponseReturnValue:
    """The newest revision of every mapping in force.
    ---
    get:
      summary: List the recognition mappings (newest revision of each)
      description: 'Public. Withdrawn mappings too with `withdrawn=true`.'
      tags: [recognition]
      parameters:
        - in: query
          name: withdrawn
          required: false
          description: "true: also the mappings that were withdrawn"
          schema: {type: string, enum: ["true", "false"]}
      responses:
        200:
          description: Each mapping's newest revision, by mapping id
          content: {application/json: {schema: {type: array, items: MappingRevisionSchema}}}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    flag = request.args.get("withdrawn", "false")
    if flag not in ("true", "false"):
        raise ValidationFailedError({"withdrawn": ["Use true or false."]})
    rows = current_mappings(include_withdrawn=flag == "true")
    return jsonify([_dump(row) for row in rows])


@bp.post("/mappings")
def publish_mapping_view() -> ResponseReturnValue:
    """Publish a mapping's next revision (operator, or a regulator of the target scheme).
    ---
    post:
      summary: Publish a recognition mapping (its next revision)
      description: >
        Operator, or a regulator of the target scheme. Ledgered as the mapping's next
        revision.
      tags: [recognition]
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/RecognitionMappingDocument'}}
      responses:
        201: {description: Published, content: {application/json: {schema: MappingRevisionSchema}}}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.OPERATOR, Role.REGULATOR)
    body = json_object()
    if not isinstance(body, dict):
        raise ValidationFailedError({"_schema": ["The mapping is a JSON object."]})
    row = publish_mapping(principal.actor, body)
    return created(_dump(row), url_for(".get_mapping_view", mapping_id=row.mapping_id))


@bp.get("/mappings/<code:mapping_id>")
def get_mapping_view(mapping_id: str) -> ResponseReturnValue:
    """Every revision of one mapping, oldest first.
    ---
    get:
      summary: A recognition mapping's revisions
      description: 'Public: every revision, oldest first.'
      tags: [recognition]
      parameters: [{in: path, name: mapping_id, required: true, schema: {type: string}}]
      responses:
        200:
          description: The revisions, oldest first
          content: {application/json: {schema: {type: array, items: MappingRevisionSchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify([_dump(row) for row in mapping_revisions(mapping_id)])


@bp.post("/mappings/<code:mapping_id>/withdraw")
def withdraw_mapping_view(mapping_id: str) -> ResponseReturnValue:
    """Withdraw a mapping from now on (its next revision, marked withdrawn).
    ---
    post:
      summary: Withdraw a recognition mapping
      description: >
        Operator, or a regulator of the target scheme. Ledgered, with the reason, as its last
        revision.
      tags: [recognition]
      security: [{bearer: []}]
      parameters: [{in: path, name: mapping_id, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [reason]
              properties:
                reason:
                  type: string
                  minLength: 1
                  maxLength: 1000
                  description: Why the mapping ends (ledgered, public)
                  example: Superseded by the 2026 agreement
      responses:
        201: {description: Withdrawn, content: {application/json: {schema: MappingRevisionSchema}}}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.OPERATOR, Role.REGULATOR)
    body = json_object()
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or set(body) != {"reason"}:
        raise ValidationFailedError({"reason": ["Required: why the mapping ends (text)."]})
    row = withdraw_mapping(principal.actor, mapping_id, reason)
    return created(_dump(row), url_for(".get_mapping_view", mapping_id=mapping_id))

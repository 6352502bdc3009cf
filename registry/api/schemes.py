"""Schemes, their rules and rule versions: public reads; the operator (or a regulator of the
scheme, for rule versions) writes. The YAML after ``---`` in each docstring is the route's
OpenAPI operation.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import created, json_object
from registry.auth.models import Role
from registry.errors import ForbiddenError
from registry.schemes.schemas import (
    rule_schema,
    rule_version_schema,
    scheme_detail_schema,
    scheme_schema,
)
from registry.schemes.services import (
    create_rule,
    create_scheme,
    get_rule,
    get_rule_version,
    get_scheme,
    list_schemes,
    publish_rule_version,
    with_rules,
)

__all__ = ["bp"]

bp = Blueprint("schemes", __name__, url_prefix="/api/v1")


@bp.get("/schemes")
def list_schemes_view() -> ResponseReturnValue:
    """All schemes.
    ---
    get:
      summary: List the schemes
      description: 'Public: every scheme, without its rules (read one scheme for those).'
      tags: [schemes]
      responses:
        200:
          description: Every scheme, by code
          content: {application/json: {schema: {type: array, items: SchemeSchema}}}
    """
    return jsonify(scheme_schema.dump(list_schemes(), many=True))


@bp.post("/schemes")
def create_scheme_view() -> ResponseReturnValue:
    """Register a scheme (operator).
    ---
    post:
      summary: Register a scheme
      description: 'Operator only. Ledgered. Rules and their versions are added afterwards.'
      tags: [schemes]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: SchemeSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: SchemeSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    scheme = create_scheme(actor=actor, **scheme_schema.load(json_object()))
    return created(scheme_schema.dump(scheme), url_for(".get_scheme_view", code=scheme.code))


@bp.get("/schemes/<code:code>")
def get_scheme_view(code: str) -> ResponseReturnValue:
    """A scheme with its rules and their versions.
    ---
    get:
      summary: A scheme with its rules and their versions
      description: 'Public: the scheme, its rules and each rule''s versions, oldest first.'
      tags: [schemes]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      responses:
        200: {description: The scheme, content: {application/json: {schema: SchemeSchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(scheme_detail_schema.dump(with_rules(get_scheme(code))))


@bp.post("/schemes/<code:code>/rules")
def create_rule_view(code: str) -> ResponseReturnValue:
    """Add a product category rule to a scheme (operator).
    ---
    post:
      summary: Add a product category rule to a scheme
      description: >
        Operator only. Ledgered; it grades nothing until a version is published.
      tags: [schemes]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: RuleSchema}}}
      responses:
        201: {description: Created; see Location, content: {application/json: {schema: RuleSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    rule = create_rule(actor=actor, scheme_code=code, **rule_schema.load(json_object()))
    location = url_for(".get_rule_view", code=code, rule=rule.code)
    return created(rule_schema.dump(rule), location)


@bp.get("/schemes/<code:code>/rules/<code:rule>")
def get_rule_view(code: str, rule: str) -> ResponseReturnValue:
    """A rule with its versions.
    ---
    get:
      summary: A rule with its versions
      description: 'Public: the rule and its versions, oldest first.'
      tags: [schemes]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: rule, required: true, schema: {type: string}}
      responses:
        200: {description: The rule, content: {application/json: {schema: RuleSchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(rule_schema.dump(get_rule(code, rule)))


@bp.post("/schemes/<code:code>/rules/<code:rule>/versions")
def publish_rule_version_view(code: str, rule: str) -> ResponseReturnValue:
    """Publish an immutable rule version (operator, or a regulator of the scheme).
    ---
    post:
      summary: Publish an immutable rule version
      description: >-
        Thresholds are the upper bounds of grades A to D in kgCO2e per declared unit, as
        decimal strings; times carry an offset. A published version never changes: a
        correction is a new version.
      tags: [schemes]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: rule, required: true, schema: {type: string}}
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: RuleVersionSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: RuleVersionSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.OPERATOR, Role.REGULATOR)
    if not principal.oversees(code):
        raise ForbiddenError(f"This regulator token does not oversee scheme {code!r}.")
    rv = publish_rule_version(
        actor=principal.actor,
        scheme_code=code,
        rule_code=rule,
        **rule_version_schema.load(json_object()),
    )
    location = url_for(".get_rule_version_view", code=code, rule=rule, version=rv.version)
    return created(rule_version_schema.dump(rv), location)


@bp.get("/schemes/<code:code>/rules/<code:rule>/versions/<code:version>")
def get_rule_version_view(code: str, rule: str, version: str) -> ResponseReturnValue:
    """One rule version.
    ---
    get:
      summary: One rule version
      description: 'Public: its declared unit, standard, period of force and grade thresholds.'
      tags: [schemes]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: rule, required: true, schema: {type: string}}
        - {in: path, name: version, required: true, schema: {type: string}}
      responses:
        200: {description: The version, content: {application/json: {schema: RuleVersionSchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(rule_version_schema.dump(get_rule_version(code, rule, version)))

"""The registry operator's JSON API: schemes, rules, bodies, accreditations, keys and tokens.

Reads are public (a register is public); every write needs an operator token, except that a
regulator may publish rule versions for the schemes it oversees. Each handler parses with a
schema, calls one service and dumps the result; ``transactional`` commits it all or nothing.
The YAML after ``---`` in each docstring is the route's OpenAPI operation.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from registry.api.auth import current_principal
from registry.auth.models import ApiToken, Role
from registry.auth.schemas import api_token_schema, dump_created_token
from registry.auth.services import create_token, revoke_token
from registry.bodies.models import BodyKey
from registry.bodies.schemas import (
    accreditation_schema,
    accreditation_status_change_schema,
    body_detail_schema,
    body_key_schema,
    body_schema,
    body_status_change_schema,
    key_action_schema,
)
from registry.bodies.services import (
    add_body_key,
    get_accreditation,
    get_body,
    grant_accreditation,
    list_bodies,
    register_body,
    retire_body_key,
    rotate_body_key,
    set_accreditation_status,
    set_body_status,
)
from registry.db import db, transactional
from registry.errors import ForbiddenError, NotFoundError
from registry.schemes.models import Rule, Scheme
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
)

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/api/v1")


def _json() -> Any:
    """The request's JSON document; an empty body counts as an empty object."""
    if not request.get_data(cache=True):
        return {}
    return request.get_json()


def _created(payload: dict[str, Any], location: str) -> ResponseReturnValue:
    return jsonify(payload), 201, {"Location": location}


# Reads the services do not offer yet (reported): a scheme's rules, and one token by id.
def _load_rules(scheme: Scheme) -> Scheme:
    stmt = select(Rule).where(Rule.scheme_id == scheme.id).order_by(Rule.code)
    set_committed_value(scheme, "rules", list(db.session.execute(stmt).scalars()))
    return scheme


def _get_token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"There is no token {token_id}.")
    return token


def _find_key(body_code: str, public_key_multibase: str) -> BodyKey:
    for key in get_body(body_code).keys:
        if key.public_key_multibase == public_key_multibase:
            return key
    raise NotFoundError(f"{body_code} has no key {public_key_multibase}.")


# --- schemes, rules, rule versions ---------------------------------------------------------


@bp.get("/schemes")
@transactional
def list_schemes_view() -> ResponseReturnValue:
    """All schemes.
    ---
    get:
      summary: List the schemes
      tags: [schemes]
      responses:
        200:
          description: Every scheme, by code
          content: {application/json: {schema: {type: array, items: SchemeSchema}}}
    """
    return jsonify(scheme_schema.dump(list_schemes(), many=True))


@bp.post("/schemes")
@transactional
def create_scheme_view() -> ResponseReturnValue:
    """Register a scheme (operator).
    ---
    post:
      summary: Register a scheme
      tags: [schemes]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: SchemeSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: SchemeSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    scheme = create_scheme(**scheme_schema.load(_json()))
    return _created(scheme_schema.dump(scheme), url_for(".get_scheme_view", code=scheme.code))


@bp.get("/schemes/<code>")
@transactional
def get_scheme_view(code: str) -> ResponseReturnValue:
    """A scheme with its rules and their versions.
    ---
    get:
      summary: A scheme with its rules and their versions
      tags: [schemes]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      responses:
        200: {description: The scheme, content: {application/json: {schema: SchemeSchema}}}
        404:
          description: No such scheme
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(scheme_detail_schema.dump(_load_rules(get_scheme(code))))


@bp.post("/schemes/<code>/rules")
@transactional
def create_rule_view(code: str) -> ResponseReturnValue:
    """Add a product category rule to a scheme (operator).
    ---
    post:
      summary: Add a product category rule to a scheme
      tags: [schemes]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: RuleSchema}}}
      responses:
        201: {description: Created; see Location, content: {application/json: {schema: RuleSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    rule = create_rule(scheme_code=code, **rule_schema.load(_json()))
    location = url_for(".get_rule_view", code=code, rule=rule.code)
    return _created(rule_schema.dump(rule), location)


@bp.get("/schemes/<code>/rules/<rule>")
@transactional
def get_rule_view(code: str, rule: str) -> ResponseReturnValue:
    """A rule with its versions.
    ---
    get:
      summary: A rule with its versions
      tags: [schemes]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: rule, required: true, schema: {type: string}}
      responses:
        200: {description: The rule, content: {application/json: {schema: RuleSchema}}}
        404:
          description: No such scheme or rule
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(rule_schema.dump(get_rule(code, rule)))


@bp.post("/schemes/<code>/rules/<rule>/versions")
@transactional
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
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
        422: *problem
    """
    principal = current_principal(Role.OPERATOR, Role.REGULATOR)
    if not principal.oversees(code):
        raise ForbiddenError(f"This regulator token does not oversee scheme {code!r}.")
    rv = publish_rule_version(scheme_code=code, rule_code=rule, **rule_version_schema.load(_json()))
    location = url_for(".get_rule_version_view", code=code, rule=rule, version=rv.version)
    return _created(rule_version_schema.dump(rv), location)


@bp.get("/schemes/<code>/rules/<rule>/versions/<version>")
@transactional
def get_rule_version_view(code: str, rule: str, version: str) -> ResponseReturnValue:
    """One rule version.
    ---
    get:
      summary: One rule version
      tags: [schemes]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: rule, required: true, schema: {type: string}}
        - {in: path, name: version, required: true, schema: {type: string}}
      responses:
        200: {description: The version, content: {application/json: {schema: RuleVersionSchema}}}
        404:
          description: No such scheme, rule or version
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(rule_version_schema.dump(get_rule_version(code, rule, version)))


# --- certification bodies and accreditations -------------------------------------------------


@bp.get("/bodies")
@transactional
def list_bodies_view() -> ResponseReturnValue:
    """All certification bodies.
    ---
    get:
      summary: List the certification bodies
      tags: [bodies]
      responses:
        200:
          description: Every body, by code
          content: {application/json: {schema: {type: array, items: CertificationBodySchema}}}
    """
    return jsonify(body_schema.dump(list_bodies(), many=True))


@bp.post("/bodies")
@transactional
def register_body_view() -> ResponseReturnValue:
    """Register a certification body (operator).
    ---
    post:
      summary: Register a certification body
      tags: [bodies]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: CertificationBodySchema}}
      responses:
        201: {description: Created, content: {application/json: {schema: CertificationBodySchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    body = register_body(**body_schema.load(_json()))
    return _created(body_schema.dump(body), url_for(".get_body_view", code=body.code))


@bp.get("/bodies/<code>")
@transactional
def get_body_view(code: str) -> ResponseReturnValue:
    """A body with its accreditations and keys (public halves only).
    ---
    get:
      summary: A certification body with its accreditations and keys
      tags: [bodies]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      responses:
        200:
          description: The body; retired keys stay listed with the time they stopped
          content: {application/json: {schema: CertificationBodySchema}}
        404:
          description: No such body
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(body_detail_schema.dump(get_body(code)))


@bp.post("/bodies/<code>/status")
@transactional
def set_body_status_view(code: str) -> ResponseReturnValue:
    """Suspend, reinstate or withdraw a body (operator).
    ---
    post:
      summary: Suspend, reinstate or withdraw a certification body
      tags: [bodies]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: BodyStatusChangeSchema}}
      responses:
        200:
          description: The body as it is now
          content: {application/json: {schema: CertificationBodySchema}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    change = body_status_change_schema.load(_json())
    body = set_body_status(code, change["status"], reason=change["reason"])
    return jsonify(body_schema.dump(body))


@bp.post("/bodies/<code>/accreditations")
@transactional
def grant_accreditation_view(code: str) -> ResponseReturnValue:
    """Accredit a body for a scheme and product categories (operator).
    ---
    post:
      summary: Grant an accreditation
      tags: [bodies]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: AccreditationSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: AccreditationSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    data = accreditation_schema.load(_json())
    accreditation = grant_accreditation(body_code=code, scheme_code=data.pop("scheme"), **data)
    location = url_for(".get_accreditation_view", accreditation_id=accreditation.id)
    return _created(accreditation_schema.dump(accreditation), location)


@bp.get("/accreditations/<int:accreditation_id>")
@transactional
def get_accreditation_view(accreditation_id: int) -> ResponseReturnValue:
    """One accreditation.
    ---
    get:
      summary: One accreditation
      tags: [bodies]
      parameters: [{in: path, name: accreditation_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: The result, content: {application/json: {schema: AccreditationSchema}}}
        404:
          description: No such accreditation
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(accreditation_schema.dump(get_accreditation(accreditation_id)))


@bp.post("/accreditations/<int:accreditation_id>/status")
@transactional
def set_accreditation_status_view(accreditation_id: int) -> ResponseReturnValue:
    """Suspend, reinstate or withdraw an accreditation (operator).
    ---
    post:
      summary: Suspend, reinstate or withdraw an accreditation
      tags: [bodies]
      parameters: [{in: path, name: accreditation_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: AccreditationStatusChangeSchema}}
      responses:
        200: {description: The result, content: {application/json: {schema: AccreditationSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    change = accreditation_status_change_schema.load(_json())
    found = set_accreditation_status(accreditation_id, change["status"], reason=change["reason"])
    return jsonify(accreditation_schema.dump(found))


# --- signing keys ------------------------------------------------------------------------------


@bp.post("/bodies/<code>/keys")
@transactional
def add_body_key_view(code: str) -> ResponseReturnValue:
    """Add a key: generated and sealed by the registry, or a public key the body holds (operator).
    ---
    post:
      summary: Add a signing key
      description: >-
        An empty body (or {}) has the registry generate an Ed25519 key and keep its secret
        sealed under the key-encryption key; {"public_key_multibase": "z6Mk…"} registers a
        key whose secret the body holds. The secret is never returned.
      tags: [keys]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody: {content: {application/json: {schema: BodyKeySchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: BodyKeySchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    key, _ = add_body_key(code, **body_key_schema.load(_json()))
    return _created(body_key_schema.dump(key), _key_location(code, key))


@bp.post("/bodies/<code>/keys/rotate")
@transactional
def rotate_body_key_view(code: str) -> ResponseReturnValue:
    """Replace the body's active keys by a new registry-held key (operator).
    ---
    post:
      summary: Rotate the signing key
      description: The previous keys are retired, stay listed and keep verifying what they signed.
      tags: [keys]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      responses:
        201: {description: Created, content: {application/json: {schema: BodyKeySchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    key_action_schema.load(_json())  # takes no input; refuses whatever is sent
    key = rotate_body_key(code)
    return _created(body_key_schema.dump(key), _key_location(code, key))


@bp.get("/bodies/<code>/keys/<public_key_multibase>")
@transactional
def get_body_key_view(code: str, public_key_multibase: str) -> ResponseReturnValue:
    """One key of a body (its public half).
    ---
    get:
      summary: One signing key of a body
      tags: [keys]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: public_key_multibase, required: true, schema: {type: string}}
      responses:
        200: {description: The key, content: {application/json: {schema: BodyKeySchema}}}
        404:
          description: No such body or key
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
    """
    return jsonify(body_key_schema.dump(_find_key(code, public_key_multibase)))


@bp.post("/bodies/<code>/keys/<public_key_multibase>/retire")
@transactional
def retire_body_key_view(code: str, public_key_multibase: str) -> ResponseReturnValue:
    """Stop a key signing from now on (operator).
    ---
    post:
      summary: Retire a signing key
      tags: [keys]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: public_key_multibase, required: true, schema: {type: string}}
      security: [{bearer: []}]
      responses:
        200: {description: The result, content: {application/json: {schema: BodyKeySchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        409: *problem
    """
    current_principal(Role.OPERATOR)
    key_action_schema.load(_json())
    return jsonify(body_key_schema.dump(retire_body_key(code, public_key_multibase)))


def _key_location(code: str, key: BodyKey) -> str:
    return url_for(".get_body_key_view", code=code, public_key_multibase=key.public_key_multibase)


# --- API tokens --------------------------------------------------------------------------------


@bp.post("/tokens")
@transactional
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
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
        422: *problem
    """
    current_principal(Role.OPERATOR)
    data = api_token_schema.load(_json())
    token, secret = create_token(
        role=data["role"], name=data["name"], body_code=data["body"], schemes=data["schemes"]
    )
    location = url_for(".get_token_view", token_id=token.id)
    return _created(dump_created_token(token, secret), location)


@bp.get("/tokens/<int:token_id>")
@transactional
def get_token_view(token_id: int) -> ResponseReturnValue:
    """A token's description, never its secret (operator).
    ---
    get:
      summary: An API token (without its secret)
      tags: [tokens]
      parameters: [{in: path, name: token_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      responses:
        200: {description: The token, content: {application/json: {schema: ApiTokenSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
    """
    current_principal(Role.OPERATOR)
    return jsonify(api_token_schema.dump(_get_token(token_id)))


@bp.post("/tokens/<int:token_id>/revoke")
@transactional
def revoke_token_view(token_id: int) -> ResponseReturnValue:
    """Revoke a token at once; revoking a revoked token changes nothing (operator).
    ---
    post:
      summary: Revoke an API token
      tags: [tokens]
      parameters: [{in: path, name: token_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      responses:
        200: {description: The result, content: {application/json: {schema: ApiTokenSchema}}}
        401: &problem
          description: Problem details; the type URI names the error
          content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
        403: *problem
        404: *problem
    """
    current_principal(Role.OPERATOR)
    return jsonify(api_token_schema.dump(revoke_token(token_id)))

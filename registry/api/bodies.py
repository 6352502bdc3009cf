"""Certification bodies, accreditations and keys: public reads, operator writes. The YAML after
``---`` in each docstring is the route's OpenAPI operation.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import created, json_object
from registry.auth.models import Role
from registry.bodies.models import BodyKey
from registry.bodies.schemas import (
    accreditation_schema,
    accreditation_status_change_schema,
    accreditation_status_for,
    body_detail_schema,
    body_key_schema,
    body_schema,
    body_status_change_schema,
    body_status_for,
    key_action_schema,
)
from registry.bodies.services import (
    add_body_key,
    get_accreditation,
    get_body,
    get_body_key,
    grant_accreditation,
    list_bodies,
    register_body,
    retire_body_key,
    rotate_body_key,
    set_accreditation_status,
    set_body_status,
)

__all__ = ["bp"]

bp = Blueprint("bodies", __name__, url_prefix="/api/v1")


@bp.get("/bodies")
def list_bodies_view() -> ResponseReturnValue:
    """All certification bodies.
    ---
    get:
      summary: List the certification bodies
      description: >
        Public: every registered body, without accreditations and keys (read one body for those).
      tags: [bodies]
      responses:
        200:
          description: Every body, by code
          content: {application/json: {schema: {type: array, items: CertificationBodySchema}}}
    """
    return jsonify(body_schema.dump(list_bodies(), many=True))


@bp.post("/bodies")
def register_body_view() -> ResponseReturnValue:
    """Register a certification body (operator).
    ---
    post:
      summary: Register a certification body
      description: >
        Operator only. Ledgered; the body can issue once it has an active accreditation and a
        signing key.
      tags: [bodies]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: CertificationBodySchema}}
      responses:
        201: {description: Created, content: {application/json: {schema: CertificationBodySchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    body = register_body(actor=actor, **body_schema.load(json_object()))
    return created(body_schema.dump(body), url_for(".get_body_view", code=body.code))


@bp.get("/bodies/<code:code>")
def get_body_view(code: str) -> ResponseReturnValue:
    """A body with its accreditations and keys (public halves only).
    ---
    get:
      summary: A certification body with its accreditations and keys
      description: >
        Public: the body, every accreditation it holds and every signing key it has had (public
        halves only).
      tags: [bodies]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      responses:
        200:
          description: The body; retired keys stay listed with the time they stopped
          content: {application/json: {schema: CertificationBodySchema}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(body_detail_schema.dump(get_body(code)))


@bp.post("/bodies/<code:code>/status")
def set_body_status_view(code: str) -> ResponseReturnValue:
    """Suspend, reinstate or withdraw a body (operator).
    ---
    post:
      summary: Suspend, reinstate or withdraw a certification body
      description: >
        Operator only. Ledgered with the reason; while a body is not active it cannot issue, and
        withdrawal is final.
        The request shape of every status change: {"action": "suspend" | "reinstate" |
        "withdraw", "reason": "…"}; the earlier {"status": "suspended" | "active" |
        "withdrawn", "reason": "…"} is still accepted. Withdrawal is final.
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
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    change = body_status_change_schema.load(json_object())
    status = body_status_for(change["action"])
    body = set_body_status(code, status, reason=change["reason"], actor=actor)
    return jsonify(body_schema.dump(body))


@bp.post("/bodies/<code:code>/accreditations")
def grant_accreditation_view(code: str) -> ResponseReturnValue:
    """Accredit a body for a scheme and product categories (operator).
    ---
    post:
      summary: Grant an accreditation
      description: >
        Operator only. Ledgered. The scheme must exist; the categories are those the body may issue
        labels for under it.
      tags: [bodies]
      parameters: [{in: path, name: code, required: true, schema: {type: string}}]
      security: [{bearer: []}]
      requestBody: {required: true, content: {application/json: {schema: AccreditationSchema}}}
      responses:
        201: {description: Created, content: {application/json: {schema: AccreditationSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    data = accreditation_schema.load(json_object())
    accreditation = grant_accreditation(
        actor=actor, body_code=code, scheme_code=data.pop("scheme"), **data
    )
    location = url_for(".get_accreditation_view", accreditation_id=accreditation.id)
    return created(accreditation_schema.dump(accreditation), location)


@bp.get("/accreditations/<id:accreditation_id>")
def get_accreditation_view(accreditation_id: int) -> ResponseReturnValue:
    """One accreditation.
    ---
    get:
      summary: One accreditation
      description: 'Public: the scheme and categories it covers, its period and its status now.'
      tags: [bodies]
      parameters: [{in: path, name: accreditation_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: The result, content: {application/json: {schema: AccreditationSchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(accreditation_schema.dump(get_accreditation(accreditation_id)))


@bp.post("/accreditations/<id:accreditation_id>/status")
def set_accreditation_status_view(accreditation_id: int) -> ResponseReturnValue:
    """Suspend, reinstate or withdraw an accreditation (operator).
    ---
    post:
      summary: Suspend, reinstate or withdraw an accreditation
      description: >
        Operator only. Ledgered with the reason; a withdrawn accreditation cannot come back, and
        while it is not active its body cannot issue under it.
        The request shape of every status change: {"action": "suspend" | "reinstate" |
        "withdraw", "reason": "…"}; the earlier {"status": "suspended" | "active" |
        "withdrawn", "reason": "…"} is still accepted. Withdrawal is final.
      tags: [bodies]
      parameters: [{in: path, name: accreditation_id, required: true, schema: {type: integer}}]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: AccreditationStatusChangeSchema}}
      responses:
        200: {description: The result, content: {application/json: {schema: AccreditationSchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    change = accreditation_status_change_schema.load(json_object())
    status = accreditation_status_for(change["action"])
    found = set_accreditation_status(accreditation_id, status, reason=change["reason"], actor=actor)
    return jsonify(accreditation_schema.dump(found))


@bp.post("/bodies/<code:code>/keys")
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
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    key, _ = add_body_key(code, actor=actor, **body_key_schema.load(json_object()))
    return created(body_key_schema.dump(key), _key_location(code, key))


@bp.post("/bodies/<code:code>/keys/rotate")
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
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    actor = current_principal(Role.OPERATOR).actor
    key_action_schema.load(json_object())  # takes no input; refuses whatever is sent
    key = rotate_body_key(code, actor=actor)
    return created(body_key_schema.dump(key), _key_location(code, key))


@bp.get("/bodies/<code:code>/keys/<multibase:public_key_multibase>")
def get_body_key_view(code: str, public_key_multibase: str) -> ResponseReturnValue:
    """One key of a body (its public half).
    ---
    get:
      summary: One signing key of a body
      description: 'Public: the key''s did:key and verification method, and when it was active.'
      tags: [keys]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: public_key_multibase, required: true, schema: {type: string}}
      responses:
        200: {description: The key, content: {application/json: {schema: BodyKeySchema}}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(body_key_schema.dump(get_body_key(code, public_key_multibase)))


@bp.post("/bodies/<code:code>/keys/<multibase:public_key_multibase>/retire")
def retire_body_key_view(code: str, public_key_multibase: str) -> ResponseReturnValue:
    """Stop a key signing from now on (operator).
    ---
    post:
      summary: Retire a signing key
      description: >
        Operator only, no body. Ledgered; a retired key signs nothing more, and labels it signed
        stay valid.
      tags: [keys]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
        - {in: path, name: public_key_multibase, required: true, schema: {type: string}}
      security: [{bearer: []}]
      responses:
        200: {description: The result, content: {application/json: {schema: BodyKeySchema}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
    """
    actor = current_principal(Role.OPERATOR).actor
    key_action_schema.load(json_object())
    return jsonify(body_key_schema.dump(retire_body_key(code, public_key_multibase, actor=actor)))


def _key_location(code: str, key: BodyKey) -> str:
    return url_for(".get_body_key_view", code=code, public_key_multibase=key.public_key_multibase)

"""Two-step issuance for a body that holds its own key: prepare, then submit it signed.

See :mod:`registry.labels.held`. The YAML after ``---`` in each docstring is the route's
OpenAPI operation.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import created, json_body
from registry.api.labels import label_issued
from registry.auth.models import Role
from registry.labels.held import get_preparation, prepare_label, submit_signed_label
from registry.labels.schemas import label_request_schema, label_schema, preparation_schema

__all__ = ["bp"]

bp = Blueprint("preparations", __name__, url_prefix="/api/v1/labels")


@bp.post("/prepare")
def prepare_label_view() -> ResponseReturnValue:
    """Prepare a label's credential for the body to sign with its own key.
    ---
    post:
      summary: Prepare a label for a body that holds its own key
      description: >
        For a body whose signing key is its own (registered by its public key; the registry
        holds no secret of it). The same request as `POST /api/v1/labels`, and the same checks
        (body, accreditation, rule version in force, plausibility, grade); the answer is the
        unsigned credential exactly as the registry would sign it, its label id and status
        entries reserved, and the proof options to sign it with (`signing`). Sign it as it is
        (`carbonlabel sign preparation.json --secret-key …` reads the options itself) and POST
        it to `submit` before `expires_at` (15 minutes). Nothing is ledgered until then.
      tags: [labels]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: LabelRequestSchema}}
      responses:
        201:
          description: Prepared
          content: {application/json: {schema: PreparationSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    data = json_body()
    label_request = label_request_schema.load(data)
    preparation = prepare_label(principal, label_request, sent=data)
    location = url_for(".get_preparation_view", preparation_id=preparation.id)
    return created(preparation_schema.dump(preparation), location)


@bp.get("/preparations/<code:preparation_id>")
def get_preparation_view(preparation_id: str) -> ResponseReturnValue:
    """A preparation of the certifier's body.
    ---
    get:
      summary: Read a preparation
      description: >
        The certifier's own body's preparation, as prepared (another body's is not found).
      tags: [labels]
      security: [{bearer: []}]
      parameters: [{in: path, name: preparation_id, required: true, schema: {type: string}}]
      responses:
        200:
          description: The preparation
          content: {application/json: {schema: PreparationSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    principal = current_principal(Role.CERTIFIER)
    return jsonify(preparation_schema.dump(get_preparation(principal, preparation_id)))


@bp.post("/preparations/<code:preparation_id>/signed")
def submit_signed_label_view(preparation_id: str) -> ResponseReturnValue:
    """Submit the prepared credential signed with the body's own key; it is issued.
    ---
    post:
      summary: Submit a prepared credential signed by the body
      description: >
        The body is the signed credential itself. It must be the prepared credential unchanged
        apart from its proof (any other member changed is refused, each named under
        `members`), with one proof made with the preparation's `signing` options that verifies
        under the body's own key. The request goes through issuance's checks again; the label
        is then stored and ledgered as any label (201). The same signed credential sent again
        answers the label again (200, Idempotent-Replayed); anything else for a preparation
        already submitted is a conflict, and an expired preparation is refused
        (preparation-expired).
      tags: [labels]
      security: [{bearer: []}]
      parameters: [{in: path, name: preparation_id, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: true
              description: The prepared credential with the body's proof
            example:
              "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/carbon-label/v1"]
              id: https://registry.example/l/7Q2M9XK4TZ
              type: [VerifiableCredential, CarbonLabelCredential]
              proof: {type: DataIntegrityProof, cryptosuite: eddsa-rdfc-2022}
      responses:
        201:
          description: Issued
          content: {application/json: {schema: LabelSchema}}
        200:
          description: Replayed (this signed credential was submitted before)
          content: {application/json: {schema: LabelSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    result = submit_signed_label(principal, preparation_id, json_body())
    return label_issued(label_schema.dump(result.label), result.label.id, created=result.created)

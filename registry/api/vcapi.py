"""The W3C VC-API endpoints, so standard VC tooling can issue, verify and update status."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from credentials import CheckStatus, parse_json
from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.api.idempotency import idempotency_key, request_hash
from registry.auth.models import Role
from registry.errors import BadRequestError, ValidationFailedError
from registry.labels.grouping import issue_grouped
from registry.labels.issuance import IssueItem
from registry.labels.services import change_label_status
from registry.labels.vc_api import vc_issue_request_schema, vc_status_request_schema
from registry.labels.verification import verify_credential

__all__ = ["bp"]

bp = Blueprint("vcapi", __name__, url_prefix="/credentials")


@bp.post("/issue")
def issue() -> ResponseReturnValue:
    """VC-API issueCredential.
    ---
    post:
      summary: Issue a CarbonLabelCredential (VC-API)
      description: >
        The body is {"credential": unsecured CarbonLabelCredential, "options": {}}; the
        credential's subject gives product, footprint and rule. The registry sets id, issuer,
        validFrom, grade, status entries and proof. Idempotency-Key works as on /api/v1/labels.
      tags: [VC-API]
      security: [{bearer: []}]
      parameters:
        - IdempotencyKey
      requestBody:
        required: true
        content: {application/json: {schema: VcIssueRequestSchema}}
      responses:
        201: {description: '{"verifiableCredential": signed credential}'}
        200: {description: Replayed (same Idempotency-Key and request)}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    body = json_body()
    key = idempotency_key()
    label_request = vc_issue_request_schema.load(body)
    item = IssueItem(label_request, idempotency_key=key, request_hash=request_hash(label_request))
    # The same path as /api/v1/labels, group commit included.
    result = issue_grouped(principal, item, lambda label: parse_json(label.credential))
    response = jsonify({"verifiableCredential": result.label})
    response.status_code = 201 if result.created else 200
    return response


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """VC-API verifyCredential, against the register.
    ---
    post:
      summary: Verify a credential (VC-API)
      description: >
        Every check is made against the register: proof, issuer key, accreditation, rule,
        grade, revocation, suspension, validity, ledger inclusion. `verified` is true only if
        all passed; `report` gives each check with its machine `outcome` (the verdict is
        computed from outcomes only), a translatable `message` id with string `params`, and
        its `reason` in English.
      tags: [VC-API]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [verifiableCredential]
              additionalProperties: false
              properties:
                verifiableCredential: {type: object}
                options: {type: object}
      responses:
        200: {description: '{"verified", "verdict", "checks", "warnings", "errors", "report"}'}
        400: {$ref: '#/components/responses/BadRequest'}
        413: {$ref: '#/components/responses/TooLarge'}
    """
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("verifiableCredential"), dict):
        raise BadRequestError('Send {"verifiableCredential": {…}, "options": {…}}.')
    unknown = set(body) - {"verifiableCredential", "options"}
    if unknown:
        raise ValidationFailedError({key: ["Unknown field."] for key in sorted(unknown)})
    if not isinstance(body.get("options", {}), dict):
        raise ValidationFailedError({"options": ["Must be a JSON object."]})
    report = verify_credential(body["verifiableCredential"])
    return jsonify(
        {
            "verified": report.verified,
            "verdict": report.verdict.value,
            "checks": [c.name.value for c in report.checks if c.status is CheckStatus.PASSED],
            "warnings": [
                f"{c.name.value}: {c.reason}"
                for c in report.checks
                if c.status is CheckStatus.NOT_CHECKED
            ],
            "errors": [
                f"{c.name.value}: {c.reason}"
                for c in report.checks
                if c.status is CheckStatus.FAILED
            ],
            "report": report.to_json(),
        }
    )


@bp.post("/status")
def update_status() -> ResponseReturnValue:
    """VC-API updateCredentialStatus.
    ---
    post:
      summary: Set or clear a label's revocation or suspension status (VC-API)
      description: >
        {"credentialId": label URL or id, "credentialStatus": {"type":
        "BitstringStatusListEntry", "statusPurpose": "revocation" | "suspension"}, "status":
        true | false, "reason": "…"}. Revocation cannot be cleared.
      tags: [VC-API]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: VcStatusRequestSchema}}
      responses:
        200: {description: Status updated}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER, Role.OPERATOR)
    change = vc_status_request_schema.load(json_body())
    label = change_label_status(
        principal, change["label_id"], change["action"], reason=change["reason"]
    )
    return jsonify({"credentialId": f"{label.id}", "status": label.status.value})

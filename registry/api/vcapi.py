"""The W3C VC-API endpoints, so standard VC tooling can issue, verify and update status."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from credentials import parse_json, recognise_label
from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.api.idempotency import idempotency_key, request_hash
from registry.auth.models import Role
from registry.clock import current_clock
from registry.errors import BadRequestError, UnknownOptionError, ValidationFailedError
from registry.labels.grouping import issue_grouped
from registry.labels.issuance import IssueItem
from registry.labels.services import change_label_status
from registry.labels.vc_api import vc_issue_request_schema, vc_status_request_schema
from registry.labels.vcalm import vcalm_result
from registry.labels.verification import trust_for, verify_credential
from registry.schemes.schemas import REGION

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
        201: &issued
          description: Issued
          content:
            application/json:
              schema:
                type: object
                properties:
                  verifiableCredential:
                    type: object
                    additionalProperties: true
                    description: The signed CarbonLabelCredential (DataIntegrityProof)
                example:
                  verifiableCredential:
                    id: https://registry.example/l/7Q2M9XK4TZ
                    type: [VerifiableCredential, CarbonLabelCredential]
        200:
          <<: *issued  # the same answer, replayed
          description: Replayed (same Idempotency-Key and request)
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


_OPTIONS = frozenset({"returnResults", "returnProblemDetails", "returnCredential", "region"})


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """VC-API (VCALM) verifyCredential, against the register.
    ---
    post:
      summary: Verify a credential (VC-API), optionally for a region
      description: >
        Every check is made against the register: proof, issuer key, accreditation, rule,
        grade, revocation, suspension, validity, ledger inclusion. The answer has the VCALM
        shape, `{verified, credential?, problemDetails[], results{proof[], credentialStatus[],
        validFrom, validUntil}}`; `verified` is true only if every check passed. Options:
        `returnResults`, `returnProblemDetails` (both true unless set false),
        `returnCredential` (false unless set), and `region` (HK, MO, CN-SH, EU…), which adds a
        `recognition` answer from the register's recognition mappings. An unknown option is
        refused with the VCALM problem type UNKNOWN_OPTION_PROVIDED. Alongside, `verdict` and
        `report` give our ordered check list: each check's machine `outcome`, a translatable
        `message` id with string `params`, and its `reason` in English.
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
                verifiableCredential:
                  type: object
                  description: The credential to verify, as received
                options:
                  type: object
                  additionalProperties: false
                  description: What to return, and for which region
                  properties:
                    returnResults: {type: boolean, description: Return each check (default true)}
                    returnProblemDetails:
                      type: boolean
                      description: Return the failed checks as problems (default true)
                    returnCredential:
                      type: boolean
                      description: Echo the credential (default false)
                    region:
                      type: string
                      minLength: 2
                      maxLength: 16
                      description: Also say whether and how it is recognised there (HK, MO, EU…)
            example:
              verifiableCredential:
                id: https://registry.example/l/7Q2M9XK4TZ
                type: [VerifiableCredential, CarbonLabelCredential]
              options: {region: HK}
      responses:
        200:
          description: The verification answer
          content:
            application/json:
              schema:
                type: object
                additionalProperties: true
                properties:
                  verified: {type: boolean, description: Every required check passed}
                  verdict:
                    type: string
                    description: genuine, suspended, superseded, revoked, expired, not_genuine…
                  results:
                    type: object
                    additionalProperties: true
                    description: >-
                      What was checked, by member of the credential (VCALM): proof and
                      credentialStatus list each entry with verified and input (a status entry
                      also its bit as value); validFrom and validUntil are each
                      {verified, input}
                    properties:
                      proof:
                        type: array
                        description: Each proof, verified or not
                        items: {type: object, additionalProperties: true, description: A proof}
                      credentialStatus:
                        type: array
                        description: Each status entry, verified or not, with its bit
                        items: {type: object, additionalProperties: true, description: An entry}
                      validFrom:
                        type: object
                        additionalProperties: true
                        description: Whether validFrom holds
                      validUntil:
                        type: object
                        additionalProperties: true
                        description: Whether validUntil holds
                  problemDetails:
                    type: array
                    items: {type: object, additionalProperties: true, description: A problem}
                    description: The failed checks as problem details
                  report: {type: object, additionalProperties: true, description: The full report}
                  credential:
                    type: object
                    additionalProperties: true
                    description: The credential (returnCredential)
                  recognition:
                    type: object
                    additionalProperties: true
                    description: How it is recognised in the region asked for
              example:
                verified: true
                verdict: genuine
                results: {proof: [], credentialStatus: []}
                problemDetails: []
        400: {$ref: '#/components/responses/BadRequest'}
        413: {$ref: '#/components/responses/TooLarge'}
    """
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("verifiableCredential"), dict):
        raise BadRequestError('Send {"verifiableCredential": {…}, "options": {…}}.')
    unknown = set(body) - {"verifiableCredential", "options"}
    if unknown:
        raise ValidationFailedError({key: ["Unknown field."] for key in sorted(unknown)})
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise ValidationFailedError({"options": ["Must be a JSON object."]})
    if strange := sorted(set(options) - _OPTIONS):
        raise UnknownOptionError(
            f"Unknown option {strange[0]!r}; this verifier knows {', '.join(sorted(_OPTIONS))}."
        )
    flags = {name: options.get(name) for name in _OPTIONS - {"region"}}
    if any(value is not None and not isinstance(value, bool) for value in flags.values()):
        raise ValidationFailedError(
            {
                "options": [
                    "returnResults, returnProblemDetails and returnCredential are true or false."
                ]
            }
        )
    region = options.get("region")
    if region is not None and (not isinstance(region, str) or not REGION.match(region)):
        raise ValidationFailedError({"options": ["region is a region code: HK, MO, CN-SH, EU…"]})
    credential = body["verifiableCredential"]
    trust = trust_for(credential)
    report = verify_credential(credential, trust=trust)
    answer = vcalm_result(
        report,
        credential,
        results=flags["returnResults"] is not False,
        problems=flags["returnProblemDetails"] is not False,
        echo=flags["returnCredential"] is True,
    )
    if region is not None:
        at = current_clock().now()
        answer["recognition"] = recognise_label(report, trust, region, at=at).to_json()
    return jsonify(answer)


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
        200:
          description: Status updated
          content:
            application/json:
              schema:
                type: object
                properties:
                  credentialId: {type: string, description: The label's code}
                  status: {type: string, description: The label's status now}
              example: {credentialId: 7Q2M9XK4TZ, status: suspended}
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

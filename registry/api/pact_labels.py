"""PACT in: a certifier issues labels from PACT ProductFootprints, one or a batch.

The same token, role, idempotency and issuance as ``POST /api/v1/labels``: the footprint is
mapped to a label request (:mod:`registry.pact.importing`) and issued through the one path.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.api.idempotency import idempotency_key, issue_items, request_hash
from registry.api.labels import dry_run_requested, previewed
from registry.auth.models import Role
from registry.clock import utcnow
from registry.db import transaction
from registry.labels.grouping import issue_grouped
from registry.labels.issuance import IssueItem, issue_labels
from registry.labels.preview import preview_labels
from registry.labels.schemas import label_schema
from registry.pact.importing import label_request_from_pact, label_requests_from_pact
from registry.pact.refusals import pact_refusals
from registry.pact.schemas import pact_label_batch_schema, pact_label_request_schema

__all__ = ["bp"]

bp = Blueprint("pact_labels", __name__)


@bp.post("/api/v1/labels/from-pact")
def post_label_from_pact() -> ResponseReturnValue:
    """Issue a label from a PACT ProductFootprint.
    ---
    post:
      summary: Issue a label from a PACT ProductFootprint (v3.0 or v2.x)
      description: >
        The body is `{"footprint": ProductFootprint, "rule": {"scheme", "rule", "version"}}`,
        optionally with `system_boundary`, `valid_until`, `grade`, `supersedes` and
        `assurance` as `POST /api/v1/labels` takes them. The registry maps productIds
        (`urn:gtin:…` to the GTIN, other URNs kept as product ids), productNameCompany,
        companyName, the declared unit and amount (v2: declaredUnit, unitaryProductAmount),
        pcfExcludingBiogenicUptake (v2: pCfExcludingBiogenic), the reference period (PACT's
        end is exclusive), the boundary, the cross-sectoral standards (one must be the rule
        version's) and the v2 assurance level, then checks and issues exactly as for one
        label. The footprint's `id`, `specVersion` and (v2) `version` are signed in the
        credential under the context `https://w3id.org/carbon-label/pact/v1`
        (`credentialSubject.pactSource`) and recorded in the ledger's `label.issued` entry
        (`pact`). What cannot be mapped is a 422 whose `errors` name the PACT member, e.g.
        `{"footprint": {"pcf": {"declaredUnitOfMeasurement": ["…"]}}}`. Retrying with the same
        Idempotency-Key returns the same label (200). With `dry_run=true` the footprint is
        mapped and checked as it would be issued and nothing is written: the answer (200) is
        the label that would be issued, `"dry_run": true`, as for `POST /api/v1/labels`.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - IdempotencyKey
        - in: query
          name: dry_run
          description: "`true`: map, check and show the label without issuing it."
          schema: {type: string, enum: ['true', 'false'], default: 'false'}
      requestBody:
        required: true
        content: {application/json: {schema: PactLabelRequestSchema}}
      responses:
        201:
          description: Issued
          content: {application/json: {schema: LabelSchema}}
        200:
          description: >
            Replayed (same Idempotency-Key and request); or, with `dry_run=true`, the label
            that would be issued, with `"dry_run": true` and `"replayed"`
          content: {application/json: {schema: LabelSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    data = json_body()
    key = idempotency_key()
    params = pact_label_request_schema.load(data)
    label_request = label_request_from_pact(params, now=utcnow())
    item = IssueItem(label_request, idempotency_key=key, request_hash=request_hash(label_request))
    if dry_run_requested():
        with pact_refusals([params]):
            return jsonify(previewed(preview_labels(principal, [item])[0]))
    with pact_refusals([params]):
        result = issue_grouped(principal, item, label_schema.dump)
    response = jsonify(result.label)
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = url_for("labels.get_label_view", label_id=result.label_id)
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/api/v1/labels/from-pact/batch")
def post_label_from_pact_batch() -> ResponseReturnValue:
    """Issue labels from several PACT ProductFootprints, all or none.
    ---
    post:
      summary: Issue a batch of labels from PACT ProductFootprints
      description: >
        Up to 100 items, each as for one footprint (`{"footprint", "rule", …}`), in
        `{"labels": [item, …]}`, issued in one transaction, all or none. Every item that
        cannot be mapped is reported at once under `errors.labels.<index>` (from zero) with
        the PACT member named (`errors.labels.2.footprint.pcf.referencePeriodStart`); the
        registry's checks (rule in force, scope, grade, …) under `items`, each with its index,
        type, detail and its field errors named as PACT members. With an Idempotency-Key K,
        item i is keyed "K#i", so retrying the same batch returns the same labels (200).
        With `dry_run=true` nothing is written; the answer (200) is `{"dry_run": true,
        "labels": [label that would be issued, …]}`.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - BatchIdempotencyKey
        - in: query
          name: dry_run
          description: "`true`: map, check and show the labels without issuing them."
          schema: {type: string, enum: ['true', 'false'], default: 'false'}
      requestBody:
        required: true
        content: {application/json: {schema: PactLabelBatchSchema}}
      responses:
        201:
          description: Issued, in request order
          content: {application/json: {schema: LabelBatchResultSchema}}
        200:
          description: >
            Replayed (same Idempotency-Key and requests); or, with `dry_run=true`,
            `{"dry_run": true, "labels": […]}`
          content: {application/json: {schema: LabelBatchResultSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    data = json_body()
    key = idempotency_key(batch=True)
    params = pact_label_batch_schema.load(data)["labels"]
    items = issue_items(label_requests_from_pact(params, now=utcnow()), key)
    if dry_run_requested():
        with pact_refusals(params):
            previews = preview_labels(principal, items)
        return jsonify({"dry_run": True, "labels": [previewed(p) for p in previews]})
    # The transaction rolls back first; then the refusal is renamed for PACT.
    with pact_refusals(params), transaction():
        results = issue_labels(principal, items)
    response = jsonify({"labels": label_schema.dump([r.label for r in results], many=True)})
    response.status_code = 201 if any(r.created for r in results) else 200
    return response

"""PACT in: a certifier issues labels from PACT ProductFootprints, one or a batch.

The same token, role, idempotency and issuance as ``POST /api/v1/labels``: the footprint is
mapped to a label request (:mod:`registry.pact.importing`) and issued through the one path.
"""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.api.idempotency import idempotency_key, issue_items
from registry.api.labels import issued_batch, issued_one
from registry.auth.models import Role
from registry.clock import utcnow
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
        - DryRun
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
    return issued_one(principal, label_request, key, refusals=lambda: pact_refusals([params]))


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
        - DryRun
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
    return issued_batch(principal, items, refusals=lambda: pact_refusals(params))

"""Labels: public reads, issuance and status changes by certifiers, and the status lists."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.api.idempotency import idempotency_key, issue_items, request_hash
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.db import transaction
from registry.errors import ValidationFailedError
from registry.labels.artwork import (
    ARTWORK_REVISION,
    artwork_state,
    caption_language,
    label_artwork_svg,
    label_qr_png,
    label_qr_svg,
)
from registry.labels.grouping import issue_grouped
from registry.labels.issuance import IssueItem, LabelRequest, issue_labels
from registry.labels.preview import Preview, preview_labels
from registry.labels.schemas import (
    artwork_query_schema,
    label_batch_schema,
    label_query_schema,
    label_request_schema,
    label_schema,
    label_summary_schema,
    qr_query_schema,
    qr_svg_query_schema,
    status_change_schema,
)
from registry.labels.services import change_label_status, count_labels, get_label, list_labels
from registry.labels.status_lists import get_status_list
from registry.labels.verification import label_ledger_evidence, signed_label_trust

__all__ = ["bp", "issued_batch", "issued_one", "label_issued"]

bp = Blueprint("labels", __name__)


def dry_run_requested() -> bool:
    """The ``dry_run`` query parameter: ``true`` or ``false`` (the default), nothing else."""
    value = request.args.get("dry_run", "false")
    if value not in ("true", "false"):
        raise ValidationFailedError(
            {"dry_run": [f"Use dry_run=true or dry_run=false, not {value!r}."]}
        )
    return value == "true"


def previewed(preview: Preview) -> dict[str, Any]:
    return {**preview.label, "dry_run": True, "replayed": preview.replayed}


Refusals = Callable[[], AbstractContextManager[object]]


def issued_one(
    principal: Principal,
    label_request: LabelRequest,
    key: str | None,
    *,
    refusals: Refusals = nullcontext,
) -> Response:
    """The answer to issuing one label (or, with ``dry_run``, to previewing it); a refusal
    passes through ``refusals`` (which may rename its fields) on its way out."""
    item = IssueItem(label_request, idempotency_key=key, request_hash=request_hash(label_request))
    if dry_run_requested():
        with refusals():
            return jsonify(previewed(preview_labels(principal, [item])[0]))
    # Issued with whatever else this token has in flight in this worker, and committed
    # before the response is written (the ledger lock is held from the append to the commit).
    with refusals():
        result = issue_grouped(principal, item, label_schema.dump)
    return label_issued(result.label, result.label_id, created=result.created)


def label_issued(label: dict[str, Any], label_id: str, *, created: bool) -> Response:
    """The answer to an issuance: 201 with the label's address, or a replay's 200."""
    response = jsonify(label)
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("labels.get_label_view", label_id=label_id)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def issued_batch(
    principal: Principal, items: list[IssueItem], *, refusals: Refusals = nullcontext
) -> Response:
    """The answer to issuing a batch, all or none (or, with ``dry_run``, to previewing it)."""
    if dry_run_requested():
        with refusals():
            previews = preview_labels(principal, items)
        return jsonify({"dry_run": True, "labels": [previewed(p) for p in previews]})
    # Committed before the response is written, as for one label; rolled back before a
    # refusal reaches ``refusals``.
    with refusals(), transaction():
        results = issue_labels(principal, items)
    response = jsonify({"labels": label_schema.dump([r.label for r in results], many=True)})
    response.status_code = 201 if any(r.created for r in results) else 200
    return response


def _label_response(label_id: str, status: int = 200) -> Response:
    response = jsonify(label_schema.dump(get_label(label_id)))
    response.status_code = status
    return response


@bp.get("/api/v1/labels/<label:label_id>")
def get_label_view(label_id: str) -> ResponseReturnValue:
    """A label, with its signed credential under ``credential``.
    ---
    get:
      summary: Read a label
      description: >
        Public, no token: the label, its status now and its signed credential under `credential`.
      tags: [labels]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
      responses:
        200:
          description: The label and its credential
          content: {application/json: {schema: LabelSchema}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    label = get_label(label_id)
    payload = label_schema.dump(label)
    # The entry and its inclusion proof travel with the credential, so a buyer holding only
    # this file and the registry's signed bundle can check the ledger offline too.
    evidence = label_ledger_evidence(label)
    payload["ledgerEvidence"] = None if evidence is None else evidence.to_json()
    response = jsonify(payload)
    # Status can change at any moment: caches revalidate, cheaply, by ETag.
    response.headers["Cache-Control"] = "public, no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/api/v1/labels")
def list_labels_view() -> ResponseReturnValue:
    """List labels, in issuance order, a page at a time.
    ---
    get:
      summary: "List labels (certifier: its body's; regulator: its schemes'; operator: all)"
      description: >
        Follow `next` for the following page. Each label is shown without its credential;
        read one label for that.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - in: query
          name: status
          description: Only labels with this status
          schema: {type: string, enum: [active, suspended, revoked, superseded]}
        - in: query
          name: scheme
          description: Only labels graded under a rule of this scheme (its code)
          schema: {type: string, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'}
        - in: query
          name: gtin
          description: Only labels of the product with this GTIN (8, 12, 13 or 14 digits)
          schema: {type: string, pattern: '^([0-9]{8}|[0-9]{12,14})$'}
        - {in: query, name: rule, description: "A rule's code.", schema: {type: string}}
        - in: query
          name: grade
          description: Only labels of this grade.
          schema: {type: string, enum: [A, B, C, D, E]}
        - in: query
          name: product
          description: Part of the product's name or model, in any case.
          schema: {type: string, maxLength: 200}
        - in: query
          name: issued_from
          description: Issued on or after this day (UTC).
          schema: {type: string, format: date}
        - in: query
          name: issued_until
          description: Issued on or before this day (UTC).
          schema: {type: string, format: date}
        - in: query
          name: after
          description: The page after this ledger index (from `next`); -1 starts at the first
          schema: {type: integer, minimum: -1, maximum: 9223372036854775807}
        - in: query
          name: limit
          description: Labels per page
          schema: {type: integer, minimum: 1, maximum: 200, default: 50}
      responses:
        200:
          description: >
            A page of labels, without their credentials; `total` counts every label the
            filters match, over all pages. The same listing is `GET /api/v1/exports/labels.csv`.
          content: {application/json: {schema: LabelPageSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal()
    query = label_query_schema.load(request.args)
    labels = list_labels(principal, query)
    total = count_labels(principal, query)
    following = None
    if len(labels) == query.limit:
        args: dict[str, Any] = {**request.args.to_dict(), "after": labels[-1].ledger_seq}
        following = url_for("labels.list_labels_view", **args)
    return jsonify(
        {"labels": label_summary_schema.dump(labels, many=True), "next": following, "total": total}
    )


@bp.post("/api/v1/labels")
def post_label() -> ResponseReturnValue:
    """Issue a label for the certifier's body.
    ---
    post:
      summary: Issue a label
      description: >
        The registry checks the body, its accreditation, its key and the rule version, checks
        the request is plausible (a reference period that has ended, within the rule version's
        maximum age; a system boundary the version grades; a footprint and declared unit
        amount above zero unless the version allows net-negative values), computes the grade,
        signs the credential and ledgers it. Retrying with the same Idempotency-Key returns the
        same label (200) instead of issuing another. With `dry_run=true` every check is made
        and nothing is written (no ledger entry, no label, no status-list index, no
        Idempotency-Key claim): the answer (200) is the label the registry would issue, marked
        `"dry_run": true`, with its grade and validity and the credential unsigned (no
        `proof`, no `credentialStatus`) under a label id that is not reserved.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - IdempotencyKey
        - DryRun
      requestBody:
        required: true
        content: {application/json: {schema: LabelRequestSchema}}
      responses:
        201:
          description: Issued
          content: {application/json: {schema: LabelSchema}}
        200:
          description: >
            Replayed (same Idempotency-Key and request); or, with `dry_run=true`, the label
            that would be issued, with `"dry_run": true` and `"replayed"` (whether the key
            already made this label, which is then shown as issued)
          content: {application/json: {schema: LabelSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    data = json_body()
    key = idempotency_key()
    return issued_one(principal, label_request_schema.load(data), key)


@bp.post("/api/v1/labels/batch")
def post_label_batch() -> ResponseReturnValue:
    """Issue several labels at once, all or none.
    ---
    post:
      summary: Issue a batch of labels
      description: >
        Up to 100 label requests, issued in one transaction and ledgered together (much
        faster than one request each). With an Idempotency-Key K, item i is keyed "K#i", so
        retrying the same batch returns the same labels (200). The body is an object,
        {"labels": [label request, …]}; a bare array is refused and says so. A refusal reports
        every refused item: field errors under errors.labels.<i>, and the registry's checks
        (rule in force, scope, grade, …) under items, each with its index (from zero), type
        and detail. With `dry_run=true` the whole
        batch is checked as it would be issued and nothing is written; the answer (200) is
        `{"dry_run": true, "labels": [label that would be issued, …]}`, each as for one label.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - BatchIdempotencyKey
        - DryRun
      requestBody:
        required: true
        content: {application/json: {schema: LabelBatchSchema}}
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
    return issued_batch(principal, issue_items(label_batch_schema.load(data)["labels"], key))


@bp.post("/api/v1/labels/<label:label_id>/status")
def post_label_status(label_id: str) -> ResponseReturnValue:
    """Suspend, reinstate or revoke a label.
    ---
    post:
      summary: Change a label's status
      description: >
        By the issuing body; a regulator may suspend a label under its schemes (enforcement)
        and the registry operator any label; a suspension is lifted only by the role that made
        it, and only the body revokes. Revocation is final. The status lists are re-signed at once.
        The request shape of every status change: {"action": "suspend" | "reinstate" |
        "revoke", "reason": "…"}, or {"status": "suspended" | "active" | "revoked", "reason":
        "…"} as accreditations and bodies took it.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
      requestBody:
        required: true
        content: {application/json: {schema: StatusChangeSchema}}
      responses:
        200:
          description: The label after the change
          content: {application/json: {schema: LabelSchema}}
        403: {$ref: '#/components/responses/Forbidden'}
        409: {$ref: '#/components/responses/Conflict'}
    """
    principal = current_principal(Role.CERTIFIER, Role.REGULATOR, Role.OPERATOR)
    params = status_change_schema.load(json_body())
    label = change_label_status(principal, label_id, params["action"], reason=params["reason"])
    return jsonify(label_schema.dump(label))


@bp.get("/api/v1/labels/<label:label_id>/trust-bundle")
def get_trust_bundle(label_id: str) -> ResponseReturnValue:
    """Everything needed to verify the label offline, signed.
    ---
    get:
      summary: Signed offline trust bundle of a label
      description: >
        The label's subset of `/trust-bundle`, in the same signed form and with the same key
        (`/trust-bundle/key`): `{"payload": {bodies, rules, statusLists, logKey, ledger,
        schemes, mappings, checkpoint, registry, issued, validUntil}, "signature": {"alg":
        "Ed25519", "key", "value"}}`. The payload holds the issuing body with its keys and
        accreditations, the label's rule version, its current signed status lists, the
        mappings that can apply to it with their target rule versions, the log key, the latest
        checkpoint, and the label's ledger entry and latest status event with their inclusion
        proofs. Use with `carbonlabel verify credential.json --trust bundle.json
        --registry-key KEY [--region HK]`. Not cached: a status change shows at once.
      operationId: get_label_trust_bundle
      tags: [labels]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
      responses:
        200:
          description: The signed bundle
          content:
            application/json: {schema: {$ref: '#/components/schemas/SignedTrustBundle'}}
        404: {$ref: '#/components/responses/NotFound'}
    """
    label = get_label(label_id)
    response = jsonify(signed_label_trust(label))
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Disposition"] = f'inline; filename="{label.id}-trust.json"'
    return response


def _artwork(body: str | bytes, mimetype: str) -> Response:
    response = current_app.response_class(body, mimetype=mimetype)
    # A label's URL, grade and footprint never change: its artwork is immutable.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/api/v1/labels/<label:label_id>/qr.svg")
def get_label_qr_svg(label_id: str) -> ResponseReturnValue:
    """The label's QR code as SVG.
    ---
    get:
      summary: QR code of a label (SVG)
      description: >
        Encodes what the label's issuer chose (its `qr`): the label's public URL in upper
        case (alphanumeric mode), or the product's GS1 Digital Link URI
        `HTTPS://HOST/01/{GTIN-14}`, which the resolver redirects to the label page. `target`
        overrides the choice (422 for `digital-link` on a label without a GTIN).
      tags: [artwork]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
        - in: query
          name: target
          schema: {type: string, enum: [label, digital-link]}
      responses:
        200:
          description: The SVG
          content:
            image/svg+xml:
              schema: {type: string, description: An SVG document}
              example: <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">…</svg>
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    target = qr_svg_query_schema.load(request.args)["target"]
    return _artwork(label_qr_svg(get_label(label_id), target=target), "image/svg+xml")


@bp.get("/api/v1/labels/<label:label_id>/qr.png")
def get_label_qr_png(label_id: str) -> ResponseReturnValue:
    """The label's QR code as PNG.
    ---
    get:
      summary: QR code of a label (PNG)
      description: >
        Public. The QR encodes what the label's issuer chose (its `qr`): the label's URL in
        upper case (alphanumeric mode) or the product's GS1 Digital Link URI; `target`
        overrides the choice, `scale` sets pixels per module.
      tags: [artwork]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
        - {in: query, name: scale, schema: {type: integer, minimum: 2, maximum: 32, default: 8}}
        - in: query
          name: target
          schema: {type: string, enum: [label, digital-link]}
      responses:
        200:
          description: The PNG
          content:
            image/png:
              schema: {type: string, format: binary, description: A PNG image}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    query = qr_query_schema.load(request.args)
    png = label_qr_png(get_label(label_id), scale=query["scale"], target=query["target"])
    return _artwork(png, "image/png")


@bp.get("/api/v1/labels/<label:label_id>/label.svg")
def get_label_artwork(label_id: str) -> ResponseReturnValue:
    """The printable carbon label.
    ---
    get:
      summary: Printable carbon label (96 mm × 52 mm SVG) with grade, footprint and QR code
      description: >
        Grade, footprint (kg CO₂e per declared unit), rule and scheme as the credential states
        them; under the QR code the label's short code, and below the certifier's name and the
        end of validity, for when scanning fails. A label that is suspended, revoked,
        superseded or expired is crossed by a banner naming that state, so its artwork cannot
        pass for a current label; the answer is revalidated (ETag) on every use for that
        reason. The QR code's own size is set on `qr.png` (`scale`, pixels per module) and is
        vector on `qr.svg`; this SVG is 96 mm × 52 mm and scales without loss.
      tags: [artwork]
      parameters:
        - {in: path, name: label_id, required: true, schema: {type: string}}
        - in: query
          name: lang
          description: >
            Any BCP 47 tag (zh-CN, zh-TW, pt, pt-PT, en-GB…), read as zh-Hans, zh-Hant, pt-MO
            or en; without it, or for another language, Accept-Language decides.
          schema: {type: string, maxLength: 44, example: zh-HK}
        - in: query
          name: target
          schema: {type: string, enum: [label, digital-link]}
      responses:
        200:
          description: The SVG
          content:
            image/svg+xml:
              schema: {type: string, description: An SVG document}
              example: <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">…</svg>
        304: {description: Not modified (If-None-Match)}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    query = artwork_query_schema.load(request.args)
    language = caption_language(query["lang"], request.headers.get("Accept-Language"))
    label = get_label(label_id)
    state = artwork_state(label) or "current"
    target = query["target"] or label.qr_target.value
    etag = f"{label.id}-{state}-{language}-{target}-{ARTWORK_REVISION}"
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        svg = label_artwork_svg(label, lang=language, target=target)
        response = current_app.response_class(svg, mimetype="image/svg+xml")
    # Unlike the QR code, the label's artwork changes with its status: revalidate each use.
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    return response


@bp.get("/status-lists/<code:list_id>")
def get_status_list_view(list_id: str) -> ResponseReturnValue:
    """A signed BitstringStatusListCredential.
    ---
    get:
      summary: Read a status list credential
      description: >
        Public. A BitstringStatusListCredential (revocation or suspension), signed by the registry;
        cacheable.
      tags: [status lists]
      parameters:
        - {in: path, name: list_id, required: true, schema: {type: string}}
      responses:
        200:
          description: The signed status list credential
          content:
            application/json:
              schema:
                type: object
                description: A BitstringStatusListCredential secured with a DataIntegrityProof
                additionalProperties: true
                properties:
                  id: {type: string, format: uri, description: This list's URL}
                  type:
                    type: array
                    items: {type: string}
                    description: VerifiableCredential, BitstringStatusListCredential
                  credentialSubject:
                    type: object
                    additionalProperties: true
                    description: statusPurpose and the GZIP-compressed, base64url encodedList
                example:
                  id: https://registry.example/status-lists/1
                  type: [VerifiableCredential, BitstringStatusListCredential]
                  credentialSubject: {type: BitstringStatusList, statusPurpose: revocation}
        304: {description: Not modified (If-None-Match)}
        404: {$ref: '#/components/responses/NotFound'}
    """
    record = get_status_list(list_id)
    response = current_app.response_class(record.credential, mimetype="application/json")
    response.set_etag(record.etag or "")
    # Short freshness: a revocation must reach verifiers within minutes, not a day.
    response.headers["Cache-Control"] = "public, max-age=60, must-revalidate"
    if record.signed_at is not None:
        response.last_modified = record.signed_at
    return response.make_conditional(request)

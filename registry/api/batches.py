"""CSV label batches: the template, the upload (a background job), its state and results."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from credentials import label_url
from registry.api.auth import current_principal
from registry.api.exports import csv_cell
from registry.api.idempotency import idempotency_key
from registry.auth.models import Role
from registry.batches.csvformat import template_csv
from registry.batches.models import BatchState, LabelBatch
from registry.batches.schemas import label_batch_job_schema
from registry.batches.services import batch_labels, get_batch, submit_batch
from registry.config import current_settings
from registry.db import db, read_snapshot
from registry.errors import ConflictError, UnsupportedMediaTypeError
from registry.labels.artwork import caption_language, label_artwork_svg
from registry.labels.schemas import artwork_query_schema

__all__ = ["BATCH_BODY_LIMIT", "artwork_zip_chunks", "bp", "result_csv_chunks"]

bp = Blueprint("batches", __name__, url_prefix="/api/v1/label-batches")

# 10,000 rows of long product names and identifiers fit; the app's 1 MiB JSON limit would not.
BATCH_BODY_LIMIT = 16 * 1024 * 1024
_PAGE = 200
_RESULT_COLUMNS = ("row", "label", "url", "grade", "status", "product", "gtin")


@bp.before_request
def _allow_a_spreadsheet() -> None:
    # Before anything reads the body: werkzeug applies the limit when the stream is read.
    if request.endpoint == "batches.post_batch":
        request.max_content_length = BATCH_BODY_LIMIT


@bp.get("/template.csv")
def get_template() -> ResponseReturnValue:
    """The CSV template of a label batch.
    ---
    get:
      summary: Download the label batch CSV template
      description: >
        UTF-8 with a BOM, a header row with one column per member of a label request, and one
        example row. Empty cells take the label request's defaults.
      tags: [batches]
      responses:
        200:
          description: The template
          content:
            text/csv:
              schema: {type: string, description: 'UTF-8 CSV with a BOM: header and example row'}
              example: >
                scheme,rule,rule_version,product_name,manufacturer,product_model,gtin,product_identifiers,footprint,declared_unit,declared_unit_amount,system_boundary,period_start,period_end,valid_until,grade,assurance,supersedes,qr

                CN-GD,CN-GD-PCR-LIB,2.0,LFP battery module 51.2 V 100 Ah,Example Energy
                Ltd.,EX-LFP-5120,06901234567892,,61.2,kWh,1,cradle-to-gate,2025-01-01,2025-12-31,,,reasonable,,label
    """
    response = Response(template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=label-batch-template.csv"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.post("")
def post_batch() -> ResponseReturnValue:
    """Upload a CSV batch of labels, issued in the background, all or none.
    ---
    post:
      summary: Upload a label batch (CSV)
      description: >
        The body is the CSV (`Content-Type: text/csv`, UTF-8, the header of template.csv, up to
        10,000 rows, 16 MiB). Its shape is checked at once (422); then it is queued (202,
        `Location` is the batch). Every row is validated with the label request's rules
        first; if any fails, the batch is refused whole, its `errors` naming each row (the
        spreadsheet's row number: the header is row 1), column and problem. Otherwise every
        label is issued in one transaction. Retrying with the same Idempotency-Key and file
        returns the same batch (200).
      tags: [batches]
      security: [{bearer: []}]
      parameters:
        - IdempotencyKey
      requestBody:
        required: true
        content:
          text/csv:
            schema: {type: string, description: 'UTF-8 CSV (a BOM is allowed), as template.csv'}
            example: >
              scheme,rule,rule_version,product_name,manufacturer,product_model,gtin,product_identifiers,footprint,declared_unit,declared_unit_amount,system_boundary,period_start,period_end,valid_until,grade,assurance,supersedes,qr

              CN-GD,CN-GD-PCR-LIB,2.0,LFP battery module 51.2 V 100 Ah,Example Energy
              Ltd.,EX-LFP-5120,06901234567892,,61.2,kWh,1,cradle-to-gate,2025-01-01,2025-12-31,,,reasonable,,label
      responses:
        202:
          description: Queued
          content:
            application/json:
              schema: LabelBatchJobSchema
              example:
                id: 1
                state: queued
                rows: {total: 1, validated: 0, issued: 0}
                errors: []
                reason: null
                attempts: 0
                created_at: '2026-03-01T08:00:00Z'
                started_at: null
                finished_at: null
                links: {self: /api/v1/label-batches/1, result: null, artwork: null}
        200:
          description: Replayed (same Idempotency-Key and file); the batch as it is now
          content:
            application/json:
              schema: LabelBatchJobSchema
              example:
                id: 1
                state: done
                rows: {total: 1, validated: 1, issued: 1}
                errors: []
                reason: null
                attempts: 1
                created_at: '2026-03-01T08:00:00Z'
                started_at: '2026-03-01T08:00:01Z'
                finished_at: '2026-03-01T08:00:03Z'
                links:
                  self: /api/v1/label-batches/1
                  result: /api/v1/label-batches/1/result.csv
                  artwork: /api/v1/label-batches/1/artwork.zip
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        413: {$ref: '#/components/responses/TooLarge'}
        415: {$ref: '#/components/responses/UnsupportedMediaType'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.CERTIFIER)
    if request.mimetype != "text/csv":
        raise UnsupportedMediaTypeError("Send the batch as Content-Type: text/csv.")
    key = idempotency_key()
    submitted = submit_batch(principal, request.get_data(cache=False), idempotency_key=key)
    response = jsonify(label_batch_job_schema.dump(submitted.batch))
    response.status_code = 202 if submitted.created else 200
    response.headers["Location"] = url_for("batches.get_batch_view", batch_id=submitted.batch.id)
    if not submitted.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/<id:batch_id>")
def get_batch_view(batch_id: int) -> ResponseReturnValue:
    """A batch's state, progress and problems.
    ---
    get:
      summary: Read a label batch
      description: >
        `state` is queued, validating, issuing, done, refused or failed; `rows` counts the
        rows in total, validated and issued (updated while the batch runs); `errors` lists
        every refused row's problems.
      tags: [batches]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: batch_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: The batch
          content:
            application/json:
              schema: LabelBatchJobSchema
              example:
                id: 1
                state: done
                rows: {total: 1, validated: 1, issued: 1}
                errors: []
                reason: null
                attempts: 1
                created_at: '2026-03-01T08:00:00Z'
                started_at: '2026-03-01T08:00:01Z'
                finished_at: '2026-03-01T08:00:03Z'
                links:
                  self: /api/v1/label-batches/1
                  result: /api/v1/label-batches/1/result.csv
                  artwork: /api/v1/label-batches/1/artwork.zip
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    batch = get_batch(current_principal(Role.CERTIFIER), batch_id)
    response = jsonify(label_batch_job_schema.dump(batch))
    response.headers["Cache-Control"] = "no-store"
    return response


def _done(batch: LabelBatch) -> int:
    if batch.state is not BatchState.DONE:
        raise ConflictError(
            f"Batch {batch.id} is {batch.state.value}; its results exist once it is done."
        )
    return batch.id


def result_csv_chunks(batch_id: int) -> Iterator[str]:
    """result.csv of a done batch, streamed a page of rows at a time (the portal's too)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_RESULT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    base = current_settings().public_base_url
    with read_snapshot():
        after = 0
        while True:
            page = batch_labels(db.session.get_one(LabelBatch, batch_id), after=after, limit=500)
            if not page:
                return
            buffer.seek(0)
            buffer.truncate()
            for row, label in page:
                writer.writerow(
                    [
                        row,
                        label.id,
                        label_url(base, label.id),
                        label.grade,
                        label.status.value,
                        csv_cell(label.product_name),
                        csv_cell(label.gtin),
                    ]
                )
            after = page[-1][0]
            db.session.expunge_all()
            yield buffer.getvalue()


@bp.get("/<id:batch_id>/result.csv")
def get_batch_result(batch_id: int) -> ResponseReturnValue:
    """The labels a batch issued, one row per uploaded row.
    ---
    get:
      summary: Download a batch's result (CSV)
      description: >
        UTF-8 with a BOM: `row` (the upload's row number), `label`, `url`, `grade`, `status`,
        `product`, `gtin`. Only once the batch is done (409 before).
      tags: [batches]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: batch_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: The issued labels, one row each
          content:
            text/csv:
              schema: {type: string, description: 'UTF-8 CSV with a BOM and a header row'}
              example: >
                row,label,url,grade,status,product,gtin

                2,7Q2M9XK4TZ,https://registry.example/l/7Q2M9XK4TZ,B,active,LFP battery module 51.2
                V 100 Ah,06901234567892
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
    """
    found = _done(get_batch(current_principal(Role.CERTIFIER), batch_id))
    response = Response(stream_with_context(result_csv_chunks(found)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=batch-{found}-result.csv"
    return response


class _Chunks(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (zipfile needs no seek)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self.parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        taken = b"".join(self.parts)
        self.parts.clear()
        return taken


def artwork_zip_chunks(batch_id: int, lang: str) -> Iterator[bytes]:
    """artwork.zip of a done batch, streamed as it is compressed (the portal's too)."""
    out = _Chunks()
    archive = zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED)
    with archive, read_snapshot():
        after = 0
        while True:
            page = batch_labels(db.session.get_one(LabelBatch, batch_id), after=after, limit=_PAGE)
            if not page:
                break
            for row, label in page:
                svg = label_artwork_svg(label, lang=lang)
                archive.writestr(f"row-{row:05d}-{label.id}.svg", svg)
            after = page[-1][0]
            db.session.expunge_all()
            yield out.take()
    yield out.take()


@bp.get("/<id:batch_id>/artwork.zip")
def get_batch_artwork(batch_id: int) -> ResponseReturnValue:
    """Every label's SVG artwork of a done batch, as a ZIP, streamed.
    ---
    get:
      summary: Download a batch's label artwork (ZIP of SVG)
      description: >
        One `row-NNNNN-LABELID.svg` per label, in `lang` (any language tag; without one,
        Accept-Language decides). Only once the batch is done (409 before).
      tags: [batches]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: batch_id, required: true, schema: {type: integer}}
        - {in: query, name: lang, schema: {type: string, maxLength: 44, example: zh-HK}}
      responses:
        200:
          description: The artwork
          content:
            application/zip:
              schema:
                type: string
                format: binary
                description: A ZIP archive of one SVG document per label
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    lang = caption_language(
        artwork_query_schema.load(request.args)["lang"], request.headers.get("Accept-Language")
    )
    found = _done(get_batch(current_principal(Role.CERTIFIER), batch_id))
    response = Response(
        stream_with_context(artwork_zip_chunks(found, lang)), mimetype="application/zip"
    )
    response.headers["Content-Disposition"] = f"attachment; filename=batch-{found}-artwork.zip"
    return response

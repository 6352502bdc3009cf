"""Whole-register exports for auditors and regulators, streamed a page at a time.

The request boundary's read-only transaction ends when the view returns, before a streamed body
is produced, so each generator opens its own :func:`read_snapshot`: every page is read in one
read-only transaction with one consistent view, and the session forgets each page before the
next, so memory stays flat however large the register.

``ledger.jsonl`` carries the signed checkpoint its entries are consistent with in the
``Ledger-Checkpoint`` header (the C2SP note, base64, since a note spans lines): by default the
export is entries 0 .. its size - 1, exactly what ``carbonlabel audit`` checks against it.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, request, stream_with_context
from marshmallow import Schema, ValidationError, validates_schema

from credentials import decimal_text
from registry.api.auth import current_principal
from registry.auth.services import Principal
from registry.db import db, read_snapshot
from registry.errors import ValidationFailedError
from registry.fields import AsciiInteger
from registry.labels.models import Label
from registry.labels.schemas import LabelQuerySchema
from registry.labels.services import LabelQuery, count_labels, list_labels
from registry.ledger.services import MAX_ENTRIES_PER_READ, current_checkpoint, list_entries

__all__ = ["bp", "csv_cell"]

bp = Blueprint("exports", __name__, url_prefix="/api/v1/exports")

_LABEL_PAGE = 500
# The listing's filters, without its paging: the export holds every match.
_export_query_schema = LabelQuerySchema(exclude=("after", "limit"))
# OWASP CSV injection: a spreadsheet evaluates a cell starting with these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_COLUMNS = (
    "label", "status", "grade", "footprint", "unit", "declared_unit", "declared_unit_amount",
    "scheme", "rule", "rule_version", "body", "product", "model", "gtin", "manufacturer",
    "valid_from", "valid_until", "issued_at", "ledger_seq",
)  # fmt: skip


class _RangeSchema(Schema):
    start = AsciiInteger(load_default=0)
    end = AsciiInteger(load_default=None)

    @validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] is not None and data["end"] <= data["start"]:
            raise ValidationError("Must be greater than start.", "end")


_range_schema = _RangeSchema()


def _ledger_pages(start: int, end: int) -> Iterator[bytes]:
    with read_snapshot():
        for first in range(start, end, MAX_ENTRIES_PER_READ):
            bodies = list_entries(first, min(first + MAX_ENTRIES_PER_READ, end))
            yield b"".join(body + b"\n" for body in bodies)


@bp.get("/ledger.jsonl")
def export_ledger() -> Response:
    """The ledger as JSON Lines, with the signed checkpoint it is consistent with.
    ---
    get:
      summary: Export ledger entries start..end-1 (JSON Lines), streamed
      description: >
        Each line is one entry's exact bytes, as hashed into its leaf. `end` defaults to the
        size of the latest signed checkpoint, which the `Ledger-Checkpoint` header carries
        (the C2SP note, base64) with its size in `Ledger-Checkpoint-Size`: a default export
        is exactly what `carbonlabel audit LEDGER --checkpoint NOTE` checks. `end` may not
        pass the checkpoint (422).
      tags: [ledger]
      parameters:
        - {in: query, name: start, schema: {type: integer, minimum: 0, default: 0}}
        - {in: query, name: end, schema: {type: integer, minimum: 1}}
      responses:
        200:
          description: The entries, one per line
          content:
            application/jsonl:
              schema: {type: string, description: One canonical JSON ledger entry per line}
              example: |
                {"event":"label.issued","seq":41,"v":1}
          headers:
            Ledger-Checkpoint: {schema: {type: string}, description: base64 of the signed note}
            Ledger-Checkpoint-Size:
              schema: {type: integer}
              description: The tree size of that checkpoint
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    params = _range_schema.load(request.args)
    checkpoint = current_checkpoint()
    start, end = params["start"], params["end"]
    if end is None:
        end = checkpoint.size
    if end > checkpoint.size or start >= end:
        raise ValidationFailedError(
            {
                "end": [
                    f"The signed checkpoint covers {checkpoint.size} entries; "
                    "end must be greater than start and at most that."
                ]
            }
        )
    response = Response(
        stream_with_context(_ledger_pages(start, end)), mimetype="application/jsonl"
    )
    response.headers["Ledger-Checkpoint"] = base64.b64encode(checkpoint.note.encode()).decode()
    response.headers["Ledger-Checkpoint-Size"] = str(checkpoint.size)
    response.headers["Content-Disposition"] = "attachment; filename=ledger.jsonl"
    return response


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _row(label: Label) -> list[str]:
    # Times as the label's JSON states them (marshmallow's ISO 8601 with offset).
    rv = label.rule_version
    values: tuple[object, ...] = (
        label.id, label.status.value, label.grade, decimal_text(label.footprint), "kgCO2e",
        rv.declared_unit, decimal_text(label.declared_unit_amount), rv.rule.scheme.code,
        rv.rule.code, rv.version, label.body.code, label.product_name, label.product_model,
        label.gtin, label.manufacturer, label.valid_from.isoformat(),
        label.valid_until.isoformat(), label.issued_at.isoformat(), label.ledger_seq,
    )  # fmt: skip
    return [csv_cell(v) for v in values]


def _label_rows(principal: Principal, query: LabelQuery) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(_COLUMNS)
    yield "\ufeff" + buffer.getvalue()  # the BOM makes spreadsheets read UTF-8
    after = -1
    with read_snapshot():
        while True:
            labels = list_labels(principal, replace(query, after=after, limit=_LABEL_PAGE))
            if not labels:
                return
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(_row(label) for label in labels)
            after = labels[-1].ledger_seq
            db.session.expunge_all()  # forget the page: the next one starts from nothing
            yield buffer.getvalue()


@bp.get("/labels.csv")
def export_labels() -> Response:
    """Every label the token may list, as CSV, streamed.
    ---
    get:
      summary: "Labels as CSV (certifier: its body's; regulator: its schemes'; operator: all)"
      description: >
        UTF-8 with a BOM, a header row, one row per label in issuance order. Cells that a
        spreadsheet would read as a formula (starting with = + - @, tab or CR) are prefixed
        with an apostrophe.
        It takes the listing's filters (`status`, `scheme`, `gtin`, `rule`, `grade`, `product`,
        `issued_from`, `issued_until`; see `GET /api/v1/labels`) and holds every label they
        match, without paging.
      tags: [labels]
      security: [{bearer: []}]
      parameters:
        - in: query
          name: status
          schema: {type: string, enum: [active, suspended, revoked, superseded]}
        - {in: query, name: scheme, schema: {type: string}}
        - {in: query, name: gtin, schema: {type: string}}
        - in: query
          name: grade
          description: Only labels of this grade.
          schema: {type: string, enum: [A, B, C, D, E]}
        - {in: query, name: rule, description: "A rule's code.", schema: {type: string}}
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
      responses:
        200:
          description: The labels, one row each
          content:
            text/csv:
              schema: {type: string, description: 'UTF-8 CSV with a BOM and a header row'}
              example: |
                label,status,grade,footprint,unit,declared_unit,declared_unit_amount,scheme,rule,rule_version,body,product,model,gtin,manufacturer,valid_from,valid_until,issued_at,ledger_seq
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal()
    query = _export_query_schema.load(request.args)
    # Refusals (a regulator naming another scheme) come now, as a problem, not mid-stream:
    # in the request's own read-only transaction, before the stream opens its own.
    count_labels(principal, query)
    response = Response(stream_with_context(_label_rows(principal, query)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=labels.csv"
    return response

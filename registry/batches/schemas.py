"""The batch resource as the API shows it: its state, progress and per-row problems."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from registry.batches.models import BatchFormat, BatchState, LabelBatch

__all__ = ["BatchErrorSchema", "LabelBatchJobSchema", "label_batch_job_schema"]


class BatchErrorSchema(Schema):
    row = fields.Integer(
        metadata={
            "description": "The spreadsheet's row number (header: 1); in a PACT batch, the "
            "footprint's position in the file (from 1)",
            "example": 2,
        }
    )
    column = fields.String(
        allow_none=True,
        metadata={
            "description": "The template column at fault (in a PACT batch, the footprint's "
            "member, dotted: pcf.declaredUnitOfMeasurement); null when the row as a whole is",
            "example": "footprint",
        },
    )
    message = fields.String(
        metadata={"description": "What is wrong with the cell", "example": "Not a valid decimal."}
    )


_ROWS = {
    "type": "object",
    "properties": {
        "total": {"type": "integer", "description": "Label rows in the upload", "example": 1},
        "validated": {
            "type": "integer",
            "description": "Rows validated so far",
            "example": 1,
        },
        "issued": {"type": "integer", "description": "Labels issued so far", "example": 1},
    },
    "required": ["total", "validated", "issued"],
}
_LINK = {"type": ["string", "null"], "format": "uri-reference"}
_LINKS = {
    "type": "object",
    "properties": {
        "self": {
            "type": "string",
            "format": "uri-reference",
            "description": "This batch",
            "example": "/api/v1/label-batches/1",
        },
        "result": {
            **_LINK,
            "description": "The issued labels as CSV, once the batch is done; else null",
            "example": "/api/v1/label-batches/1/result.csv",
        },
        "artwork": {
            **_LINK,
            "description": "The labels' SVG artwork as a ZIP, once the batch is done; else null",
            "example": "/api/v1/label-batches/1/artwork.zip",
        },
    },
    "required": ["self", "result", "artwork"],
}


class LabelBatchJobSchema(Schema):
    id = fields.Integer(metadata={"description": "The batch's registry id", "example": 1})
    state = fields.Enum(
        BatchState,
        by_value=True,
        metadata={
            "description": "queued; validating, then issuing, while a worker runs it; then "
            "done (every label issued), refused (rows have problems, see errors; nothing "
            "issued) or failed (see reason; nothing issued)",
        },
    )
    format = fields.Enum(
        BatchFormat,
        by_value=True,
        metadata={
            "description": "csv: the CSV template's rows (a row is the spreadsheet's row "
            "number); pact: a JSON file of PACT footprints, uploaded in the portal (a row is "
            "the footprint's position in the file, from 1, and a column the PACT member)",
        },
    )
    rows = fields.Method(
        "_rows",
        metadata={
            "description": "Label rows in total, validated and issued (updated while it runs)",
            "openapi": _ROWS,
        },
    )
    errors = fields.List(
        fields.Nested(BatchErrorSchema),
        metadata={"description": "Every problem of a refused batch, by row and column"},
    )
    reason = fields.String(
        allow_none=True,
        metadata={"description": "Why the batch was refused or failed; null otherwise"},
    )
    attempts = fields.Integer(
        metadata={"description": "How many times a worker has claimed the batch", "example": 1}
    )
    created_at = fields.AwareDateTime(metadata={"description": "When it was uploaded"})
    started_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "When a worker first claimed it; null while queued"},
    )
    finished_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "When it became done, refused or failed; null before"},
    )
    links = fields.Method(
        "_links",
        metadata={"description": "Where to read the batch and its results", "openapi": _LINKS},
    )

    def _rows(self, batch: LabelBatch) -> dict[str, int]:
        return {
            "total": batch.rows_total,
            "validated": batch.rows_validated,
            "issued": batch.rows_issued,
        }

    def _links(self, batch: LabelBatch) -> dict[str, Any]:
        done = batch.state is BatchState.DONE
        return {
            "self": url_for("batches.get_batch_view", batch_id=batch.id),
            "result": url_for("batches.get_batch_result", batch_id=batch.id) if done else None,
            "artwork": url_for("batches.get_batch_artwork", batch_id=batch.id) if done else None,
        }


label_batch_job_schema = LabelBatchJobSchema()

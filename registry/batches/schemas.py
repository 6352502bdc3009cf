"""The batch resource as the API shows it: its state, progress and per-row problems."""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields

from registry.batches.models import BatchState, LabelBatch

__all__ = ["BatchErrorSchema", "LabelBatchJobSchema", "label_batch_job_schema"]


class BatchErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "The spreadsheet's row number (header: 1)"})
    column = fields.String(allow_none=True)
    message = fields.String()


class LabelBatchJobSchema(Schema):
    id = fields.Integer()
    state = fields.Enum(BatchState, by_value=True)
    rows = fields.Method("_rows")
    errors = fields.List(fields.Nested(BatchErrorSchema))
    reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    links = fields.Method("_links")

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

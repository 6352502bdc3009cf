"""The JSON of a mapping revision as the API serves it."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields

from registry.recognition.models import MappingRevision

__all__ = ["MappingRevisionSchema", "mapping_revision_schema"]


class MappingRevisionSchema(Schema):
    """One revision: the mapping itself (the kit's JSON form, as its ledger entry states it),
    where it is in the ledger, and, for a withdrawal, why."""

    mapping = fields.Method(
        "_mapping",
        metadata={
            "openapi": {"$ref": "#/components/schemas/RecognitionMappingDocument"},
            "description": "The mapping as its ledger entry states it (source, target, grades…)",
        },
    )
    ledgerSeq = fields.Integer(  # noqa: N815 - the JSON name
        attribute="ledger_seq",
        metadata={"description": "Its ledger entry", "example": 12},
    )
    publishedAt = fields.AwareDateTime(  # noqa: N815
        attribute="published_at", format="iso", metadata={"description": "When it was ledgered"}
    )
    withdrawn = fields.Boolean(metadata={"description": "This revision withdraws the mapping"})
    reason = fields.String(
        allow_none=True, metadata={"description": "For a withdrawal: why", "example": None}
    )

    def _mapping(self, row: MappingRevision) -> Any:
        return json.loads(row.document)


mapping_revision_schema = MappingRevisionSchema()

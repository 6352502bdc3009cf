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

    mapping = fields.Method("_mapping", metadata={"openapi": {"type": "object"}})
    ledgerSeq = fields.Integer(attribute="ledger_seq")  # noqa: N815 - the JSON name
    publishedAt = fields.AwareDateTime(attribute="published_at", format="iso")  # noqa: N815
    withdrawn = fields.Boolean()
    reason = fields.String(allow_none=True)

    def _mapping(self, row: MappingRevision) -> Any:
        return json.loads(row.document)


mapping_revision_schema = MappingRevisionSchema()

"""Schemas of the ledger's public resources: query parameters in, proofs out.

One schema per resource: the parameters a client may send are plain fields, and what the server
computes is ``dump_only``, so a client sending ``root_hash`` (or any unknown parameter) is
refused rather than ignored.
"""

from __future__ import annotations

import base64
from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from registry.fields import AsciiInteger
from registry.ledger.services import MAX_ENTRIES_PER_READ

__all__ = [
    "ConsistencyProofSchema",
    "EntryRangeSchema",
    "InclusionProofSchema",
    "consistency_proof_schema",
    "entry_range_schema",
    "inclusion_proof_schema",
]

# Tree positions are stored as BIGINT: AsciiInteger stops anything larger before SQL.
_HASH = {
    "type": "string",
    "format": "byte",
    "example": "qE2aKw8mJ2o4pXvQ1n7Zr9v3c0dJxY5u7T1sW0bA4yM=",
}


class Base64Bytes(fields.Field[bytes]):
    """Bytes as standard, padded base64 (the encoding C2SP notes use for hashes)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else base64.b64encode(value).decode("ascii")


class EntryRangeSchema(Schema):
    start = AsciiInteger(
        required=True, metadata={"description": "Index of the first entry", "example": 0}
    )
    end = AsciiInteger(
        required=True,
        metadata={
            "description": f"Index after the last entry (at most {MAX_ENTRIES_PER_READ} more)",
            "example": 10,
        },
    )

    @validates_schema
    def _check_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError("Must be greater than start.", "end")
        if data["end"] - data["start"] > MAX_ENTRIES_PER_READ:
            raise ValidationError(
                f"At most {MAX_ENTRIES_PER_READ} entries per request; page through larger ranges.",
                "end",
            )


class InclusionProofSchema(Schema):
    index = AsciiInteger(
        required=True, metadata={"description": "Index of the entry", "example": 0}
    )
    size = AsciiInteger(
        required=True,
        metadata={"description": "Size of the tree (a checkpoint's), above index", "example": 42},
    )
    leaf_hash = Base64Bytes(dump_only=True, metadata={**_HASH, "description": "The leaf hash"})
    root_hash = Base64Bytes(
        dump_only=True, metadata={**_HASH, "description": "The root hash of the tree of size"}
    )
    hashes = fields.List(
        Base64Bytes(metadata=_HASH),
        dump_only=True,
        metadata={"description": "The audit path, leaf to root (RFC 9162)"},
    )

    @validates_schema
    def _check_index(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["index"] >= data["size"]:
            raise ValidationError("Must be less than size.", "index")


class ConsistencyProofSchema(Schema):
    first = AsciiInteger(
        required=True,
        minimum=1,
        metadata={"description": "The older tree size", "example": 10},
    )
    second = AsciiInteger(
        required=True, metadata={"description": "The newer tree size", "example": 42}
    )
    first_root = Base64Bytes(
        dump_only=True, metadata={**_HASH, "description": "Root hash of the older tree"}
    )
    second_root = Base64Bytes(
        dump_only=True, metadata={**_HASH, "description": "Root hash of the newer tree"}
    )
    hashes = fields.List(
        Base64Bytes(metadata=_HASH),
        dump_only=True,
        metadata={"description": "The consistency proof (RFC 9162)"},
    )

    @validates_schema
    def _check_sizes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["first"] > data["second"]:
            raise ValidationError("Must not be greater than second.", "first")


entry_range_schema = EntryRangeSchema()
inclusion_proof_schema = InclusionProofSchema()
consistency_proof_schema = ConsistencyProofSchema()

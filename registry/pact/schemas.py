"""Schemas of PACT in: a label asked for from a PACT ProductFootprint, one or a batch.

``{"footprint": ProductFootprint, "rule": {scheme, rule, version}, "system_boundary",
"valid_until", "grade", "supersedes", "assurance"}``: the footprint as PACT states it (read by
:mod:`registry.pact.importing`, which names any PACT member it cannot map), and beside it what
PACT does not carry, as ``POST /api/v1/labels`` takes it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from credentials import BOUNDARIES
from registry.labels.schemas import (
    BatchRequestSchema,
    IssuanceOptionsSchema,
    assurance_field,
    valid_until_field,
)
from registry.pact.importing import PactLabelParams

__all__ = [
    "PactLabelBatchSchema",
    "PactLabelRequestSchema",
    "pact_label_batch_schema",
    "pact_label_request_schema",
]


class PactLabelRequestSchema(IssuanceOptionsSchema):
    """A label from a PACT ProductFootprint (v3.0.x, or 2.x)."""

    footprint = fields.Dict(
        required=True,
        metadata={
            "description": "A PACT ProductFootprint, specVersion 3.0.x or 2.x, as PACT states it "
            "(v2: declaredUnit, unitaryProductAmount, pCfExcludingBiogenic, "
            "crossSectoralStandardsUsed, assurance). A member that cannot be mapped is refused "
            "with its path under errors.footprint.",
            "example": {
                "id": "12345678-9abc-def0-1234-567812345678",
                "specVersion": "3.0.0",
                "status": "Active",
                "companyName": "Pearl River Energy Storage Ltd. (fictitious)",
                "productIds": ["urn:gtin:06901234567892"],
                "productNameCompany": "LFP battery module 51.2 V 100 Ah",
                "pcf": {
                    "declaredUnitOfMeasurement": "kilowatt hour",
                    "declaredUnitAmount": "1",
                    "pcfExcludingBiogenicUptake": "61.2",
                    "referencePeriodStart": "2025-01-01T00:00:00Z",
                    "referencePeriodEnd": "2026-01-01T00:00:00Z",
                    "boundaryProcessesDescription": "cradle-to-gate",
                    "crossSectoralStandards": ["ISO14067"],
                },
            },
        },
    )
    system_boundary = fields.String(
        validate=validate.OneOf(BOUNDARIES),
        load_default=None,
        metadata={
            "description": "The system boundary, unless pcf.boundaryProcessesDescription names "
            "it (cradle-to-gate or cradle-to-grave); must agree with it if it does"
        },
    )
    valid_until = valid_until_field("End of validity; default: the footprint's validityPeriodEnd")
    assurance = assurance_field(
        "The assurance level of the verification (ISO 14064-3); a v2 footprint's "
        "assurance.level is taken if this is left out, and must agree"
    )

    @post_load
    def _to_params(self, data: dict[str, Any], **kwargs: Any) -> PactLabelParams:
        r = data["rule"]
        return PactLabelParams(
            footprint=data["footprint"],
            scheme=r["scheme"],
            rule=r["rule"],
            rule_version=r["version"],
            system_boundary=data["system_boundary"],
            valid_until=data["valid_until"],
            asserted_grade=data["grade"],
            supersedes=data["supersedes"],
            assurance=data["assurance"],
        )


class PactLabelBatchSchema(BatchRequestSchema):
    """Several labels from PACT footprints, all or none: ``{"labels": [request, …]}``."""

    ITEM = '{"footprint": …, "rule": …}'
    labels = BatchRequestSchema.items_field(PactLabelRequestSchema, "from-PACT requests")


pact_label_request_schema = PactLabelRequestSchema()
pact_label_batch_schema = PactLabelBatchSchema()

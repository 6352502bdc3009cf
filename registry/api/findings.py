"""Audit findings on demand, for regulators (their schemes' findings) and the operator.

A GET computes the findings from the stored entries and returns them; nothing is stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from credentials import Severity
from registry.api.auth import current_principal
from registry.audit.findings import require_scheme_access, run_audit, visible_findings
from registry.auth.models import Role
from registry.schemes.schemas import code_field

__all__ = ["bp"]

bp = Blueprint("findings", __name__)


class FindingsQuerySchema(Schema):
    """Query parameters of the findings listing."""

    scheme = code_field(32, load_default=None)
    severity = fields.Enum(Severity, by_value=True, load_default=Severity.INFO)


_query_schema = FindingsQuerySchema()


@bp.get("/api/v1/audit/findings")
def list_findings_view() -> ResponseReturnValue:
    """Compute the audit findings over the stored ledger.
    ---
    get:
      summary: "Audit findings (regulator: under its schemes; operator: all)"
      description: >
        Computed on each request from the ledger entries as stored, so they catch rows written
        around the API: issuances outside an accreditation's scope or period or with a retired
        key, grades that do not match the thresholds, status changes by a party that may not
        make them, refused entries, footprint outliers (modified z-score), GTINs labelled by
        several bodies or re-labelled often, bursts of issuance, tampered entries and tables
        that disagree with the ledger. Each finding names the entries (`evidence`, their
        seqs). A regulator sees a finding only when every scheme of its evidence is its own;
        asking for another scheme is a 403 naming the schemes it oversees. Certifier tokens
        are refused.
      tags: [audit]
      security: [{bearer: []}]
      parameters:
        - in: query
          name: scheme
          schema: {type: string, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'}
        - in: query
          name: severity
          description: the lowest severity listed
          schema: {type: string, enum: [info, warning, high, critical], default: info}
      responses:
        200:
          description: '{"entries": n, "findings": [{kind, severity, message, evidence, schemes}]}'
          content: {application/json: {schema: {type: object}}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    query: dict[str, Any] = _query_schema.load(request.args)
    require_scheme_access(principal, query["scheme"])
    report = run_audit()
    findings = [
        f
        for f in visible_findings(report.findings, principal, query["scheme"])
        if f.severity.at_least(query["severity"])
    ]
    response = jsonify({"entries": report.entries, "findings": [f.to_json() for f in findings]})
    response.headers["Cache-Control"] = "no-store"
    return response

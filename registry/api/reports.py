"""Suspect-label reports, for the regulators of each label's scheme and the operator.

Reports hold personal data: every answer is ``Cache-Control: no-store``, and photos are
downloaded as attachments, never rendered inline by the registry's origin.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.api.common import json_body
from registry.auth.models import Role
from registry.reports.schemas import (
    report_query_schema,
    report_schema,
    report_status_change_schema,
)
from registry.reports.services import get_report_photo, list_reports, set_report_status

__all__ = ["bp"]

bp = Blueprint("reports", __name__)


@bp.get("/api/v1/reports")
def list_reports_view() -> ResponseReturnValue:
    """List suspect-label reports, oldest first, a page at a time.
    ---
    get:
      summary: "List suspect-label reports (regulator: its schemes'; operator: all)"
      description: >
        Reports readers sent from the label pages. They hold personal data (a contact, a
        photo) and are never published; certifier tokens are refused. Follow `next` for the
        following page. A report's photo is downloaded from its `photo.href`.
      tags: [reports]
      security: [{bearer: []}]
      parameters:
        - in: query
          name: status
          schema: {type: string, enum: [new, seen]}
        - in: query
          name: scheme
          schema: {type: string, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'}
        - in: query
          name: after
          schema: {type: integer, minimum: 0, maximum: 9223372036854775807}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200, default: 50}}
      responses:
        200:
          description: '{"reports": [SuspectReport], "next": URL or null}'
          content: {application/json: {schema: SuspectReportPageSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    # The role first: a certifier is refused before its query is read, never told it is invalid.
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    query = report_query_schema.load(request.args)
    reports = list_reports(principal, query)
    following = None
    if len(reports) == query.limit:
        args: dict[str, Any] = {**request.args.to_dict(), "after": reports[-1].id}
        following = url_for("reports.list_reports_view", **args)
    response = jsonify({"reports": report_schema.dump(reports, many=True), "next": following})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/reports/<id:report_id>/photo")
def get_report_photo_view(report_id: int) -> ResponseReturnValue:
    """The photo of a report, as stored.
    ---
    get:
      summary: Download the photo of a suspect-label report
      description: >
        For the regulators of the report's scheme and the operator. A report outside the
        token's schemes, or without a photo, is not found.
      tags: [reports]
      security: [{bearer: []}]
      responses:
        200:
          description: The photo, as an attachment (its SHA-256 is the ETag)
          content:
            image/jpeg: {schema: {type: string, format: binary}}
            image/png: {schema: {type: string, format: binary}}
            image/webp: {schema: {type: string, format: binary}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    principal = current_principal()
    photo = get_report_photo(principal, report_id)
    extension = photo.media_type.value.split("/")[1]
    response = Response(photo.data, mimetype=photo.media_type.value)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="report-{report_id}.{extension}"'
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"sha256-{photo.sha256.hex()}"'
    return response


@bp.post("/api/v1/reports/<id:report_id>/status")
def post_report_status(report_id: int) -> ResponseReturnValue:
    """Mark a report seen, or new again.
    ---
    post:
      summary: Change the status of a suspect-label report
      description: For the regulators of the report's scheme and the operator.
      tags: [reports]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: ReportStatusChangeSchema}}
      responses:
        200:
          description: The report, with its new status
          content: {application/json: {schema: SuspectReportSchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    change = report_status_change_schema.load(json_body())
    report = set_report_status(principal, report_id, change["status"])
    response = jsonify(report_schema.dump(report))
    response.headers["Cache-Control"] = "no-store"
    return response

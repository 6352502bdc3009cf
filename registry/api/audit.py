"""Audit views (regulator or operator token, limited to the schemes it oversees). The YAML
after ``---`` in each docstring is the route's OpenAPI operation.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from registry.api.auth import current_principal
from registry.audit.schemas import (
    body_history_schema,
    entry_query_schema,
    history_entry_schema,
    issuance_bucket_schema,
    issuance_query_schema,
    status_change_query_schema,
    status_change_schema,
)
from registry.audit.services import (
    body_history,
    issuance_over_time,
    label_history,
    list_audit_entries,
    list_status_changes,
)
from registry.auth.models import Role

__all__ = ["bp"]

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")


def _next(endpoint: str, after: int) -> str:
    args: dict[str, Any] = {**request.args.to_dict(), "after": after}
    return url_for(endpoint, **args)


@bp.get("/issuance")
def get_issuance_view() -> ResponseReturnValue:
    """Labels issued per day, week or month, by scheme, body, category and grade.
    ---
    get:
      summary: Issuance over time
      description: >-
        Counts of labels issued, per period (`by`: day, week — ISO, named by its Monday — or
        month; the period's first day, UTC) and scheme, body, category and grade; at most
        5000 rows (`truncated` says when more matched: narrow the filters). A scheme or body
        outside the token's schemes is a 403 naming the schemes it oversees.
      tags: [audit]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: by, schema: {type: string, enum: [day, week, month], default: month}}
        - {in: query, name: scheme, schema: {type: string}}
        - {in: query, name: body, schema: {type: string}}
        - {in: query, name: from, schema: {type: string, format: date-time}}
        - {in: query, name: to, schema: {type: string, format: date-time}}
      responses:
        200:
          description: The counts
          content:
            application/json:
              schema:
                type: object
                properties:
                  buckets:
                    type: array
                    items: IssuanceBucketSchema
                    description: One count per period, scheme, body, category and grade
                  truncated: {type: boolean, description: More rows matched than were returned}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    buckets, truncated = issuance_over_time(principal, issuance_query_schema.load(request.args))
    return jsonify(
        {"buckets": issuance_bucket_schema.dump(buckets, many=True), "truncated": truncated}
    )


@bp.get("/status-changes")
def get_status_changes_view() -> ResponseReturnValue:
    """Suspensions, reinstatements, revocations and supersessions, with reasons, who, when.
    ---
    get:
      summary: Status changes
      description: >-
        In ledger order, each with its entry's `seq` (prove it against `/ledger/entries`),
        the reason and who made it as the ledger names them. Paged by `after` (the last `seq`
        of the previous page; `next` links the following page).
      tags: [audit]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: scheme, schema: {type: string}}
        - {in: query, name: body, schema: {type: string}}
        - {in: query, name: from, schema: {type: string, format: date-time}}
        - {in: query, name: to, schema: {type: string, format: date-time}}
        - {in: query, name: after, schema: {type: integer, minimum: -1, default: -1}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500, default: 100}}
      responses:
        200:
          description: A page of status changes
          content:
            application/json:
              schema:
                type: object
                properties:
                  changes:
                    type: array
                    items: AuditStatusChangeSchema
                    description: This page's status changes
                  next:
                    type: [string, 'null']
                    description: The URL of the following page; null on the last one
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    query = status_change_query_schema.load(request.args)
    changes = list_status_changes(principal, query)
    following = None
    if len(changes) == query.limit:
        following = _next(".get_status_changes_view", changes[-1].seq)
    return jsonify({"changes": status_change_schema.dump(changes, many=True), "next": following})


@bp.get("/bodies/<code:body>")
def get_body_history_view(body: str) -> ResponseReturnValue:
    """A body's accreditations and keys, each with how many labels it covered.
    ---
    get:
      summary: A body's accreditation and key history next to what it issued
      description: >-
        Accreditations under the token's schemes, each with the labels of its scheme and
        categories issued in its period; keys, each with the labels it signed under those
        schemes. A body with no accreditation under them is a 403.
      tags: [audit]
      security: [{bearer: []}]
      parameters: [{in: path, name: body, required: true, schema: {type: string}}]
      responses:
        200:
          description: The history
          content: {application/json: {schema: AuditBodyHistorySchema}}
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    return jsonify(body_history_schema.dump(body_history(principal, body)))


@bp.get("/labels/<label:label_id>/history")
def get_label_history_view(label_id: str) -> ResponseReturnValue:
    """Every ledger entry naming a label.
    ---
    get:
      summary: A label's full history from the ledger
      description: >-
        Its issuance, each status change and the issuance of the label that superseded it,
        in ledger order, each with its `seq`, time, event, who, and the entry as stored.
      tags: [audit]
      security: [{bearer: []}]
      parameters: [{in: path, name: label_id, required: true, schema: {type: string}}]
      responses:
        200:
          description: The label's ledger history
          content:
            application/json:
              schema:
                type: object
                properties:
                  label: {type: string, description: The label's code, example: 7Q2M9XK4TZ}
                  scheme: {type: string, description: Its scheme's code, example: CN-GD}
                  entries:
                    type: array
                    items: LabelHistoryEntrySchema
                    description: Its ledger entries, oldest first
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    label, history = label_history(principal, label_id)
    return jsonify(
        {
            "label": label.id,
            "scheme": label.rule_version.rule.scheme.code,
            "entries": history_entry_schema.dump(history, many=True),
        }
    )


@bp.get("/entries")
def get_audit_entries_view() -> ResponseReturnValue:
    """Ledger entries filtered for a regulator's view.
    ---
    get:
      summary: Ledger entries by scheme, body, event kind and time
      description: >-
        The entries about the token's schemes (or `scheme`), as stored, in ledger order; each
        carries its `seq`, so it can be proven against the public, unfiltered log
        (`/ledger/entries`, `/ledger/proof/inclusion`), which alone is the proven one. Paged by
        `after` (the last `seq` of the previous page; `next` links the following page).
      tags: [audit]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: scheme, schema: {type: string}}
        - {in: query, name: body, schema: {type: string}}
        - {in: query, name: event, schema: {type: string}}
        - {in: query, name: from, schema: {type: string, format: date-time}}
        - {in: query, name: to, schema: {type: string, format: date-time}}
        - {in: query, name: after, schema: {type: integer, minimum: -1, default: -1}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500, default: 100}}
      responses:
        200:
          description: A page of ledger entries
          content:
            application/json:
              schema:
                type: object
                properties:
                  entries:
                    type: array
                    items: {type: object, additionalProperties: true, description: A ledger entry}
                    description: This page's entries
                  next:
                    type: [string, 'null']
                    description: The URL of the following page; null on the last one
        401: {$ref: '#/components/responses/Unauthenticated'}
        403: {$ref: '#/components/responses/Forbidden'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/Unprocessable'}
    """
    principal = current_principal(Role.REGULATOR, Role.OPERATOR)
    query = entry_query_schema.load(request.args)
    entries = list_audit_entries(principal, query)
    following = None
    if len(entries) == query.limit:
        following = _next(".get_audit_entries_view", entries[-1]["seq"])
    return jsonify({"entries": entries, "next": following})

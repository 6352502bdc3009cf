"""``GET /health``: is the ledger intact, and is everything else the app checks healthy."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from registry.audit.health import check_health

__all__ = ["bp"]

bp = Blueprint("health", __name__)


@bp.get("/health")
def health_view() -> ResponseReturnValue:
    """Ledger integrity and the app's other health checks.
    ---
    get:
      summary: Health of the registry (200 healthy, 503 not)
      description: >
        Tree size, the newest checkpoint's size and time, whether the stored nodes still give
        its signed root, and whether the newest entries still match their leaf hashes and
        nodes (a bounded check per request; the ticker sweeps older rows). Never cached.
      tags: [ledger]
      responses:
        200:
          description: '{"status": "ok", "ledger": {...}, "checks": [...]}'
          content: {application/json: {schema: {type: object}}}
        503:
          description: '{"status": "failing", "ledger": {"problems": [...]}, "checks": [...]}'
          content: {application/json: {schema: {type: object}}}
    """
    report = check_health()
    response = jsonify(report.payload)
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response

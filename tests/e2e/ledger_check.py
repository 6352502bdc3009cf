"""The whole ledger of a live registry, exported and audited offline with the kit.

What a regulator does with the export (see the README's offline audit): the entries, the signed
checkpoint the export carries, the log key; every entry replayed and every issued credential's
proof checked against its entry.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from credentials import credential_digest, parse_entry
from credentials.audit import AuditReport, audit_ledger
from credentials.ledger_events import LabelIssued, LedgerEvent
from tests.browser.server import LiveServer

__all__ = ["AuditedExport", "audited_export", "get"]


def get(server: LiveServer, path: str, token: str | None = None) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, answer_headers, payload = server.request("GET", path, headers=headers)
    assert status == 200, f"GET {path}: {status} {payload[:300]!r}"
    return answer_headers, payload


@dataclass(frozen=True, slots=True)
class AuditedExport:
    lines: list[bytes]
    events: list[LedgerEvent]
    labels: dict[str, dict[str, Any]]  # every label issued in the ledger, as the API shows it
    report: AuditReport
    log_key: str


def audited_export(server: LiveServer) -> AuditedExport:
    """Export the ledger (as the operator), audit it with the kit and every credential issued
    in it; fails unless the audit is clean, covers every entry and each label is issued once."""
    headers, export = get(server, "/api/v1/exports/ledger.jsonl", server.demo.operator_token)
    checkpoint = base64.b64decode(headers["Ledger-Checkpoint"]).decode()
    log_key = get(server, "/ledger/log-key")[1].decode()
    lines = export.splitlines(keepends=True)
    events = [parse_entry(line.rstrip(b"\n")).event for line in lines]
    issued = Counter(e.label for e in events if isinstance(e, LabelIssued))
    assert issued, "no issuance in the export"
    assert set(issued.values()) == {1}, "a label issued twice"
    labels = {
        label_id: dict(json.loads(get(server, f"/api/v1/labels/{label_id}")[1]))
        for label_id in issued
    }
    credentials = {
        credential_digest(label["credential"]): json.dumps(label["credential"]).encode()
        for label in labels.values()
    }
    report = audit_ledger(
        iter(lines), checkpoint=checkpoint, log_key=log_key, jobs=2, credentials=credentials
    )
    assert report.ok, report.problems
    assert report.size == len(lines) == report.checkpoint.size
    assert report.proofs_checked == len(issued)
    return AuditedExport(lines, events, labels, report, log_key)

"""The soak benchmark, short: every kind of traffic at once for a few seconds, on PostgreSQL.

``bench/soak.py`` runs as the README runs it (a subprocess: its own scratch database, gunicorn
workers and witness), bounded by its ``--seconds``; its JSON report is then held to the soak's
promises: no error anywhere, every operation ran, and the ledger the registry exports verifies
offline with the kit, each label an issuer was answered 201 for issued in it exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def test_a_short_soak_has_no_errors_and_its_ledger_verifies(pg_server: str) -> None:
    env = {**os.environ, "BENCH_PG_ADMIN": pg_server, "PYTHONPATH": str(ROOT)}
    args = ["--seconds", "4", "--workers", "2", "--bodies", "2", "--issuers", "2"]
    args += ["--changers", "1", "--readers", "1", "--verifiers", "1", "--jobs", "1"]
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "soak.py"), *args, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)
    ops = {op["name"]: op for op in report["operations"]}
    assert set(ops) == {
        "POST /api/v1/labels",
        "POST /api/v1/labels/{id}/status",
        "GET /l/{id}",
        "GET /api/v1/labels/{id}",
        "POST /credentials/verify",
        "witness cosignature",
    }
    assert report["errors"] == 0
    assert report["server_log_problems"] == []
    for op in ops.values():
        assert op["errors"] == 0, op
        assert op["count"] >= 1, op
        assert op["p50_ms"] <= op["p99_ms"]
    # The witness cosigned during the run, not only the final checkpoint.
    assert ops["witness cosignature"]["statuses"].get("1", 0) >= 1
    assert set(report["rss_kib_start"]) == set(report["rss_kib_end"])
    assert len(report["rss_kib_start"]) == 2
    assert all(kib > 0 for kib in report["rss_kib_end"].values())

    ledger = report["ledger"]
    assert ledger["ok"]
    assert ledger["problems"] == []
    assert ledger["cosigned"]
    # Every label answered 201 (the untimed ones and the timed ones) is issued exactly once,
    # and nothing else was issued; each has its credential's proof checked.
    seen = report["warmup_labels"] + ops["POST /api/v1/labels"]["count"]
    assert ledger["labels_seen"] == seen == ledger["labels_in_ledger"]
    assert ledger["labels_missing"] == ledger["labels_issued_twice"] == 0
    assert ledger["labels_unexpected"] == 0
    assert ledger["proofs_checked"] == seen
    changes = ops["POST /api/v1/labels/{id}/status"]["count"]
    assert ledger["status_changes_seen"] == changes == ledger["status_changes_in_ledger"]
    assert ledger["entries_replayed"] == ledger["size"] > seen + changes

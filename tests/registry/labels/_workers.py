"""Worker processes of the label concurrency tests (spawned, so this module must import cleanly).

Each worker is a separate process with its own app, engine and connections, like a gunicorn
worker, and talks to the registry only through the HTTP API (a test client without a pushed app
context, so every request gets its own context and commits, as in production).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from queue import Queue
from typing import Any

from registry import create_app
from registry.config import Settings
from registry.db import db
from tests.registry.factories import label_request

# From each status, the actions a certifier may take and the status each leads to.
_MOVES = {
    "active": [("suspend", "suspended"), ("revoke", "revoked")],
    "suspended": [("reinstate", "active"), ("revoke", "revoked")],
    "superseded": [("revoke", "revoked")],
}


@dataclass
class WorkerReport:
    worker: int
    issued: list[str] = field(default_factory=list)
    changes: int = 0
    replays: int = 0
    superseded: int = 0
    unexpected: list[str] = field(default_factory=list)


def _headers(secret: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {secret}"}
    return headers if key is None else headers | {"Idempotency-Key": key}


def issue_and_change(
    settings: Settings,
    secret: str,
    worker: int,
    seconds: float,
    start: Barrier,
    results: Queue[WorkerReport],
) -> None:
    """Issue labels and change their status through the API until ``seconds`` have passed."""
    app = create_app(settings)
    client = app.test_client()
    rng = random.Random(worker)
    report = WorkerReport(worker)
    status: dict[str, str] = {}
    start.wait()  # every worker has started up: from here on they all write at once
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        value = f"{rng.randint(20, 140)}.{rng.randint(0, 9)}"
        key = f"w{worker}-{n}" if n % 3 == 0 else None
        replaceable = [i for i, s in status.items() if s in ("active", "suspended")]
        old = rng.choice(replaceable) if n % 4 == 0 and replaceable else None
        body = label_request(value, name=f"LFP module lot {worker}-{n}", supersedes=old)
        response = client.post("/api/v1/labels", json=body, headers=_headers(secret, key))
        if response.status_code != 201:
            report.unexpected.append(f"issue {response.status_code}: {response.get_data(True)}")
            continue
        label_id = response.get_json()["id"]
        report.issued.append(label_id)
        status[label_id] = "active"
        if old is not None:
            status[old] = "superseded"
            report.superseded += 1
        if key is not None:
            again = client.post("/api/v1/labels", json=body, headers=_headers(secret, key))
            if again.status_code != 200 or again.get_json()["id"] != label_id:
                report.unexpected.append(f"replay {again.status_code}: {again.get_data(True)}")
            report.replays += 1
        movable = [i for i, s in status.items() if s in _MOVES]
        for label in rng.sample(movable, k=min(2, len(movable))):
            action, after = rng.choice(_MOVES[status[label]])
            changed = client.post(
                f"/api/v1/labels/{label}/status",
                json={"action": action, "reason": f"worker {worker} {action}"},
                headers=_headers(secret),
            )
            if changed.status_code != 200 or changed.get_json()["status"] != after:
                report.unexpected.append(
                    f"{action} {changed.status_code}: {changed.get_data(True)}"
                )
            else:
                status[label] = after
                report.changes += 1
    _close(app)
    results.put(report)


def race_one_key(
    settings: Settings,
    secret: str,
    keys: list[str],
    body: dict[str, Any],
    start: Barrier,
    results: Queue[list[tuple[str, int, str]]],
) -> None:
    """For each key, wait for every worker, then all send the same request with that key."""
    app = create_app(settings)
    client = app.test_client()
    outcomes = []
    for key in keys:
        start.wait()
        response = client.post("/api/v1/labels", json=body, headers=_headers(secret, key))
        outcomes.append((key, response.status_code, response.get_json().get("id", "")))
    _close(app)
    results.put(outcomes)


def _close(app: Any) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def race_submit(
    settings: Settings,
    secret: str,
    path: str,
    signed: dict[str, Any],
    start: Barrier,
    results: Queue[tuple[int, str]],
) -> None:
    """Wait for every worker, then all submit the same signed credential to one preparation."""
    app = create_app(settings)
    client = app.test_client()
    start.wait()
    response = client.post(path, json=signed, headers=_headers(secret))
    results.put((response.status_code, response.get_json().get("id", "")))
    _close(app)

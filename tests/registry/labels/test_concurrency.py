"""Many processes issuing, superseding and changing status at once on PostgreSQL.

Afterwards the ledger is numbered 0..n-1 without gaps, every label is in it exactly once with its
credential's digest, the labels' status is what their events say, status-list indexes are
unique, every served list agrees with the statuses, and the signed checkpoint verifies. Two more
tests replay, step by step, interleavings of a supersession and a status change that must not
deadlock (each request takes its locks in the order label, lists, ledger).
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from credentials import (
    NoteVerifier,
    StatusList,
    credential_digest,
    leaf_hash,
    open_checkpoint,
    root_hash,
    verify_document,
)
from registry.auth.services import authenticate
from registry.config import Settings
from registry.db import db
from registry.errors import RegistryError
from registry.labels.models import Label, StatusListRecord
from registry.labels.services import StatusAction, change_label_status
from registry.labels.status_lists import LIST_SIZE
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_ledger
from tests.registry.factories import BASE_URL, LabelWorld, label_request, make_settings
from tests.registry.labels._workers import WorkerReport, issue_and_change, race_one_key
from tests.registry.labels.support import make_label_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 8
SECONDS = 8.0
RACES = 3
TIMEOUT = 120
_AFTER = {"label.suspended": "suspended", "label.reinstated": "active", "label.revoked": "revoked"}


@pytest.fixture
def registry(
    make_pg_database: Callable[[], str], tmp_path: Path
) -> Iterator[tuple[Settings, LabelWorld, Flask]]:
    """A PostgreSQL registry of its own: the workers commit, and the ledger never deletes.

    Its settings (for the workers), its tokens, and an app for this process whose connections
    are closed at teardown, whatever the test's outcome.
    """
    url = make_pg_database()
    app, world = make_label_app(url, tmp_path)
    yield make_settings(url, tmp_path), world, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run_workers(target: Callable[..., None], arguments: list[tuple[Any, ...]]) -> list[Any]:
    """Run one process per argument tuple, started together; their results, in any order.

    Workers fork from a fork server that has imported the registry once (a fresh interpreter
    each costs more CPU than the whole run on a small machine); each then builds its own app,
    engine and connections, as a gunicorn worker does.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([target.__module__])
    start = ctx.Barrier(len(arguments))
    results = ctx.Queue()
    processes = [ctx.Process(target=target, args=(*args, start, results)) for args in arguments]
    for process in processes:
        process.start()
    reports: list[Any] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while len(reports) < len(processes):
            try:
                reports.append(results.get(timeout=0.5))
            except queue.Empty:
                crashed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                assert not crashed, f"a worker crashed (exit codes {crashed}); see its traceback"
                assert time.monotonic() < deadline, "the workers did not finish in time"
    finally:
        start.abort()  # releases any worker still waiting for the others
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():  # pragma: no cover - only a hung worker gets here
                process.terminate()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return reports


def test_concurrent_issuance_and_status_changes_keep_the_ledger_whole(
    registry: tuple[Settings, LabelWorld, Flask],
) -> None:
    settings, world, app = registry
    secrets = [world.certifier, world.other_certifier]  # two bodies, four workers each
    reports: list[WorkerReport] = run_workers(
        issue_and_change,
        [(settings, secrets[n % 2], n, SECONDS) for n in range(WORKERS)],
    )
    assert [r.unexpected for r in reports] == [[]] * WORKERS
    assert all(r.issued and r.changes for r in reports), [
        (len(r.issued), r.changes) for r in reports
    ]
    issued = [label for r in reports for label in r.issued]

    client = app.test_client()
    note = client.get("/ledger/checkpoint").data
    verifier = NoteVerifier.from_verifier_key(client.get("/ledger/log-key").get_data(as_text=True))
    checkpoint = open_checkpoint(note, verifier=verifier)
    with app.app_context():
        rows = db.session.execute(
            select(LedgerEntry.seq, LedgerEntry.body).order_by(LedgerEntry.seq)
        ).all()
        labels = {label.id: label for label in db.session.execute(select(Label)).scalars()}
        lists = list(db.session.execute(select(StatusListRecord)).scalars())
        report = verify_ledger()
        served = {r.id: client.get(f"/status-lists/{r.id}").get_json() for r in lists}

    # Gapless numbering, and the signed checkpoint is the root of exactly these entries.
    assert [seq for seq, _ in rows] == list(range(len(rows))), "entries must be 0..n-1"
    assert checkpoint.size == len(rows)
    assert checkpoint.root_hash == root_hash([leaf_hash(bytes(body)) for _, body in rows])
    assert report.ok, report.problems

    # Every label exactly once in the ledger, with its credential's digest.
    entries = [json.loads(bytes(body)) for _, body in rows]
    issuances = [e for e in entries if e["event"] == "label.issued"]
    assert max(Counter(e["label"] for e in issuances).values()) == 1
    assert sorted(e["label"] for e in issuances) == sorted(labels) == sorted(issued)
    for entry in issuances:
        label = labels[entry["label"]]
        assert label.ledger_seq == entry["seq"]
        assert entry["credentialDigest"] == credential_digest(json.loads(label.credential))

    # Each label's status is what its events say, in ledger order.
    derived = {label_id: "active" for label_id in labels}
    for entry in entries:
        if entry["event"] in _AFTER:
            derived[entry["label"]] = _AFTER[entry["event"]]
        elif entry["event"] == "label.issued" and entry["supersedes"]:
            derived[entry["supersedes"]] = "superseded"
            assert labels[entry["supersedes"]].superseded_by_id == entry["label"]
            assert labels[entry["label"]].supersedes_id == entry["supersedes"]
    assert sum(1 for s in derived.values() if s == "superseded") <= sum(
        r.superseded for r in reports
    )
    assert {i: str(label.status) for i, label in labels.items()} == derived
    changes = sum(1 for e in entries if e["event"] in _AFTER)
    assert changes == sum(r.changes for r in reports)

    # Unique indexes, allocation counts, and served bits that agree with the statuses.
    for purpose, list_of, index_of in (
        ("revocation", "revocation_list_id", "revocation_index"),
        ("suspension", "suspension_list_id", "suspension_index"),
    ):
        slots = [(getattr(lb, list_of), getattr(lb, index_of)) for lb in labels.values()]
        assert len(set(slots)) == len(slots), f"a {purpose} index was handed out twice"
        per_list = Counter(list_id for list_id, _ in slots)
        for record in lists:
            if record.purpose.value == purpose:
                assert record.allocated == per_list[record.id]
        set_when = {"revoked"} if purpose == "revocation" else {"suspended", "superseded"}
        for label in labels.values():
            credential = served[getattr(label, list_of)]
            bits = StatusList.decode(credential["credentialSubject"]["encodedList"])
            assert bits.get(getattr(label, index_of)) == (derived[label.id] in set_when)
    for credential in served.values():
        verify_document(credential)
        assert credential["id"].startswith(f"{BASE_URL}/status-lists/")
    print(
        f"{WORKERS} workers: {len(labels)} labels "
        f"({sum(r.superseded for r in reports)} superseding), {changes} status changes, "
        f"{sum(r.replays for r in reports)} replays, {len(rows)} entries"
    )


def test_the_same_idempotency_key_from_many_processes_at_once_makes_one_label(
    registry: tuple[Settings, LabelWorld, Flask],
) -> None:
    settings, world, app = registry
    keys = [f"erp-order-{n}" for n in range(RACES)]
    body = label_request("52.5", name="LFP module, order sent by every worker at once")
    outcomes = run_workers(race_one_key, [(settings, world.certifier, keys, body)] * WORKERS)

    by_key: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for outcome in outcomes:
        for key, status, label_id in outcome:
            by_key[key].append((status, label_id))
    with app.app_context():
        labels = db.session.execute(select(Label.id)).scalars().all()
        events = db.session.execute(
            select(LedgerEntry.event).where(LedgerEntry.event == "label.issued")
        ).all()
    for key in keys:
        statuses = sorted(status for status, _ in by_key[key])
        assert statuses == [200] * (WORKERS - 1) + [201], (key, by_key[key])
        assert len({label_id for _, label_id in by_key[key]}) == 1
    assert len(labels) == len(events) == RACES
    assert {label_id for key in keys for _, label_id in by_key[key]} == set(labels)


def _lock_waiters(url: str) -> int:
    """How many sessions of this database are waiting for a lock right now."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Interleaving:
    response: Any = None  # of the request made meanwhile
    request_error: Exception | None = None
    change_error: Exception | None = None  # of the status change

    def deadlocks(self) -> list[str]:
        errors = {"the request": self.request_error, "the status change": self.change_error}
        return [
            f"{who}: {str(e).splitlines()[0]}"
            for who, e in errors.items()
            if isinstance(e, OperationalError)
        ]


def interleave(
    settings: Settings,
    app: Flask,
    secret: str,
    *,
    held: Any,
    request: dict[str, Any],
    change: tuple[str, StatusAction],
) -> Interleaving:
    """A status change stopped after its first lock (``held``), a request meanwhile, then the rest.

    ``held`` is the statement the status change starts with; the request runs in another
    thread (its own app context, session and connection) until it finishes or waits for a
    lock; then the status change runs to its commit.
    """
    result = Interleaving()
    client = app.test_client()

    def send() -> None:
        try:
            result.response = client.post(
                "/api/v1/labels", json=request, headers={"Authorization": f"Bearer {secret}"}
            )
        except Exception as exc:
            result.request_error = exc

    with app.app_context():
        principal = authenticate(secret)
        db.session.execute(held)
        other = threading.Thread(target=send)
        other.start()
        deadline = time.monotonic() + 20
        while other.is_alive() and not _lock_waiters(settings.database_url):
            assert time.monotonic() < deadline, "the request neither finished nor waited"
            time.sleep(0.05)
        try:
            change_label_status(principal, change[0], change[1], reason="Market surveillance")
            db.session.commit()
        except (OperationalError, RegistryError) as exc:
            db.session.rollback()
            result.change_error = exc
        finally:
            db.session.remove()
    other.join(timeout=60)
    return result


def suspension_of(label: dict[str, Any]) -> tuple[str, int]:
    entry = label["credential"]["credentialStatus"][1]
    assert entry["statusPurpose"] == "suspension"
    return entry["statusListCredential"].rsplit("/", 1)[1], int(entry["statusListIndex"])


def test_superseding_a_label_of_a_full_list_while_that_list_is_resigned(
    registry: tuple[Settings, LabelWorld, Flask],
) -> None:
    """Once a list is full (65,536 labels) new labels go to a new one, so superseding a label
    of the full list must lock that list itself, before the ledger: a status change of another
    label of the list holds the list while it re-signs, then waits for the ledger."""
    settings, world, app = registry
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.certifier}"}
    old, other = (
        client.post("/api/v1/labels", json=label_request(), headers=headers).get_json()
        for _ in range(2)
    )
    full, _ = suspension_of(old)
    assert suspension_of(other)[0] == full
    with app.app_context():
        # The state after 65,536 issuances into this list, without issuing them all.
        db.session.execute(
            update(StatusListRecord)
            .where(StatusListRecord.id == full)
            .values(allocated=LIST_SIZE // 2)
        )
        db.session.commit()

    result = interleave(
        settings,
        app,
        world.certifier,
        held=select(StatusListRecord.id).where(StatusListRecord.id == full).with_for_update(),
        request=label_request("58.1", supersedes=old["id"]),
        change=(other["id"], StatusAction.SUSPEND),
    )
    assert result.deadlocks() == [], "lock-order deadlock between supersession and a change"
    assert (result.request_error, result.change_error) == (None, None)
    assert result.response.status_code == 201
    assert suspension_of(result.response.get_json())[0] != full
    served = client.get(f"/status-lists/{full}").get_json()
    bits = StatusList.decode(served["credentialSubject"]["encodedList"])
    for label in (old, other):
        assert bits.get(suspension_of(label)[1]) is True, f"{label['id']}'s bit was lost"


def test_superseding_a_label_while_the_same_label_is_suspended(
    registry: tuple[Settings, LabelWorld, Flask],
) -> None:
    """A body supersedes a label at the moment it (or the operator) suspends that label.

    The status change locks the label row first, then its lists; the issuance must not hold
    one of those lists (drawing the new label's indexes) while it waits for the label row.
    One of the two may be refused (a superseded label cannot be suspended), none may deadlock.
    """
    settings, world, app = registry
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.certifier}"}
    old = client.post("/api/v1/labels", json=label_request(), headers=headers).get_json()

    result = interleave(
        settings,
        app,
        world.certifier,
        held=select(Label.id).where(Label.id == old["id"]).with_for_update(),
        request=label_request("58.1", supersedes=old["id"]),
        change=(old["id"], StatusAction.SUSPEND),
    )
    assert result.deadlocks() == [], "lock-order deadlock between supersession and a change"
    assert result.request_error is None
    assert result.response.status_code in (201, 409), result.response.get_json()
    with app.app_context():
        final = db.session.get_one(Label, old["id"])
        expected = "superseded" if result.response.status_code == 201 else "suspended"
        assert str(final.status) == expected
        assert result.change_error is None or isinstance(result.change_error, RegistryError)

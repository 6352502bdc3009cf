"""Crash safety on PostgreSQL: a live registry keeps its ledger whole through worker kills, lost
database connections and a database restart.

gunicorn serves with three workers over a fresh database (demo loaded) while client threads
issue labels (each with an Idempotency-Key), submit small batches and suspend and reinstate
labels, retrying whatever failed with the same key until it succeeds. Meanwhile, driven by the
clients' progress (every few successes, while requests are in flight), the test

- SIGKILLs a gunicorn worker in the middle of a request (one holding a client's connection,
  found in /proc; the master starts another);
- terminates every backend the registry holds (``pg_terminate_backend``);
- restarts a private PostgreSQL cluster (``pg_ctl restart -m fast``) the registry uses.

Afterwards, each time: the ledger is numbered 0..n-1 without a gap; every label has exactly one
issuance entry and every issuance entry its label; every key the client saw succeed made
exactly one label, and every status change it saw is in the ledger exactly once; the export
audits clean offline with the kit (hashes, tree, checkpoint signature, every transition, every
label's credential proof); every status list credential verifies and agrees with the labels'
statuses; the latest checkpoint is consistent with the one taken before the disruptions; and
the registry serves again without being restarted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select

import tests.browser.server as live
from credentials import (
    NoteVerifier,
    check_status,
    parse_entry,
    parse_status_entries,
    verify_document,
)
from credentials.audit import check_consistency
from credentials.checkpoint import open_cosigned_checkpoint
from credentials.errors import CredentialError
from credentials.ledger_events import LabelIssued, LabelReinstated, LabelSuspended
from credentials.status_list import issuer_id
from registry import create_app
from registry.batches.models import BatchState, LabelBatch, LabelBatchItem
from registry.config import Settings
from registry.db import db, read_snapshot, transaction
from registry.labels.models import IdempotencyKey, Label
from registry.ledger.models import LedgerCosignature, LedgerEntry
from registry.ledger.services import publish_checkpoint
from registry.ledger.state import verify_state
from registry.ledger.verification import verify_ledger
from tests.browser.server import LiveServer, live_server
from tests.e2e.crash_clients import (
    DISRUPTIONS,
    WAIT_FOR,
    Seen,
    disrupt_while_serving,
)
from tests.e2e.crash_parts import (
    PG_BIN,
    WORKERS,
    Cluster,
    LocalWitness,
    as_postgres,
    free_port,
    kill_a_busy_worker,
)
from tests.e2e.ledger_check import audited_export, get

BATCH_WAIT = 20.0  # seconds for the CSV batches to end (a lease, a minute, would not)


# --- the checks ------------------------------------------------------------------------------


def _issued_label(entry: bytes) -> str:
    event = parse_entry(entry).event
    assert isinstance(event, LabelIssued)
    return event.label


def _check_tables(server: LiveServer, seen: Seen) -> dict[str, int]:
    """A checkpoint over everything, then the registry's own checks of the stored ledger."""
    app = create_app(server.settings)
    with app.app_context():
        try:
            with transaction():
                publish_checkpoint()
            with read_snapshot():
                seqs = list(db.session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
                labels = dict(db.session.execute(select(Label.id, Label.ledger_seq)).tuples().all())
                issuances = db.session.execute(
                    select(LedgerEntry.seq, LedgerEntry.body).where(
                        LedgerEntry.event == LabelIssued.KIND
                    )
                ).all()
                report = verify_ledger()
                state = verify_state()
                batches = db.session.execute(
                    select(LabelBatch.id, LabelBatch.state, LabelBatch.rows_total)
                ).all()
                failed = db.session.execute(
                    select(LabelBatch.reason, LabelBatch.rows_issued).where(
                        LabelBatch.state == BatchState.FAILED
                    )
                ).all()
                items = Counter(db.session.scalars(select(LabelBatchItem.batch_id)))
                from_csv = set(db.session.scalars(select(LabelBatchItem.label_id)))
                claims = dict(
                    db.session.execute(select(IdempotencyKey.key, IdempotencyKey.label_id))
                    .tuples()
                    .all()
                )
        finally:
            db.session.remove()
            db.engine.dispose()
    assert seqs == list(range(len(seqs))), "the ledger has a gap"
    assert report.ok, report.problems
    assert report.uncovered == 0
    assert state.ok, (state.violation, state.mismatches)
    # No half-written label: each row has its one issuance entry, each issuance its row.
    by_seq = {seq: _issued_label(bytes(body)) for seq, body in issuances}
    issued = Counter(by_seq.values())
    assert set(issued.values()) == {1}, "a label issued twice"
    assert issued.keys() == labels.keys(), "labels and issuance entries differ"
    assert all(by_seq.get(seq) == label_id for label_id, seq in labels.items())
    # No label nobody asked for: a replay that issued again would leave one no key names.
    asked = {*server.demo.label_ids.values(), *seen.labels.values(), *from_csv}
    assert labels.keys() == asked, sorted(labels.keys() ^ asked)
    # Each key the clients saw succeed is claimed once, for the label they were answered.
    assert all(claims.get(key) == label_id for key, label_id in seen.labels.items())
    # A CSV batch is issued whole or not at all: done with every row, or nothing of it yet
    # (a runner killed mid-batch holds its lease for a minute, then another runs it again).
    assert {batch_id for batch_id, _, _ in batches} == seen.csv_batches
    for batch_id, batch_state, total in batches:
        wanted = total if batch_state is BatchState.DONE else 0
        assert items[batch_id] == wanted, (batch_id, batch_state, items[batch_id], total)
    # A batch whose every attempt lost its database connection (three are allowed) is failed
    # and says it issued nothing.
    for reason, issued_rows in failed:
        assert issued_rows == 0
        assert "nothing was issued" in (reason or "")
    done = sum(1 for _, batch_state, _ in batches if batch_state is BatchState.DONE)
    return {"csv batches": len(batches), "done": done, "failed": len(failed)}


def _settle_batches(server: LiveServer) -> float:
    """Wait until every CSV batch has ended or is held by a worker that was killed (its lease
    runs out in a minute, too long to wait for here); the seconds it took."""
    app = create_app(server.settings)
    started = time.monotonic()
    ended = (BatchState.DONE, BatchState.REFUSED, BatchState.FAILED)
    with app.app_context():
        try:
            while True:  # polling the runners' progress, with a timeout
                with read_snapshot():
                    pending = db.session.execute(
                        select(LabelBatch.id, LabelBatch.state, LabelBatch.lease_owner).where(
                            LabelBatch.state.not_in(ended)
                        )
                    ).all()
                alive = set(server.worker_pids())
                waiting = [
                    (batch_id, state, owner)
                    for batch_id, state, owner in pending
                    if owner is None or int(owner.split(":")[1]) in alive
                ]
                if not waiting:
                    return time.monotonic() - started
                assert time.monotonic() - started < BATCH_WAIT, f"batches stuck: {waiting}"
                threading.Event().wait(0.2)
        finally:
            db.session.remove()
            db.engine.dispose()


def _label(server: LiveServer, label_id: str) -> dict[str, Any]:
    _, payload = get(server, f"/api/v1/labels/{label_id}")
    return dict(json.loads(payload))


def _check_ledger(server: LiveServer, seen: Seen, before: str) -> dict[str, int]:
    """The export audited offline with the kit, and what the clients saw, in it exactly once."""
    audited = audited_export(server)
    report, events, labels = audited.report, audited.events, audited.labels
    issued = Counter(e.label for e in events if isinstance(e, LabelIssued))

    # Every key the clients saw succeed made one label (answered 201 once, else replayed).
    for key, label_id in seen.labels.items():
        assert issued[label_id] == 1, f"{key}: {label_id} not in the ledger"
        assert seen.created[key] <= 1, f"{key}: created {seen.created[key]} times"
        assert seen.created[key] + seen.replayed[key] >= 1
    assert len(set(seen.labels.values())) == len(seen.labels), "two keys, one label"
    # Every status change seen (or applied with its answer lost) is in the ledger exactly once.
    changes = Counter(
        (e.label, e.KIND)
        for e in events
        if isinstance(e, LabelSuspended | LabelReinstated) and e.label in set(seen.labels.values())
    )
    assert changes == seen.changes + seen.unseen

    _check_status_lists(server, labels, ours=set(seen.labels.values()))
    _, latest = get(server, "/ledger/checkpoint")
    old_size, new_size = (int(note.split("\n")[1]) for note in (before, latest.decode()))
    _, proof = get(server, f"/ledger/proof/consistency?first={old_size}&second={new_size}")
    old, new = check_consistency(before, latest.decode(), json.loads(proof), audited.log_key)
    assert new.size >= report.size > old.size
    return {
        "entries": report.size,
        "labels": len(issued),
        "changes": sum(changes.values()),
        "retries": seen.retries,
        "lost": seen.lost,
        "replayed": sum(seen.replayed.values()),
    }


def _check_status_lists(
    server: LiveServer, labels: dict[str, dict[str, Any]], *, ours: set[str]
) -> None:
    """Each list's proof verifies, and its bits are the statuses of the labels the clients
    issued (the demo's superseded labels keep the bits they had)."""
    lists: dict[str, dict[str, Any]] = {}
    now = datetime.now(UTC)
    for label in labels.values():
        for entry in parse_status_entries(label["credential"]):
            if entry.list_url not in lists:
                path = entry.list_url.removeprefix(server.base_url)
                _, payload = get(server, path)
                credential = json.loads(payload)
                verify_document(credential, now=now)
                lists[entry.list_url] = credential
            listed = lists[entry.list_url]
            if label["id"] not in ours:
                continue
            bit = check_status(entry, listed, expected_issuer=issuer_id(listed["issuer"]))
            wanted = {"revocation": "revoked", "suspension": "suspended"}[entry.purpose]
            assert bit == (label["status"] == wanted), (label["id"], entry.purpose)
    assert lists


def _check_witnessed(server: LiveServer, witness: LocalWitness) -> int:
    """The witness, pushed to by the workers through every disruption, cosigns the final
    checkpoint (it checks each push's consistency proof); the cosignatures stored meanwhile."""
    _, log_key = get(server, "/ledger/log-key")
    log = NoteVerifier.from_verifier_key(log_key.decode())
    cosigner = NoteVerifier.from_verifier_key(witness.verifier_key)
    deadline = time.monotonic() + WAIT_FOR
    while True:  # polling: a ticker asks the witness every second
        _, note = get(server, "/ledger/checkpoint")
        with contextlib.suppress(CredentialError):
            open_cosigned_checkpoint(note, verifier=log, witnesses=[cosigner], quorum=1)
            break
        assert time.monotonic() < deadline, f"the final checkpoint is not cosigned: {note!r}"
        threading.Event().wait(0.1)
    app = create_app(server.settings)
    with app.app_context():
        try:
            with read_snapshot():
                stored = list(db.session.scalars(select(LedgerCosignature.size)))
        finally:
            db.session.remove()
            db.engine.dispose()
    assert len(stored) == len(set(stored))
    return len(stored)


@pytest.fixture
def witness(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalWitness]:
    """Three workers, each ticking every second and pushing its checkpoints to ``witness``."""
    made = live.server_environment
    running_witness = LocalWitness(tmp_path)

    def environment(**kwargs: Any) -> dict[str, str]:
        env = made(**kwargs)
        vkey = Settings.from_env(env).log_signer().verifier_key()
        return {
            **env,
            "WEB_CONCURRENCY": str(WORKERS),
            "REGISTRY_CHECKPOINT_INTERVAL": "1",
            "REGISTRY_WITNESSES": running_witness.start(vkey),
        }

    monkeypatch.setattr(live, "server_environment", environment)
    try:
        yield running_witness
    finally:
        running_witness.stop()


def test_sigkilled_workers_leave_no_trace(
    fresh_database_url: str, witness: LocalWitness, tmp_path: Path
) -> None:
    backend = "sqlite" if fresh_database_url.startswith("sqlite") else "postgresql"
    kills: list[int] = []
    with live_server(backend, fresh_database_url, tmp_path / "server") as server:
        seen, before = disrupt_while_serving(
            server, "kill", lambda: kills.append(kill_a_busy_worker(server))
        )
        settled = _settle_batches(server)
        tables = {**_check_tables(server, seen), "batch wait": round(settled, 1)}
        counts = {**_check_ledger(server, seen, before), **tables}
        counts["cosigned"] = _check_witnessed(server, witness)
    assert len(kills) == DISRUPTIONS
    # Each kill takes a worker holding a client's connection: most cut a request short.
    assert counts["lost"] >= DISRUPTIONS // 2, "the kills cut few requests in flight"
    print(f"SIGKILL ({backend}): {len(kills)} workers killed; {counts}")


@pytest.mark.postgres
def test_terminated_backends_leave_no_trace(
    make_pg_database: Callable[[], str], pg_server: str, witness: LocalWitness, tmp_path: Path
) -> None:
    url = make_pg_database()
    name = url.rsplit("/", 1)[1]
    terminated: list[int] = []
    with live_server("postgresql", url, tmp_path / "server") as server:

        def terminate_backends() -> None:
            with psycopg.connect(pg_server, autocommit=True) as conn:
                pids = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
            terminated.append(sum(1 for (done,) in pids if done))

        seen, before = disrupt_while_serving(server, "terminate", terminate_backends)
        settled = _settle_batches(server)
        tables = {**_check_tables(server, seen), "batch wait": round(settled, 1)}
        counts = {**_check_ledger(server, seen, before), **tables}
        counts["cosigned"] = _check_witnessed(server, witness)
    assert len(terminated) == DISRUPTIONS
    assert all(terminated), terminated
    print(f"pg_terminate_backend: {terminated} backends; {counts}")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        reason = f"no PostgreSQL server binaries (initdb, pg_ctl) under {PG_BIN}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the PostgreSQL tests must run)")
        pytest.skip(reason)
    # Not under pytest's tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="crash-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, user="postgres")
        made = Cluster(root / "data", free_port(), root, root / "postgres.log")
        as_postgres(
            str(PG_BIN / "initdb"), "-D", str(made.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8", "--locale", "C",
        )  # fmt: skip
        made.pg_ctl("start")
        try:
            yield made
        finally:
            made.pg_ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_a_database_restart_leaves_no_trace(
    cluster: Cluster, witness: LocalWitness, tmp_path: Path
) -> None:
    with psycopg.connect(cluster.admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("registry")))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/registry"
    restarts: list[float] = []
    with live_server("postgresql", url, tmp_path / "server") as server:

        def restart() -> None:
            started = time.monotonic()
            cluster.pg_ctl("-m", "fast", "restart")
            restarts.append(time.monotonic() - started)

        seen, before = disrupt_while_serving(server, "restart", restart)
        settled = _settle_batches(server)
        tables = {**_check_tables(server, seen), "batch wait": round(settled, 1)}
        counts = {**_check_ledger(server, seen, before), **tables}
        counts["cosigned"] = _check_witnessed(server, witness)
    assert len(restarts) == DISRUPTIONS
    print(f"restart: {len(restarts)} restarts; {counts}")

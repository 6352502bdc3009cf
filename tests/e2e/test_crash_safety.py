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

import base64
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    credential_digest,
    parse_entry,
    parse_status_entries,
    verify_document,
)
from credentials.audit import audit_ledger, check_consistency
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
from tests.browser.flow import RULE, _payload
from tests.browser.server import LiveServer, live_server

CSV_HEADER = (
    "scheme,rule,rule_version,product_name,manufacturer,product_model,gtin,product_identifiers,"
    "footprint,declared_unit,declared_unit_amount,system_boundary,period_start,period_end,"
    "valid_until,grade,assurance,supersedes,qr"
)

WORKERS = 3
BODY = "lingnan-pcc"
ISSUERS = 3  # client threads issuing one label per request
DISRUPTIONS = 8  # per scenario
EVERY = 6  # successes between two disruptions
RETRY_FOR = 45.0  # seconds a client keeps retrying one request
WAIT_FOR = 60.0  # seconds the test waits for the clients' progress
BATCH_WAIT = 20.0  # seconds for the CSV batches to end (a lease, a minute, would not)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
_LOST = (OSError, http.client.HTTPException)  # a reset, a refused or half-answered request


@dataclass
class Seen:
    """What the clients saw succeed (and how), shared by their threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    labels: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> label id
    created: Counter[str] = field(default_factory=Counter)  # key -> 201 answers
    replayed: Counter[str] = field(default_factory=Counter)  # key -> 200 answers
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, event) seen
    unseen: Counter[tuple[str, str]] = field(default_factory=Counter)  # applied, answer lost
    csv_batches: set[int] = field(default_factory=set)  # uploaded CSV batches' ids
    retries: int = 0
    lost: int = 0  # requests whose answer never came (the worker died under them)
    problems: list[str] = field(default_factory=list)
    successes: int = 0
    in_flight: int = 0
    progress: threading.Condition = field(default_factory=threading.Condition)

    def label(self, key: str, label_id: str, status: int) -> None:
        with self.lock:
            known = self.labels.setdefault(key, label_id)
            if known != label_id:
                self.problems.append(f"key {key} answered {label_id} after {known}")
            (self.created if status == 201 else self.replayed)[key] += 1

    def succeeded(self) -> None:
        with self.progress:
            self.successes += 1
            self.progress.notify_all()

    def wait_for(self, what: Callable[[], bool], why: str) -> None:
        with self.progress:
            if not self.progress.wait_for(what, timeout=WAIT_FOR):
                raise AssertionError(f"no progress: {why} ({self.successes} successes)")


class Client:
    """One HTTP request at a time to the live server, retried until it is answered."""

    def __init__(self, server: LiveServer, seen: Seen, stop: threading.Event) -> None:
        self.port = int(server.base_url.rsplit(":", 1)[1])
        self.token = server.demo.certifier_tokens[BODY]
        self.seen = seen
        self.stop = stop

    def once(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        sent = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(live.HOST, self.port, timeout=30)
        with self.seen.progress:
            self.seen.in_flight += 1
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
            with self.seen.progress:
                self.seen.in_flight -= 1

    def until_answered(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Retry a lost request or a 5xx (the worker or the database went away) as it was."""
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                status, payload = self.once(method, path, body, headers)
            except _LOST:
                status, payload = 0, b""
                with self.seen.lock:
                    self.seen.lost += 1
            if 0 < status < 500:
                return status, payload
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} unanswered: {status} {payload[:300]!r}")
            with self.seen.lock:
                self.seen.retries += 1

    def issue(self, key: str, serial: int) -> str:
        body = _payload(serial, "41.8")
        status, payload = self.until_answered(
            "POST", "/api/v1/labels", body, {"Idempotency-Key": key}
        )
        assert status in (200, 201), f"issue {key}: {status} {payload[:500]!r}"
        label_id = json.loads(payload)["id"]
        self.seen.label(key, label_id, status)
        return str(label_id)

    def issue_batch(self, key: str, serials: range) -> list[str]:
        body = {"labels": [_payload(serial, "58.0") for serial in serials]}
        status, payload = self.until_answered(
            "POST", "/api/v1/labels/batch", body, {"Idempotency-Key": key}
        )
        assert status in (200, 201), f"batch {key}: {status} {payload[:500]!r}"
        ids = [str(label["id"]) for label in json.loads(payload)["labels"]]
        assert len(set(ids)) == len(serials)
        for position, label_id in enumerate(ids):
            self.seen.label(f"{key}#{position}", label_id, status)
        return ids

    def upload_csv(self, key: str, serials: range) -> int:
        """A CSV batch, queued for a worker's batch runner; its id."""
        lines = [CSV_HEADER]
        for serial in serials:
            product = _payload(serial, "77.5")["product"]
            lines.append(
                f"{RULE.scheme},{RULE.code},{RULE.current.version},{product['name']},"
                f"Pearl River Energy Storage Co. (fictitious),{product['model']},"
                f"{product['gtin']},,77.5,kWh,1,{RULE.boundary},2025-01-01,2025-12-31,,,,,label"
            )
        status, payload = self.until_answered(
            "POST", "/api/v1/label-batches", "\r\n".join(lines).encode(),
            {"Idempotency-Key": key, "Content-Type": "text/csv"},
        )  # fmt: skip
        assert status in (200, 202), f"CSV batch {key}: {status} {payload[:500]!r}"
        batch_id = int(json.loads(payload)["id"])
        with self.seen.lock:
            self.seen.csv_batches.add(batch_id)
        return batch_id

    def change(self, label_id: str, action: str) -> None:
        """Suspend or reinstate; a 409 after a lost answer means the lost one was applied."""
        event, wanted = {
            "suspend": ("label.suspended", "suspended"),
            "reinstate": ("label.reinstated", "active"),
        }[action]
        body = {"action": action, "reason": "Crash-safety test (fictitious)"}
        status, payload = self.until_answered("POST", f"/api/v1/labels/{label_id}/status", body)
        if status == 200:
            assert json.loads(payload)["status"] == wanted
            with self.seen.lock:
                self.seen.changes[(label_id, event)] += 1
            return
        assert status == 409, f"{action} {label_id}: {status} {payload[:500]!r}"
        status, payload = self.until_answered("GET", f"/api/v1/labels/{label_id}")
        assert status == 200
        assert json.loads(payload)["status"] == wanted, f"{action} {label_id} refused, not made"
        with self.seen.lock:
            self.seen.unseen[(label_id, event)] += 1


def _clients(client: Client, scenario: str) -> list[Callable[[], None]]:
    """The client threads' loops: issuers, one batcher, one status changer."""
    seen, stop = client.seen, client.stop
    serials = iter(range(1, 10**6))
    serial_lock = threading.Lock()

    def next_serials(n: int) -> range:
        with serial_lock:
            first = next(serials)
            for _ in range(n - 1):
                next(serials)
        return range(first, first + n)

    def issuer(n: int) -> Callable[[], None]:
        def run() -> None:
            i = 0
            while not stop.is_set():
                client.issue(f"crash-{scenario}-{n}-{i}", next_serials(1)[0])
                seen.succeeded()
                i += 1

        return run

    def batcher() -> None:
        i = 0
        while not stop.is_set():
            if i % 3 == 2:
                client.upload_csv(f"crash-{scenario}-csv-{i}", next_serials(5))
            else:
                client.issue_batch(f"crash-{scenario}-batch-{i}", next_serials(4))
            seen.succeeded()
            i += 1

    def changer() -> None:
        while not stop.is_set():
            with seen.lock:
                issued = sorted(seen.labels.values())
            if not issued:
                seen.wait_for(lambda: bool(seen.labels) or stop.is_set(), "a first label")
                continue
            label_id = random.choice(issued)
            client.change(label_id, "suspend")
            seen.succeeded()
            client.change(label_id, "reinstate")
            seen.succeeded()

    return [*(issuer(n) for n in range(ISSUERS)), batcher, changer]


@contextlib.contextmanager
def running(loops: list[Callable[[], None]], seen: Seen, stop: threading.Event) -> Iterator[None]:
    """Run ``loops`` in threads; on leaving, stop them and re-raise the first failure."""
    failures: list[BaseException] = []

    def guarded(loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as exc:  # reported by the test thread below
                failures.append(exc)
                stop.set()
                with seen.progress:
                    seen.progress.notify_all()

        return run

    threads = [threading.Thread(target=guarded(loop), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=RETRY_FOR + 30)
        if failures:
            raise failures[0]


def _http(server: LiveServer, path: str, token: str | None = None) -> tuple[dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, answer_headers, payload = server.request("GET", path, headers=headers)
    assert status == 200, f"GET {path}: {status} {payload[:300]!r}"
    return answer_headers, payload


def _disrupt_while_serving(
    server: LiveServer, scenario: str, disrupt: Callable[[], None]
) -> tuple[Seen, str]:
    """Clients run while ``disrupt`` happens DISRUPTIONS times; then the registry must serve
    again at once. Returns what the clients saw and the checkpoint from before."""
    _, before = _http(server, "/ledger/checkpoint")
    seen, stop = Seen(), threading.Event()
    client = Client(server, seen, stop)
    with running(_clients(client, scenario), seen, stop):
        for n in range(DISRUPTIONS):
            target = seen.successes + EVERY

            def due(target: int = target) -> bool:
                # Every EVERY successes, while requests are in flight.
                return stop.is_set() or (seen.successes >= target and seen.in_flight >= 2)

            seen.wait_for(due, f"{scenario}: before disruption {n + 1}")
            if stop.is_set():
                break
            disrupt()
        target = seen.successes + EVERY
        seen.wait_for(lambda: stop.is_set() or seen.successes >= target, f"{scenario}: after")
    assert not seen.problems, seen.problems
    # Serving again without a restart of gunicorn: the next requests succeed the first time.
    after = Client(server, seen, threading.Event())
    for n in range(3):
        status, payload = after.once(
            "POST",
            "/api/v1/labels",
            _payload(900_000 + n, "41.8"),
            {"Idempotency-Key": f"crash-{scenario}-after-{n}"},
        )
        assert status == 201, f"after {scenario}: {status} {payload[:500]!r}"
        seen.label(f"crash-{scenario}-after-{n}", json.loads(payload)["id"], status)
    return seen, before.decode()


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
    _, payload = _http(server, f"/api/v1/labels/{label_id}")
    return dict(json.loads(payload))


def _check_ledger(server: LiveServer, seen: Seen, before: str) -> dict[str, int]:
    """The export audited offline with the kit, and what the clients saw, in it exactly once."""
    operator = server.demo.operator_token
    headers, export = _http(server, "/api/v1/exports/ledger.jsonl", operator)
    checkpoint = base64.b64decode(headers["Ledger-Checkpoint"]).decode()
    _, log_key = _http(server, "/ledger/log-key")
    lines = export.splitlines(keepends=True)
    events = [parse_entry(line.rstrip(b"\n")).event for line in lines]
    issued = Counter(e.label for e in events if isinstance(e, LabelIssued))
    assert issued, "no issuance in the export"
    assert set(issued.values()) == {1}, "a label issued twice"
    labels = {label_id: _label(server, label_id) for label_id in issued}
    credentials = {
        credential_digest(label["credential"]): json.dumps(label["credential"]).encode()
        for label in labels.values()
    }
    report = audit_ledger(
        iter(lines), checkpoint=checkpoint, log_key=log_key.decode(), jobs=2,
        credentials=credentials,
    )  # fmt: skip
    assert report.ok, report.problems
    assert report.size == len(lines) == report.checkpoint.size
    assert report.proofs_checked == len(issued)

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
    _, latest = _http(server, "/ledger/checkpoint")
    old_size, new_size = (int(note.split("\n")[1]) for note in (before, latest.decode()))
    _, proof = _http(server, f"/ledger/proof/consistency?first={old_size}&second={new_size}")
    old, new = check_consistency(before, latest.decode(), json.loads(proof), log_key.decode())
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
                _, payload = _http(server, path)
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
    _, log_key = _http(server, "/ledger/log-key")
    log = NoteVerifier.from_verifier_key(log_key.decode())
    cosigner = NoteVerifier.from_verifier_key(witness.verifier_key)
    deadline = time.monotonic() + WAIT_FOR
    while True:  # polling: a ticker asks the witness every second
        _, note = _http(server, "/ledger/checkpoint")
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


# --- the disruptions -------------------------------------------------------------------------


@dataclass
class LocalWitness:
    """A ``carbonlabel witness serve`` the registry's tickers push every checkpoint to."""

    workdir: Path
    process: subprocess.Popen[str] | None = None
    verifier_key: str = ""

    def start(self, log_verifier_key: str) -> str:
        """Trust the log, serve on a free port; the ``REGISTRY_WITNESSES`` entry."""
        directory = self.workdir / "witness"
        cli = [sys.executable, "-m", "credentials.cli", "witness"]
        made = subprocess.run(  # noqa: S603 - the kit's own CLI, fixed arguments
            [*cli, "init", str(directory), "--name", "crash.example/witness"],
            capture_output=True, text=True, check=True, cwd=live.ROOT,
        )  # fmt: skip
        self.verifier_key = made.stdout.strip()
        subprocess.run(  # noqa: S603
            [*cli, "trust", str(directory), log_verifier_key],
            capture_output=True, check=True, cwd=live.ROOT,
        )  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            [*cli, "serve", str(directory), "--listen", f"{live.HOST}:0"],
            stdout=subprocess.PIPE, text=True, cwd=live.ROOT,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once the socket is bound
        assert line.startswith("listening on "), line
        return f"{self.verifier_key}=http://{line.split()[2]}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()


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


def _connections(port: int) -> set[str]:
    """Socket inodes of the established TCP connections to ``port`` on the loopback."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port:
            found.add(f"socket:[{inode}]")
    return found


def _busy_workers(server: LiveServer) -> list[int]:
    """The workers holding a client's connection: each is in the middle of a request (the
    clients send one request per connection)."""
    connections = _connections(int(server.base_url.rsplit(":", 1)[1]))
    busy = []
    for pid in server.worker_pids():
        with contextlib.suppress(OSError):  # the worker may be gone meanwhile
            fds = Path(f"/proc/{pid}/fd")
            if any(os.readlink(fd) in connections for fd in fds.iterdir()):
                busy.append(pid)
    return busy


def _kill_a_busy_worker(server: LiveServer) -> int:
    """SIGKILL a worker while it serves a request, once all of them are up; its pid."""
    deadline = time.monotonic() + WAIT_FOR
    while len(server.worker_pids()) < WORKERS or not (busy := _busy_workers(server)):
        assert time.monotonic() < deadline, "no worker up and serving"
        threading.Event().wait(0.01)  # polling for the master's fork or a request, with a timeout
    pid = random.choice(busy)
    os.kill(pid, signal.SIGKILL)
    return pid


def test_sigkilled_workers_leave_no_trace(
    fresh_database_url: str, witness: LocalWitness, tmp_path: Path
) -> None:
    backend = "sqlite" if fresh_database_url.startswith("sqlite") else "postgresql"
    kills: list[int] = []
    with live_server(backend, fresh_database_url, tmp_path / "server") as server:
        seen, before = _disrupt_while_serving(
            server, "kill", lambda: kills.append(_kill_a_busy_worker(server))
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

        seen, before = _disrupt_while_serving(server, "terminate", terminate_backends)
        settled = _settle_batches(server)
        tables = {**_check_tables(server, seen), "batch wait": round(settled, 1)}
        counts = {**_check_ledger(server, seen, before), **tables}
        counts["cosigned"] = _check_witnessed(server, witness)
    assert len(terminated) == DISRUPTIONS
    assert all(terminated), terminated
    print(f"pg_terminate_backend: {terminated} backends; {counts}")


# --- a private PostgreSQL cluster, to restart ------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    data: Path
    port: int
    socket_dir: Path
    log: Path

    @property
    def admin(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        # fsync off: the cluster is this test's scratch; a fast restart still checkpoints.
        options += " -c fsync=off -c max_connections=100"
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", "60", "-o", options, *args,
        )  # fmt: skip


def _as_postgres(*argv: str) -> None:
    """initdb and pg_ctl refuse to run as root: as root, run them as the ``postgres`` user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
        [*prefix, *argv], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{argv[0]}: {done.stdout}{done.stderr}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((live.HOST, 0))
        return int(s.getsockname()[1])


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
        made = Cluster(root / "data", _free_port(), root, root / "postgres.log")
        _as_postgres(
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

        seen, before = _disrupt_while_serving(server, "restart", restart)
        settled = _settle_batches(server)
        tables = {**_check_tables(server, seen), "batch wait": round(settled, 1)}
        counts = {**_check_ledger(server, seen, before), **tables}
        counts["cosigned"] = _check_witnessed(server, witness)
    assert len(restarts) == DISRUPTIONS
    print(f"restart: {len(restarts)} restarts; {counts}")

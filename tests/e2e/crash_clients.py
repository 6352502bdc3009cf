"""The clients of the crash-safety test (``test_crash_safety.py``).

Threads issue labels, batches and CSV batches and suspend and reinstate labels through a live
registry's API, retrying whatever was lost (a reset connection, a 5xx) with the same
Idempotency-Key until it is answered, and record what they saw succeed: the test then looks
for each of it in the ledger, exactly once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import tests.browser.server as live
from tests.browser.flow import RULE, _payload
from tests.browser.server import LiveServer
from tests.e2e.ledger_check import get

CSV_HEADER = (
    "scheme,rule,rule_version,product_name,manufacturer,product_model,gtin,product_identifiers,"
    "footprint,declared_unit,declared_unit_amount,system_boundary,period_start,period_end,"
    "valid_until,grade,assurance,supersedes,qr"
)
BODY = "lingnan-pcc"
ISSUERS = 3  # client threads issuing one label per request
DISRUPTIONS = 8  # per scenario
EVERY = 6  # successes between two disruptions
RETRY_FOR = 45.0  # seconds a client keeps retrying one request
WAIT_FOR = 60.0  # seconds the test waits for the clients' progress
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


def client_loops(client: Client, scenario: str) -> list[Callable[[], None]]:
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


def disrupt_while_serving(
    server: LiveServer, scenario: str, disrupt: Callable[[], None]
) -> tuple[Seen, str]:
    """Clients run while ``disrupt`` happens DISRUPTIONS times; then the registry must serve
    again at once. Returns what the clients saw and the checkpoint from before."""
    _, before = get(server, "/ledger/checkpoint")
    seen, stop = Seen(), threading.Event()
    client = Client(server, seen, stop)
    with running(client_loops(client, scenario), seen, stop):
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

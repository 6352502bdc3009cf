"""End-to-end label issuance throughput: HTTP API → database → ledger, through a real gunicorn.

For each database (a fresh SQLite file, a fresh ``bench_<random>`` PostgreSQL database) the
script sets up a registry (scheme, rule version in force, certification bodies with
accreditations, registry-held keys and certifier tokens), starts gunicorn with
``registry/gunicorn_conf.py`` on a free loopback port, and drives ``POST /api/v1/labels`` from
concurrent HTTP clients (one connection each; gunicorn's sync workers close it after every
response), every request a different product with its own Idempotency-Key; then the same
through ``POST /api/v1/labels/batch`` with ``--batch`` labels per request. Same-run baselines
on the same server: ``GET /ledger/log-key`` (no database), before and after issuance, and
``GET /api/v1/labels/{id}`` (one label read). CPU per label is read from /proc for the workers
and the PostgreSQL backends, so it holds however busy the machine is. Afterwards the labels
are counted against the ledger's ``label.issued`` entries and the 201 responses, the ledger is
re-verified (``verify_ledger``) and a sample of the issued credentials is checked with the kit.

    .venv/bin/python bench/issuance.py [--db sqlite|postgresql|both] [--seconds 20]
    .venv/bin/python bench/issuance.py --memory 20000            # one worker's RSS, per label
    .venv/bin/python bench/issuance.py --memory 100000 --memory-batch 20
    .venv/bin/python bench/issuance.py --profile 200 --db postgresql   # in-process profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import re
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bench._common import (
    DATABASES,
    ROOT,
    Gunicorn,
    LoadResult,
    Request,
    cpu_seconds,
    database_name,
    exit_on_sigterm,
    free_port,
    json_request,
    load_average,
    migrate,
    ms,
    percentile,
    pg_scan_notes,
    postgres_backend_pids,
    rss_kib,
    run_load,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from credentials import verify_document
from registry import create_app
from registry.auth.models import Role
from registry.auth.services import create_token
from registry.bodies.services import add_body_key, grant_accreditation, register_body
from registry.clock import utcnow
from registry.db import db, transaction
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.ledger.services import publish_checkpoint
from registry.ledger.verification import verify_ledger
from registry.schemes.services import create_rule, create_scheme, publish_rule_version

TARGET_PG = 300.0  # labels/s on PostgreSQL, from the issue
SCHEME, RULE, VERSION = "CN-GD", "PCR-LIB", "2.1"
PRODUCTS = (
    "LFP battery module 51.2 V 100 Ah",
    "NMC battery pack 48 V 280 Ah",
    "LFP cell 3.2 V 314 Ah",
    "Home storage battery 10 kWh",
)


# --- set-up ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registry:
    """A registry ready to issue: the certifier tokens of its bodies."""

    tokens: tuple[str, ...]


def set_up_registry(app: Flask, *, bodies: int) -> Registry:
    """Migrate, then create what a certifier needs to issue, through the registry's services."""
    tokens = []
    migrate(app)
    with app.app_context():
        now = utcnow()
        with transaction():
            create_scheme(
                code=SCHEME,
                region="CN-GD",
                names={
                    "en": "Guangdong product carbon label (fictitious)",
                    "zh": "广东碳标签（虚构）",
                },
                owner="Guangdong environment department (fictitious)",
            )
            create_rule(
                scheme_code=SCHEME,
                code=RULE,
                category="battery",
                names={"en": "Lithium-ion batteries", "zh": "锂离子电池"},
            )
            publish_rule_version(
                scheme_code=SCHEME,
                rule_code=RULE,
                version=VERSION,
                declared_unit="kWh",
                standard="ISO 14067:2018",
                in_force_from=now - timedelta(days=30),
                in_force_until=None,
                thresholds=(Decimal(45), Decimal(65), Decimal(85), Decimal(110)),
            )
        for b in range(bodies):
            code = f"bench-body-{b}"
            with transaction():
                register_body(
                    code=code,
                    name=f"Benchmark Product Carbon Certification {b} Co. (fictitious)",
                    region="CN-GD",
                )
                grant_accreditation(
                    body_code=code,
                    scheme_code=SCHEME,
                    categories=["battery"],
                    accreditation_body="CNAS (fictitious)",
                    reference=f"CNAS-C{1000 + b} (fictitious)",
                    valid_from=now - timedelta(days=10),
                    valid_until=None,
                )
                add_body_key(code)
                _, secret = create_token(role=Role.CERTIFIER, name=f"bench {b}", body_code=code)
            tokens.append(secret)
        db.engine.dispose()
    # The key's active-from is "now" to the millisecond; credentials carry whole seconds, so
    # let the clock pass a second before the first label (a verifier compares the two).
    time.sleep(1.1)
    return Registry(tuple(tokens))


def gtin14(n: int) -> str:
    digits = f"1690{n % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def label_payload(n: int, rng: random.Random) -> dict[str, Any]:
    """A plausible, always-different issuance request (fictitious products)."""
    value = Decimal(rng.randrange(3000, 13000)) / 100
    return {
        "product": {
            "name": f"{rng.choice(PRODUCTS)} #{n} (fictitious)",
            "manufacturer": f"Pearl River Energy Storage {rng.randrange(200)} Ltd. (fictitious)",
            "model": f"PRE-{rng.randrange(10**6):06d}",
            "gtin": gtin14(n),
        },
        "footprint": {
            "value": str(value),
            "system_boundary": rng.choice(("cradle-to-gate", "cradle-to-grave")),
            "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "rule": {"scheme": SCHEME, "rule": RULE, "version": VERSION},
    }


def issue_request(registry: Registry, seed: int) -> Callable[[int], Request]:
    rng = random.Random(seed)
    tokens = registry.tokens

    def make(n: int) -> Request:
        return json_request(
            "POST",
            "/api/v1/labels",
            label_payload(seed * 10_000_000 + n, rng),
            {
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    return make


def batch_request(registry: Registry, seed: int, size: int) -> Callable[[int], Request]:
    rng = random.Random(seed)
    tokens = registry.tokens

    def make(n: int) -> Request:
        first = seed * 10_000_000 + n * size
        return json_request(
            "POST",
            "/api/v1/labels/batch",
            {"labels": [label_payload(first + k, rng) for k in range(size)]},
            {
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    return make


def fixed_request(path: str) -> Callable[[int], Request]:
    req = Request("GET", path)
    return lambda n: req


def cycling_request(paths: list[str]) -> Callable[[int], Request]:
    reqs = [Request("GET", p) for p in paths]
    return lambda n: reqs[n % len(reqs)]


# --- measurement -----------------------------------------------------------------------------


@contextmanager
def server_cpu(server: Gunicorn, database: str | None) -> Iterator[dict[str, float]]:
    """CPU seconds the gunicorn workers (and the PostgreSQL backends) spent inside the block."""
    out: dict[str, float] = {}

    def snapshot() -> tuple[dict[int, float], dict[int, float]]:
        workers = {pid: cpu_seconds(pid) for pid in server.worker_pids()}
        backends = (
            {pid: cpu_seconds(pid) for pid in postgres_backend_pids(database)} if database else {}
        )
        return workers, backends

    w0, b0 = snapshot()
    yield out
    w1, b1 = snapshot()
    out["gunicorn"] = sum(v - w0.get(pid, 0.0) for pid, v in w1.items())
    out["postgres"] = sum(v - b0.get(pid, 0.0) for pid, v in b1.items())


@dataclass(frozen=True, slots=True)
class Phase:
    """One timed issuance run: ``per_request`` labels in each request."""

    name: str
    per_request: int
    result: LoadResult
    cpu: dict[str, float]

    @property
    def labels(self) -> int:
        return self.result.ok * self.per_request

    @property
    def labels_per_second(self) -> float:
        return self.result.rate * self.per_request


@dataclass(frozen=True, slots=True)
class Figures:
    db: str
    workers: int
    clients: int
    bodies: int
    phases: list[Phase]
    log_key_before: LoadResult
    log_key_after: LoadResult
    label_read: LoadResult
    checks: list[str]
    problems: list[str]

    @property
    def baseline(self) -> float:
        return (self.log_key_before.rate + self.log_key_after.rate) / 2


def describe(name: str, r: LoadResult, per_request: int = 1) -> str:
    rate = r.rate * per_request
    unit = "labels/s" if name.startswith("POST") else "req/s"
    return (
        f"  {name:40} {rate:8,.1f} {unit:8} p50 {ms(percentile(r.latencies, 50))} ms"
        f"  p95 {ms(percentile(r.latencies, 95))} ms  requests {r.ok:<6} errors {r.errors}"
    )


def credentials_in(raw: bytes) -> list[dict[str, Any]]:
    """The signed credentials in a single-label or a batch response."""
    data = json.loads(raw)
    labels = data.get("labels", [data])
    return [label["credential"] for label in labels]


def verify_after(
    app: Flask, *, created: int, sample: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Labels = ledger label.issued entries = labels in 201 responses; the ledger verifies."""
    checks: list[str] = []
    problems: list[str] = []
    with app.app_context():
        with transaction():
            labels = db.session.execute(select(func.count()).select_from(Label)).scalar_one()
            issued = db.session.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.event == "label.issued")
            ).scalar_one()
            checkpoint = publish_checkpoint()
        line = f"labels {labels}, ledger label.issued {issued}, labels in 201 responses {created}"
        (checks if labels == issued == created else problems).append(line)
        t0 = time.perf_counter()
        report = verify_ledger()
        took = time.perf_counter() - t0
        db.session.rollback()
        if report.ok and report.uncovered == 0 and checkpoint.size == report.size:
            checks.append(
                f"verify_ledger: OK, {report.size} entries gapless from 0, "
                f"{report.checkpoints_verified} checkpoints verified, the latest covers all "
                f"({took:.1f} s)"
            )
        else:
            problems.extend(f"verify_ledger: {p}" for p in report.problems or ("not covered",))
        db.engine.dispose()
    if sample:
        bad = 0
        for credential in sample:
            try:
                verify_document(credential)
            except Exception as exc:
                bad += 1
                problems.append(f"credential proof: {type(exc).__name__}: {exc}")
        line = f"{len(sample)} sampled credentials: the eddsa-rdfc-2022 proof verifies with the kit"
        (problems if bad else checks).append(line)
    return checks, problems


def measure(args: argparse.Namespace, kind: str) -> Figures:
    with scratch_dir(f"bench-issuance-{kind}-") as work, scratch_database(kind, work) as url:
        port = free_port()
        env = server_environment(
            database_url=url, instance=work / "instance", port=port, workers=args.workers
        )
        app = create_app(settings_for(env))
        t0 = time.perf_counter()
        registry = set_up_registry(app, bodies=args.bodies)
        took = time.perf_counter() - t0
        print(f"[{kind}] set up a registry with {args.bodies} bodies in {took:.1f} s")
        pg = database_name(url) if kind == "postgresql" else None
        created = 0
        failures: list[str] = []
        phases: list[Phase] = []
        sample: list[dict[str, Any]] = []
        ok201 = frozenset({201})
        with Gunicorn(env, work / "gunicorn.log") as server:
            print(f"[{kind}] gunicorn on 127.0.0.1:{port}, workers {server.worker_pids()}")
            # Warm-up: every worker imports, connects and signs before anything is timed.
            warm = run_load(
                port,
                issue_request(registry, seed=1),
                clients=args.clients,
                expect=ok201,
                seconds=args.warmup,
            )
            created += warm.statuses[201]
            failures += warm.failures
            log_key = fixed_request("/ledger/log-key")
            ok200 = frozenset({200})
            run_load(port, log_key, clients=args.clients, expect=ok200, seconds=1.0)
            before = run_load(
                port, log_key, clients=args.clients, expect=ok200, seconds=args.baseline_seconds
            )
            runs: list[tuple[str, int, Callable[[int], Request]]] = [
                ("POST /api/v1/labels", 1, issue_request(registry, seed=2))
            ]
            if args.batch:
                runs.append(
                    (
                        f"POST /api/v1/labels/batch ({args.batch}/request)",
                        args.batch,
                        batch_request(registry, seed=3, size=args.batch),
                    )
                )
            for name, per, make in runs:
                with server_cpu(server, pg) as cpu:
                    result = run_load(
                        port,
                        make,
                        clients=args.clients,
                        expect=ok201,
                        seconds=args.seconds,
                        keep_bodies=args.check,
                    )
                phases.append(Phase(name, per, result, cpu))
                created += result.statuses[201] * per
                failures += result.failures
                for raw in result.bodies:
                    sample += credentials_in(raw)[:2]
            after = run_load(
                port, log_key, clients=args.clients, expect=ok200, seconds=args.baseline_seconds
            )
            ids = [c["id"].rsplit("/", 1)[1] for c in sample] or ["0000000000"]
            reads = run_load(
                port,
                cycling_request([f"/api/v1/labels/{i}" for i in ids]),
                clients=args.clients,
                expect=ok200,
                seconds=args.baseline_seconds,
            )
            failures += before.failures + after.failures + reads.failures
            print(f"[{kind}] machine load average {load_average()}")
            notes = pg_scan_notes(url) if kind == "postgresql" else []
        problems = [f"gunicorn log: {line}" for line in server.log_problems()[:10]]
        checks, more = verify_after(app, created=created, sample=sample)
        problems += more + failures[:10]
        checks += [f"note: {line}" for line in notes]
        return Figures(
            db=kind,
            workers=args.workers,
            clients=args.clients,
            bodies=args.bodies,
            phases=phases,
            log_key_before=before,
            log_key_after=after,
            label_read=reads,
            checks=checks,
            problems=problems,
        )


def report(f: Figures) -> None:
    cores = os.cpu_count() or 1
    print()
    print(
        f"== {f.db}: {f.workers} gunicorn workers, {f.clients} clients, {f.bodies} bodies, "
        f"{f.phases[0].result.elapsed:.0f} s per issuance run"
    )
    for phase in f.phases:
        print(describe(phase.name, phase.result, phase.per_request))
    print(describe("GET /ledger/log-key (before)", f.log_key_before))
    print(describe("GET /ledger/log-key (after)", f.log_key_after))
    print(describe("GET /api/v1/labels/{id}", f.label_read))
    for phase in f.phases:
        n = max(phase.labels, 1)
        server = phase.cpu.get("gunicorn", 0) / n
        database = phase.cpu.get("postgres", 0) / n
        pg = f" + postgres {database * 1000:.2f} ms" if f.db == "postgresql" else ""
        print(
            f"  {phase.name}: {phase.labels_per_second / f.baseline:.3f} × the log-key rate, "
            f"{phase.labels_per_second / max(f.label_read.rate, 1e-9):.3f} × the label-read rate"
        )
        print(
            f"    CPU per label: gunicorn {server * 1000:.2f} ms{pg} (load clients "
            f"{phase.result.client_cpu / n * 1000:.2f} ms); {cores} idle cores would cap it "
            f"at ≈ {cores / max(server + database, 1e-9):.0f} labels/s"
        )
        if f.db == "postgresql":
            verdict = "met" if phase.labels_per_second >= TARGET_PG else "MISSED"
            print(f"    target ≥ {TARGET_PG:.0f} labels/s on PostgreSQL: {verdict}")
    for line in f.checks:
        print(f"  {'' if line.startswith('note:') else 'ok: '}{line}")
    for line in f.problems:
        print(f"  PROBLEM: {line}")


# --- memory ----------------------------------------------------------------------------------


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of (labels, KiB): KiB per label."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def measure_memory(args: argparse.Namespace, kind: str) -> bool:
    """Issue ``--memory`` labels against one worker, sampling its RSS; True when it stays flat."""
    total, every = args.memory, args.sample_every or max(1000, args.memory // 10)
    per = args.memory_batch
    with scratch_dir(f"bench-memory-{kind}-") as work, scratch_database(kind, work) as url:
        port = free_port()
        env = server_environment(database_url=url, instance=work / "instance", port=port, workers=1)
        app = create_app(settings_for(env))
        registry = set_up_registry(app, bodies=args.bodies)
        # One worker, never recycled: max_requests would otherwise restart it every ~10,000
        # requests and hide any growth.
        server = Gunicorn(env, work / "gunicorn.log", extra_args=("--max-requests", "0"))
        created, failures = 0, 0
        series: list[tuple[int, int, float]] = []
        how = "one label per request" if per == 1 else f"batches of {per}"
        with server:
            (pid,) = server.worker_pids()
            print(
                f"[{kind}] one gunicorn worker (pid {pid}, --max-requests 0), {total:,} labels "
                f"in {how}, 2 clients; RSS after {every:,} labels of warm-up, then every {every:,}"
            )
            chunk = 0
            deadline = time.monotonic() + args.memory_timeout
            while created < every + total and time.monotonic() < deadline:
                chunk += 1
                make = (
                    issue_request(registry, seed=100 + chunk)
                    if per == 1
                    else batch_request(registry, seed=100 + chunk, size=per)
                )
                r = run_load(
                    port,
                    make,
                    clients=2,
                    expect=frozenset({201}),
                    count=max(1, min(every, every + total - created) // per),
                )
                created += r.statuses[201] * per
                failures += r.errors
                if server.worker_pids() != [pid]:
                    print("  PROBLEM: the worker was replaced; the RSS series is broken")
                    return False
                series.append((created, rss_kib(pid), r.rate * per))
                print(
                    f"  {created:>8,} labels  RSS {series[-1][1] / 1024:7.1f} MiB"
                    f"  {series[-1][2]:7.1f} labels/s  errors {r.errors}"
                    + ("  (warm-up)" if chunk == 1 else "")
                )
            notes = pg_scan_notes(url) if kind == "postgresql" else []
        checks, problems = verify_after(app, created=created, sample=[])
        checks += [f"note: {line}" for line in notes]
        first, last = series[0], series[-1]
        growth = (last[1] - first[1]) / 1024
        trend = slope([(x, y) for x, y, _ in series]) * 10_000
        print(
            f"[{kind}] RSS {first[1] / 1024:.1f} MiB after warm-up ({first[0]:,} labels), "
            f"{last[1] / 1024:.1f} MiB at {last[0]:,}: {growth:+.1f} MiB over "
            f"{last[0] - first[0]:,} labels; fitted trend {trend:+.0f} KiB per 10,000 labels; "
            f"errors {failures}"
        )
        for line in checks:
            print(f"  {'' if line.startswith('note:') else 'ok: '}{line}")
        for line in problems:
            print(f"  PROBLEM: {line}")
        flat = growth <= args.flat_mib and failures == 0 and created >= total and not problems
        print(
            f"[{kind}] memory {'flat' if flat else 'NOT flat / incomplete'} "
            f"(threshold {args.flat_mib} MiB)"
        )
        return flat


# --- profile ---------------------------------------------------------------------------------


_WORDS = re.compile(r"\s+")


def statement_kind(statement: str) -> str:
    text = _WORDS.sub(" ", statement).strip()
    text = re.sub(r"\(%\(.*", "(…)", text)
    match = re.match(
        r"(SELECT .*? FROM \S+|INSERT INTO \S+|UPDATE \S+|DELETE FROM \S+|SAVEPOINT|RELEASE"
        r" SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN\b.*|COMMIT|\S+)",
        text,
    )
    head = match.group(1) if match else text
    return head if len(head) <= 110 else head[:107] + "…"


class Sampler:
    """A small CPU-time sampling profiler for the main thread (``ITIMER_PROF`` + ``SIGPROF``).

    Samples fall in proportion to this process's CPU time, so time spent waiting for the
    database is not counted, and it distorts code made of many small calls (SQLAlchemy, pyld)
    far less than cProfile. ``inclusive`` counts samples with a project function anywhere on the
    stack; ``leaf`` the package of the innermost Python frame (C calls are charged to their
    Python caller).
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.samples = 0
        self.inclusive: Counter[str] = Counter()
        self.leaf: Counter[str] = Counter()
        self._root = str(ROOT) + "/"
        self._old: Any = None

    def __enter__(self) -> Sampler:
        self._old = signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, self._old)

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        if frame is None:
            return
        root = self._root
        self.samples += 1
        self.leaf[_package(frame.f_code.co_filename, root)] += 1
        seen = set()
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(root) and "/.venv/" not in name and "/bench/" not in name:
                seen.add(f"{name[len(root) :]}:{frame.f_code.co_name}")
            frame = frame.f_back
        self.inclusive.update(seen)


class LockClock:
    """How long each request holds the ledger lock: from taking it to the end of its COMMIT.

    PostgreSQL: from ``pg_advisory_xact_lock``; SQLite: from ``BEGIN IMMEDIATE`` (the write
    lock is the lock there). Every other writer waits for this long.
    """

    def __init__(self) -> None:
        self.held: list[float] = []
        self.commits: list[float] = []
        self._locked_at: float | None = None
        self._commit_at: float | None = None

    @staticmethod
    def what(kind: str) -> str:
        return "BEGIN IMMEDIATE" if kind == "sqlite" else "pg_advisory_xact_lock"

    def statement(self, statement: str) -> None:
        if self._locked_at is None and (
            "pg_advisory_xact_lock" in statement or statement.startswith("BEGIN IMMEDIATE")
        ):
            self._locked_at = time.perf_counter()

    def commit_starts(self, conn: Any) -> None:
        self._commit_at = time.perf_counter()

    def committed(self, session: Any) -> None:
        now = time.perf_counter()
        if self._locked_at is not None:
            self.held.append(now - self._locked_at)
            if self._commit_at is not None:
                self.commits.append(now - self._commit_at)
        self._locked_at = self._commit_at = None

    def rolled_back(self, session: Any) -> None:
        self._locked_at = self._commit_at = None


def _package(filename: str, root: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith(root):
        return filename[len(root) :].split("/", 1)[0].removesuffix(".py") + " (project)"
    return "stdlib " + Path(filename).stem


def profile(args: argparse.Namespace, kind: str) -> None:
    """Issue labels in-process (Flask test client), one at a time: CPU, queries, hot spots."""
    n = args.profile
    with scratch_dir(f"bench-profile-{kind}-") as work, scratch_database(kind, work) as url:
        env = server_environment(
            database_url=url, instance=work / "instance", port=free_port(), workers=1
        )
        app = create_app(settings_for(env))
        registry = set_up_registry(app, bodies=1)
        client = app.test_client()
        make = issue_request(registry, seed=9)
        tickets = itertools.count()
        statuses: Counter[int] = Counter()

        def issue() -> None:
            r = make(next(tickets))
            statuses[client.post(r.path, data=r.body, headers=dict(r.headers)).status_code] += 1

        for _ in range(20):  # warm-up: imports, pool, prepared statements, the first lists
            issue()
        counts: Counter[str] = Counter()
        with app.app_context():
            engine = db.engine

        lock = LockClock()

        def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            counts[statement_kind(statement)] += 1
            lock.statement(statement)

        listeners: list[tuple[Any, str, Callable[..., None]]] = [
            (engine, "before_cursor_execute", count),
            (engine, "commit", lock.commit_starts),
            (Session, "after_commit", lock.committed),
            (Session, "after_rollback", lock.rolled_back),
        ]
        for target, name, fn in listeners:
            event.listen(target, name, fn)
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            issue()
        wall, cpu = (time.perf_counter() - w0) / n, (time.process_time() - c0) / n
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        with app.app_context():
            reads = [
                f"/api/v1/labels/{label_id}"
                for label_id in db.session.execute(select(Label.id).limit(50)).scalars()
            ]
            db.session.rollback()
        r0 = time.process_time()
        for i in range(n):
            client.get(reads[i % len(reads)])
        read_cpu = (time.process_time() - r0) / n
        k0 = time.process_time()
        for _ in range(n):
            client.get("/ledger/log-key")
        key_cpu = (time.process_time() - k0) / n

        with Sampler() as sampler:
            for _ in range(n):
                issue()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            issue()
        prof.disable()

        print(f"\n== profile on {kind}: in-process Flask test client, one request at a time")
        print(f"  statuses {dict(statuses)}")
        print(
            f"  POST /api/v1/labels: {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms CPU of this "
            f"process per label (so ≤ {1 / cpu:.0f} labels/s per core before the database)"
        )
        print(
            f"  same-run baselines, CPU per request: GET /api/v1/labels/{{id}} "
            f"{read_cpu * 1000:.2f} ms, GET /ledger/log-key {key_cpu * 1000:.2f} ms"
        )
        held, commits = sorted(lock.held), sorted(lock.commits)
        print(
            f"  ledger lock held (from {lock.what(kind)} to the end of COMMIT): p50 "
            f"{ms(percentile(held, 50)).strip()} ms, p95 {ms(percentile(held, 95)).strip()} ms; "
            f"the COMMIT itself p50 {ms(percentile(commits, 50)).strip()} ms. Appends are "
            f"serialised, so ≤ {1 / percentile(held, 50):.0f} labels/s whatever the cores."
        )
        per_label = sum(counts.values()) / n
        print(f"  {per_label:.1f} SQL statements per label (cursor executions, not BEGIN/COMMIT):")
        for stmt, c in counts.most_common():
            print(f"    {c / n:5.2f}  {stmt}")
        total = max(sampler.samples, 1)
        print(f"\n  sampled CPU profile, {sampler.samples} samples of 1 ms: share of issuance CPU")
        print("  time with the function on the stack (project code only):")
        for name, c in sampler.inclusive.most_common(args.profile_top):
            print(f"    {100 * c / total:5.1f} %  {name}")
        print("\n  where the innermost Python frame was (by package):")
        for name, c in sampler.leaf.most_common(12):
            print(f"    {100 * c / total:5.1f} %  {name}")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
        print("\n  cProfile, top 15 by own time (cProfile inflates many-small-call code):")
        lines = out.getvalue().splitlines()
        first = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        for line in lines[first:]:
            if line.strip():
                print("    " + line.replace(str(ROOT) + "/", "")[:150])
        with app.app_context():
            db.engine.dispose()


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
    )
    parser.add_argument("--db", choices=(*DATABASES, "both"), default="both")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "4")),
        help="gunicorn workers (WEB_CONCURRENCY; default 4 on this 2-core machine)",
    )
    parser.add_argument("--clients", type=int, help="concurrent HTTP clients (default 2 × workers)")
    parser.add_argument(
        "--bodies", type=int, default=3, help="certification bodies issuing (default 3)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="each issuance run (20)")
    parser.add_argument(
        "--batch",
        type=int,
        default=20,
        help="labels per POST /api/v1/labels/batch request in a second run (0: skip; default 20)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed issuance first")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--check", type=int, default=25, help="responses to verify afterwards")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="N",
        help="memory mode: issue N labels against one worker (the issue asks for 100000)",
    )
    parser.add_argument("--sample-every", type=int, help="labels between RSS samples (N/10)")
    parser.add_argument(
        "--memory-batch",
        type=int,
        default=1,
        metavar="K",
        help="memory mode: K labels per request (batch API when K > 1; default 1)",
    )
    parser.add_argument("--flat-mib", type=float, default=8.0, help="allowed RSS growth, MiB")
    parser.add_argument(
        "--memory-timeout", type=float, default=3600.0, help="stop memory mode after this long"
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="profile N issuances in-process instead"
    )
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.clients is None:
        args.clients = 2 * args.workers
    for name in ("workers", "clients", "bodies"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    kinds = DATABASES if args.db == "both" else (args.db,)
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    if args.profile:
        for kind in kinds:
            profile(args, kind)
        return 0
    if args.memory:
        flat = [measure_memory(args, kind) for kind in kinds]
        return 0 if all(flat) else 1
    figures = []
    for kind in kinds:
        f = measure(args, kind)
        report(f)
        figures.append(f)
    print(f"\nload average at end: {load_average()}")
    return 0 if all(not f.problems for f in figures) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)

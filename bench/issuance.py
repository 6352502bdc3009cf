"""End-to-end label issuance throughput: HTTP API → database → ledger, through a real gunicorn.

For each database (a fresh SQLite file, a fresh ``bench_<random>`` PostgreSQL database) the
script sets up a registry (scheme, rule version in force, certification bodies with
accreditations, registry-held keys and certifier tokens), starts gunicorn with
``registry/gunicorn_conf.py`` on a free loopback port, and drives ``POST /api/v1/labels`` from
concurrent HTTP clients (one connection each, to gunicorn's threaded workers, which
group-commit concurrent single-label requests of one token), every request a different product
with its own Idempotency-Key; then the same
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
    .venv/bin/python bench/issuance.py --profile 400 --profile-round 20 --db postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench._common import (
    DATABASES,
    PG_ADMIN,
    Gunicorn,
    LoadResult,
    Request,
    cpu_seconds,
    database_name,
    exit_on_sigterm,
    free_port,
    load_average,
    ms,
    percentile,
    pg_scan_notes,
    postgres_backend_pids,
    run_load,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from bench._issuing import (
    batch_request,
    issue_request,
    print_checks,
    set_up_registry,
    verify_after,
)
from bench._memory import measure_memory
from bench._profile import profile
from registry import create_app

TARGET_PG = 500.0  # labels/s on PostgreSQL with 8 clients, one label per request (issue 7)


# --- requests --------------------------------------------------------------------------------


def fixed_request(path: str) -> Callable[[int], Request]:
    req = Request("GET", path)
    return lambda n: req


def cycling_request(paths: list[str]) -> Callable[[int], Request]:
    reqs = [Request("GET", p) for p in paths]
    return lambda n: reqs[n % len(reqs)]


# --- measurement -----------------------------------------------------------------------------


def sessions_opened(database: str) -> int:
    """PostgreSQL sessions ever established to ``database`` (pg_stat_database, PostgreSQL 14+)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@contextmanager
def server_cpu(server: Gunicorn, database: str | None) -> Iterator[dict[str, float]]:
    """CPU seconds the gunicorn workers (and the PostgreSQL backends) spent inside the block.

    A backend that starts and exits inside the block is not seen in /proc, so its CPU (a
    backend's start-up alone is milliseconds) would go uncounted: ``connections`` says how many
    sessions the block opened, which should be none once every worker's pool is warm.
    """
    out: dict[str, float] = {}
    opened = sessions_opened(database) if database else 0

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
    out["connections"] = float(sessions_opened(database) - opened) if database else 0.0


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
            opened = int(phase.cpu.get("connections", 0))
            # A few: pools still filling after the warm-up. Of the order of the requests: churn.
            print(
                f"    PostgreSQL sessions opened during the run: {opened} for "
                f"{phase.result.ok} requests (a backend that came and went is not in the CPU "
                "figure above)"
            )
        if f.db == "postgresql":
            verdict = "met" if phase.labels_per_second >= TARGET_PG else "MISSED"
            print(f"    target ≥ {TARGET_PG:.0f} labels/s on PostgreSQL: {verdict}")
    print_checks(f.checks, f.problems)


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
        default=int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 1))),
        help="gunicorn workers (WEB_CONCURRENCY; default one per core, as gunicorn_conf.py)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="concurrent HTTP clients (default 8, as issue 7 asks)",
    )
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
    parser.add_argument(
        "--profile-round",
        type=int,
        default=0,
        metavar="K",
        help="profile mode: K concurrent single-label requests per group-commit round "
        "(0: one request at a time), over --bodies bodies",
    )
    args = parser.parse_args(argv)
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

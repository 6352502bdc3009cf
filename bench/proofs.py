"""Inclusion- and consistency-proof latency on a ledger of 10^6 entries, SQLite and PostgreSQL.

Appending 10^6 entries through ``append_entry`` would take hours, so the ledger is bulk-loaded:
realistic entries (a set-up prologue, then label issuances, suspensions, reinstatements and
revocations shaped exactly as the services write them, made canonical with
``canonicalize_jcs``), their leaf hashes, and every ``ledger_nodes`` row the tree has,
computed level by level with ``node_hash``. The SQLite ledger is built once and cached under
``--cache`` (keyed by size and the migration head); PostgreSQL gets a fresh
``bench_<random>`` database per run, COPY-loaded from that cache and dropped at the end. A
checkpoint is signed with ``publish_checkpoint``.

Before timing, a sample of the proofs (service and HTTP) is checked with the verifier kit
(``verify_inclusion`` / ``verify_consistency``) against the signed checkpoint's root and
``root_at``. Then, interleaved in random order: ``inclusion_proof(i, n)`` and
``consistency_proof(m, n)`` at random i, m, each in its own transaction as a request has it,
through the service and through HTTP (Flask test client, the whole WSGI stack without a socket),
with a same-run baseline: reading one ledger entry by primary key (service) and
``GET /ledger/entries?start=i&end=i+1`` (HTTP).

    .venv/bin/python bench/proofs.py [--db sqlite|postgresql|both] [--size 1000000]
    .venv/bin/python bench/proofs.py --rebuild          # rebuild the cached SQLite ledger
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from sqlalchemy import select, text

from bench._common import (
    DATABASES,
    database_name,
    exit_on_sigterm,
    load_average,
    migrate,
    ms,
    percentile,
    scratch_database,
    scratch_dir,
)
from bench._ledger_load import Ledger, cached_ledger, load_postgresql
from credentials import leaf_hash, open_checkpoint
from credentials.errors import InclusionProofError
from credentials.merkle import verify_consistency, verify_inclusion
from registry import create_app
from registry.db import db, transaction
from registry.ledger.models import LedgerEntry
from registry.ledger.services import (
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    list_entries,
    publish_checkpoint,
    root_at,
)
from tests.registry.factories import LOG_SIGNER, make_settings

TARGET_P50 = 0.005  # seconds, from the issue
DEFAULT_CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/carbon-label-bench"))  # noqa: S108


# --- checking and measuring ------------------------------------------------------------------


def check_proofs(app: Flask, n: int, expected_root: bytes, count: int) -> list[str]:
    """Proofs served by the service and over HTTP verify with the kit; a tampered one fails."""
    rng = random.Random(11)
    client = app.test_client()
    lines = []
    with app.app_context():
        checkpoint = latest_checkpoint()
        if checkpoint is None:
            raise RuntimeError("no signed checkpoint")
        opened = open_checkpoint(checkpoint.note, verifier=LOG_SIGNER.verifier())
        root = opened.root_hash
        if (opened.size, root) != (n, expected_root) or root_at(n) != root:
            raise RuntimeError("the signed checkpoint does not match the kit's root")
        lines.append(f"signed checkpoint opens with the log key: size {n:,}, root = kit's root")
        top = 1 << (n.bit_length() - 1)
        indexes = [0, 1, n - 1, n // 2, top - 1, min(top, n - 1)]
        indexes += [rng.randrange(n) for _ in range(count)]
        for i in indexes:
            proof = inclusion_proof(i, n)
            body = list_entries(i, i + 1)[0]
            verify_inclusion(
                index=i, size=n, leaf_hash=leaf_hash(body), proof=proof.hashes, root=root
            )
        firsts = [1, 2, 3, n - 1, n, top, top - 1]
        firsts += [rng.randint(1, n) for _ in range(count)]
        for m in firsts:
            cproof = consistency_proof(m, n)
            verify_consistency(
                first=m, second=n, first_root=root_at(m), second_root=root, proof=cproof.hashes
            )
        # Control: the check really checks.
        bad = list(inclusion_proof(n // 3, n).hashes)
        bad[len(bad) // 2] = bytes(32)
        refused = False
        try:
            verify_inclusion(
                index=n // 3,
                size=n,
                leaf_hash=leaf_hash(list_entries(n // 3, n // 3 + 1)[0]),
                proof=bad,
                root=root,
            )
        except InclusionProofError:
            refused = True
        if not refused:
            raise RuntimeError("a tampered inclusion proof verified")
        db.session.rollback()
    lines.append(
        f"{len(indexes)} inclusion and {len(firsts)} consistency proofs from the service "
        "verify with the kit (edges included); a tampered proof is refused"
    )
    for _ in range(max(count // 4, 5)):
        i, m = rng.randrange(n), rng.randint(1, n)
        inc = client.get(f"/ledger/proof/inclusion?index={i}&size={n}").get_json()
        body = client.get(f"/ledger/entries?start={i}&end={i + 1}").data.rstrip(b"\n")
        verify_inclusion(
            index=i,
            size=n,
            leaf_hash=leaf_hash(body),
            proof=[base64.b64decode(h) for h in inc["hashes"]],
            root=root,
        )
        con = client.get(f"/ledger/proof/consistency?first={m}&second={n}").get_json()
        verify_consistency(
            first=m,
            second=n,
            first_root=base64.b64decode(con["first_root"]),
            second_root=root,
            proof=[base64.b64decode(h) for h in con["hashes"]],
        )
        with app.app_context():
            if base64.b64decode(con["first_root"]) != root_at(m):
                raise RuntimeError("HTTP first_root differs from root_at")
            db.session.rollback()
    lines.append(f"{max(count // 4, 5)} inclusion and consistency proofs over HTTP verify too")
    return lines


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    draw: Callable[[random.Random], int]
    run: Callable[[int], None]
    target: bool


def operations(app: Flask, n: int) -> list[Op]:
    client = app.test_client()

    def get(path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.data[:200]!r}")

    def service_inclusion(i: int) -> None:
        with transaction():
            inclusion_proof(i, n)

    def service_consistency(m: int) -> None:
        with transaction():
            consistency_proof(m, n)

    def service_entry(i: int) -> None:
        with transaction():
            stmt = select(LedgerEntry.body).where(LedgerEntry.seq == i)
            db.session.execute(stmt).scalar_one()

    def index(rng: random.Random) -> int:
        return rng.randrange(n)

    def first(rng: random.Random) -> int:
        return rng.randint(1, n)

    return [
        Op("inclusion_proof(i, n)           service", index, service_inclusion, True),
        Op("consistency_proof(m, n)         service", first, service_consistency, True),
        Op("entry by primary key (baseline) service", index, service_entry, False),
        Op(
            "GET /ledger/proof/inclusion     HTTP",
            index,
            lambda i: get(f"/ledger/proof/inclusion?index={i}&size={n}"),
            True,
        ),
        Op(
            "GET /ledger/proof/consistency   HTTP",
            first,
            lambda m: get(f"/ledger/proof/consistency?first={m}&second={n}"),
            True,
        ),
        Op(
            "GET /ledger/entries, 1 (baseline) HTTP",
            index,
            lambda i: get(f"/ledger/entries?start={i}&end={i + 1}"),
            False,
        ),
    ]


def statements_per_call(app: Flask, fn: Callable[[], None], calls: int = 20) -> float:
    from sqlalchemy import event

    seen = [0]

    def count(*args: Any) -> None:
        seen[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(calls):
            fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen[0] / calls


def measure(app: Flask, n: int, *, samples: int, warmup: int) -> dict[str, list[float]]:
    """Interleave every operation in a random order per round, so drift hits all alike."""
    ops = operations(app, n)
    rng = random.Random(42)
    times: dict[str, list[float]] = {op.name: [] for op in ops}
    with app.app_context():
        for round_no in range(warmup + samples):
            order = ops[:]
            rng.shuffle(order)
            for op in order:
                x = op.draw(rng)
                t0 = time.perf_counter()
                op.run(x)
                elapsed = time.perf_counter() - t0
                if round_no >= warmup:
                    times[op.name].append(elapsed)
    for values in times.values():
        values.sort()
    return times


def report(kind: str, n: int, times: dict[str, list[float]], notes: list[str]) -> bool:
    print(f"\n== {kind}: {n:,} entries")
    for line in notes:
        print(f"  {line}")
    print(f"  {'operation':42} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}  target")
    ok = True
    for name, values in times.items():
        p50 = percentile(values, 50)
        mean = sum(values) / len(values)
        target = "" if "baseline" in name else ("ok" if p50 <= TARGET_P50 else "MISSED")
        ok = ok and target != "MISSED"
        print(
            f"  {name:42} {ms(p50)} {ms(percentile(values, 95))} {ms(percentile(values, 99))}"
            f" {ms(mean)}  {target}"
        )
    names = list(times)
    med = {k: percentile(v, 50) for k, v in times.items()}
    print(
        f"  p50 ratios to the same-run baseline: service inclusion "
        f"{med[names[0]] / med[names[2]]:.2f}×, consistency {med[names[1]] / med[names[2]]:.2f}×;"
        f" HTTP inclusion {med[names[3]] / med[names[5]]:.2f}×,"
        f" consistency {med[names[4]] / med[names[5]]:.2f}×"
    )
    return ok


def run_one(args: argparse.Namespace, kind: str, ledger: Ledger) -> bool:
    notes = []
    if ledger.built_now:
        notes.append(f"SQLite ledger built in {ledger.build_seconds:.1f} s ({ledger.path})")
    else:
        notes.append(
            f"SQLite ledger from the cache {ledger.path} (built in {ledger.build_seconds:.1f} s; "
            "--rebuild to build again)"
        )
    with scratch_dir(f"bench-proofs-{kind}-") as work, scratch_database(kind, work) as url:
        if kind == "sqlite":
            url = f"sqlite:///{ledger.path}"
        app = create_app(make_settings(url, work))
        try:
            if kind == "postgresql":
                migrate(app)
                took = load_postgresql(url, ledger)
                t0 = time.perf_counter()
                with app.app_context():
                    with transaction():
                        publish_checkpoint()
                    size = db.session.execute(
                        text("SELECT pg_database_size(current_database())")
                    ).scalar_one()
                    db.session.rollback()
                notes.append(
                    f"PostgreSQL {database_name(url)}: COPY of entries and nodes + VACUUM ANALYZE "
                    f"{took:.1f} s, checkpoint signed in {time.perf_counter() - t0:.2f} s, "
                    f"database {size / 2**20:,.0f} MiB"
                )
            else:
                notes.append(f"SQLite file {ledger.path.stat().st_size / 2**20:,.0f} MiB")
            notes += check_proofs(app, ledger.size, ledger.root, args.check)
            n = ledger.size

            def one_inclusion() -> None:
                with transaction():
                    inclusion_proof(random.randrange(n), n)

            def one_consistency() -> None:
                with transaction():
                    consistency_proof(random.randint(1, n), n)

            with app.app_context():
                per_inc = statements_per_call(app, one_inclusion)
                per_con = statements_per_call(app, one_consistency)
            notes.append(
                f"SQL statements per proof: inclusion {per_inc:.1f}, consistency {per_con:.1f}"
            )
            times = measure(app, ledger.size, samples=args.samples, warmup=args.warmup)
            notes.append(
                f"{args.samples} rounds after {args.warmup} warm-up rounds, one op of each kind "
                f"per round in random order; load average {load_average()}"
            )
            return report(kind, ledger.size, times, notes)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
    )
    parser.add_argument("--db", choices=(*DATABASES, "both"), default="both")
    parser.add_argument("--size", type=int, default=1_000_000, help="ledger entries (10^6)")
    parser.add_argument("--samples", type=int, default=2000, help="timed rounds (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed rounds first")
    parser.add_argument("--check", type=int, default=200, help="proofs to verify with the kit")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the ledger is")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached ledger")
    args = parser.parse_args(argv)
    if args.size < 8:
        parser.error("--size must be at least 8")
    if args.samples < 1:
        parser.error("--samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    ledger = cached_ledger(args.cache, args.size, rebuild=args.rebuild)
    kinds = DATABASES if args.db == "both" else (args.db,)
    results = [run_one(args, kind, ledger) for kind in kinds]
    print(f"\nload average at end: {load_average()}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)

"""``bench/issuance.py --memory N``: one gunicorn worker's RSS while it issues N labels."""

from __future__ import annotations

import argparse
import time

from bench._common import (
    Gunicorn,
    free_port,
    pg_scan_notes,
    rss_kib,
    run_load,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from bench._issuing import batch_request, issue_request, print_checks, set_up_registry, verify_after
from registry import create_app


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
        print_checks(checks, problems)
        flat = growth <= args.flat_mib and failures == 0 and created >= total and not problems
        print(
            f"[{kind}] memory {'flat' if flat else 'NOT flat / incomplete'} "
            f"(threshold {args.flat_mib} MiB)"
        )
        return flat

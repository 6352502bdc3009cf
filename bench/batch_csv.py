"""A 10,000-row CSV label batch through a real gunicorn: upload to done, and the runner's memory.

On a fresh database (PostgreSQL by default) the script sets up a registry, starts gunicorn with
``registry/gunicorn_conf.py`` (whose workers each run the batch runner thread), uploads a CSV
of ``--rows`` different labels to ``POST /api/v1/label-batches``, and polls the batch until it
is done, sampling every worker's RSS and CPU time from /proc (and the PostgreSQL backends'
CPU): the figures are the wall time from upload to done, the peak RSS above each worker's idle
RSS (measured just before the upload), and the CPU seconds spent. Then it downloads the
result CSV and the artwork ZIP (streamed; the worker's RSS is sampled during it too), counts
that every row has its label, checks labels = ledger ``label.issued`` entries, re-verifies the
ledger, and checks a sample of the issued credentials with the kit.

    .venv/bin/python bench/batch_csv.py [--db postgresql|sqlite] [--rows 10000] [--workers 2]
        [--skip-artwork]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import io
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    HOST,
    Gunicorn,
    cpu_seconds,
    database_name,
    exit_on_sigterm,
    free_port,
    load_average,
    postgres_backend_pids,
    rss_kib,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from bench._issuing import (
    RULE,
    SCHEME,
    VERSION,
    gtin14,
    print_checks,
    set_up_registry,
    verify_after,
)
from registry import create_app
from registry.batches.csvformat import COLUMNS


def batch_csv(rows: int) -> bytes:
    """``rows`` different, valid label rows (fictitious products), with the template's header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.name for column in COLUMNS])
    for n in range(rows):
        cells = {
            "scheme": SCHEME,
            "rule": RULE,
            "rule_version": VERSION,
            "product_name": f"LFP battery module #{n} (fictitious)",
            "manufacturer": f"Pearl River Energy Storage {n % 200} Ltd. (fictitious)",
            "product_model": f"PRE-{n:06d}",
            "gtin": gtin14(n),
            "footprint": f"{30 + n % 100}.{n % 100:02d}",
            "system_boundary": ("cradle-to-gate", "cradle-to-grave")[n % 2],
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "assurance": "reasonable",
        }
        writer.writerow([cells.get(column.name, "") for column in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _request(
    port: int, method: str, path: str, token: str, body: bytes | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "text/csv"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Sampler:
    """Every worker's RSS, sampled every ``interval`` seconds until stopped; the peak per pid."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        self.pids = pids
        self.interval = interval
        self.peak = {pid: rss_kib(pid) for pid in pids}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            for pid in self.pids:
                with contextlib.suppress(OSError):  # a worker recycled meanwhile
                    self.peak[pid] = max(self.peak[pid], rss_kib(pid))

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()


def run(args: argparse.Namespace) -> bool:
    with scratch_dir("batch-bench-") as work, scratch_database(args.db, work) as url:
        port = free_port()
        env = server_environment(
            database_url=url, instance=work / "instance", port=port, workers=args.workers
        )
        app = create_app(settings_for(env))
        registry = set_up_registry(app, bodies=1)
        token = registry.tokens[0]
        data = batch_csv(args.rows)
        print(f"{args.db}: {args.rows} rows, {len(data) / 1e6:.1f} MB CSV, "
              f"{args.workers} gunicorn workers, load {load_average()}")  # fmt: skip
        with Gunicorn(env, work / "gunicorn.log") as server:
            workers = server.worker_pids()
            time.sleep(2)  # let the workers' start-up settle before reading idle RSS
            idle = {pid: rss_kib(pid) for pid in workers}
            cpu0 = {pid: cpu_seconds(pid) for pid in workers}
            backends = postgres_backend_pids(database_name(url)) if args.db != "sqlite" else []
            pg0 = sum(cpu_seconds(pid) for pid in backends)
            states: list[tuple[float, str, int, int]] = []
            with Sampler(workers) as sampler:
                t0 = time.perf_counter()
                status, body = _request(port, "POST", "/api/v1/label-batches", token, data)
                uploaded = time.perf_counter() - t0
                if status != 202:
                    print(f"upload refused: {status} {body[:500]!r}")
                    return False
                batch = json.loads(body)
                path = batch["links"]["self"]
                while True:
                    status, body = _request(port, "GET", path, token)
                    batch = json.loads(body)
                    rows = batch["rows"]
                    states.append(
                        (time.perf_counter() - t0, batch["state"], rows["validated"],
                         rows["issued"])
                    )  # fmt: skip
                    if batch["state"] in ("done", "refused", "failed"):
                        break
                    time.sleep(0.25)  # polling the server, as a client would
                elapsed = time.perf_counter() - t0
            backends = postgres_backend_pids(database_name(url)) if args.db != "sqlite" else []
            pg_cpu = sum(cpu_seconds(pid) for pid in backends) - pg0
            worker_cpu = {pid: cpu_seconds(pid) - cpu0[pid] for pid in workers}
            runner = max(workers, key=lambda pid: worker_cpu[pid])
            above = {pid: (sampler.peak[pid] - idle[pid]) / 1024 for pid in workers}
            print(f"state {batch['state']} after {elapsed:.1f} s (upload answered in "
                  f"{uploaded * 1000:.0f} ms); reason: {batch['reason']}")  # fmt: skip
            issuing = [s for s in states if s[1] == "issuing"]
            if issuing:
                print(f"progress seen while issuing: {[s[3] for s in issuing][:12]} ...")
            print(f"runner worker {runner}: CPU {worker_cpu[runner]:.1f} s, idle RSS "
                  f"{idle[runner] / 1024:.0f} MiB, peak {sampler.peak[runner] / 1024:.0f} "
                  f"MiB: {above[runner]:.0f} MiB above idle")  # fmt: skip
            print(f"all workers CPU {sum(worker_cpu.values()):.1f} s; PostgreSQL backends "
                  f"CPU {pg_cpu:.1f} s; peak above idle per worker (MiB): "
                  f"{ {pid: round(v) for pid, v in above.items()} }")  # fmt: skip
            if batch["state"] != "done":
                return False
            t1 = time.perf_counter()
            status, result = _request(port, "GET", batch["links"]["result"], token)
            lines = list(csv.DictReader(io.StringIO(result.decode("utf-8-sig"))))
            print(f"result.csv: {status}, {len(lines)} rows in "
                  f"{time.perf_counter() - t1:.1f} s")  # fmt: skip
            if not args.skip_artwork:
                before_zip = rss_kib(runner)
                with Sampler(workers) as zip_sampler:
                    t2 = time.perf_counter()
                    status, zipped = _request(port, "GET", batch["links"]["artwork"], token)
                    took = time.perf_counter() - t2
                zip_peak = (zip_sampler.peak[runner] - before_zip) / 1024
                print(f"artwork.zip: {status}, {len(zipped) / 1e6:.1f} MB in {took:.1f} s; "
                      f"runner RSS peak {zip_peak:+.0f} MiB over its RSS before")  # fmt: skip
            sample_ids = [line["label"] for line in lines[:: max(1, len(lines) // 20)]]
            sample: list[dict[str, Any]] = []
            for label_id in sample_ids:
                _, label = _request(port, "GET", f"/api/v1/labels/{label_id}", token)
                sample.append(json.loads(label)["credential"])
            problems_in_log = server.log_problems()
        checks, problems = verify_after(app, created=len(lines), sample=sample)
        if len(lines) != args.rows:
            problems.append(f"result.csv has {len(lines)} rows, not {args.rows}")
        problems += problems_in_log
        print_checks(checks, problems)
        return not problems


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-artwork", action="store_true", help="do not time artwork.zip")
    return 0 if run(parser.parse_args()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

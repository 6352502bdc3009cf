"""Label page throughput under wrk: ``GET /l/{id}`` against a trivial endpoint, same run.

For each database (a fresh SQLite file, or a fresh ``bench_<random>`` PostgreSQL database with
``--db postgresql``) the script upgrades the schema, loads the demo data set, starts gunicorn as
the README runs it (``registry/gunicorn_conf.py``, ``WEB_CONCURRENCY`` workers, default one per
core), issues ``--labels`` more labels through ``POST /api/v1/labels/batch`` as the demo's
certifier, and then runs wrk (64 keep-alive connections, ``--seconds`` each) against:

  (a) ``GET /ledger/log-key``, no database: the same-run baseline;
  (b) ``GET /l/{id}`` cycling through every label, each request with one of the four
      languages' ``Accept-Language``;
  (c) the same requests, conditional: ``If-None-Match`` set to the ETag each page was served
      with (fetched first), so every answer must be ``304 Not Modified``.

It reports requests/s, the ratio to (a), p50/p99 latency and every status other than the one
expected, and whether the target is met: the label page at least half the trivial endpoint's
throughput, with p99 ≤ 100 ms. wrk is the Debian package (``apt-get install -y wrk``).

gunicorn_conf.py recycles a worker every ~10^4 requests, which at these rates happens within a
run: the new worker starts with empty page caches and the old one's kept-alive connections drop
(wrk's socket read errors). ``--max-requests 0`` shows the figures without recycling.

    .venv/bin/python bench/pages.py [--db sqlite|postgresql|both] [--seconds 15] [--labels 300]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    DATABASES,
    HOST,
    Gunicorn,
    exit_on_sigterm,
    free_port,
    load_average,
    migrate,
    percentile,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from registry import create_app
from registry.db import db
from registry.demo import load_demo
from registry.demo_data import RULES, demo_gtin

CONNECTIONS = 64
THREADS = 2  # wrk's own threads: it shares the machine's cores with gunicorn
LANGUAGES = ("zh-CN", "zh-HK", "en-GB", "pt-MO")
MIN_RATIO = 0.5
MAX_P99_MS = 100.0
BATCH = 100  # the batch API's maximum
BODY = "lingnan-pcc"
RULE = next(r for r in RULES if r.code == "CN-GD-PCR-LIB")

# One script for every run, so the three pay the same client-side costs. The Python side fills
# in the requests; each wrk thread starts at its own offset, and ``done`` prints the statuses
# counted by every thread and the latency percentiles as one JSON line.
LUA = r"""
local requests = %(requests)s
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  i = offset
  statuses = {}
end

function request()
  i = i + 1
  local r = requests[(i %% #requests) + 1]
  return wrk.format("GET", r[1], r[2])
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      all[status] = (all[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(all) do
    table.insert(parts, string.format('"%%s": %%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests": %%d, "seconds": %%f, "p50_us": %%f, "p99_us": %%f, ' ..
    '"max_us": %%f, "statuses": {%%s}, "socket_errors": {"connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    expected: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]  # wrk's connect, read, write and timeout errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def unexpected(self) -> int:
        """Answers other than the expected status, plus connections that failed."""
        wrong = sum(n for status, n in self.statuses.items() if status != self.expected)
        return wrong + sum(self.socket_errors.values())


def lua_table(requests: list[tuple[str, dict[str, str]]]) -> str:
    """The requests as a Lua table literal (paths and header values are JSON-safe ASCII)."""
    items = []
    for path, headers in requests:
        fields = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        items.append(f"{{{json.dumps(path)}, {{{fields}}}}}")
    return "{\n" + ",\n".join(items) + "\n}"


def run_wrk(
    wrk: str,
    port: int,
    name: str,
    requests: list[tuple[str, dict[str, str]]],
    *,
    expected: int,
    seconds: float,
    workdir: Path,
) -> Run:
    script = workdir / f"{name}.lua"
    script.write_text(LUA % {"requests": lua_table(requests)})
    cmd = [
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    line = next((x for x in out.splitlines() if x.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data = json.loads(line.removeprefix("WRK-RESULT "))
    return Run(
        name=name,
        expected=expected,
        requests=int(data["requests"]),
        seconds=float(data["seconds"]),
        p50_ms=float(data["p50_us"]) / 1000,
        p99_ms=float(data["p99_us"]) / 1000,
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        socket_errors={k: int(v) for k, v in data["socket_errors"].items()},
    )


def _http(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _label_request(n: int) -> dict[str, Any]:
    return {
        "product": {
            "name": f"LFP benchmark module #{n} (demo)",
            "manufacturer": "Pearl River Energy Storage Co., Ltd. (fictitious)",
            "model": f"BM-{n:05d}",
            "gtin": demo_gtin(50_000 + n),
        },
        "footprint": {
            "value": f"{30 + (n * 37) % 100}.{n % 10}",
            "system_boundary": RULE.boundary,
            "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "rule": {"scheme": RULE.scheme, "rule": RULE.code, "version": RULE.current.version},
    }


def issue_labels(port: int, token: str, count: int) -> list[str]:
    """``count`` more labels through the batch API, as the demo's certifier; their ids."""
    ids: list[str] = []
    for start in range(0, count, BATCH):
        batch = [_label_request(n) for n in range(start, min(count, start + BATCH))]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        status, _, body = _http(port, "POST", "/api/v1/labels/batch", {"labels": batch}, headers)
        if status != 201:
            raise RuntimeError(f"batch issuance: {status} {body[:500]!r}")
        ids += [label["id"] for label in json.loads(body)["labels"]]
    return ids


def label_requests(ids: list[str]) -> list[tuple[str, dict[str, str]]]:
    return [(f"/l/{i}", {"Accept-Language": LANGUAGES[n % 4]}) for n, i in enumerate(ids)]


def with_etags(
    port: int, requests: list[tuple[str, dict[str, str]]]
) -> tuple[list[tuple[str, dict[str, str]]], list[str], list[float]]:
    """Each request made conditional on the ETag its page is served with now, and how long
    each of these first GETs took (one at a time: a page the worker had not verified yet)."""
    conditional, problems, latencies = [], [], []
    for path, headers in requests:
        t0 = time.perf_counter()
        status, got, _ = _http(port, "GET", path, headers=headers)
        latencies.append(time.perf_counter() - t0)
        etag = got.get("etag")
        if status != 200 or not etag:
            problems.append(f"GET {path}: {status}, ETag {etag!r}")
            continue
        conditional.append((path, {**headers, "If-None-Match": etag}))
    return conditional, problems, latencies


def measure(args: argparse.Namespace, kind: str, wrk: str) -> bool:
    with scratch_dir(f"bench-pages-{kind}-") as work, scratch_database(kind, work) as url:
        port = free_port()
        workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
        env = server_environment(
            database_url=url, instance=work / "instance", port=port, workers=workers
        )
        app = create_app(settings_for(env))
        migrate(app)
        with app.app_context(), contextlib.redirect_stdout(io.StringIO()):
            demo = load_demo()
            db.session.remove()
            db.engine.dispose()
        extra = () if args.max_requests is None else ("--max-requests", str(args.max_requests))
        with Gunicorn(env, work / "gunicorn.log", extra) as server:
            first_workers = server.worker_pids()
            print(f"[{kind}] gunicorn on {HOST}:{port}, {workers} workers {first_workers}")
            ids = list(demo.label_ids.values())
            ids += issue_labels(port, demo.certifier_tokens[BODY], args.labels)
            pages = label_requests(ids)
            conditional, problems, first = with_etags(port, pages)
            first.sort()
            p50, p99 = (percentile(first, q) * 1000 for q in (50, 99))
            print(
                f"[{kind}] first GET of each page, one at a time: p50 {p50:.1f}, p99 {p99:.1f} ms"
            )
            problems = problems[:5] + ([f"… {len(problems) - 5} more"] if len(problems) > 5 else [])
            print(f"[{kind}] {len(ids)} labels ({len(demo.label_ids)} from the demo)")
            plain: list[tuple[str, dict[str, str]]] = [("/ledger/log-key", {})]
            # Warm every worker (imports, connections, the pages' in-process caches: each
            # worker verifies a label once per state) before anything is timed.
            run_wrk(wrk, port, "warmup", pages, expected=200, seconds=args.warmup, workdir=work)
            runs = [
                run_wrk(
                    wrk, port, "log-key", plain, expected=200, seconds=args.seconds, workdir=work
                ),
                run_wrk(
                    wrk, port, "label-page", pages, expected=200, seconds=args.seconds, workdir=work
                ),
            ]
            if conditional:
                runs.append(
                    run_wrk(
                        wrk,
                        port,
                        "label-page-304",
                        conditional,
                        expected=304,
                        seconds=args.seconds,
                        workdir=work,
                    )
                )
            else:
                problems.append("(c) not run: no label page was served with an ETag")
            # Worker recycling (see the module docstring) shows as new worker pids.
            recycled = len(set(server.worker_pids()) - set(first_workers))
            if recycled:
                print(f"[{kind}] note: {recycled}+ worker recycles (max_requests) during the runs")
            problems += [f"gunicorn log: {line}" for line in server.log_problems()[:10]]
        return report(kind, runs, problems)


def report(kind: str, runs: list[Run], problems: list[str]) -> bool:
    base = runs[0].rate
    print(f"[{kind}] wrk, {CONNECTIONS} keep-alive connections, {THREADS} threads")
    print(f"  {'endpoint':44} {'req/s':>9} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8}  unexpected")
    names = {
        "log-key": "(a) GET /ledger/log-key",
        "label-page": "(b) GET /l/{id}, 4 languages",
        "label-page-304": "(c) GET /l/{id}, If-None-Match → 304",
    }
    for run in runs:
        wrong: dict[str, int] = {str(s): n for s, n in run.statuses.items() if s != run.expected}
        wrong.update({f"socket {k}": n for k, n in run.socket_errors.items() if n})
        detail = f"{run.unexpected}" + (f" {wrong}" if wrong else "")
        ratio = run.rate / base if base else 0.0
        print(
            f"  {names[run.name]:44} {run.rate:9.0f} {ratio:6.2f} {run.p50_ms:8.2f} "
            f"{run.p99_ms:8.2f}  {detail}"
        )
    ok = True
    for run in runs:
        if run.unexpected:
            problems.append(f"{names[run.name]}: {run.unexpected} answers not {run.expected}")
    for run in runs[1:]:
        ratio = run.rate / base if base else 0.0
        # A fast wrong answer (a 404, a 500) meets nothing.
        met = ratio >= MIN_RATIO and run.p99_ms <= MAX_P99_MS and not run.unexpected
        ok = ok and met
        print(
            f"  target {names[run.name]}: ≥ {MIN_RATIO:.0%} of (a) and p99 ≤ {MAX_P99_MS:g} ms: "
            f"{'met' if met else 'NOT met'} ({ratio:.0%}, p99 {run.p99_ms:.1f} ms)"
        )
    for line in problems:
        print(f"  PROBLEM: {line}")
    return ok and not problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=(*DATABASES, "both"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=15.0, help="each wrk run (default 15)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=None,
        help="override gunicorn_conf.py's worker recycling (0: never), to see what it costs",
    )
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="label-page load before timing (default 10)"
    )
    parser.add_argument("--labels", type=int, default=300, help="labels beyond the demo's")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    exit_on_sigterm()
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    kinds = DATABASES if args.db == "both" else (args.db,)
    results = [measure(args, kind, wrk) for kind in kinds]
    print(f"load average at end: {load_average()}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)

"""``bench/issuance.py --profile N``: issue N labels in-process and show where the time goes.

Statement counts per label, how long the ledger lock is held, a CPU-time sampling profiler and
cProfile, with same-run baselines (one label read, the log key). With ``--profile-round K``,
the labels are issued in held group-commit rounds of K concurrent requests instead, and the
figures are this process's CPU and the statements per label (stable on a busy machine).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bench._common import (
    ROOT,
    Request,
    free_port,
    ms,
    percentile,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from bench._issuing import issue_request, set_up_registry
from registry import create_app
from registry.db import db
from registry.labels.grouping import GROUPS_KEY, IssuanceGroups
from registry.labels.models import Label

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
    if args.profile_round:
        profile_rounds(args, kind)
        return
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


def profile_rounds(args: argparse.Namespace, kind: str) -> None:
    """Issue N labels in group-commit rounds of K concurrent single-label requests.

    Each round is held (as a busy leader holds it) until its K requests, one thread each, are
    queued, then released: the round a worker runs when K clients wait on it. Figures per
    label: this process's CPU (every thread's: parsing, authentication, the round, the
    answers), and the SQL statements sent; both hold however busy the machine is.
    """
    n, k = args.profile, args.profile_round
    rounds = max(1, n // k)
    with scratch_dir(f"bench-rounds-{kind}-") as work, scratch_database(kind, work) as url:
        env = server_environment(
            database_url=url, instance=work / "instance", port=free_port(), workers=1
        )
        app = create_app(settings_for(env))
        registry = set_up_registry(app, bodies=args.bodies)
        groups: IssuanceGroups = app.extensions[GROUPS_KEY]
        make = issue_request(registry, seed=11)
        tickets = itertools.count()
        statuses: Counter[int] = Counter()
        mutex = threading.Lock()

        def post(r: Request) -> None:
            status = app.test_client().post(r.path, data=r.body, headers=dict(r.headers))
            with mutex:
                statuses[status.status_code] += 1

        def one_round() -> None:
            threads = [threading.Thread(target=post, args=(make(next(tickets)),)) for _ in range(k)]
            with groups.round_lock():
                for thread in threads:
                    thread.start()
                if not groups.wait_for_waiting(None, k, 60.0):
                    raise RuntimeError("the round's requests did not queue")
            for thread in threads:
                thread.join()

        for _ in range(3):  # warm-up: every body's first lists, prepared statements
            one_round()
        with app.app_context():
            engine = db.engine
        counts: Counter[str] = Counter()

        def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            if not statement.startswith("BEGIN"):
                with mutex:
                    counts[statement_kind(statement)] += 1

        event.listen(engine, "before_cursor_execute", count)
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            one_round()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        event.remove(engine, "before_cursor_execute", count)
        labels = rounds * k
        print(
            f"\n== rounds on {kind}: {rounds} held rounds of {k} single-label requests over "
            f"{args.bodies} bodies, in-process"
        )
        print(f"  statuses {dict(statuses)}")
        print(
            f"  {cpu / labels * 1000:.2f} ms CPU of this process per label (all threads), "
            f"{wall / labels * 1000:.2f} ms wall per label"
        )
        print(
            f"  {sum(counts.values()) / labels:.2f} SQL statements per label, "
            f"{sum(counts.values()) / rounds:.1f} per round (cursor executions, not BEGIN/COMMIT):"
        )
        for stmt, c in counts.most_common():
            print(f"    {c / labels:5.2f}  {stmt}")
        with app.app_context():
            db.engine.dispose()

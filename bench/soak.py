"""Soak: every kind of traffic at once against gunicorn on PostgreSQL, then an offline audit.

The script makes a scratch PostgreSQL database (or a SQLite file with ``--db sqlite``), sets a
registry up as ``bench/issuance.py`` does (a scheme, a rule version in force, accredited bodies
with registry-held keys and certifier tokens), starts a local witness (``carbonlabel witness
serve``, as ``bench/witness.py``) and gunicorn with ``--workers`` workers on the loopback
interface, issues a few labels untimed, then for ``--seconds`` runs together:

  * issuers: ``POST /api/v1/labels``, each request its own product and Idempotency-Key;
  * status changers: the issuing body suspends, then later reinstates, labels issued earlier
    (``POST /api/v1/labels/{id}/status``), each label in one changer's hands at a time;
  * readers: the public label page ``GET /l/{id}`` and its JSON ``GET /api/v1/labels/{id}``;
  * verifiers: ``POST /credentials/verify`` (VC-API) with credentials the issuers received,
    of labels no changer touches, so each answer must say ``verified: true``;
  * the witness: every ``--witness-every`` seconds the registry asks it to cosign the latest
    checkpoint (``push_checkpoint``, what the ticker does), and the cosignature is stored.

Per operation it prints the count, the rate, p50/p99 latency and the errors (any other status,
a transport error, a verification that failed, a witness that refused; the first few shown),
gunicorn's log problems, and each worker's RSS at the start and the end. Then the ledger is
checked offline with the kit, from what the registry serves to anyone: the export
(``/api/v1/exports/ledger.jsonl``) is audited (every leaf hashed against the signed checkpoint,
every entry replayed through the kit's transition rules, every issued credential's proof
verified), the final checkpoint's log signature and witness cosignature are verified, and each
label an issuer saw created must be issued in the ledger exactly once, each status change an
entry. Exit code 1 if anything failed.

    .venv/bin/python bench/soak.py [--seconds 60] [--workers 3] [--json]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    DATABASES,
    HOST,
    Gunicorn,
    LoadResult,
    Request,
    exit_on_sigterm,
    free_port,
    json_request,
    load_average,
    percentile,
    rss_kib,
    run_load,
    scratch_database,
    scratch_dir,
    server_environment,
    settings_for,
)
from bench._issuing import Registry, issue_request, set_up_registry
from bench.witness import start_witness
from credentials import LabelIssued, NoteVerifier, parse_entry
from credentials.audit import audit_ledger, load_credentials
from credentials.checkpoint import open_cosigned_checkpoint
from credentials.errors import CredentialError
from credentials.ledger_events import LabelReinstated, LabelSuspended
from registry import create_app
from registry.clock import utcnow
from registry.config import parse_witness
from registry.ledger.witnessing import push_checkpoint, witness_health

SAMPLE_ERRORS = 5  # error messages kept per operation


# --- what the clients share ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issued:
    label: str
    token: str
    credential: dict[str, Any]


class Pool:
    """The labels the issuers saw created, as the other clients draw on them.

    Every other label goes to the status changers, the rest to the verifiers, so a verifier's
    credential is never suspended under it and ``verified`` must be true. A changer takes a
    label out of ``idle`` for the duration of its request, so no two change one label at once.
    """

    def __init__(self, credentials_path: Path) -> None:
        self.lock = threading.Lock()
        self.issued: list[Issued] = []
        self.to_verify: list[Issued] = []
        self.idle: deque[tuple[Issued, str]] = deque()  # (label, its status)
        self.busy: dict[str, tuple[Issued, str]] = {}
        self.changes: Counter[str] = Counter()  # successful status changes by action
        self._credentials = credentials_path.open("w", encoding="utf-8")

    def add(self, issued: Issued) -> None:
        line = json.dumps(issued.credential, separators=(",", ":")) + "\n"
        with self.lock:
            self._credentials.write(line)
            self.issued.append(issued)
            if len(self.issued) % 2:
                self.idle.append((issued, "active"))
            else:
                self.to_verify.append(issued)

    def close(self) -> None:
        self._credentials.close()

    def take(self) -> tuple[Issued, str]:
        with self.lock:
            if not self.idle:
                # The untimed warm-up issues more labels than there are changers, and a changer
                # holds one at a time, so this is a bug, not a slow issuer.
                raise RuntimeError("no label free for a status change")
            issued, status = self.idle.popleft()
            self.busy[issued.label] = (issued, status)
            return issued, status

    def give_back(self, label: str, status: str, action: str | None) -> None:
        with self.lock:
            issued, _ = self.busy.pop(label)
            self.idle.append((issued, status))
            if action:
                self.changes[action] += 1


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


# --- the operations --------------------------------------------------------------------------


def issuer(registry: Registry, pool: Pool, seed: int) -> tuple[Any, Any]:
    make = issue_request(registry, seed=seed)

    def seen(req: Request, status: int, data: bytes) -> str | None:
        if status != 201:
            return None
        body = _json(data)
        if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
            return "201 without a credential"
        token = req.headers["Authorization"].removeprefix("Bearer ")
        pool.add(Issued(str(body["id"]), token, body["credential"]))
        return None

    return make, seen


def status_changer(pool: Pool) -> tuple[Any, Any]:
    def make(n: int) -> Request:
        issued, status = pool.take()
        action = "reinstate" if status == "suspended" else "suspend"
        return json_request(
            "POST",
            f"/api/v1/labels/{issued.label}/status",
            {"action": action, "reason": f"Soak test: {action} #{n}."},
            {"Authorization": f"Bearer {issued.token}"},
        )

    def seen(req: Request, status: int, data: bytes) -> str | None:
        label = req.path.split("/")[4]
        was = pool.busy[label][1]
        action = "reinstate" if was == "suspended" else "suspend"
        if status != 200:
            pool.give_back(label, was, None)
            return None
        body = _json(data)
        now = body.get("status") if isinstance(body, dict) else None
        expected = "active" if action == "reinstate" else "suspended"
        pool.give_back(label, expected if now == expected else was, action)
        return None if now == expected else f"status {now!r} after {action}, not {expected!r}"

    return make, seen


def reader(pool: Pool, path: str, seed: int) -> Callable[[int], Request]:
    rng = random.Random(seed)

    def make(n: int) -> Request:
        with pool.lock:
            label = rng.choice(pool.issued).label
        return Request("GET", path.format(label))

    return make


def verifier(pool: Pool, seed: int) -> tuple[Any, Any]:
    rng = random.Random(seed)

    def make(n: int) -> Request:
        with pool.lock:
            credential = rng.choice(pool.to_verify).credential
        return json_request(
            "POST",
            "/credentials/verify",
            {"verifiableCredential": credential, "options": {"returnCredential": False}},
        )

    def seen(req: Request, status: int, data: bytes) -> str | None:
        body = _json(data)
        if status == 200 and not (isinstance(body, dict) and body.get("verified") is True):
            return f"not verified: {data[:300]!r}"
        return None

    return make, seen


def witness_loop(app: Any, every: float, seconds: float) -> LoadResult:
    """Ask the witness every ``every`` seconds for ``seconds``; a refusal is a failure."""
    result = LoadResult()
    start = time.perf_counter()
    deadline = start + seconds
    pause = threading.Event()  # never set: its wait paces the loop without sleeping blind
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        try:
            stored = push_checkpoint(app)
            with app.app_context():
                health = witness_health(utcnow())["witnesses"][0]
        except Exception as exc:  # the soak reports it rather than dying
            result.failures.append(f"witness: {type(exc).__name__}: {exc}")
            pause.wait(max(0.0, min(every, deadline - time.perf_counter())))
            continue
        elapsed = time.perf_counter() - t0
        result.statuses[stored] += 1  # 1: a new cosignature stored, 0: already cosigned
        if stored == 0 and health["last_error"]:
            result.failures.append(f"witness: {health['last_error']}")
        else:
            result.latencies.append(elapsed)
        pause.wait(max(0.0, min(every - elapsed, deadline - time.perf_counter())))
    result.elapsed = time.perf_counter() - start
    result.latencies.sort()
    return result


# --- the offline check -----------------------------------------------------------------------


def _get(port: int, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path}: {resp.status} {data[:300]!r}")
    return resp, data


@dataclass
class LedgerCheck:
    ok: bool = False
    size: int = 0
    entries_replayed: int = 0
    proofs_checked: int = 0
    cosigned: bool = False
    labels_seen: int = 0
    labels_in_ledger: int = 0
    labels_missing: int = 0
    labels_issued_twice: int = 0
    labels_unexpected: int = 0
    status_changes_seen: int = 0
    status_changes_in_ledger: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def check_ledger(port: int, work: Path, pool: Pool, witness_key: str, *, jobs: int) -> LedgerCheck:
    """Export the ledger as anyone can, then check it with the kit alone."""
    out = LedgerCheck()
    t0 = time.perf_counter()
    _, log_key = _get(port, "/ledger/log-key")
    _, note = _get(port, "/ledger/checkpoint")
    export = work / "ledger.jsonl"
    resp, data = _get(port, "/api/v1/exports/ledger.jsonl")
    export.write_bytes(data)
    exported_note = base64.b64decode(resp.headers["Ledger-Checkpoint"]).decode()
    log = NoteVerifier.from_verifier_key(log_key.decode())
    witness, _ = parse_witness(witness_key)
    try:
        cosigned = open_cosigned_checkpoint(note, verifier=log, witnesses=[witness], quorum=1)
        out.cosigned = True
        if cosigned.checkpoint.size != int(resp.headers["Ledger-Checkpoint-Size"]):
            out.problems.append("the cosigned checkpoint is not the one the export carries")
    except CredentialError as exc:
        out.problems.append(f"final checkpoint: {exc}")
    with export.open("rb") as lines:
        report = audit_ledger(
            lines,
            checkpoint=exported_note,
            log_key=log_key.decode(),
            jobs=jobs,
            credentials=load_credentials(work / "credentials.jsonl"),
        )
    out.size = report.size
    out.entries_replayed = report.size if report.replayed else 0
    out.proofs_checked = report.proofs_checked
    out.problems += [f"audit: {p}" for p in report.problems[:10]]
    issued: Counter[str] = Counter()
    changes = 0
    for line in data.splitlines():
        event = parse_entry(line).event
        if isinstance(event, LabelIssued):
            issued[event.label] += 1
        elif isinstance(event, LabelSuspended | LabelReinstated):
            changes += 1
    seen = {i.label for i in pool.issued}
    out.labels_seen = len(pool.issued)
    out.labels_in_ledger = sum(issued.values())
    out.labels_missing = len(seen - issued.keys())
    out.labels_issued_twice = sum(1 for n in issued.values() if n > 1)
    out.labels_unexpected = len(issued.keys() - seen)
    out.status_changes_seen = sum(pool.changes.values())
    out.status_changes_in_ledger = changes
    if len(seen) != len(pool.issued):
        out.problems.append("an issuer was answered 201 twice for one label")
    for name in ("labels_missing", "labels_issued_twice", "labels_unexpected"):
        if getattr(out, name):
            out.problems.append(f"{name.replace('_', ' ')}: {getattr(out, name)}")
    if out.status_changes_seen != changes:
        out.problems.append(
            f"{out.status_changes_seen} status changes answered 200, {changes} in the ledger"
        )
    if out.proofs_checked != out.labels_in_ledger:
        out.problems.append(
            f"{out.proofs_checked} credential proofs checked for {out.labels_in_ledger} labels"
        )
    out.ok = report.ok and out.cosigned and not out.problems
    out.seconds = time.perf_counter() - t0
    return out


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    clients: int
    count: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    sample_errors: list[str]
    statuses: dict[int, int]  # HTTP status → count; for the witness, cosignatures stored → count


@dataclass
class Soak:
    db: str
    workers: int
    seconds: float
    warmup_labels: int
    load_before: str
    load_after: str
    operations: list[Operation]
    rss_kib_start: dict[int, int]
    rss_kib_end: dict[int, int | None]
    server_log_problems: list[str]
    ledger: LedgerCheck

    @property
    def errors(self) -> int:
        return sum(op.errors for op in self.operations) + len(self.server_log_problems)

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.ledger.ok and all(op.count for op in self.operations)


def _operation(name: str, clients: int, r: LoadResult) -> Operation:
    return Operation(
        name=name,
        clients=clients,
        count=r.ok,
        rate=r.rate,
        p50_ms=percentile(r.latencies, 50) * 1000,
        p99_ms=percentile(r.latencies, 99) * 1000,
        errors=r.errors,
        sample_errors=r.failures[:SAMPLE_ERRORS],
        statuses=dict(sorted(r.statuses.items())),
    )


def _rss(pids: list[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for pid in pids:
        try:
            out[pid] = rss_kib(pid)
        except OSError:  # the worker is gone (recycled): no end figure for it
            out[pid] = None
    return out


def soak(args: argparse.Namespace, log: Callable[[str], None] = print) -> Soak:
    kind = args.db
    with scratch_dir(f"bench-soak-{kind}-") as work, scratch_database(kind, work) as url:
        port = free_port()
        env = server_environment(
            database_url=url, instance=work / "instance", port=port, workers=args.workers
        )
        settings = settings_for(env)
        process, witness_entry = start_witness(work, settings.log_signer().verifier_key())
        try:
            # Only this process asks the witness (the workers have none configured), so each
            # push is timed here and none is raced by a worker's ticker.
            app = create_app(settings_for({**env, "REGISTRY_WITNESSES": witness_entry}))
            registry = set_up_registry(app, bodies=args.bodies)
            pool = Pool(work / "credentials.jsonl")
            with Gunicorn(env, work / "gunicorn.log") as server:
                log(f"[{kind}] gunicorn on {HOST}:{port}, workers {server.worker_pids()}")
                warm_make, warm_seen = issuer(registry, pool, seed=1)
                warm = run_load(
                    port,
                    warm_make,
                    clients=args.issuers,
                    expect=frozenset({201}),
                    count=max(20, 4 * args.changers),
                    on_response=warm_seen,
                )
                pids = server.worker_pids()
                rss_start = {pid: rss_kib(pid) for pid in pids}
                before = load_average()
                log(f"[{kind}] {warm.ok} labels issued untimed; {args.seconds:g} s of load")
                results = _run_together(args, port, pool, registry, app)
                rss_end = _rss(pids)
                pool.close()
                witness_result = results.pop()
                # One last round, so the checkpoint the audit reads is cosigned too.
                push_checkpoint(app)
                ledger = check_ledger(port, work, pool, witness_entry, jobs=args.jobs)
                after = load_average()
            problems = server.log_problems()
        finally:
            process.terminate()
            process.wait(timeout=10)
        ops = [
            _operation("POST /api/v1/labels", args.issuers, results[0]),
            _operation("POST /api/v1/labels/{id}/status", args.changers, results[1]),
            _operation("GET /l/{id}", args.readers, results[2]),
            _operation("GET /api/v1/labels/{id}", args.readers, results[3]),
            _operation("POST /credentials/verify", args.verifiers, results[4]),
            _operation("witness cosignature", 1, witness_result),
        ]
        ops[0].errors += warm.errors
        ops[0].sample_errors = (warm.failures + ops[0].sample_errors)[:SAMPLE_ERRORS]
        return Soak(
            db=kind,
            workers=args.workers,
            seconds=args.seconds,
            warmup_labels=warm.ok,
            load_before=before,
            load_after=after,
            operations=ops,
            rss_kib_start=rss_start,
            rss_kib_end={pid: rss_end.get(pid) for pid in pids},
            server_log_problems=problems[:20],
            ledger=ledger,
        )


def _run_together(
    args: argparse.Namespace, port: int, pool: Pool, registry: Registry, app: Any
) -> list[LoadResult]:
    """Every client at once for ``args.seconds``; the results in a fixed order, witness last."""
    issue_make, issue_seen = issuer(registry, pool, seed=2)
    change_make, change_seen = status_changer(pool)
    verify_make, verify_seen = verifier(pool, seed=5)
    ok200, seconds = frozenset({200}), args.seconds
    jobs: list[Callable[[], LoadResult]] = [
        lambda: run_load(
            port,
            issue_make,
            clients=args.issuers,
            expect=frozenset({201}),
            seconds=seconds,
            on_response=issue_seen,
        ),
        lambda: run_load(
            port,
            change_make,
            clients=args.changers,
            expect=ok200,
            seconds=seconds,
            on_response=change_seen,
        ),
        lambda: run_load(
            port, reader(pool, "/l/{}", 3), clients=args.readers, expect=ok200, seconds=seconds
        ),
        lambda: run_load(
            port,
            reader(pool, "/api/v1/labels/{}", 4),
            clients=args.readers,
            expect=ok200,
            seconds=seconds,
        ),
        lambda: run_load(
            port,
            verify_make,
            clients=args.verifiers,
            expect=ok200,
            seconds=seconds,
            on_response=verify_seen,
        ),
        lambda: witness_loop(app, args.witness_every, seconds),
    ]
    results: list[LoadResult | None] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # a client bug is an error of its operation, not a hang
            r = LoadResult()
            r.failures.append(f"{type(exc).__name__}: {exc}")
            results[i] = r

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    return [r if r is not None else LoadResult() for r in results]


# --- output ----------------------------------------------------------------------------------


def print_report(s: Soak) -> None:
    print()
    print(
        f"== soak on {s.db}: {s.workers} gunicorn workers, {s.seconds:g} s, "
        f"load average {s.load_before} before, {s.load_after} after ({os.cpu_count()} cores)"
    )
    print(f"  {'operation':34} {'clients':>7} {'count':>8} {'per s':>8} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}")  # fmt: skip
    for op in s.operations:
        print(
            f"  {op.name:34} {op.clients:>7} {op.count:>8,} {op.rate:>8.1f} {op.p50_ms:>8.1f} "
            f"{op.p99_ms:>8.1f} {op.errors:>6}"
            + (
                f"  ({op.statuses.get(1, 0)} new cosignatures)"
                if op.name.startswith("witness")
                else ""
            )
        )
        for line in op.sample_errors:
            print(f"      error: {line}")
    for line in s.server_log_problems:
        print(f"  gunicorn log: {line}")
    print("  RSS per gunicorn worker (MiB, after the warm-up → at the end):")
    for pid, start in s.rss_kib_start.items():
        end = s.rss_kib_end.get(pid)
        tail = "gone" if end is None else f"{end / 1024:.1f} ({(end - start) / 1024:+.1f})"
        print(f"    pid {pid}: {start / 1024:.1f} → {tail}")
    c = s.ledger
    print(
        f"  ledger: {c.size:,} entries, {'VERIFIES' if c.ok else 'DOES NOT VERIFY'} offline "
        f"({c.seconds:.1f} s): every entry replayed, {c.proofs_checked:,} credential proofs, "
        f"checkpoint log signature and witness cosignature {'ok' if c.cosigned else 'NOT ok'}; "
        f"{c.labels_seen:,} labels answered 201 = {c.labels_in_ledger:,} issued in the ledger "
        f"(missing {c.labels_missing}, twice {c.labels_issued_twice}, unexpected "
        f"{c.labels_unexpected}); {c.status_changes_seen:,} status changes answered 200, "
        f"{c.status_changes_in_ledger:,} in the ledger"
    )
    for line in c.problems:
        print(f"    PROBLEM: {line}")
    print(f"  errors {s.errors}: {'OK' if s.ok else 'FAILED'}")


def to_json(s: Soak) -> dict[str, Any]:
    data = asdict(s)
    data["errors"] = s.errors
    data["ok"] = s.ok
    return data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
    )
    parser.add_argument("--db", choices=DATABASES, default="postgresql")
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (60)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--bodies", type=int, default=2, help="issuing bodies (2)")
    parser.add_argument("--issuers", type=int, default=4, help="issuing clients (4)")
    parser.add_argument("--changers", type=int, default=2, help="status-changing clients (2)")
    parser.add_argument("--readers", type=int, default=2, help="clients per page kind (2)")
    parser.add_argument("--verifiers", type=int, default=2, help="verifying clients (2)")
    parser.add_argument("--witness-every", type=float, default=1.0, help="seconds between pushes")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the proof checks")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    for name in ("workers", "bodies", "issuers", "changers", "readers", "verifiers", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not 0 < args.seconds <= 24 * 3600 or args.witness_every <= 0:
        parser.error("--seconds must be in (0, 86400] and --witness-every above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    log: Callable[[str], None] = (lambda line: print(line, file=sys.stderr)) if args.json else print
    result = soak(args, log)
    if args.json:
        print(json.dumps(to_json(result), indent=2))
    else:
        print_report(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)

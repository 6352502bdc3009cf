"""``bench/proofs.py``'s ledger of 10^6 entries: generated, bulk-loaded into SQLite, cached.

Realistic entries (a set-up prologue, then label issuances, suspensions, reinstatements and
revocations in the services' v1 shapes (``credentials.ledger_events``), made canonical with
``canonicalize_jcs``), their ``ledger_entry_scopes`` rows (``entry_scope``), their leaf hashes
and every ``ledger_nodes`` row the tree has, computed level by level with ``node_hash``. The
ledger replays clean (``credentials.ledger_replay``): each body issues under the scheme it is
accredited for, with a footprint inside the grade it states. The SQLite ledger is cached
under ``--cache`` (keyed by size and the migration head); ``load_postgresql`` COPYs it into a
fresh PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import insert

from bench._common import ROOT, migrate, scratch_dir, shielded
from credentials import Actor, ActorRole, KeyPair, canonicalize_jcs, decimal_text, leaf_hash
from credentials.ledger_events import EVENT_VERSION
from credentials.merkle import node_hash, root_hash
from credentials.status_list import MIN_STATUS_LIST_BITS
from registry import create_app
from registry.db import db, transaction
from registry.ledger.models import LedgerEntry, LedgerEntryScope, LedgerNode
from registry.ledger.services import entry_scope, format_entry_time, publish_checkpoint, root_at
from tests.registry.factories import make_settings

BUILD_FORMAT = 3  # bump when the generated ledger changes shape
BATCH = 50_000
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --- a realistic ledger ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    scheme: str
    code: str
    category: str
    unit: str
    thresholds: tuple[str, str, str, str]


SCHEMES = {
    "CN-GD": "Guangdong",
    "CN-JS": "Jiangsu",
    "CN-SH": "Shanghai",
    "HK": "Hong Kong",
    "MO": "Macao",
}
CATEGORIES = (
    ("battery", "PCR-LIB", "kWh", ("45", "65", "85", "110")),
    ("pv-module", "PCR-PV", "kWp", ("300", "420", "560", "700")),
    ("steel", "PCR-STEEL", "t", ("900", "1500", "2100", "2600")),
    ("textile", "PCR-TEX", "kg", ("8", "14", "22", "30")),
    ("tea", "PCR-TEA", "kg", ("2.5", "4", "6", "9")),
)
RULES = [
    Rule(s, f"{s}-{code}", cat, unit, th) for s in SCHEMES for cat, code, unit, th in CATEGORIES
]
GRADES = "ABCDE"
STATUS_LIST_SIZE = MIN_STATUS_LIST_BITS  # the registry's lists have the spec's minimum size


def _stamp(when: datetime) -> str:
    return format_entry_time(when)


def _label_id(rng: random.Random) -> str:
    return "".join(rng.choice(CROCKFORD) for _ in range(10))


def ledger_events(n: int, seed: int = 2026) -> Iterator[tuple[datetime, str, dict[str, Any]]]:
    """``n`` events (time, name, payload) of a registry's life: set-up, then mostly issuance."""
    rng = random.Random(seed)
    when = datetime(2025, 1, 6, 1, 30, tzinfo=UTC)
    operator = {"v": EVENT_VERSION, "by": Actor(ActorRole.OPERATOR, token=1).to_json()}

    def tick(max_ms: int = 60_000) -> datetime:
        nonlocal when
        when += timedelta(milliseconds=rng.randrange(1, max_ms))
        return when

    bodies = []
    for b in range(12):
        key = KeyPair.from_seed(hashlib.sha256(f"bench body {b}".encode()).digest())
        code = f"cb-{b:02d}"
        # Spread over the schemes: a body issues only under the one it is accredited for.
        bodies.append((code, key, list(SCHEMES)[b % len(SCHEMES)]))
    prologue: list[tuple[str, dict[str, Any]]] = []
    for code, name in SCHEMES.items():
        prologue.append(
            (
                "scheme.registered",
                {
                    **operator,
                    "scheme": code,
                    "region": code,
                    "names": {"en": f"{name} product carbon label (fictitious)"},
                    "owner": f"{name} environment authority (fictitious)",
                },
            )
        )
    start = _stamp(when)
    for r in RULES:
        prologue.append(
            (
                "rule.registered",
                {
                    **operator,
                    "scheme": r.scheme,
                    "rule": r.code,
                    "category": r.category,
                    "names": {},
                },
            )
        )
        prologue.append(
            (
                "rule_version.published",
                {
                    **operator,
                    "scheme": r.scheme,
                    "rule": r.code,
                    "version": "1.0",
                    "category": r.category,
                    "declaredUnit": r.unit,
                    "standard": "ISO 14067:2018",
                    "inForceFrom": start,
                    "inForceUntil": None,
                    "thresholds": dict(zip("ABCD", r.thresholds, strict=True)),
                },
            )
        )
    for i, (code, key, scheme) in enumerate(bodies):
        prologue.append(
            (
                "body.registered",
                {
                    **operator,
                    "body": code,
                    "name": f"Certification body {i} (fictitious)",
                    "region": "CN-GD",
                    "names": {},
                },
            )
        )
        prologue.append(
            (
                "accreditation.granted",
                {
                    **operator,
                    "accreditation": i + 1,
                    "body": code,
                    "scheme": scheme,
                    "categories": sorted({c for c, *_ in CATEGORIES}),
                    "accreditationBody": "CNAS (fictitious)",
                    "reference": f"CNAS-C{1200 + i}",
                    "validFrom": start,
                    "validUntil": None,
                },
            )
        )
        prologue.append(
            (
                "key.added",
                {
                    **operator,
                    "body": code,
                    "publicKeyMultibase": key.public_key.multibase,
                    "controller": key.did,
                    "managed": True,
                    "activeFrom": start,
                },
            )
        )
    for name, payload in prologue[:n]:
        yield tick(5_000), name, payload

    certifiers = {
        code: {
            "v": EVENT_VERSION,
            "by": Actor(ActorRole.CERTIFIER, token=100 + n, body=code).to_json(),
        }
        for n, (code, *_) in enumerate(bodies)
    }
    status: dict[str, tuple[str, str]] = {}  # label id -> (body, status)
    recent: list[str] = []
    lists = {
        code: (f"r-{rng.randbytes(8).hex()}", f"s-{rng.randbytes(8).hex()}") for code, *_ in bodies
    }
    issued = dict.fromkeys(lists, 0)

    rules = {scheme: [r for r in RULES if r.scheme == scheme] for scheme in SCHEMES}

    def issuance() -> tuple[datetime, str, dict[str, Any]]:
        code, key, scheme = rng.choice(bodies)
        rule = rng.choice(rules[scheme])
        label = _label_id(rng)
        grade = rng.choice(GRADES)
        # A footprint the stated grade's band gives: above the next better bound (grade_for
        # takes the first bound it is at or under), at most this grade's (E: up to 1.5 × D's).
        cents = [0, *(int(Decimal(t) * 100) for t in rule.thresholds)]
        cents.append(cents[-1] * 3 // 2)
        low, high = cents[GRADES.index(grade)] + 1, cents[GRADES.index(grade) + 1]
        valid_from = tick().replace(microsecond=0)
        # Each index once per list (replay refuses a taken one), scattered over the list by an
        # odd multiplier (a bijection mod 2^17); a full pair of lists is replaced by a new pair.
        k = issued[code]
        issued[code] += 1
        if k and k % STATUS_LIST_SIZE == 0:
            lists[code] = (f"r-{rng.randbytes(8).hex()}", f"s-{rng.randbytes(8).hex()}")
        revocation, suspension = lists[code]
        slot = k * 48_271 % STATUS_LIST_SIZE
        status[label] = (code, "active")
        recent.append(label)
        if len(recent) > 100_000:
            del recent[:50_000]
        payload = {
            **certifiers[code],
            "label": label,
            "body": code,
            "credentialDigest": "sha256:" + rng.randbytes(32).hex(),
            "verificationMethod": key.verification_method,
            "scheme": rule.scheme,
            "rule": rule.code,
            "ruleVersion": "1.0",
            "category": rule.category,
            "footprint": decimal_text(Decimal(rng.randint(low, high)).scaleb(-2)),
            "declaredUnit": rule.unit,
            "declaredUnitAmount": "1",
            "grade": grade,
            "validFrom": _stamp(valid_from),
            "validUntil": _stamp(valid_from + timedelta(days=3 * 365)),
            "statusLists": {
                "revocation": {"list": revocation, "index": slot},
                "suspension": {"list": suspension, "index": slot},
            },
            "supersedes": None,
        }
        return when, "label.issued", payload

    for _ in range(max(0, n - len(prologue))):
        roll = rng.random()
        change = None
        if roll >= 0.92 and len(recent) >= 100:
            label = rng.choice(recent)
            code, state = status[label]
            change = _transition(roll, state)
        if change is None:
            yield issuance()
            continue
        event, after, reason = change
        status[label] = (code, after)
        payload = {
            **certifiers[code],
            "label": label,
            "body": code,
            "reason": reason,
            "previousStatus": state,
        }
        yield tick(), event, payload


def _transition(roll: float, state: str) -> tuple[str, str, str] | None:
    """A legal status change for a label in ``state`` (revocation is final), or None."""
    if state == "active" and roll < 0.965:
        return "label.suspended", "suspended", "surveillance audit pending"
    if state == "suspended" and roll < 0.985:
        return "label.reinstated", "active", "corrective action accepted"
    if state in ("active", "suspended") and roll >= 0.985:
        return "label.revoked", "revoked", "footprint data withdrawn by the manufacturer"
    return None


# --- building and loading --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ledger:
    """The cached SQLite ledger: its file, size, root (computed by the kit) and build time."""

    path: Path
    size: int
    root: bytes
    build_seconds: float
    built_now: bool


def migration_heads() -> str:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def cache_paths(cache: Path, n: int) -> tuple[Path, Path]:
    return cache / f"ledger-{n}.sqlite3", cache / f"ledger-{n}.json"


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def cached_ledger(cache: Path, n: int, *, rebuild: bool) -> Ledger:
    db_path, meta_path = cache_paths(cache, n)
    heads = migration_heads()
    if not rebuild and db_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (meta.get("format"), meta.get("heads"), meta.get("size")) == (BUILD_FORMAT, heads, n):
            return Ledger(db_path, n, bytes.fromhex(meta["root"]), meta["build_seconds"], False)
        print("cached ledger is stale (generator or migrations changed): rebuilding")
    return build_sqlite(cache, n, heads)


def batched(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def insert_entries(n: int) -> list[bytes]:
    """Insert ``n`` canonical entries and their scope rows in big transactions; return their
    leaf hashes."""
    leaves: list[bytes] = []
    events = ledger_events(n)
    seq = 0
    # The append path's rule (``_with_schemes``): an entry naming a label or an accreditation
    # but no scheme takes the scheme its first entry stated. The loader holds every first entry
    # in these maps instead of probing the table once per status change.
    schemes: dict[str, dict[Any, str]] = {"label": {}, "accreditation": {}}
    for batch in batched(events, BATCH):
        rows, scopes = [], []
        for when, event, payload in batch:
            body = canonicalize_jcs(
                {**payload, "seq": seq, "time": format_entry_time(when), "event": event}
            )
            leaf = leaf_hash(body)
            leaves.append(leaf)
            rows.append({"seq": seq, "time": when, "event": event, "body": body, "leaf_hash": leaf})
            scope = entry_scope(seq, event, payload)
            for column, first in schemes.items():
                if scope[column] is None:
                    continue
                if scope["scheme"] is None:
                    scope["scheme"] = first.get(scope[column])
                else:
                    first.setdefault(scope[column], scope["scheme"])
            scopes.append(scope)
            seq += 1
        with db.engine.begin() as conn:
            conn.execute(insert(LedgerEntry), rows)
            conn.execute(insert(LedgerEntryScope), scopes)
    return leaves


def insert_nodes(leaves: list[bytes]) -> int:
    """Every perfect subtree of the tree, level by level: floor(n / 2^level) nodes per level."""
    level, hashes, total = 0, leaves, 0
    while hashes:
        for start in range(0, len(hashes), BATCH * 4):
            rows = [
                {"level": level, "index": start + k, "hash": h}
                for k, h in enumerate(hashes[start : start + BATCH * 4])
            ]
            with db.engine.begin() as conn:
                conn.execute(insert(LedgerNode), rows)
        total += len(hashes)
        hashes = [node_hash(hashes[2 * i], hashes[2 * i + 1]) for i in range(len(hashes) // 2)]
        level += 1
    return total


def _fill(tmp: Path, n: int, work: Path) -> bytes:
    """Migrate ``tmp``, load ``n`` entries and every node, sign; return the kit's root."""
    t0 = time.perf_counter()
    app = create_app(make_settings(f"sqlite:///{tmp}", work))
    migrate(app)
    with app.app_context():
        leaves = insert_entries(n)
        t1 = time.perf_counter()
        nodes = insert_nodes(leaves)
        t2 = time.perf_counter()
        with transaction():
            checkpoint = publish_checkpoint()
        print(
            f"  entries {t1 - t0:.1f} s, {nodes:,} nodes {t2 - t1:.1f} s, "
            f"checkpoint {time.perf_counter() - t2:.2f} s"
        )
        # The kit's own root over the leaves, independent of the stored nodes.
        root = root_hash(leaves)
        if (checkpoint.size, checkpoint.root_hash) != (n, root):
            raise RuntimeError("the signed checkpoint does not match the kit's root")
        rng = random.Random(5)
        for m in {1, n // 3, n - 1, rng.randrange(1, n)} - {0}:
            if root_at(m) != root_hash(leaves[:m]):
                raise RuntimeError(f"root_at({m}) differs from the kit's root")
        db.session.remove()
        db.engine.dispose()
    with sqlite3.connect(tmp) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return root


def build_sqlite(cache: Path, n: int, heads: str) -> Ledger:
    cache.mkdir(parents=True, exist_ok=True)
    db_path, meta_path = cache_paths(cache, n)
    tmp = db_path.with_name(db_path.name + ".building")
    _remove_sqlite(tmp)
    meta_path.unlink(missing_ok=True)
    _remove_sqlite(db_path)
    print(f"building a ledger of {n:,} entries in {db_path} …", flush=True)
    t0 = time.perf_counter()
    try:
        with scratch_dir("bench-proofs-build-") as work:
            root = _fill(tmp, n, work)
        tmp.rename(db_path)
        _remove_sqlite(tmp)
    except BaseException:
        with shielded():
            _remove_sqlite(tmp)
        raise
    took = time.perf_counter() - t0
    meta = {"format": BUILD_FORMAT, "heads": heads, "size": n, "root": root.hex()}
    meta_path.write_text(json.dumps({**meta, "build_seconds": round(took, 1)}))
    print(f"  built in {took:.1f} s (kit root {root.hex()[:16]}…)")
    return Ledger(db_path, n, root, took, True)


def load_postgresql(url: str, ledger: Ledger) -> float:
    """COPY the cached ledger's entries and nodes into a freshly migrated PostgreSQL database."""
    t0 = time.perf_counter()
    src = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True)
    try:
        with psycopg.connect(url) as pg:
            pg.execute("SET TIME ZONE 'UTC'")  # SQLite holds naive UTC timestamps
            with pg.cursor() as cur:
                sql_entries = "COPY ledger_entries (seq, time, event, body, leaf_hash) FROM STDIN"
                with cur.copy(sql_entries) as copy:
                    for row in src.execute(
                        "SELECT seq, time, event, body, leaf_hash FROM ledger_entries ORDER BY seq"
                    ):
                        copy.write_row(row)
                with cur.copy('COPY ledger_nodes (level, "index", hash) FROM STDIN') as copy:
                    for row in src.execute('SELECT level, "index", hash FROM ledger_nodes'):
                        copy.write_row(row)
                sql_scopes = "COPY ledger_entry_scopes (seq, scheme, body, label, accreditation)"
                with cur.copy(f"{sql_scopes} FROM STDIN") as copy:
                    for row in src.execute(
                        "SELECT seq, scheme, body, label, accreditation FROM ledger_entry_scopes"
                    ):
                        copy.write_row(row)
            pg.commit()
            # A ledger that grew to this size would have been vacuumed and analysed by
            # autovacuum long ago; do it now so the planner and the visibility map agree.
            pg.autocommit = True
            pg.execute("VACUUM ANALYZE ledger_entries")
            pg.execute("VACUUM ANALYZE ledger_nodes")
            pg.execute("VACUUM ANALYZE ledger_entry_scopes")
    finally:
        src.close()
    return time.perf_counter() - t0

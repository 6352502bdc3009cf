"""Ledger services: append entries, serve roots and proofs, sign checkpoints.

Services append typed events (:func:`append_event`, :func:`append_events`: the kit's
``credentials.ledger_events`` is the one home of the entry format); :func:`append_entry` is the
untyped layer beneath, kept for the ledger's own tests. Every write goes through
:func:`append_entries` or :func:`publish_checkpoint`, and both first take
the ledger lock: ``pg_advisory_xact_lock`` on PostgreSQL, and on SQLite the write lock that our
``BEGIN IMMEDIATE`` already holds. Under it the next sequence number is the current tree size,
so numbers are gapless and unique however many workers write; the lock is released by the
request-boundary commit or rollback. Reads need no lock: nodes are written in the same
transaction as their last leaf, so a committed tree is always complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, insert, or_, select, tuple_

from credentials import (
    Checkpoint,
    Frontier,
    LedgerEvent,
    NoteSigner,
    canonicalize_jcs,
    consistency_proof_ranges,
    fold_perfect,
    format_entry_time,
    inclusion_proof_ranges,
    leaf_hash,
    perfect_subtrees,
    sign_checkpoint,
)
from registry.clock import utcnow
from registry.db import db, insert_new
from registry.errors import NotFoundError, ValidationFailedError
from registry.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerEntryScope, LedgerNode

__all__ = [
    "MAX_ENTRIES_PER_READ",
    "ConsistencyProof",
    "InclusionProof",
    "LedgerConfig",
    "append_entries",
    "append_entry",
    "append_event",
    "append_events",
    "consistency_proof",
    "current_checkpoint",
    "format_entry_time",
    "get_ledger_config",
    "get_log_verifier_key",
    "inclusion_proof",
    "latest_checkpoint",
    "list_entries",
    "publish_checkpoint",
    "root_at",
    "tree_size",
]

MAX_ENTRIES_PER_READ = 1000
RESERVED_KEYS = frozenset({"seq", "time", "event"})
_EVENT = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
# Any fixed 63-bit number works, but every process writing this database must use the same one.
# These are the ASCII bytes of "cllledgr", chosen so the lock is recognisable in pg_locks.
LEDGER_LOCK_KEY = 0x636C6C6C65646772
EXTENSION_KEY = "registry.ledger"

NodeId = tuple[int, int]  # (level, index)


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    signer: NoteSigner
    checkpoint_interval: float


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    hashes: tuple[bytes, ...]


def get_ledger_config() -> LedgerConfig:
    config: LedgerConfig = current_app.extensions[EXTENSION_KEY]
    return config


def get_log_verifier_key() -> str:
    """The log's public key as a C2SP verifier key string ``name+keyid+base64``."""
    return get_ledger_config().signer.verifier_key()


def _lock_ledger() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))
    # SQLite: the connection began with BEGIN IMMEDIATE, so this transaction already holds the
    # database's single write lock (see registry.db._configure_sqlite).


def tree_size() -> int:
    """The number of committed (or, inside a write, flushed) entries."""
    last = db.session.execute(select(func.max(LedgerEntry.seq))).scalar_one()
    return 0 if last is None else int(last) + 1


def latest_checkpoint() -> LedgerCheckpoint | None:
    stmt = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    return db.session.execute(stmt).scalar_one_or_none()


class _MissingNodesError(Exception):
    """Some requested subtree is not stored: the tree is smaller than the caller assumed."""


def _fetch_nodes(ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Fetch stored subtree hashes by primary key, all in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    columns = (LedgerNode.level, LedgerNode.index)
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite scans the table for a row-value IN list, but probes the primary key for each
        # arm of an OR ("MULTI-INDEX OR"), so ask level by level.
        by_level: dict[int, list[int]] = {}
        for level, index in sorted(wanted):
            by_level.setdefault(level, []).append(index)
        condition = or_(
            *(
                and_(LedgerNode.level == level, LedgerNode.index.in_(indexes))
                for level, indexes in by_level.items()
            )
        )
    else:
        # One expanding row-value IN: a single cached statement whatever the count, which
        # PostgreSQL plans as a BitmapOr of primary-key probes.
        condition = tuple_(*columns).in_(sorted(wanted))
    stmt = select(*columns, LedgerNode.hash).where(condition)
    found = {(level, index): bytes(h) for level, index, h in db.session.execute(stmt)}
    if len(found) != len(wanted):
        raise _MissingNodesError
    return found


def _fold(nodes: Mapping[NodeId, bytes], start: int, end: int) -> bytes:
    return fold_perfect([nodes[node] for node in perfect_subtrees(start, end)])


def _beyond_tree(field: str, size: int) -> ValidationFailedError:
    current = tree_size()
    return ValidationFailedError(
        {field: [f"The ledger has {current} entries; {size} is beyond it."]},
        detail=f"The ledger currently has {current} entries.",
    )


def append_event(event: LedgerEvent) -> LedgerEntry:
    """Append one typed event (the way every service writes to the ledger)."""
    return append_events([event])[0]


def append_events(events: Sequence[LedgerEvent]) -> list[LedgerEntry]:
    """Append typed events in order; see :func:`append_entries`."""
    return append_entries([(event.KIND, event.to_payload()) for event in events])


def append_entry(event: str, payload: Mapping[str, Any]) -> LedgerEntry:
    """Append one event; the entry is ``{"seq", "time", "event", **payload}`` as RFC 8785 JSON.

    See :func:`append_entries`, of which this is the one-event case.
    """
    return append_entries([(event, payload)])[0]


def append_entries(events: Sequence[tuple[str, Mapping[str, Any]]]) -> list[LedgerEntry]:
    """Append events in order, numbered consecutively, under one lock and one round of writes.

    Writes the leaves and every perfect subtree they complete, and signs a checkpoint when the
    latest one is older than the configured interval (so a busy log is covered continuously
    without signing on every append). Flushes; the caller's request boundary commits.

    The ledger lock is held from here until that commit, and every other writer waits for it:
    do the slow work of a request (signing credentials, say) before appending, not after.
    """
    if not events:
        return []
    for event, payload in events:
        if not _EVENT.fullmatch(event) or len(event) > 64:
            raise ValueError(
                f"event {event!r} is not a dotted lower-case name such as label.issued"
            )
        clash = RESERVED_KEYS & payload.keys()
        if clash:
            raise ValueError(f"payload may not set {sorted(clash)}: the ledger owns them")
    _lock_ledger()
    first, last_signed = _head()
    # To the millisecond, as the entry states it, so the stored column and the hashed text agree.
    when = now = utcnow()
    stamp = format_entry_time(when)

    # The stored frontier of the tree of size `first` (its perfect subtrees, largest first)
    # gives the left siblings the new leaves merge with, and the new root, in one query.
    frontier_ids = perfect_subtrees(0, first)
    stored = _fetch_nodes(frontier_ids)
    frontier = Frontier(first, [stored[node] for node in frontier_ids])
    entries: list[LedgerEntry] = []
    nodes: list[dict[str, Any]] = []
    scopes: list[dict[str, Any]] = []
    for seq, (event, payload) in enumerate(events, start=first):
        body = canonicalize_jcs({**payload, "seq": seq, "time": stamp, "event": event})
        leaf = leaf_hash(body)
        entries.append(LedgerEntry(seq=seq, time=when, event=event, body=body, leaf_hash=leaf))
        nodes += [{"level": lv, "index": i, "hash": h} for lv, i, h in frontier.append(leaf)]
        scopes.append(entry_scope(seq, event, payload))

    # Bulk INSERTs skip the unit of work, which matters because everything here runs while
    # every other writer waits for the lock. Nodes are never read back as objects; entries are
    # held in the session as inserted, for the caller.
    insert_new(entries)
    db.session.execute(insert(LedgerEntryScope), _with_schemes(scopes))
    db.session.execute(insert(LedgerNode), nodes)
    interval = get_ledger_config().checkpoint_interval
    if last_signed is None or (now - last_signed).total_seconds() >= interval:
        _store_checkpoint(frontier.size, frontier.root(), now)
    db.session.flush()
    return entries


_SCOPE_TEXT = {"scheme": 32, "body": 64, "label": 10}


def entry_scope(seq: int, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`LedgerEntryScope` row of an entry: the scheme, body, label and
    accreditation it names (``docs/ledger-events.md``: ``scheme``, or a mapping's target)."""

    def text(value: Any, column: str) -> str | None:
        fits = isinstance(value, str) and len(value) <= _SCOPE_TEXT[column]
        return value if fits else None

    mapping = payload.get("mapping")
    target = mapping.get("target") if isinstance(mapping, Mapping) else None
    scheme = payload.get("scheme") or payload.get("targetScheme")
    if scheme is None and isinstance(target, Mapping):
        scheme = target.get("scheme")
    accreditation = payload.get("accreditation")
    return {
        "seq": seq,
        "scheme": text(scheme, "scheme"),
        "body": text(payload.get("body"), "body"),
        "label": text(payload.get("label"), "label") if event.startswith("label.") else None,
        "accreditation": accreditation
        if event.startswith("accreditation.") and type(accreditation) is int
        else None,
    }


def _with_schemes(scopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give a label's or an accreditation's later entries the scheme its first one stated.
    One indexed probe per such entry; issuances (the bulk of the ledger) state their scheme."""
    for scope in scopes:
        for column in ("label", "accreditation"):
            if scope["scheme"] is None and scope[column] is not None:
                named = getattr(LedgerEntryScope, column) == scope[column]
                earlier = [s["scheme"] for s in scopes if s[column] == scope[column]]
                scope["scheme"] = next((s for s in earlier if s is not None), None) or (
                    db.session.execute(
                        select(LedgerEntryScope.scheme)
                        .where(named, LedgerEntryScope.scheme.is_not(None))
                        .limit(1)
                    ).scalar_one_or_none()
                )
    return scopes


def _head() -> tuple[int, datetime | None]:
    """Tree size and when the latest checkpoint was signed, in one round trip."""
    last_seq = select(func.max(LedgerEntry.seq)).scalar_subquery()
    last_signed = (
        select(LedgerCheckpoint.created_at)
        .order_by(LedgerCheckpoint.size.desc())
        .limit(1)
        .scalar_subquery()
    )
    seq, signed = db.session.execute(select(last_seq, last_signed)).one()
    return (0 if seq is None else int(seq) + 1), signed


def _store_checkpoint(size: int, root: bytes, now: datetime) -> LedgerCheckpoint:
    signer = get_ledger_config().signer
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    checkpoint = LedgerCheckpoint(size=size, root_hash=root, note=note, created_at=now)
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def current_checkpoint() -> LedgerCheckpoint:
    """The latest signed checkpoint, as readers get it: reading never signs.

    Appends sign a checkpoint in their own transaction (with the default interval of 0, every
    append round does, so the checkpoint covers every committed entry); with a longer interval
    the ticker covers what the appends left within about two intervals.
    """
    latest = latest_checkpoint()
    if latest is None:
        raise NotFoundError("No checkpoint has been signed yet; the ticker signs one shortly.")
    return latest


def publish_checkpoint() -> LedgerCheckpoint:
    """A signed checkpoint covering every committed entry, signing a new one if needed.

    On the write path only (the ticker, the CLI). The cheap check runs without the lock; only
    a stale or missing checkpoint takes it (and re-checks, since another worker may have
    signed meanwhile).
    """
    latest = latest_checkpoint()
    if latest is not None and latest.size >= tree_size():
        return latest
    _lock_ledger()
    size = tree_size()
    latest = latest_checkpoint()
    if latest is not None and latest.size >= size:
        return latest
    return _store_checkpoint(size, root_at(size), utcnow())


def root_at(size: int) -> bytes:
    """The RFC 9162 root of the first ``size`` entries."""
    if size < 0:
        raise ValidationFailedError({"size": ["Must not be negative."]})
    try:
        nodes = _fetch_nodes(perfect_subtrees(0, size))
    except _MissingNodesError:
        raise _beyond_tree("size", size) from None
    return _fold(nodes, 0, size)


def _nodes_for(
    ranges: list[tuple[int, int]], *, field: str, bound: int
) -> dict[tuple[int, int], bytes]:
    """Every perfect node the given leaf ranges decompose into, fetched in one query."""
    wanted = [node for start, end in ranges for node in perfect_subtrees(start, end)]
    try:
        return _fetch_nodes(wanted)
    except _MissingNodesError:
        raise _beyond_tree(field, bound) from None


def inclusion_proof(index: int, size: int) -> InclusionProof:
    """The audit path of entry ``index`` in the tree of ``size`` entries, from one query."""
    if not 0 <= index < size:
        raise ValidationFailedError({"index": [f"Must be at least 0 and less than size {size}."]})
    ranges = inclusion_proof_ranges(index, size)
    nodes = _nodes_for([(index, index + 1), (0, size), *ranges], field="size", bound=size)
    return InclusionProof(
        index=index,
        size=size,
        leaf_hash=nodes[(0, index)],
        root_hash=_fold(nodes, 0, size),
        hashes=tuple(_fold(nodes, start, end) for start, end in ranges),
    )


def consistency_proof(first: int, second: int) -> ConsistencyProof:
    """The proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
    if not 0 < first <= second:
        raise ValidationFailedError(
            {"first": [f"Must be at least 1 and at most second ({second})."]}
        )
    ranges = consistency_proof_ranges(first, second)
    nodes = _nodes_for([(0, first), (0, second), *ranges], field="second", bound=second)
    return ConsistencyProof(
        first=first,
        second=second,
        first_root=_fold(nodes, 0, first),
        second_root=_fold(nodes, 0, second),
        hashes=tuple(_fold(nodes, start, end) for start, end in ranges),
    )


def list_entries(start: int, end: int) -> list[bytes]:
    """The exact leaf bytes of entries ``start`` .. ``end - 1``; the whole range must exist."""
    if not 0 <= start < end or end - start > MAX_ENTRIES_PER_READ:
        raise ValidationFailedError(
            {"end": [f"Must be greater than start and at most start + {MAX_ENTRIES_PER_READ}."]}
        )
    stmt = (
        select(LedgerEntry.body)
        .where(LedgerEntry.seq >= start, LedgerEntry.seq < end)
        .order_by(LedgerEntry.seq)
    )
    bodies = [bytes(body) for body in db.session.execute(stmt).scalars()]
    if len(bodies) != end - start:
        raise _beyond_tree("end", end)
    return bodies

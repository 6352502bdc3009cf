"""Full re-verification of the stored ledger, for ``flask ledger verify`` and audits.

:func:`verify_ledger` recomputes every leaf hash from the stored bytes, the root from the
leaves, every stored subtree node from its children, and checks each stored checkpoint's
signature and root; entries and nodes are streamed, so memory stays flat whatever the ledger
size. :func:`verify_state` replays the entries with the kit (every state transition checked,
the first illegal one named) and compares the state they derive with the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from credentials import (
    EMPTY_ROOT,
    CredentialError,
    Frontier,
    NoteVerifier,
    canonicalize_jcs,
    leaf_hash,
    node_hash,
    open_checkpoint,
)
from registry.db import db
from registry.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerNode
from registry.ledger.services import format_entry_time, get_ledger_config
from registry.ledger.state import StateReport, verify_state

__all__ = ["LedgerReport", "StateReport", "verify_ledger", "verify_state"]

_MAX_PROBLEMS = 50
_BATCH = 2000


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, message: str) -> None:
        if len(self.items) < _MAX_PROBLEMS:
            self.items.append(message)
        else:
            self.dropped += 1

    def all(self) -> tuple[str, ...]:
        extra = (f"… and {self.dropped} more problems",) if self.dropped else ()
        return (*self.items, *extra)


@dataclass(frozen=True, slots=True)
class LedgerReport:
    size: int
    root_hash: bytes
    checkpoints_verified: int
    latest_checkpoint_size: int | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def uncovered(self) -> int:
        """Entries not yet under a signed checkpoint (the next read of the checkpoint signs)."""
        return self.size - (self.latest_checkpoint_size or 0)


def _check_body(seq: int, event: str, time_text: str, body: bytes, problems: _Problems) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        problems.add(f"entry {seq}: body is not JSON")
        return
    if not isinstance(parsed, dict):
        problems.add(f"entry {seq}: body is not a JSON object")
        return
    if canonicalize_jcs(parsed) != body:
        problems.add(f"entry {seq}: body is not RFC 8785 canonical JSON")
    expected = {"seq": seq, "event": event, "time": time_text}
    for key, value in expected.items():
        if parsed.get(key) != value:
            problems.add(f"entry {seq}: {key} in the body is {parsed.get(key)!r}, not {value!r}")


def _verify_nodes(size: int, problems: _Problems) -> None:
    """Every stored node must exist exactly where the tree has one, and hash its children."""
    levels = size.bit_length()
    stray = db.session.execute(
        select(func.count()).select_from(LedgerNode).where(LedgerNode.level >= levels)
    ).scalar_one()
    if stray:
        problems.add(f"{stray} stored nodes lie above the top of a tree of size {size}")
    for level in range(levels):
        count, low, high = db.session.execute(
            select(func.count(), func.min(LedgerNode.index), func.max(LedgerNode.index)).where(
                LedgerNode.level == level
            )
        ).one()
        want = size >> level
        if (count, low, high) != (want, 0, want - 1):
            problems.add(f"level {level}: {count} nodes stored, expected indexes 0..{want - 1}")
    mismatched = db.session.execute(
        select(LedgerNode.index)
        .join(LedgerEntry, LedgerEntry.seq == LedgerNode.index)
        .where(LedgerNode.level == 0, LedgerNode.hash != LedgerEntry.leaf_hash)
        .order_by(LedgerNode.index)
        .limit(_MAX_PROBLEMS + 1)
    ).scalars()
    for seq in mismatched:
        # Named, so that a rewrite which also fixed the row's own leaf hash points at its entry.
        problems.add(f"entry {seq}: the stored leaf node differs from the entry's leaf hash")
    unhashed = db.session.execute(
        select(LedgerEntry.seq)
        .outerjoin(LedgerNode, (LedgerNode.level == 0) & (LedgerNode.index == LedgerEntry.seq))
        .where(LedgerNode.index.is_(None))
        .order_by(LedgerEntry.seq)
        .limit(_MAX_PROBLEMS + 1)
    ).scalars()
    for seq in unhashed:
        # An entry inserted behind the append path (which stores its nodes with it).
        problems.add(f"entry {seq}: no leaf node is stored for it")
    left, right = aliased(LedgerNode), aliased(LedgerNode)
    for level in range(1, levels):
        stmt = (
            select(LedgerNode.index, LedgerNode.hash, left.hash, right.hash)
            .join(left, (left.level == level - 1) & (left.index == 2 * LedgerNode.index))
            .join(right, (right.level == level - 1) & (right.index == 2 * LedgerNode.index + 1))
            .where(LedgerNode.level == level)
            .execution_options(yield_per=_BATCH)
        )
        for index, stored, lh, rh in db.session.execute(stmt):
            if node_hash(bytes(lh), bytes(rh)) != bytes(stored):
                problems.add(f"node ({level}, {index}) does not hash its children")


def verify_ledger(*, verifier: NoteVerifier | None = None) -> LedgerReport:
    """Re-verify everything stored; problems are reported, never raised."""
    verifier = verifier or get_ledger_config().signer.verifier()
    problems = _Problems()
    checkpoints = db.session.execute(
        select(LedgerCheckpoint.size, LedgerCheckpoint.root_hash, LedgerCheckpoint.note).order_by(
            LedgerCheckpoint.size
        )
    ).all()
    wanted = {size for size, _, _ in checkpoints}
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    frontier = Frontier()
    size = 0
    entries = (
        select(
            LedgerEntry.seq,
            LedgerEntry.event,
            LedgerEntry.time,
            LedgerEntry.body,
            LedgerEntry.leaf_hash,
        )
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=_BATCH)
    )
    with db.session.execute(entries) as result:
        for seq, event, time, raw, stored_leaf in result:
            if seq != size:
                problems.add(f"entry {size} is missing (the next stored entry is {seq})")
                break
            body = bytes(raw)
            leaf = leaf_hash(body)
            if leaf != bytes(stored_leaf):
                problems.add(f"entry {seq}: stored leaf hash does not match its bytes")
            _check_body(seq, event, format_entry_time(time), body, problems)
            frontier.push(leaf)
            size += 1
            if size in wanted:
                roots[size] = frontier.root()
    root = frontier.root()
    _verify_nodes(size, problems)

    verified = 0
    for cp_size, cp_root, note in checkpoints:
        try:
            opened = open_checkpoint(note, verifier=verifier)
        except CredentialError as exc:
            problems.add(f"checkpoint {cp_size}: {exc}")
            continue
        if (opened.size, opened.root_hash) != (cp_size, bytes(cp_root)):
            problems.add(f"checkpoint {cp_size}: stored size/root differ from the signed note")
        elif cp_size not in roots:
            problems.add(f"checkpoint {cp_size}: signed for more entries than the ledger holds")
        elif roots[cp_size] != opened.root_hash:
            problems.add(f"checkpoint {cp_size}: signed root differs from the recomputed root")
        else:
            verified += 1
    latest = checkpoints[-1][0] if checkpoints else None
    return LedgerReport(size, root, verified, latest, problems.all())

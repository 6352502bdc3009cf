"""Ledger health, cheap enough for every ``GET /health``.

Bound per request: ``WINDOW`` rows (the newest) and their ancestor nodes, plus ``log2 n`` nodes
for the newest checkpoint's root, whatever the ledger's size. Per request:

- the newest signed checkpoint's signature, and its root recomputed from the stored nodes
  (:func:`registry.ledger.services.root_at`): the nodes still match what was signed;
- the newest ``WINDOW`` rows: numbered without gaps up to the tree size, each body's own
  ``seq`` is its row's, its bytes hash to its stored leaf hash and to its leaf node, and every
  node above them hashes its children.

Older rows are checked by the ticker: each tick checks the next ``SWEEP`` rows the same way
(from 0, wrapping round at the head) and records the result in the process, so a full pass
over n entries takes ``n / SWEEP`` ticks; a problem it found stays reported until a later
pass over the same rows finds none. ``flask ledger verify`` remains the full check.

``extra_checks`` (a list in ``app.extensions``) lets other features add checks: callables
returning ``{"name": str, "ok": bool, …}``; any ``ok`` false makes the answer unhealthy.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from credentials import CredentialError, leaf_hash, node_hash, open_checkpoint
from registry.db import db, read_snapshot
from registry.errors import RegistryError
from registry.ledger.models import LedgerEntry, LedgerNode
from registry.ledger.services import get_ledger_config, latest_checkpoint, root_at, tree_size

__all__ = [
    "EXTRA_CHECKS_KEY",
    "SWEEP",
    "WINDOW",
    "HealthReport",
    "check_health",
    "check_rows",
    "extra_checks",
    "sweep_integrity",
]

logger = logging.getLogger(__name__)

WINDOW = 256
SWEEP = 5000
EXTRA_CHECKS_KEY = "registry.health.extra_checks"
_SWEEP_KEY = "registry.health.sweep"
_MAX_PROBLEMS = 20


@dataclass
class _Sweep:
    cursor: int = 0
    passes: int = 0
    problems: dict[int, str] = field(default_factory=dict)  # first row of a chunk -> problem
    checked_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    payload: dict[str, Any]


def extra_checks(app: Flask) -> list[Callable[[], dict[str, Any]]]:
    """The app's list of additional health checks (append to it at start-up)."""
    checks: list[Callable[[], dict[str, Any]]] = app.extensions.setdefault(EXTRA_CHECKS_KEY, [])
    return checks


def _sweep_state(app: Flask) -> _Sweep:
    state: _Sweep = app.extensions.setdefault(_SWEEP_KEY, _Sweep())
    return state


def check_rows(start: int, end: int) -> list[str]:
    """Problems with rows ``start`` to ``end`` (exclusive) and the nodes above them."""
    problems: list[str] = []
    if start >= end:
        return problems
    rows = db.session.execute(
        select(LedgerEntry.seq, LedgerEntry.body, LedgerEntry.leaf_hash, LedgerNode.hash)
        .outerjoin(LedgerNode, and_(LedgerNode.level == 0, LedgerNode.index == LedgerEntry.seq))
        .where(LedgerEntry.seq >= start, LedgerEntry.seq < end)
        .order_by(LedgerEntry.seq)
    ).all()
    expected = start
    for seq, raw, stored_leaf, node in rows:
        if seq != expected:
            problems.append(f"entry {expected} is missing (the next stored entry is {seq})")
            expected = seq
        expected += 1
        body = bytes(raw)
        leaf = leaf_hash(body)
        try:
            stated = json.loads(body).get("seq")
        except (ValueError, AttributeError):
            stated = None
        if stated != seq:
            problems.append(f"entry {seq}: the body states seq {stated!r}")
        if leaf != bytes(stored_leaf):
            problems.append(f"entry {seq}: stored leaf hash does not match its bytes")
        if node is None:
            problems.append(f"entry {seq}: no leaf node is stored for it")
        elif bytes(node) != bytes(stored_leaf):
            problems.append(f"entry {seq}: the stored leaf node differs from the entry's leaf hash")
    if expected < end:
        problems.append(f"entry {expected} is missing (no later entry before {end})")
    left, right = aliased(LedgerNode), aliased(LedgerNode)
    level = 1
    while end >> level:
        low, high = start >> level, (end >> level) - 1
        if high < low:
            break
        stmt = (
            select(LedgerNode.index, LedgerNode.hash, left.hash, right.hash)
            .join(left, and_(left.level == level - 1, left.index == 2 * LedgerNode.index))
            .join(right, and_(right.level == level - 1, right.index == 2 * LedgerNode.index + 1))
            .where(LedgerNode.level == level, LedgerNode.index.between(low, high))
        )
        for index, stored, lh, rh in db.session.execute(stmt):
            if node_hash(bytes(lh), bytes(rh)) != bytes(stored):
                first, last = index << level, ((index + 1) << level) - 1
                problems.append(
                    f"entries {first}–{last}: node ({level}, {index}) does not hash its children"
                )
        level += 1
    return problems[:_MAX_PROBLEMS]


def _checkpoint(size: int) -> tuple[dict[str, Any], list[str]]:
    latest = latest_checkpoint()
    if latest is None:
        return {"size": None, "time": None, "matchesNodes": None}, []
    problems: list[str] = []
    try:
        opened = open_checkpoint(latest.note, verifier=get_ledger_config().signer.verifier())
        signed = (opened.size, opened.root_hash) == (latest.size, bytes(latest.root_hash))
    except CredentialError as exc:
        signed = False
        problems.append(f"checkpoint {latest.size}: {exc}")
    if not signed and not problems:
        problems.append(f"checkpoint {latest.size}: stored size/root differ from the signed note")
    if latest.size > size:
        problems.append(f"checkpoint {latest.size}: signed for more entries than the ledger holds")
        matches = False
    else:
        try:
            matches = root_at(latest.size) == bytes(latest.root_hash)
        except RegistryError:
            matches = False  # nodes missing below the signed size
        if not matches:
            problems.append(
                f"checkpoint {latest.size}: the stored nodes no longer give the signed root"
            )
    info = {
        "size": latest.size,
        "time": latest.created_at.isoformat(),
        "matchesNodes": matches and signed,
    }
    return info, problems


def check_health(app: Flask | None = None) -> HealthReport:
    """The bounded per-request check plus the ticker's sweep and any extra checks."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    size = tree_size()
    checkpoint, problems = _checkpoint(size)
    window_start = max(0, size - WINDOW)
    problems += check_rows(window_start, size)
    sweep = _sweep_state(app)
    with sweep.lock:
        swept = sorted(sweep.problems.items())
        sweep_info = {
            "passes": sweep.passes,
            "cursor": sweep.cursor,
            "checkedAt": None if sweep.checked_at is None else sweep.checked_at.isoformat(),
        }
    for _, problem in swept:
        if problem not in problems:
            problems.append(problem)
    checks = []
    for check in extra_checks(app):
        try:
            checks.append(check())
        except Exception as exc:  # a failing check is an unhealthy answer, not a 500
            logger.exception("health check failed")
            checks.append({"name": getattr(check, "__name__", "?"), "ok": False, "error": str(exc)})
    ok = not problems and all(c.get("ok") is True for c in checks)
    payload = {
        "status": "ok" if ok else "failing",
        "ledger": {
            "treeSize": size,
            "checkpoint": checkpoint,
            "window": {"start": window_start, "end": size},
            "sweep": sweep_info,
            "problems": problems[:_MAX_PROBLEMS],
        },
        "checks": checks,
    }
    return HealthReport(ok, payload)


def sweep_integrity(app: Flask, *, now: datetime) -> None:
    """Check the next ``SWEEP`` rows (the ticker calls this); never raises."""
    sweep = _sweep_state(app)
    try:
        with read_snapshot():
            size = tree_size()
            with sweep.lock:
                start = sweep.cursor if sweep.cursor < size else 0
            end = min(size, start + SWEEP)
            found = check_rows(start, end)
    except Exception:  # the next tick retries; a sweep must never stop the ticker
        logger.exception("ledger integrity sweep failed")
        return
    with sweep.lock:
        for first in [k for k in sweep.problems if start <= k < end]:
            del sweep.problems[first]
        for offset, problem in enumerate(found):
            sweep.problems[start + offset] = problem
        sweep.cursor = end
        if end >= size:
            sweep.passes += 1
        sweep.checked_at = now

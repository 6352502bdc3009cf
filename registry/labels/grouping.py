"""Group commit for single-label issuance: concurrent requests share one ledger round.

Each issuance pays for a transaction, a ledger round (lock, tree head, frontier, entries,
nodes, checkpoint) and the commit; one label per request pays all of that per label, a batch
pays it once. So concurrent single-label requests in one worker process (gunicorn ``gthread``
threads), whatever their token, are issued together, as transparency logs integrate queued
entries in batches: the first request becomes the leader and issues everything queued in one
:func:`issue_label_groups` call and one commit, each token's items checked and prepared under
its own principal (its body, accreditations and key locked as if alone); requests that arrive
meanwhile queue for the next round. A round takes one token per body (a second token of a body
waits for the next round). A request still waits for the commit that ledgers its own label
before it is answered, so every 201 is ledgered, and every check (token, body, accreditation,
key, rule) is made in the round that ledgers the label.

One refused item would refuse a whole round (issuance is all or none), so a refused round is
issued again one item at a time: each request gets the answer it would have had alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from registry.auth.services import Principal
from registry.db import db, transaction
from registry.labels.issuance import MAX_BATCH, IssueItem, issue_label_groups
from registry.labels.models import Label

__all__ = ["GROUPS_KEY", "IssuanceGroups", "Issued", "issue_grouped"]

GROUPS_KEY = "registry.issuance_groups"


@dataclass(frozen=True, slots=True)
class Issued:
    """What a request answers with: the label as dumped for the response, and whether new."""

    label: dict[str, Any]
    label_id: str
    created: bool


@dataclass(slots=True)
class _Waiter:
    principal: Principal
    item: IssueItem
    dump: Callable[[Label], dict[str, Any]]
    done: threading.Event = field(default_factory=threading.Event)
    issued: Issued | None = None
    error: BaseException | None = None


class IssuanceGroups:
    """The per-process queue of single-label requests, and the lock a round's leader holds."""

    def __init__(self, *, max_group: int = MAX_BATCH) -> None:
        self._max_group = max_group
        self._mutex = threading.Lock()
        self._queued = threading.Condition(self._mutex)
        self._queue: list[_Waiter] = []
        self._leader = threading.Lock()

    def _count(self, token_id: int | None) -> int:
        return sum(token_id is None or w.principal.token_id == token_id for w in self._queue)

    def waiting(self, token_id: int | None = None) -> int:
        """How many requests (of this token, or of any) are queued for the next round."""
        with self._mutex:
            return self._count(token_id)

    def wait_for_waiting(self, token_id: int | None, count: int, timeout: float) -> bool:
        """Block until ``count`` requests of this token (None: any) are queued, or ``timeout``."""
        with self._queued:
            return self._queued.wait_for(lambda: self._count(token_id) >= count, timeout)

    def round_lock(self, token_id: int | None = None) -> threading.Lock:
        """The lock a round's leader holds (one per process, whatever the token); holding it
        makes requests queue."""
        return self._leader

    def issue(
        self, principal: Principal, item: IssueItem, dump: Callable[[Label], dict[str, Any]]
    ) -> Issued:
        """Issue ``item`` in the next round for ``principal``; raise what it raised."""
        waiter = _Waiter(principal, item, dump)
        with self._queued:
            self._queue.append(waiter)
            self._queued.notify_all()
        # End this request's own transaction (it only authenticated) before waiting: on SQLite
        # it holds the write lock the leader needs.
        db.session.commit()
        while not waiter.done.is_set():
            with self._leader:
                if waiter.done.is_set():
                    break
                self._run(self._take())
        if waiter.error is not None:
            raise waiter.error
        assert waiter.issued is not None  # noqa: S101 - set whenever error is not
        return waiter.issued

    def _take(self) -> list[_Waiter]:
        """The next round: queued requests in arrival order, up to ``max_group``, one token
        per body (the ledger round takes each body's lists once)."""
        taken: list[_Waiter] = []
        left: list[_Waiter] = []
        token_of_body: dict[int | None, tuple[str, int]] = {}
        with self._mutex:
            for waiter in self._queue:
                p = waiter.principal
                if len(taken) < self._max_group and (
                    token_of_body.setdefault(p.body_id, p.identity) == p.identity
                ):
                    taken.append(waiter)
                else:
                    left.append(waiter)
            self._queue[:] = left
        return taken

    def _run(self, group: list[_Waiter]) -> None:
        if not group:
            return
        if len(group) > 1 and any(w.principal.body_id is None for w in group):
            # Not a certifier's: refused, and alone, so it cannot send the others round again.
            alone = [w for w in group if w.principal.body_id is None]
            for waiter in alone:
                self._run([waiter])
            self._run([w for w in group if w.principal.body_id is not None])
            return
        by_token: dict[tuple[str, int], list[_Waiter]] = {}
        for waiter in group:
            by_token.setdefault(waiter.principal.identity, []).append(waiter)
        rounds = list(by_token.values())
        try:
            with transaction():
                results = issue_label_groups(
                    [(ws[0].principal, [w.item for w in ws]) for ws in rounds]
                )
        except Exception as exc:
            if len(group) > 1:
                for waiter in group:
                    self._run([waiter])
                return
            group[0].error = exc
            group[0].done.set()
            return
        # Committed: whatever happens now, no item may be issued again.
        for ws, made in zip(rounds, results, strict=True):
            for waiter, result in zip(ws, made, strict=True):
                try:
                    waiter.issued = Issued(
                        waiter.dump(result.label), result.label.id, result.created
                    )
                except Exception as exc:
                    waiter.error = exc
                finally:
                    waiter.done.set()


def issue_grouped(
    principal: Principal, item: IssueItem, dump: Callable[[Label], dict[str, Any]]
) -> Issued:
    """Issue one label through the app's group commit."""
    groups: IssuanceGroups = current_app.extensions[GROUPS_KEY]
    return groups.issue(principal, item, dump)

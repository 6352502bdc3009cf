"""Group commit for single-label issuance: concurrent requests share one ledger round.

Each issuance pays for a transaction, a ledger round (lock, tree head, frontier, entries,
nodes, checkpoint) and the commit; one label per request pays all of that per label, a batch
pays it once. So concurrent single-label requests of one token, in one worker process (gunicorn
``gthread`` threads), are issued together, as transparency logs integrate queued entries in
batches: the first request becomes the leader and issues everything queued for its token in
one :func:`issue_labels` call and one commit; requests that arrive meanwhile queue for the next
round. A request still waits for the commit that ledgers its own label before it is answered,
so every 201 is ledgered, and every check (token, body, accreditation, key, rule) is made in
the round that ledgers the label.

One refused item would refuse a whole group (issuance is all or none), so a refused group is
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
from registry.labels.issuance import MAX_BATCH, IssueItem, issue_labels
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
    item: IssueItem
    done: threading.Event = field(default_factory=threading.Event)
    issued: Issued | None = None
    error: BaseException | None = None


class IssuanceGroups:
    """The per-process queues of single-label requests, one per API token."""

    def __init__(self, *, max_group: int = MAX_BATCH) -> None:
        self._max_group = max_group
        self._mutex = threading.Lock()
        self._queued = threading.Condition(self._mutex)
        self._queues: dict[int, list[_Waiter]] = {}
        self._leaders: dict[int, threading.Lock] = {}

    def waiting(self, token_id: int) -> int:
        """How many requests of this token are queued for the next round."""
        with self._mutex:
            return len(self._queues.get(token_id, ()))

    def wait_for_waiting(self, token_id: int, count: int, timeout: float) -> bool:
        """Block until ``count`` requests of this token are queued (or ``timeout`` passes)."""
        with self._queued:
            return self._queued.wait_for(
                lambda: len(self._queues.get(token_id, ())) >= count, timeout
            )

    def round_lock(self, token_id: int) -> threading.Lock:
        """The lock a token's leader holds for a round; holding it makes requests queue."""
        with self._mutex:
            return self._leaders.setdefault(token_id, threading.Lock())

    def issue(
        self, principal: Principal, item: IssueItem, dump: Callable[[Label], dict[str, Any]]
    ) -> Issued:
        """Issue ``item`` in the next round for ``principal``'s token; raise what it raised."""
        waiter = _Waiter(item)
        leader = self.round_lock(principal.token_id)
        with self._queued:
            self._queues.setdefault(principal.token_id, []).append(waiter)
            self._queued.notify_all()
        # End this request's own transaction (it only authenticated) before waiting: on SQLite
        # it holds the write lock the leader needs.
        db.session.commit()
        while not waiter.done.is_set():
            with leader:
                if waiter.done.is_set():
                    break
                with self._mutex:
                    queue = self._queues[principal.token_id]
                    group, queue[:] = queue[: self._max_group], queue[self._max_group :]
                self._run(principal, group, dump)
        if waiter.error is not None:
            raise waiter.error
        assert waiter.issued is not None  # noqa: S101 - set whenever error is not
        return waiter.issued

    def _run(
        self,
        principal: Principal,
        group: list[_Waiter],
        dump: Callable[[Label], dict[str, Any]],
    ) -> None:
        try:
            with transaction():
                results = issue_labels(principal, [w.item for w in group])
            for waiter, result in zip(group, results, strict=True):
                waiter.issued = Issued(dump(result.label), result.label.id, result.created)
        except Exception as exc:
            if len(group) > 1:
                for waiter in group:
                    self._run(principal, [waiter], dump)
                return
            group[0].error = exc
        finally:
            for waiter in group:
                waiter.done.set()


def issue_grouped(
    principal: Principal, item: IssueItem, dump: Callable[[Label], dict[str, Any]]
) -> Issued:
    """Issue one label through the app's group commit."""
    groups: IssuanceGroups = current_app.extensions[GROUPS_KEY]
    return groups.issue(principal, item, dump)

"""SQL statements per label when concurrent single-label requests share a group-commit round.

The write path's throughput on PostgreSQL is bounded by what each label costs the worker and
the database, and wall-clock figures on a shared machine are noise; the number of statements a
round sends is exact. The round is held (as a busy leader holds it) while N requests queue, then
released, and every cursor execution between the first request and the last answer is counted:
authentication, checks under the lock, inserts, the ledger round. Going over the budget fails,
so a change that adds a per-label statement to the write path shows up here.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from registry.db import db
from registry.labels.grouping import GROUPS_KEY, IssuanceGroups
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_ledger
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import auth, make_label_app

WAIT = 30.0  # seconds: a bound on a stuck test, never a delay
ROUND = 20  # single-label requests queued for one round


@pytest.fixture
def budget_app(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, LabelWorld]]:
    app, world = make_label_app(fresh_database_url, tmp_path)
    yield app, world
    with app.app_context():
        db.engine.dispose()


def _round(app: Flask, secrets: list[str], tag: str) -> tuple[list[int], Counter[str]]:
    """POST one label per secret from its own thread in one held round; statuses and the
    statements sent, by their first words."""
    groups: IssuanceGroups = app.extensions[GROUPS_KEY]
    with app.app_context():
        engine = db.engine
    statuses: list[int] = [0] * len(secrets)
    sent: Counter[str] = Counter()
    mutex = threading.Lock()

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        # BEGIN and COMMIT are not cursor executions on PostgreSQL; SQLite's BEGIN IMMEDIATE
        # is, so it is left out for one budget on both.
        if not statement.startswith("BEGIN"):
            with mutex:
                sent[" ".join(statement.split()[:3])] += 1

    def post(n: int) -> None:
        response = app.test_client().post(
            "/api/v1/labels",
            json=label_request(name=f"LFP module {tag}-{n} (fictitious)"),
            headers=auth(secrets[n]) | {"Idempotency-Key": f"{tag}-{n}"},
        )
        statuses[n] = response.status_code

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(secrets))]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with groups.round_lock():
            for thread in threads:
                thread.start()
            assert groups.wait_for_waiting(None, len(secrets), WAIT)
        for thread in threads:
            thread.join(WAIT)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return statuses, sent


def _ledgered(app: Flask) -> tuple[int, int]:
    with app.app_context():
        counts = (
            db.session.execute(select(func.count()).select_from(Label)).scalar_one(),
            db.session.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.event == "label.issued")
            ).scalar_one(),
        )
        assert verify_ledger().ok
        db.session.remove()
    return counts


# What a round may send. Per request: its token (tokens are checked on every request). Once per
# round, whatever its bodies: the bodies' locks, the Idempotency-Key claims, the accreditations'
# locks, the rule version, and the ledger round (lock, head, frontier, entries, their scopes for
# the regulators' views, nodes, checkpoint) with the labels; the ledger lock is a statement on
# PostgreSQL only (SQLite's is the BEGIN IMMEDIATE). Per body in the round: its key and its two
# status-list draws.
PER_REQUEST = 1
PER_ROUND = {"postgresql": 12, "sqlite": 11}
PER_BODY = 3


@pytest.mark.parametrize("bodies", [1, 2], ids=["one-body", "two-bodies"])
def test_a_round_of_single_label_requests_stays_within_its_statement_budget(
    budget_app: tuple[Flask, LabelWorld], bodies: int
) -> None:
    app, world = budget_app
    tokens = [world.certifier, world.other_certifier][:bodies]
    _round(app, tokens * 2, "warm")  # prepared statements, every body's first status lists
    before = _ledgered(app)
    secrets = [tokens[n % bodies] for n in range(ROUND)]
    statuses, sent = _round(app, secrets, f"budget{bodies}")
    assert statuses == [201] * ROUND
    labels, issued = _ledgered(app)
    assert (labels - before[0], issued - before[1]) == (ROUND, ROUND), "every 201 ledgered once"
    per_label = sum(sent.values()) / ROUND
    with app.app_context():
        dialect = db.engine.dialect.name
    budget = PER_REQUEST + (PER_ROUND[dialect] + PER_BODY * bodies) / ROUND
    assert per_label <= budget, (
        f"{per_label:.2f} statements per label over a budget of {budget}: {dict(sent)}"
    )

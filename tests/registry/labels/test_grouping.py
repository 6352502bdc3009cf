"""Group commit: concurrent single-label requests of one token share one ledger round.

The test holds a token's round, so requests queue as they would behind a busy leader, then
lets them go: they must all be issued in one round (one append, one checkpoint), each answered
as it would have been alone, and a refused request must not take the others with it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry.auth.services import authenticate
from registry.db import db
from registry.labels.grouping import GROUPS_KEY, IssuanceGroups
from registry.labels.models import Label
from registry.ledger.models import LedgerCheckpoint, LedgerEntry
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import auth, make_label_app

WAIT = 30.0  # seconds: a bound on a stuck test, never a delay


@pytest.fixture
def grouped(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, LabelWorld]]:
    app, world = make_label_app(fresh_database_url, tmp_path)
    yield app, world
    with app.app_context():
        db.engine.dispose()


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        s = db.session
        counts = (
            s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
            s.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar_one(),
            s.execute(select(func.count()).select_from(Label)).scalar_one(),
        )
        db.session.remove()
    return counts


def _held_round(app: Flask, secret: str, bodies: list[dict[str, Any]]) -> list[TestResponse]:
    """POST each body from its own thread while the token's round is held, then release it."""
    groups: IssuanceGroups = app.extensions[GROUPS_KEY]
    with app.app_context():
        token_id = authenticate(secret).token_id
        db.session.remove()
    responses: list[TestResponse | None] = [None] * len(bodies)

    def post(n: int) -> None:
        response = app.test_client().post(
            "/api/v1/labels", json=bodies[n], headers=auth(secret) | {"Idempotency-Key": f"k{n}"}
        )
        responses[n] = response

    lock = groups.round_lock(token_id)
    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    with lock:
        for thread in threads:
            thread.start()
        assert groups.wait_for_waiting(token_id, len(bodies), WAIT)
    for thread in threads:
        thread.join(WAIT)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def test_queued_requests_are_issued_in_one_ledger_round(grouped: tuple[Flask, LabelWorld]) -> None:
    app, world = grouped
    before = _counts(app)
    bodies = [label_request(name=f"LFP module {n} (fictitious)") for n in range(5)]
    responses = _held_round(app, world.certifier, bodies)
    assert [r.status_code for r in responses] == [201] * 5
    entries, checkpoints, labels = _counts(app)
    assert (entries - before[0], labels - before[2]) == (5, 5)
    assert checkpoints - before[1] == 1, "one append round signs one checkpoint"
    seqs = sorted(r.get_json()["ledger_index"] for r in responses)
    assert seqs == list(range(before[0], before[0] + 5)), "consecutive: one round"
    names = {r.get_json()["product"]["name"] for r in responses}
    assert names == {b["product"]["name"] for b in bodies}, "each request gets its own label"


def test_a_refused_request_does_not_refuse_the_others(grouped: tuple[Flask, LabelWorld]) -> None:
    app, world = grouped
    before = _counts(app)
    bodies = [label_request(name=f"PV module {n} (fictitious)") for n in range(4)]
    bodies.insert(2, label_request(grade="A"))  # 61.2 kgCO2e/kWh is grade B: refused
    responses = _held_round(app, world.certifier, bodies)
    statuses = [r.status_code for r in responses]
    assert statuses == [201, 201, 422, 201, 201]
    assert responses[2].get_json()["type"].endswith("/grade-mismatch")
    assert "of the batch" not in responses[2].get_json()["detail"], "answered as if alone"
    entries, _, labels = _counts(app)
    assert (entries - before[0], labels - before[2]) == (4, 4)
    # The refused request's Idempotency-Key stayed unclaimed: it can issue for real now.
    retried = app.test_client().post(
        "/api/v1/labels",
        json=label_request(),
        headers=auth(world.certifier) | {"Idempotency-Key": "k2"},
    )
    assert retried.status_code == 201, retried.get_json()

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

from registry.auth.models import Role
from registry.auth.services import authenticate, create_token
from registry.db import db, transaction
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


def _held_round(
    app: Flask, secret: str | list[str], bodies: list[dict[str, Any]]
) -> list[TestResponse]:
    """POST each body from its own thread while the round is held, then release it.

    ``secret`` is one token for all, or one per body."""
    groups: IssuanceGroups = app.extensions[GROUPS_KEY]
    secrets = [secret] * len(bodies) if isinstance(secret, str) else secret
    with app.app_context():
        token_ids = {authenticate(s).token_id for s in secrets}
        db.session.remove()
    responses: list[TestResponse | None] = [None] * len(bodies)

    def post(n: int) -> None:
        response = app.test_client().post(
            "/api/v1/labels",
            json=bodies[n],
            headers=auth(secrets[n]) | {"Idempotency-Key": f"k{n}"},
        )
        responses[n] = response

    lock = groups.round_lock()
    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    with lock:
        for thread in threads:
            thread.start()
        assert groups.wait_for_waiting(None, len(bodies), WAIT)
        for token_id in token_ids:
            assert groups.waiting(token_id) == sum(
                authenticated == token_id for authenticated in _token_ids(app, secrets)
            )
    for thread in threads:
        thread.join(WAIT)
    assert all(r is not None for r in responses)
    return [r for r in responses if r is not None]


def _token_ids(app: Flask, secrets: list[str]) -> list[int]:
    with app.app_context():
        ids = [authenticate(s).token_id for s in secrets]
        db.session.remove()
    return ids


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


def test_two_tokens_requests_share_one_round(grouped: tuple[Flask, LabelWorld]) -> None:
    app, world = grouped
    before = _counts(app)
    tokens = [world.certifier, world.other_certifier] * 3
    bodies = [label_request(name=f"Cell {n} (fictitious)") for n in range(6)]
    responses = _held_round(app, tokens, bodies)
    assert [r.status_code for r in responses] == [201] * 6
    entries, checkpoints, labels = _counts(app)
    assert (entries - before[0], labels - before[2]) == (6, 6)
    assert checkpoints - before[1] == 1, "both tokens' labels in one append round"
    seqs = sorted(r.get_json()["ledger_index"] for r in responses)
    assert seqs == list(range(before[0], before[0] + 6)), "consecutive: one round"
    issuers = [r.get_json()["credential"]["issuer"]["id"] for r in responses]
    assert issuers[0::2] == [issuers[0]] * 3, "each label signed by its own token's body"
    assert issuers[1::2] == [issuers[1]] * 3
    assert issuers[0] != issuers[1]


def test_a_refused_request_of_one_token_does_not_refuse_another_tokens(
    grouped: tuple[Flask, LabelWorld],
) -> None:
    app, world = grouped
    before = _counts(app)
    tokens = [world.certifier, world.other_certifier, world.other_certifier]
    bodies = [label_request(name=f"Pack {n} (fictitious)") for n in range(3)]
    bodies[1] = label_request(grade="A")  # grade B: refused
    responses = _held_round(app, tokens, bodies)
    assert [r.status_code for r in responses] == [201, 422, 201]
    assert responses[1].get_json()["type"].endswith("/grade-mismatch")
    assert "of the batch" not in responses[1].get_json()["detail"], "answered as if alone"
    entries, _, labels = _counts(app)
    assert (entries - before[0], labels - before[2]) == (2, 2)


def test_a_round_takes_one_token_per_body(grouped: tuple[Flask, LabelWorld]) -> None:
    """Two tokens of one body are issued in successive rounds (each takes the lists once)."""
    app, world = grouped
    with app.app_context():
        with transaction():
            body_code = authenticate(world.certifier).body_code
            _, second = create_token(role=Role.CERTIFIER, name="second", body_code=body_code)
        db.session.remove()
    before = _counts(app)
    tokens = [world.certifier, second, world.certifier, second]
    bodies = [label_request(name=f"Box {n} (fictitious)") for n in range(4)]
    responses = _held_round(app, tokens, bodies)
    assert [r.status_code for r in responses] == [201] * 4
    entries, checkpoints, labels = _counts(app)
    assert (entries - before[0], labels - before[2]) == (4, 4)
    assert checkpoints - before[1] == 2, "one round per token of the body"

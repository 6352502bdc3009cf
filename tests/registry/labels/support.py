"""Fixtures and helpers of the label tests, shared with the label and VC-API HTTP tests.

The label tests run against a registry of their own per backend: the set-up of
:func:`tests.registry.factories.build_label_world` (schemes, rules, two bodies with keys, tokens)
is committed once per session, then each test runs inside ``db_session``'s rolled-back
transaction as everywhere else (a test that needs more set-up commits it with ``transaction()``
first, so that a refused request's rollback cannot take the set-up with it).

Requests made with ``client`` run inside the app context ``db_session`` pushed, so ``flask.g``
would outlive a request and the API would reuse the first request's principal (it caches it in
``g.principal``) for every later one. ``PerRequestClient`` starts each request with an
empty ``g``, as production does, so every request authenticates with its own token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from credentials import open_bundle
from credentials._internal.timefmt import parse_datetime
from registry.db import db, transaction
from registry.labels.models import IdempotencyKey, Label, StatusListRecord
from registry.ledger.models import LedgerEntry
from tests.registry.conftest import BACKENDS, build_app
from tests.registry.factories import (
    BUNDLE_SIGNER,
    PROBLEM_BASE,
    LabelWorld,
    PerRequestClient,
    build_label_world,
    label_request,
)

__all__ = [
    "Snapshot",
    "app",
    "auth",
    "change_status",
    "entries_since",
    "issue",
    "label_app",
    "label_bundle",
    "ledger_size",
    "make_label_app",
    "problem",
    "snapshot",
    "world",
]

_APPS: dict[str, tuple[Flask, LabelWorld]] = {}


def make_label_app(database_url: str, instance_path: Path) -> tuple[Flask, LabelWorld]:
    """A migrated registry with the label world committed in it."""
    app = build_app(database_url, instance_path)
    app.test_client_class = PerRequestClient
    with app.app_context():
        with transaction():
            world = build_label_world()
        db.session.remove()
    return app, world


@pytest.fixture(scope="session", params=BACKENDS)
def label_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, LabelWorld]]:
    """One label registry per backend for the whole session (shared by every module)."""
    backend: str = request.param
    if backend not in _APPS:
        folder = tmp_path_factory.mktemp(f"labels-{backend}")
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'registry.sqlite3'}"
        else:
            url = request.getfixturevalue("make_pg_database")()
        _APPS[backend] = make_label_app(url, folder)
    yield _APPS[backend]
    with _APPS[backend][0].app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def app(label_app: tuple[Flask, LabelWorld]) -> Flask:
    """Overrides the registry ``app``: ``db_session`` and ``client`` run on the label registry."""
    return label_app[0]


@pytest.fixture(scope="session")
def world(label_app: tuple[Flask, LabelWorld]) -> LabelWorld:
    return label_app[1]


def auth(secret: str | None) -> dict[str, str]:
    return {} if secret is None else {"Authorization": f"Bearer {secret}"}


def issue(
    client: FlaskClient,
    secret: str,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    """POST /api/v1/labels and return the label JSON (asserting the status first)."""
    headers = auth(secret) | ({} if key is None else {"Idempotency-Key": key})
    response = client.post("/api/v1/labels", json=body or label_request(), headers=headers)
    assert response.status_code == expect, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def label_bundle(client: FlaskClient, label_id: str) -> dict[str, Any]:
    """The label's trust bundle as served, opened as a buyer opens it (its signature checked
    against the test registry's pinned bundle key): the kit's JSON of the bundle inside."""
    response = client.get(f"/api/v1/labels/{label_id}/trust-bundle")
    assert response.status_code == 200, response.get_json()
    signed = response.get_json()
    at = parse_datetime(signed["payload"]["issued"])
    return open_bundle(signed, pinned=BUNDLE_SIGNER.public_key.multibase, now=at).bundle.to_json()


def change_status(
    client: FlaskClient,
    secret: str | None,
    label_id: str,
    action: str,
    *,
    reason: str = "Annual surveillance audit found a data error",
) -> TestResponse:
    return client.post(
        f"/api/v1/labels/{label_id}/status",
        json={"action": action, "reason": reason},
        headers=auth(secret),
    )


def problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem of this status and type; return its body."""
    body: dict[str, Any] = response.get_json(force=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/problem+json"
    assert body["type"] == PROBLEM_BASE + slug, body
    assert body["status"] == status
    return body


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a failed request must leave exactly as it was."""

    ledger: int
    labels: tuple[tuple[str, str, str | None], ...]
    idempotency_keys: int
    lists: tuple[tuple[str, int, str | None], ...]


def snapshot() -> Snapshot:
    labels = db.session.execute(
        select(Label.id, Label.status, Label.superseded_by_id).order_by(Label.id)
    ).all()
    lists = db.session.execute(
        select(StatusListRecord.id, StatusListRecord.allocated, StatusListRecord.etag).order_by(
            StatusListRecord.id
        )
    ).all()
    return Snapshot(
        ledger=db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
        labels=tuple((i, str(s), sup) for i, s, sup in labels),
        idempotency_keys=db.session.execute(
            select(func.count()).select_from(IdempotencyKey)
        ).scalar_one(),
        lists=tuple((i, a, e) for i, a, e in lists),
    )


def ledger_size() -> int:
    return db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def entries_since(seq: int) -> list[dict[str, Any]]:
    """The ledger entries from ``seq`` on, parsed."""
    stmt = select(LedgerEntry.body).where(LedgerEntry.seq >= seq).order_by(LedgerEntry.seq)
    return [json.loads(bytes(body)) for body in db.session.execute(stmt).scalars()]

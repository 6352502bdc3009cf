"""``GET /health``: 200 on an intact ledger, 503 naming the entry once it is not; the bound per
request (the newest ``WINDOW`` rows), the ticker's sweep of older rows, and ``extra_checks``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from credentials import canonicalize_jcs, leaf_hash
from registry.audit import health
from registry.audit.health import extra_checks, sweep_integrity
from registry.db import db
from registry.ledger.services import publish_checkpoint
from tests.registry.factories import append_entries, register_schemes

NOW = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_health_state(app: Flask) -> Iterator[None]:
    """The sweep's record and the extra checks live in the app: each test starts without."""
    saved = {
        k: app.extensions.pop(k) for k in list(app.extensions) if k.startswith("registry.health")
    }
    yield
    for key in [k for k in app.extensions if k.startswith("registry.health")]:
        del app.extensions[key]
    app.extensions.update(saved)


def _get(client: FlaskClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/health")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.get_json()
    return response.status_code, body


def _rewrite_silently(seq: int) -> None:
    """Rewrite an entry's bytes and leaf hash, and leave its nodes (triggers off first)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        )
    else:
        db.session.execute(text("DROP TRIGGER ledger_entries_no_update"))
    forged = canonicalize_jcs({"seq": seq, "event": "scheme.registered", "forged": True})
    db.session.execute(
        text("UPDATE ledger_entries SET body = :b, leaf_hash = :h WHERE seq = :s"),
        {"b": forged, "h": leaf_hash(forged), "s": seq},
    )


def test_an_intact_ledger_is_healthy(client: FlaskClient, db_session: Any) -> None:
    register_schemes(5)
    publish_checkpoint()
    status, body = _get(client)
    assert status == 200, body
    assert body["status"] == "ok"
    ledger = body["ledger"]
    assert ledger["treeSize"] == 5
    assert ledger["checkpoint"]["size"] == 5
    assert ledger["checkpoint"]["matchesNodes"] is True
    assert ledger["checkpoint"]["time"]
    assert ledger["problems"] == []


def test_a_rewritten_entry_in_the_window_is_named(client: FlaskClient, db_session: Any) -> None:
    register_schemes(5)
    publish_checkpoint()
    _rewrite_silently(3)
    status, body = _get(client)
    assert status == 503
    assert body["status"] == "failing"
    assert (
        "entry 3: the stored leaf node differs from the entry's leaf hash"
        in (body["ledger"]["problems"])
    )


def test_older_rows_are_left_to_the_sweep_which_then_names_them(
    app: Flask, client: FlaskClient, db_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "WINDOW", 2)  # the request checks entries 4 and 5 only
    register_schemes(3)
    append_entries(3)
    publish_checkpoint()
    _rewrite_silently(1)
    status, body = _get(client)
    assert (status, body["ledger"]["window"]) == (200, {"start": 4, "end": 6})
    sweep_integrity(app, now=NOW)
    status, body = _get(client)
    assert status == 503
    assert (
        "entry 1: the stored leaf node differs from the entry's leaf hash"
        in (body["ledger"]["problems"])
    )
    assert body["ledger"]["sweep"]["passes"] == 1
    assert body["ledger"]["sweep"]["checkedAt"] == NOW.isoformat()


def test_a_node_rewritten_under_the_checkpoint_is_caught_by_its_root(
    client: FlaskClient, db_session: Any
) -> None:
    register_schemes(4)
    publish_checkpoint()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("ALTER TABLE ledger_nodes DISABLE TRIGGER ledger_nodes_append_only")
        )
    else:
        db.session.execute(text("DROP TRIGGER ledger_nodes_no_update"))
    db.session.execute(text("UPDATE ledger_nodes SET hash = :h WHERE level = 2"), {"h": b"\1" * 32})
    status, body = _get(client)
    assert status == 503
    assert body["ledger"]["checkpoint"]["matchesNodes"] is False
    assert (
        "checkpoint 4: the stored nodes no longer give the signed root"
        in (body["ledger"]["problems"])
    )


def test_extra_checks_decide_too(app: Flask, client: FlaskClient, db_session: Any) -> None:
    register_schemes(1)
    publish_checkpoint()
    checks = extra_checks(app)
    checks.append(lambda: {"name": "witness", "ok": True, "age": 3})
    assert _get(client)[0] == 200
    checks.append(lambda: {"name": "witness-2", "ok": False})
    status, body = _get(client)
    assert status == 503
    assert [c["name"] for c in body["checks"]] == ["witness", "witness-2"]
    assert body["ledger"]["problems"] == []

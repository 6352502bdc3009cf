"""``/api/v1/audit/entries``: the ledger filtered by scheme, body, event kind and time for a
regulator's view; each entry as stored, provable against the public log by its seq. The
scopes it filters on are set at append and backfilled for older entries alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from registry.auth.models import Role
from registry.auth.services import authenticate, create_token
from registry.db import db, transaction
from registry.labels.services import StatusAction, change_label_status
from registry.ledger.models import LedgerEntry, LedgerEntryScope
from tests.registry.conftest import build_app
from tests.registry.factories import LabelWorld, build_label_world, label_request
from tests.registry.labels.support import (
    app,
    auth,
    change_status,
    issue,
    label_app,
    ledger_size,
    problem,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures

BEFORE_SCOPES = "c3f8a6d2e5b1"  # the revision before ledger_entry_scopes


def entries(client: FlaskClient, secret: str, **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/audit/entries", query_string=query, headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def public_entry(client: FlaskClient, seq: int) -> dict[str, Any]:
    line = client.get(f"/ledger/entries?start={seq}&end={seq + 1}").data.splitlines()[0]
    entry: dict[str, Any] = json.loads(line)
    return entry


def test_entries_are_filtered_by_event_scheme_and_body(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    ours, theirs = issue(client, world.certifier), issue(client, world.other_certifier)
    assert change_status(client, world.regulator, ours["id"], "suspend").status_code == 200
    suspended = entries(client, world.regulator, event="label.suspended", after=start - 1)
    assert [(e["event"], e["label"]) for e in suspended["entries"]] == [
        ("label.suspended", ours["id"])
    ]
    # A status change states no scheme: it is found under its label's.
    recent = entries(client, world.regulator, scheme="CN-GD", after=start - 1)["entries"]
    assert [e["event"] for e in recent] == ["label.issued", "label.issued", "label.suspended"]
    for entry in recent:
        assert public_entry(client, entry["seq"]) == entry
    mine = entries(client, world.operator, body="lingnan", after=start - 1)["entries"]
    assert {e.get("label") for e in mine} == {ours["id"]}
    assert theirs["id"] not in json.dumps(mine)
    # The set-up of the world: the regulator's view holds its scheme's, not the bodies' keys.
    setup = entries(client, world.regulator, limit=500)["entries"]
    kinds = {e["event"] for e in setup}
    assert {"scheme.registered", "rule_version.published", "accreditation.granted"} <= kinds
    assert "key.added" not in kinds
    assert all(e.get("scheme", "CN-GD") == "CN-GD" for e in setup)
    operator_view = {e["event"] for e in entries(client, world.operator, limit=500)["entries"]}
    assert "key.added" in operator_view


def test_entries_page_by_seq(client: FlaskClient, world: LabelWorld) -> None:
    for _ in range(3):
        issue(client, world.certifier)
    every = entries(client, world.regulator, event="label.issued")["entries"]
    seen: list[int] = []
    url: str | None = "/api/v1/audit/entries?event=label.issued&limit=2"
    while url is not None:
        page = client.get(url, headers=auth(world.regulator)).get_json()
        seen += [e["seq"] for e in page["entries"]]
        url = page["next"]
    assert seen == [e["seq"] for e in every]
    assert len(seen) == 3


def test_another_schemes_entries_are_refused(client: FlaskClient, world: LabelWorld) -> None:
    with transaction():
        hk = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]
    for query in ({"scheme": "CN-GD"}, {"body": "lingnan"}):
        response = client.get("/api/v1/audit/entries", query_string=query, headers=auth(hk))
        assert "HK" in problem(response, 403, "forbidden")["detail"]
    problem(client.get("/api/v1/audit/entries", headers=auth(world.certifier)), 403, "forbidden")


@pytest.mark.parametrize(
    "query", [{"event": "Label Issued"}, {"event": "x" * 65}, {"after": "-2"}, {"seq": "1"}]
)
def test_bad_entry_queries_are_refused(
    client: FlaskClient, world: LabelWorld, query: dict[str, str]
) -> None:
    response = client.get(
        "/api/v1/audit/entries", query_string=query, headers=auth(world.regulator)
    )
    problem(response, 422, "validation-failed")


def test_scopes_are_append_only(db_session: scoped_session[Session], world: LabelWorld) -> None:
    for statement in (
        "UPDATE ledger_entry_scopes SET scheme = 'HK'",
        "DELETE FROM ledger_entry_scopes",
    ):
        with pytest.raises(DBAPIError), db_session.begin_nested():
            db_session.execute(text(statement))


def _scopes() -> list[tuple[Any, ...]]:
    rows = db.session.execute(
        select(
            LedgerEntryScope.seq,
            LedgerEntryScope.scheme,
            LedgerEntryScope.body,
            LedgerEntryScope.label,
            LedgerEntryScope.accreditation,
        ).order_by(LedgerEntryScope.seq)
    )
    return [tuple(row) for row in rows]


def test_the_backfill_gives_older_entries_the_scopes_an_append_gives(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    try:
        with app.app_context():
            with transaction():
                world = build_label_world()
            client = app.test_client()
            label = issue(client, world.certifier, label_request())
            with transaction():
                regulator = authenticate(world.regulator)
                change_label_status(regulator, label["id"], StatusAction.SUSPEND, reason="Recall")
            appended = _scopes()
            size = db.session.execute(select(LedgerEntry.seq)).all()
            assert len(appended) == len(size)
            assert appended[-1][1:] == ("CN-GD", "lingnan", label["id"], None)
            db.session.remove()
            flask_migrate.downgrade(revision=BEFORE_SCOPES)
            flask_migrate.upgrade()
            assert _scopes() == appended
    finally:
        with app.app_context():
            db.engine.dispose()

"""The label page as production runs it: committed data, each request its own transaction.

Inside ``db_session`` (the other page tests) the freshness read goes through the session, the
only one that sees the test's uncommitted rows. Here nothing is wrapped, so the page takes its
fast path (one autocommit SELECT on a kept driver connection): it must see a revocation
committed by another request at once, and read the same values the session would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.clock import CLOCK_KEY, FixedClock
from registry.db import db
from registry.pages.label import FAST_KEY, read_state
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import change_status, issue, make_label_app

HTML = {"Accept": "text/html", "Accept-Language": "en"}


@pytest.fixture
def committed(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, LabelWorld]]:
    app, world = make_label_app(fresh_database_url, tmp_path)
    yield app, world
    fast = app.extensions.get(FAST_KEY)
    if fast is not None:
        fast.close()
    with app.app_context():
        db.engine.dispose()


def _verdict(text: str) -> str:
    found = re.search(r'data-verdict="([a-z_]+)"', text)
    assert found
    return found.group(1)


def test_a_committed_revocation_shows_on_the_very_next_request(
    committed: tuple[Flask, LabelWorld],
) -> None:
    app, world = committed
    client: FlaskClient = app.test_client()
    label = issue(client, world.certifier)
    first = client.get(f"/l/{label['id']}", headers=HTML)
    assert _verdict(first.text) == "genuine"
    assert FAST_KEY in app.extensions  # the fast path answered
    e1 = first.headers["ETag"]
    assert client.get(f"/l/{label['id']}", headers={**HTML, "If-None-Match": e1}).status_code == 304

    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    after = client.get(f"/l/{label['id']}", headers={**HTML, "If-None-Match": e1})
    assert after.status_code == 200
    assert _verdict(after.text) == "revoked"
    assert after.headers["ETag"] != e1
    assert client.get("/l/0000000000", headers=HTML).status_code == 404


def test_the_fast_read_returns_what_the_session_would(
    committed: tuple[Flask, LabelWorld],
) -> None:
    app, world = committed
    client: FlaskClient = app.test_client()
    label = issue(client, world.certifier)
    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    with app.test_request_context():
        fast = read_state(label["id"])  # nothing begun: the fast path
    with app.test_request_context():
        db.session.begin()
        slow = read_state(label["id"])  # a transaction under way: through the session
        db.session.rollback()
    assert fast == slow
    assert fast is not None
    assert fast.status.value == "suspended"
    assert fast.status_changed_at is not None
    assert fast.status_changed_at.tzinfo is not None
    assert fast.phase == "current"
    assert fast.checkpoint_size is not None

    app.extensions[CLOCK_KEY] = FixedClock(
        datetime.fromisoformat(label["valid_until"]) + timedelta(seconds=1)
    )
    with app.test_request_context():
        expired = read_state(label["id"])
    assert expired is not None
    assert expired.phase == "expired"


def test_a_kept_connection_that_broke_is_replaced_at_once(
    committed: tuple[Flask, LabelWorld],
) -> None:
    app, world = committed
    client: FlaskClient = app.test_client()
    label = issue(client, world.certifier)
    assert client.get(f"/l/{label['id']}", headers=HTML).status_code == 200
    fast = app.extensions[FAST_KEY]
    fast._connection().close()  # as a database restart or a proxy's idle timeout would
    again = client.get(f"/l/{label['id']}", headers=HTML)
    assert again.status_code == 200
    assert _verdict(again.text) == "genuine"


def test_the_kept_connection_cannot_write(committed: tuple[Flask, LabelWorld]) -> None:
    app, world = committed
    client: FlaskClient = app.test_client()
    label = issue(client, world.certifier)
    assert client.get(f"/l/{label['id']}", headers=HTML).status_code == 200
    connection = app.extensions[FAST_KEY]._connection()
    cursor = connection.cursor()
    with pytest.raises(Exception, match=r"(?i)read.only|readonly"):
        cursor.execute("UPDATE labels SET product_name = 'forged' WHERE id = 'NONE'")
    cursor.close()

"""Every check holds under concurrency, on PostgreSQL with real concurrent connections.

Each test stops one request at a known point by holding a row it needs from another connection,
makes the competing change meanwhile, then lets the first go on, and checks what was ledgered:
no label after its body's suspension, its accreditation's withdrawal or its key's retirement,
and no suspension lifted by someone who may not lift it. Without the locks these tests name
(body, accreditations and key FOR SHARE in issuance, FOR UPDATE in their changes; authority
asked of the locked label row) each of them ledgers the forbidden order, and ``replay`` names
it. Nothing sleeps: the tests wait for PostgreSQL to report a session waiting for a lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select

from credentials import replay
from registry.auth.services import authenticate
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.clock import utcnow
from registry.db import db
from registry.labels.models import StatusListRecord, StatusPurpose
from registry.labels.services import StatusAction, change_label_status
from registry.labels.status_lists import LIST_SIZE, MAX_OPEN
from registry.ledger.models import LedgerEntry
from registry.ledger.services import LEDGER_LOCK_KEY
from registry.ledger.verification import verify_state
from tests.registry.factories import LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import make_label_app

pytestmark = [pytest.mark.postgres]

DEADLINE = 30.0


@pytest.fixture
def registry(
    make_pg_database: Callable[[], str], tmp_path: Path
) -> Iterator[tuple[str, Flask, LabelWorld]]:
    """A PostgreSQL label registry of its own (these tests commit), with one label issued."""
    url = make_pg_database()
    app, world = make_label_app(url, tmp_path)
    response = app.test_client().post(
        "/api/v1/labels", json=label_request(), headers=_auth(world.certifier)
    )
    assert response.status_code == 201
    yield url.replace("postgresql+psycopg://", "postgresql://"), app, world
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _waiting(url: str) -> int:
    """How many sessions of this database wait for a lock right now."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def _until(condition: Callable[[], bool]) -> None:
    """Poll PostgreSQL (each probe is a round trip) until ``condition`` holds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "the requests neither finished nor waited"


@contextmanager
def _holding(url: str, statement: str, *params: Any) -> Iterator[None]:
    """Another connection holds the rows ``statement`` locks until the block ends."""
    with psycopg.connect(url) as conn:
        conn.execute(statement, params)
        yield
        conn.commit()


class _Request(threading.Thread):
    """One API request on its own thread (its own app context, session and connection)."""

    def __init__(self, app: Flask, method: str, path: str, secret: str, body: Any) -> None:
        super().__init__(daemon=True)
        self.app, self.method, self.path, self.secret, self.body = app, method, path, secret, body
        self.status: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            client = self.app.test_client()
            response = client.open(
                self.path, method=self.method, json=self.body, headers=_auth(self.secret)
            )
            self.status = response.status_code
        except BaseException as exc:
            self.error = exc

    def result(self) -> int:
        self.join(DEADLINE)
        assert not self.is_alive(), f"{self.path} did not finish"
        assert self.error is None, self.error
        assert self.status is not None
        return self.status


def _events(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        stmt = select(LedgerEntry.body).order_by(LedgerEntry.seq)
        bodies = [bytes(b) for b in db.session.execute(stmt).scalars()]
        result = replay(bodies)
        assert result.ok, f"replay refused {result.violation}"
        report = verify_state()
        assert report.ok, (report.violation, report.mismatches)
        db.session.remove()
    return [json.loads(b) for b in bodies]


def _issue_racing(
    url: str, app: Flask, world: LabelWorld, path: str, body: dict[str, Any]
) -> tuple[int, int, list[dict[str, Any]]]:
    """An issuance stopped after its body, accreditation and key checks (it waits for the
    ledger lock, held elsewhere; a status list held elsewhere is skipped for another) while the
    operator's change ``path`` is made; then both go on."""
    with _holding(url, "SELECT pg_advisory_xact_lock(%s)", LEDGER_LOCK_KEY):
        issuing = _Request(app, "POST", "/api/v1/labels", world.certifier, label_request("70"))
        issuing.start()
        _until(lambda: _waiting(url) >= 1 or not issuing.is_alive())
        assert issuing.is_alive(), "the issuance did not reach the ledger"
        change = _Request(app, "POST", path, world.operator, body)
        change.start()
        # Fixed: the change waits for the issuance's shared lock. Broken: it commits at once.
        _until(lambda: _waiting(url) >= 2 or not change.is_alive())
        changed_first = not change.is_alive()
    issued, changed = issuing.result(), change.result()
    events = _events(app)  # first: replay names the entry if the order is the forbidden one
    assert not changed_first, "the change committed while an issuance it affects was in flight"
    return issued, changed, events


def _order(events: list[dict[str, Any]], kind: str) -> tuple[int, int]:
    issued = max(e["seq"] for e in events if e["event"] == "label.issued")
    changed = max(e["seq"] for e in events if e["event"] == kind)
    return issued, changed


def test_a_body_suspended_while_a_label_is_being_issued_ledgers_after_it(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    issued, changed, events = _issue_racing(
        url, app, world, f"/api/v1/bodies/{LABEL_BODY}/status",
        {"status": "suspended", "reason": "Accreditation body finding (fictitious)"},
    )  # fmt: skip
    assert (issued, changed) == (201, 200)
    first, then = _order(events, "body.status_changed")
    assert first < then, "a label.issued entry landed after its body's suspension"
    after = app.test_client().post(
        "/api/v1/labels", json=label_request(), headers=_auth(world.certifier)
    )
    assert after.status_code == 422


def test_an_accreditation_withdrawn_while_a_label_is_being_issued_ledgers_after_it(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    with app.app_context():
        accreditation = db.session.execute(
            select(Accreditation.id)
            .join(CertificationBody, CertificationBody.id == Accreditation.body_id)
            .where(CertificationBody.code == LABEL_BODY)
        ).scalar_one()
        db.session.remove()
    issued, changed, events = _issue_racing(
        url, app, world, f"/api/v1/accreditations/{accreditation}/status",
        {"status": "withdrawn", "reason": "Scope audit (fictitious)"},
    )  # fmt: skip
    assert (issued, changed) == (201, 200)
    first, then = _order(events, "accreditation.status_changed")
    assert first < then, "a label.issued entry landed after its accreditation's withdrawal"


def test_a_key_retired_while_a_label_is_being_issued_ledgers_after_it(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    with app.app_context():
        key = db.session.execute(
            select(BodyKey.public_key_multibase)
            .join(CertificationBody, CertificationBody.id == BodyKey.body_id)
            .where(CertificationBody.code == LABEL_BODY)
        ).scalar_one()
        db.session.remove()
    issued, changed, events = _issue_racing(
        url, app, world, f"/api/v1/bodies/{LABEL_BODY}/keys/{key}/retire", None
    )
    assert (issued, changed) == (201, 200)
    first, then = _order(events, "key.retired")
    assert first < then, "a label.issued entry landed after its key's retirement"


def _change_racing(
    url: str,
    app: Flask,
    first: tuple[str, StatusAction],
    then: tuple[str, str],
    label_id: str,
) -> int:
    """``first`` (secret, action) changes the label and holds its row uncommitted while
    ``then`` (secret, action) is sent; ``then`` reads the row as it was, waits for the lock,
    and is answered after ``first`` commits."""
    with app.app_context():
        change_label_status(authenticate(first[0]), label_id, first[1], reason="Market check")
        racing = _Request(
            app, "POST", f"/api/v1/labels/{label_id}/status", then[0],
            {"action": then[1], "reason": "Lifted (fictitious)"},
        )  # fmt: skip
        racing.start()
        _until(lambda: _waiting(url) >= 1 or not racing.is_alive())
        db.session.commit()
        db.session.remove()
    return racing.result()


def _label(app: Flask, world: LabelWorld) -> str:
    response = app.test_client().post(
        "/api/v1/labels", json=label_request(), headers=_auth(world.certifier)
    )
    assert response.status_code == 201
    label_id: str = response.get_json()["id"]
    return label_id


def test_a_certifiers_reinstatement_in_flight_cannot_lift_the_operators_suspension(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    label = _label(app, world)
    status = _change_racing(
        url, app, (world.operator, StatusAction.SUSPEND), (world.certifier, "reinstate"), label
    )
    events = _events(app)  # first: replay names the entry if the suspension was lifted
    assert status == 403
    shown = app.test_client().get(f"/api/v1/labels/{label}").get_json()
    assert shown["status"] == "suspended"
    assert [e["event"] for e in events if e.get("label") == label][-1] == "label.suspended"


def test_the_operators_reinstatement_in_flight_cannot_lift_a_certifiers_suspension(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    label = _label(app, world)
    client = app.test_client()
    for action in ("suspend", "reinstate"):  # the label's last change is now the operator's
        response = client.post(
            f"/api/v1/labels/{label}/status",
            json={"action": action, "reason": "Earlier check"},
            headers=_auth(world.operator),
        )
        assert response.status_code == 200
    status = _change_racing(
        url, app, (world.certifier, StatusAction.SUSPEND), (world.operator, "reinstate"), label
    )
    _events(app)  # first: replay names the entry if the suspension was lifted
    assert status == 403
    assert client.get(f"/api/v1/labels/{label}").get_json()["status"] == "suspended"


def _lists(app: Flask, purpose: StatusPurpose) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(StatusListRecord.id, StatusListRecord.allocated)
            .join(CertificationBody, CertificationBody.id == StatusListRecord.body_id)
            .where(CertificationBody.code == LABEL_BODY, StatusListRecord.purpose == purpose)
            .order_by(StatusListRecord.created_at, StatusListRecord.id)
        ).all()
        db.session.remove()
    return [(row.id, row.allocated) for row in rows]


def test_an_issuance_skips_a_status_list_another_transaction_holds(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    """Concurrent issuances of one body (rounds in two workers) do not queue behind one list:
    a held list is skipped for another, opened while the body has fewer than MAX_OPEN."""
    url, app, world = registry
    ((held, before),) = _lists(app, StatusPurpose.REVOCATION)
    with _holding(url, "SELECT 1 FROM status_lists WHERE id = %s FOR UPDATE", held):
        issuing = _Request(app, "POST", "/api/v1/labels", world.certifier, label_request("70"))
        issuing.start()
        issuing.join(DEADLINE)
        assert not issuing.is_alive(), "the issuance waited for the held list"
    assert issuing.result() == 201
    lists = _lists(app, StatusPurpose.REVOCATION)
    assert lists[0] == (held, before), "nothing was counted into the held list"
    assert [allocated for _, allocated in lists[1:]] == [1]


def test_with_max_open_lists_all_held_an_issuance_waits_for_the_oldest(
    registry: tuple[str, Flask, LabelWorld],
) -> None:
    url, app, world = registry
    with app.app_context():
        body_id = authenticate(world.certifier).body_id
        for n in range(MAX_OPEN - 1):
            db.session.add(
                StatusListRecord(
                    id=f"r-held{n}", body_id=body_id, purpose=StatusPurpose.REVOCATION,
                    size=LIST_SIZE, allocated=0, created_at=utcnow(),
                )
            )  # fmt: skip
        db.session.commit()
        db.session.remove()
    ids = [list_id for list_id, _ in _lists(app, StatusPurpose.REVOCATION)]
    assert len(ids) == MAX_OPEN
    with _holding(url, "SELECT 1 FROM status_lists WHERE id = ANY(%s) FOR UPDATE", ids):
        issuing = _Request(app, "POST", "/api/v1/labels", world.certifier, label_request("70"))
        issuing.start()
        _until(lambda: _waiting(url) >= 1 or not issuing.is_alive())
        assert issuing.is_alive(), "a fifth list was opened instead of waiting"
    assert issuing.result() == 201
    lists = _lists(app, StatusPurpose.REVOCATION)
    assert len(lists) == MAX_OPEN
    assert lists[0][1] == 2, "the oldest list, once free, took the label"

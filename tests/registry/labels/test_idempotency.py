"""Retries with an ``Idempotency-Key`` return the same label, never a second one.

The multi-process race on one key is in ``test_concurrency.py``.
"""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.db import db
from registry.labels.models import IdempotencyKey, Label
from tests.registry.factories import LabelWorld, label_request, vc_issue_request
from tests.registry.labels.support import (
    auth,
    change_status,
    entries_since,
    issue,
    ledger_size,
    problem,
    snapshot,
)

KEY = "lingnan-2026-000123"


def label_count() -> int:
    return db.session.execute(select(func.count()).select_from(Label)).scalar_one()


def test_a_retry_with_the_same_key_and_body_returns_the_same_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    start, labels = ledger_size(), label_count()
    first = client.post("/api/v1/labels", json=label_request(), headers=_headers(world))
    retry = client.post("/api/v1/labels", json=label_request(), headers=_headers(world))
    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.get_json() == first.get_json()
    assert [e["event"] for e in entries_since(start)] == ["label.issued"]
    assert label_count() == labels + 1


def test_the_same_body_with_members_in_another_order_is_the_same_request(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = label_request()
    first = issue(client, world.certifier, body, key=KEY)
    reordered = json.dumps(dict(reversed(list(body.items()))))
    retry = client.post(
        "/api/v1/labels",
        data=reordered,
        content_type="application/json",
        headers=_headers(world),
    )
    assert retry.status_code == 200
    assert retry.get_json()["id"] == first["id"]


def test_a_retry_after_a_status_change_returns_the_label_as_it_is_now(
    client: FlaskClient, world: LabelWorld
) -> None:
    first = issue(client, world.certifier, key=KEY)
    assert change_status(client, world.certifier, first["id"], "suspend").status_code == 200
    start = ledger_size()
    retry = issue(client, world.certifier, key=KEY, expect=200)
    assert (retry["id"], retry["status"]) == (first["id"], "suspended")
    assert entries_since(start) == []


def test_the_same_key_with_another_body_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    first = issue(client, world.certifier, key=KEY)
    before = snapshot()
    response = client.post("/api/v1/labels", json=label_request("48.0"), headers=_headers(world))
    problem(response, 422, "idempotency-key-reused")
    assert snapshot() == before
    assert client.get(f"/api/v1/labels/{first['id']}").get_json()["footprint"]["value"] == "61.2"


def test_keys_are_per_certification_body(client: FlaskClient, world: LabelWorld) -> None:
    ours = issue(client, world.certifier, key=KEY)
    theirs = issue(client, world.other_certifier, key=KEY)
    assert ours["id"] != theirs["id"]
    assert (ours["body"]["code"], theirs["body"]["code"]) == ("lingnan", "pearl")
    assert db.session.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one() >= 2


def test_a_refused_request_does_not_use_up_its_key(client: FlaskClient, world: LabelWorld) -> None:
    before = snapshot()
    wrong = client.post("/api/v1/labels", json=label_request(grade="A"), headers=_headers(world))
    problem(wrong, 422, "grade-mismatch")
    assert snapshot() == before, "the claim of a refused request must be rolled back"
    corrected = issue(client, world.certifier, label_request(grade="B"), key=KEY)
    assert corrected["grade"] == "B"


def test_without_a_key_every_request_issues_a_new_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    first = issue(client, world.certifier)
    second = issue(client, world.certifier)
    assert first["id"] != second["id"]


def test_an_oversized_key_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    before = snapshot()
    response = client.post(
        "/api/v1/labels",
        json=label_request(),
        headers=auth(world.certifier) | {"Idempotency-Key": "k" * 256},
    )
    assert "Idempotency-Key" in problem(response, 422, "validation-failed")["errors"]
    assert snapshot() == before


def test_vc_api_issuance_honours_the_key_too(client: FlaskClient, world: LabelWorld) -> None:
    start = ledger_size()
    first = client.post("/credentials/issue", json=vc_issue_request(), headers=_headers(world))
    retry = client.post("/credentials/issue", json=vc_issue_request(), headers=_headers(world))
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json() == first.get_json()
    assert [e["event"] for e in entries_since(start)] == ["label.issued"]
    other = client.post("/credentials/issue", json=vc_issue_request("40"), headers=_headers(world))
    problem(other, 422, "idempotency-key-reused")


def _headers(world: LabelWorld) -> dict[str, str]:
    return auth(world.certifier) | {"Idempotency-Key": KEY}

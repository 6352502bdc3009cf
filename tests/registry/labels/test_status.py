"""Status changes and who may make them: the body its own labels, the operator any suspension.

Each allowed change appends exactly one event; each refused one leaves everything as it was.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.auth.models import ApiToken
from registry.auth.services import authenticate, revoke_token
from registry.db import db, transaction
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import (
    auth,
    change_status,
    entries_since,
    issue,
    ledger_size,
    problem,
    snapshot,
)

ACTIONS = ["suspend", "reinstate", "revoke"]


def refused_change(
    client: FlaskClient, secret: str | None, label_id: str, action: str, status: int, slug: str
) -> None:
    before = snapshot()
    problem(change_status(client, secret, label_id, action), status, slug)
    assert snapshot() == before, "a refused status change left something behind"


def test_the_body_suspends_reinstates_and_revokes_its_own_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    start = ledger_size()
    for action, status in [
        ("suspend", "suspended"),
        ("reinstate", "active"),
        ("revoke", "revoked"),
    ]:
        response = change_status(
            client, world.certifier, label["id"], action, reason=f"{action}: audit"
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
        assert response.get_json()["status_reason"] == f"{action}: audit"
    events = entries_since(start)
    assert [(e["event"], e["previousStatus"], e["by"]["role"]) for e in events] == [
        ("label.suspended", "active", "certifier"),
        ("label.reinstated", "suspended", "certifier"),
        ("label.revoked", "active", "certifier"),
    ]
    # Who, by registry ids: the certifier's body and its token (never the token's secret).
    token = authenticate(world.certifier).token_id
    certifier = {"role": "certifier", "body": "lingnan", "token": token, "schemes": []}
    assert [e["by"] for e in events] == [certifier] * 3
    assert all(world.certifier not in json.dumps(e) for e in events)
    assert {e["label"] for e in events} == {label["id"]}
    assert [e["reason"] for e in events] == ["suspend: audit", "reinstate: audit", "revoke: audit"]
    shown = client.get(f"/api/v1/labels/{label['id']}").get_json()
    assert (shown["status"], shown["status_reason"]) == ("revoked", "revoke: audit")


def test_a_lower_case_label_id_names_the_same_label(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    response = change_status(client, world.certifier, label["id"].lower(), "suspend")
    assert response.get_json()["id"] == label["id"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_certifier_can_never_touch_another_bodys_label(
    client: FlaskClient, world: LabelWorld, action: str
) -> None:
    label = issue(client, world.certifier)
    if action == "reinstate":
        assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    refused_change(client, world.other_certifier, label["id"], action, 403, "forbidden")


@pytest.mark.parametrize("suspended_first", [False, True], ids=["active", "suspended"])
def test_a_regulator_never_revokes(
    client: FlaskClient, world: LabelWorld, suspended_first: bool
) -> None:
    label = issue(client, world.certifier)
    if suspended_first:
        assert change_status(client, world.regulator, label["id"], "suspend").status_code == 200
    refused_change(client, world.regulator, label["id"], "revoke", 403, "forbidden")


@pytest.mark.parametrize(
    "secret", [None, "clr_" + "A" * 43, "not-a-token"], ids=["none", "unknown", "malformed"]
)
def test_without_a_valid_token_nothing_happens(
    client: FlaskClient, world: LabelWorld, secret: str | None
) -> None:
    label = issue(client, world.certifier)
    refused_change(client, secret, label["id"], "revoke", 401, "unauthenticated")
    before = snapshot()
    problem(
        client.post("/api/v1/labels", json=label_request(), headers=auth(secret)),
        401,
        "unauthenticated",
    )
    assert snapshot() == before


def test_a_revoked_token_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    with transaction():
        token_id = db.session.execute(
            select(ApiToken.id).where(ApiToken.prefix == world.certifier[:8])
        ).scalar_one()
        revoke_token(token_id)
    refused_change(client, world.certifier, label["id"], "suspend", 401, "unauthenticated")


@pytest.mark.parametrize("secret", ["regulator", "operator"])
def test_only_a_certifier_issues(client: FlaskClient, world: LabelWorld, secret: str) -> None:
    before = snapshot()
    response = client.post(
        "/api/v1/labels", json=label_request(), headers=auth(getattr(world, secret))
    )
    problem(response, 403, "forbidden")
    assert snapshot() == before


def test_the_operator_suspends_any_label_and_lifts_its_own_suspension(
    client: FlaskClient, world: LabelWorld
) -> None:
    ours, theirs = issue(client, world.certifier), issue(client, world.other_certifier)
    start = ledger_size()
    for label in (ours, theirs):
        response = change_status(client, world.operator, label["id"], "suspend")
        assert response.get_json()["status"] == "suspended"
    response = change_status(client, world.operator, ours["id"], "reinstate")
    assert response.get_json()["status"] == "active"
    events = entries_since(start)
    operator = authenticate(world.operator).token_id
    assert [(e["event"], e["by"]) for e in events] == [
        (event, {"role": "operator", "token": operator, "body": None, "schemes": []})
        for event in ("label.suspended", "label.suspended", "label.reinstated")
    ]


def test_the_operator_cannot_revoke(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    refused_change(client, world.operator, label["id"], "revoke", 403, "forbidden")


def test_the_body_cannot_lift_the_operators_suspension(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.operator, label["id"], "suspend").status_code == 200
    refused_change(client, world.certifier, label["id"], "reinstate", 403, "forbidden")
    # It may still revoke its own label.
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200


def test_the_operator_cannot_lift_the_bodys_suspension(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    refused_change(client, world.operator, label["id"], "reinstate", 403, "forbidden")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("suspended_first", [False, True], ids=["active", "suspended"])
def test_revocation_is_final(
    client: FlaskClient, world: LabelWorld, action: str, suspended_first: bool
) -> None:
    label = issue(client, world.certifier)
    if suspended_first:
        assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    refused_change(client, world.certifier, label["id"], action, 409, "invalid-transition")
    if action == "suspend":
        refused_change(client, world.operator, label["id"], action, 409, "invalid-transition")


@pytest.mark.parametrize(("first", "then"), [(None, "reinstate"), ("suspend", "suspend")])
def test_a_change_that_does_not_apply_to_the_current_status_is_a_conflict(
    client: FlaskClient, world: LabelWorld, first: str | None, then: str
) -> None:
    label = issue(client, world.certifier)
    if first:
        assert change_status(client, world.certifier, label["id"], first).status_code == 200
    refused_change(client, world.certifier, label["id"], then, 409, "invalid-transition")


def test_an_unknown_label_is_not_found(client: FlaskClient, world: LabelWorld) -> None:
    refused_change(client, world.certifier, "ZZZZZZZZZZ", "suspend", 404, "not-found")
    refused_change(client, world.certifier, "not-an-id!", "suspend", 404, "not-found")


@pytest.mark.parametrize(
    "body",
    [
        {"action": "delete", "reason": "x"},
        {"action": "revoke"},
        {"action": "revoke", "reason": ""},
        {"action": "revoke", "reason": "r" * 501},
        {"action": "revoke", "reason": "x", "status": "active"},
    ],
    ids=["unknown-action", "no-reason", "empty-reason", "long-reason", "extra-field"],
)
def test_a_malformed_status_change_is_refused(
    client: FlaskClient, world: LabelWorld, body: dict[str, str]
) -> None:
    label = issue(client, world.certifier)
    before = snapshot()
    response = client.post(
        f"/api/v1/labels/{label['id']}/status", json=body, headers=auth(world.certifier)
    )
    problem(response, 422, "validation-failed")
    assert snapshot() == before

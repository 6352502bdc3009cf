"""A label may supersede an earlier label of the same body; the two are linked both ways."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from credentials import StatusList, verify_document
from registry.db import db
from registry.labels.models import Label
from tests.registry.factories import BASE_URL, LabelWorld, label_request
from tests.registry.labels.support import (
    auth,
    change_status,
    entries_since,
    issue,
    label_bundle,
    ledger_size,
    problem,
    snapshot,
)


def supersede(
    client: FlaskClient, secret: str, old_id: str, value: str = "58.4", *, expect: int = 201
) -> dict[str, Any]:
    return issue(client, secret, label_request(value, supersedes=old_id), expect=expect)


@pytest.mark.parametrize("old_status", ["active", "suspended"])
def test_a_corrected_label_supersedes_the_old_one_both_ways(
    client: FlaskClient, world: LabelWorld, old_status: str
) -> None:
    old = issue(client, world.certifier)
    if old_status == "suspended":
        assert change_status(client, world.certifier, old["id"], "suspend").status_code == 200
    start = ledger_size()
    new = supersede(client, world.certifier, old["id"].lower())

    assert new["supersedes"] == old["id"]
    assert new["superseded_by"] is None
    subject = new["credential"]["credentialSubject"]
    assert subject["supersedes"] == f"{BASE_URL}/l/{old['id']}"
    verify_document(new["credential"])
    shown = client.get(f"/api/v1/labels/{old['id']}").get_json()
    assert (shown["status"], shown["superseded_by"]) == ("superseded", new["id"])
    # The old credential itself is never re-signed: what was issued stays as it was.
    assert shown["credential"] == old["credential"]
    (entry,) = entries_since(start)
    assert (entry["event"], entry["label"], entry["supersedes"]) == (
        "label.issued",
        new["id"],
        old["id"],
    )
    rows = {
        row.id: row
        for row in db.session.execute(
            select(Label).where(Label.id.in_([old["id"], new["id"]]))
        ).scalars()
    }
    assert rows[old["id"]].superseded_by_id == new["id"]
    assert rows[new["id"]].supersedes_id == old["id"]


def test_another_bodys_label_cannot_be_superseded(client: FlaskClient, world: LabelWorld) -> None:
    theirs = issue(client, world.other_certifier)
    before = snapshot()
    response = client.post(
        "/api/v1/labels",
        json=label_request(supersedes=theirs["id"]),
        headers=auth(world.certifier),
    )
    problem(response, 403, "forbidden")
    assert snapshot() == before


@pytest.mark.parametrize("old_status", ["revoked", "superseded"])
def test_a_revoked_or_already_superseded_label_cannot_be_superseded(
    client: FlaskClient, world: LabelWorld, old_status: str
) -> None:
    old = issue(client, world.certifier)
    if old_status == "revoked":
        assert change_status(client, world.certifier, old["id"], "revoke").status_code == 200
    else:
        supersede(client, world.certifier, old["id"])
    before = snapshot()
    response = client.post(
        "/api/v1/labels",
        json=label_request(supersedes=old["id"]),
        headers=auth(world.certifier),
    )
    problem(response, 409, "invalid-transition")
    assert snapshot() == before


def test_a_label_under_the_operators_suspension_cannot_be_superseded(
    client: FlaskClient, world: LabelWorld
) -> None:
    """Its successor would be an active label in its place: the suspension lifted by the body."""
    old = issue(client, world.certifier)
    assert change_status(client, world.operator, old["id"], "suspend").status_code == 200
    before = snapshot()
    response = client.post(
        "/api/v1/labels",
        json=label_request(supersedes=old["id"]),
        headers=auth(world.certifier),
    )
    problem(response, 403, "forbidden")
    assert snapshot() == before
    assert change_status(client, world.operator, old["id"], "reinstate").status_code == 200
    supersede(client, world.certifier, old["id"])


def test_superseding_an_unknown_label_is_not_found(client: FlaskClient, world: LabelWorld) -> None:
    before = snapshot()
    response = client.post(
        "/api/v1/labels", json=label_request(supersedes="ZZZZZZZZZZ"), headers=auth(world.certifier)
    )
    problem(response, 404, "not-found")
    assert snapshot() == before


def test_a_refused_successor_leaves_the_old_label_active(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    before = snapshot()
    response = client.post(
        "/api/v1/labels",
        json=label_request("61.2", grade="A", supersedes=old["id"]),
        headers=auth(world.certifier),
    )
    problem(response, 422, "grade-mismatch")
    assert snapshot() == before
    assert client.get(f"/api/v1/labels/{old['id']}").get_json()["status"] == "active"


def test_a_superseded_label_can_still_be_revoked(client: FlaskClient, world: LabelWorld) -> None:
    old = issue(client, world.certifier)
    supersede(client, world.certifier, old["id"])
    response = change_status(client, world.certifier, old["id"], "revoke")
    assert response.get_json()["status"] == "revoked"
    for action in ("suspend", "reinstate"):
        problem(
            change_status(client, world.certifier, old["id"], action), 409, "invalid-transition"
        )


def _suspension_bit(client: FlaskClient, label: dict[str, Any]) -> bool:
    (entry,) = [
        s for s in label["credential"]["credentialStatus"] if s["statusPurpose"] == "suspension"
    ]
    served = client.get(entry["statusListCredential"].removeprefix(BASE_URL)).get_json()
    verify_document(served)
    bits = StatusList.decode(served["credentialSubject"]["encodedList"])
    return bits.get(int(entry["statusListIndex"]))


@pytest.mark.parametrize("old_status", ["active", "suspended"])
def test_a_superseded_label_is_flagged_in_its_suspension_list_for_good(
    client: FlaskClient, world: LabelWorld, old_status: str
) -> None:
    """Verifiers must not take a replaced label for a current one, then or later.

    The bit is set when the label is superseded, and a later re-signing of the same list (here
    caused by another label of the body) must not clear it without an event of that label.
    """
    old = issue(client, world.certifier)
    if old_status == "suspended":
        assert change_status(client, world.certifier, old["id"], "suspend").status_code == 200
    new = supersede(client, world.certifier, old["id"])
    assert _suspension_bit(client, old) is True
    assert _suspension_bit(client, new) is False

    unrelated = issue(client, world.certifier)
    assert change_status(client, world.certifier, unrelated["id"], "suspend").status_code == 200
    assert _suspension_bit(client, unrelated) is True
    assert _suspension_bit(client, old) is True, "the superseded label's bit was cleared"
    verdict = client.post("/credentials/verify", json={"verifiableCredential": old["credential"]})
    # The bit says "not current"; the trust bundle's supersededBy says why.
    assert (verdict.get_json()["verified"], verdict.get_json()["verdict"]) == (False, "superseded")
    bundle = label_bundle(client, old["id"])
    assert bundle["ledger"][old["id"]]["supersededBy"] == new["url"]
    assert client.post(
        "/credentials/verify", json={"verifiableCredential": new["credential"]}
    ).get_json()["verified"]


def test_revoking_a_superseded_label_moves_its_bit_to_the_revocation_list(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    supersede(client, world.certifier, old["id"])
    assert change_status(client, world.certifier, old["id"], "revoke").status_code == 200
    assert _suspension_bit(client, old) is False
    verdict = client.post("/credentials/verify", json={"verifiableCredential": old["credential"]})
    assert verdict.get_json()["verdict"] == "revoked"

"""Enforcement by a regulator: it suspends labels under its schemes and lifts its own
suspensions, never revokes, never reaches another scheme; and whatever the registry lets it do,
the kit's replay of the ledger accepts (``flask ledger verify``)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm.attributes import set_committed_value

from registry.auth.models import Role
from registry.auth.services import authenticate, create_token
from registry.db import db, transaction
from registry.errors import ForbiddenError, InvalidTransitionError
from registry.labels.models import Label, LabelStatus
from registry.labels.services import StatusAction, change_label_status
from registry.ledger.verification import verify_state
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import (
    change_status,
    entries_since,
    issue,
    ledger_size,
    problem,
    snapshot,
)


def hk_regulator() -> str:
    with transaction():
        return create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]


def assert_ledger_agrees() -> None:
    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)


def test_a_regulator_suspends_and_lifts_its_own_suspension(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    start = ledger_size()
    for action, status in (("suspend", "suspended"), ("reinstate", "active")):
        response = change_status(client, world.regulator, label["id"], action, reason="Recall")
        assert response.status_code == 200, response.get_json()
        assert (response.get_json()["status"], response.get_json()["status_reason"]) == (
            status,
            "Recall",
        )
    token = authenticate(world.regulator).token_id
    regulator = {"role": "regulator", "token": token, "body": None, "schemes": ["CN-GD"]}
    assert [(e["event"], e["by"], e["reason"]) for e in entries_since(start)] == [
        ("label.suspended", regulator, "Recall"),
        ("label.reinstated", regulator, "Recall"),
    ]
    assert_ledger_agrees()


def test_a_regulator_of_another_scheme_is_refused_and_told_its_schemes(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    secret = hk_regulator()
    before = snapshot()
    body = problem(change_status(client, secret, label["id"], "suspend"), 403, "forbidden")
    assert "HK" in body["detail"]
    assert "CN-GD" in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("who", ["certifier", "operator"])
def test_nobody_else_lifts_a_regulators_suspension(
    client: FlaskClient, world: LabelWorld, who: str
) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.regulator, label["id"], "suspend").status_code == 200
    before = snapshot()
    body = problem(
        change_status(client, getattr(world, who), label["id"], "reinstate"), 403, "forbidden"
    )
    assert "regulator" in body["detail"]
    assert snapshot() == before
    # The body may still revoke its own label, suspended or not; replay agrees.
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    assert_ledger_agrees()


@pytest.mark.parametrize("suspender", ["certifier", "operator"])
def test_a_regulator_cannot_lift_anyone_elses_suspension(
    client: FlaskClient, world: LabelWorld, suspender: str
) -> None:
    label = issue(client, world.certifier)
    secret = getattr(world, suspender)
    assert change_status(client, secret, label["id"], "suspend").status_code == 200
    before = snapshot()
    problem(change_status(client, world.regulator, label["id"], "reinstate"), 403, "forbidden")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("stale", "action", "refusal"),
    [
        ({"status": LabelStatus.ACTIVE}, StatusAction.SUSPEND, InvalidTransitionError),
        ({"status_changed_by": "regulator"}, StatusAction.REINSTATE, ForbiddenError),
    ],
    ids=["suspend-a-suspended-label", "lift-the-operators-suspension"],
)
def test_the_authority_is_asked_of_the_locked_row_not_of_an_earlier_read(
    client: FlaskClient,
    world: LabelWorld,
    stale: dict[str, object],
    action: StatusAction,
    refusal: type[Exception],
) -> None:
    """The session still holds what it read before the operator suspended the label; the
    regulator's change is decided on the row as locked and re-read, so it is refused."""
    label = issue(client, world.certifier)
    row = db.session.get_one(Label, label["id"])
    assert change_status(client, world.operator, label["id"], "suspend").status_code == 200
    for name, value in stale.items():
        set_committed_value(row, name, value)  # a stale read, not a pending write
    regulator = authenticate(world.regulator)
    before = snapshot()
    with pytest.raises(refusal), transaction():
        change_label_status(regulator, label["id"], action, reason="Recall")
    assert snapshot() == before
    assert_ledger_agrees()

"""The tables are what the ledger says: replaying the entries that normal service calls wrote
reproduces them, and ``flask ledger verify`` names an illegal transition planted in the ledger."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from credentials import (
    Actor,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    LedgerRecord,
    Replayer,
    ReplayReason,
    replay,
)
from registry.auth.services import authenticate
from registry.bodies.models import Accreditation, AccreditationStatus, BodyStatus
from registry.bodies.services import (
    get_body,
    rotate_body_key,
    set_accreditation_status,
    set_body_status,
)
from registry.db import db, transaction
from registry.labels.models import Label, LabelStatus
from registry.ledger.models import LedgerEntry
from registry.ledger.services import append_entry
from registry.ledger.verification import verify_state
from tests.registry.factories import LABEL_BODY, OTHER_BODY, LabelWorld, label_request
from tests.registry.labels.support import change_status, issue


def verify(app: Flask) -> tuple[int, str]:
    """``flask ledger verify``, inside the test's rolled-back transaction (the requests before
    it committed theirs, so begin one: read_snapshot then reads in it, as in test_cli)."""
    db.session.connection()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_flask_ledger_verify_names_a_reinstatement_planted_after_a_revocation(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    code, output = verify(app)
    assert code == 0, output
    # Straight into the ledger, past the status service that refuses it (an attacker with the
    # database, or a bug): a well-formed entry whose transition is not allowed.
    planted = append_entry(
        "label.reinstated",
        LabelReinstated(
            label=label["id"],
            body=LABEL_BODY,
            previous_status="revoked",
            reason="planted",
            by=authenticate(world.certifier).actor,
        ).to_payload(),
    )
    code, output = verify(app)
    assert code == 1, output
    assert f"entry {planted.seq} (label.reinstated): invalid_transition" in output
    assert "revocation is final" in output
    assert "ledger OK" not in output


def test_flask_ledger_verify_names_an_issuance_planted_after_its_bodys_suspension(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    issue(client, world.certifier)
    [issued_body] = db.session.execute(
        select(LedgerEntry.body).order_by(LedgerEntry.seq.desc()).limit(1)
    ).scalars()
    operator = authenticate(world.operator).actor
    suspended = set_body_status(LABEL_BODY, BodyStatus.SUSPENDED, reason="Finding", actor=operator)
    assert suspended.status is BodyStatus.SUSPENDED
    # The same issuance again, with another id and slots, appended after the suspension.
    payload = {k: v for k, v in json.loads(issued_body).items() if k not in ("seq", "time")}
    kind = payload.pop("event")
    payload["label"] = "PLANTED000"
    for slot in payload["statusLists"].values():
        slot["index"] += 10_000
    planted = append_entry(kind, payload)
    code, output = verify(app)
    assert code == 1, output
    assert f"entry {planted.seq} (label.issued): body_not_active" in output


def test_a_table_changed_behind_the_ledgers_back_is_named(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    db.session.get_one(Label, label["id"]).status = LabelStatus.REVOKED
    db.session.flush()
    code, output = verify(app)
    assert code == 1, output
    assert f"label {label['id']}: status is 'revoked'; the ledger says 'active'" in output


def _entries() -> list[bytes]:
    stmt = select(LedgerEntry.body).order_by(LedgerEntry.seq)
    return [bytes(body) for body in db.session.execute(stmt).scalars()]


def _accreditation(body: str) -> int:
    return db.session.execute(
        select(Accreditation.id).where(Accreditation.body_id == get_body(body).id)
    ).scalar_one()


_EVENTS = {"suspend": LabelSuspended, "reinstate": LabelReinstated, "revoke": LabelRevoked}


def _replay_refuses_too(label_id: str, body: str, secret: str, action: str) -> int:
    """The status service refused this change: the same entry, had it been written, must be
    refused by replay too (the registry and the auditor apply the same rules)."""
    replayer = Replayer()
    for entry in _entries():
        assert replayer.feed(entry), replayer.violation
    status = db.session.get_one(Label, label_id).status.value
    event = _EVENTS[action](label_id, body, status, "would be refused", authenticate(secret).actor)
    record = LedgerRecord(replayer.size, datetime.now(UTC), event)
    assert not replayer.apply(record), f"replay allows what the service refused: {event}"
    return 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replaying_what_the_services_wrote_reproduces_the_tables(
    app: Flask, client: FlaskClient, world: LabelWorld, seed: int
) -> None:
    """A random walk over every kind of change (refused ones included), then the tables and
    the replayed state must agree on every row."""
    rng = random.Random(seed)
    operator = authenticate(world.operator).actor
    certifiers = {LABEL_BODY: world.certifier, OTHER_BODY: world.other_certifier}
    labels: dict[str, str] = {}  # label id -> body
    refused = 0
    for step in range(30):
        move = rng.choice(["issue", "issue", "supersede", "status", "status", "body", "admin"])
        body = rng.choice([LABEL_BODY, OTHER_BODY])
        secret = certifiers[body]
        own = [i for i, b in labels.items() if b == body]
        match move:
            case "issue" | "supersede":
                top = {"supersedes": rng.choice(own)} if move == "supersede" and own else {}
                value = f"{rng.randint(20, 140)}.{rng.randint(0, 9)}"
                response = client.post(
                    "/api/v1/labels",
                    json=label_request(value, name=f"Module {seed}-{step}", **top),
                    headers={"Authorization": f"Bearer {secret}"},
                )
                if response.status_code == 201:
                    labels[response.get_json()["id"]] = body
            case "status" if labels:
                who = rng.choice([secret, world.operator])
                action = rng.choice(["suspend", "reinstate", "revoke"])
                label_id = rng.choice(list(labels))
                response = change_status(client, who, label_id, action)
                if response.status_code != 200:
                    refused += _replay_refuses_too(label_id, labels[label_id], who, action)
            case "body":
                status = rng.choice([BodyStatus.ACTIVE, BodyStatus.SUSPENDED])
                if get_body(body).status is not status:
                    with transaction():
                        set_body_status(body, status, reason="Surveillance", actor=operator)
            case "admin":
                with transaction():
                    if rng.random() < 0.5:
                        rotate_body_key(body, actor=operator)
                    else:
                        accreditation = db.session.get_one(Accreditation, _accreditation(body))
                        status = (
                            AccreditationStatus.SUSPENDED
                            if accreditation.status is AccreditationStatus.ACTIVE
                            else AccreditationStatus.ACTIVE
                        )
                        set_accreditation_status(
                            accreditation.id, status, reason="Audit", actor=operator
                        )
            case _:
                pass
    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)
    code, output = verify(app)
    assert code == 0, output
    assert "ledger OK" in output
    state = replay(_entries()).state
    assert set(labels) <= set(state.labels)
    assert len(labels) >= 3
    assert refused >= 1, "the walk should meet at least one refusal"
    statuses = {state.labels[i].status for i in labels}
    assert len(statuses) >= 2, statuses


def test_every_service_change_replays(app: Flask, client: FlaskClient, world: LabelWorld) -> None:
    """One of each, in a fixed order, with the states named."""
    operator = authenticate(world.operator).actor
    old = issue(client, world.certifier)["id"]
    new = issue(client, world.certifier, label_request("50", supersedes=old))["id"]
    theirs = issue(client, world.other_certifier)["id"]
    for secret, label, action in [
        (world.operator, new, "suspend"),
        (world.operator, new, "reinstate"),
        (world.other_certifier, theirs, "suspend"),
        (world.certifier, old, "revoke"),
    ]:
        assert change_status(client, secret, label, action).status_code == 200
    with transaction():
        rotate_body_key(LABEL_BODY, actor=operator)
        set_accreditation_status(
            _accreditation(OTHER_BODY), AccreditationStatus.SUSPENDED, reason="x", actor=operator
        )
        set_body_status(OTHER_BODY, BodyStatus.SUSPENDED, reason="x", actor=operator)
    state = replay(_entries()).state
    assert (state.labels[old].status, state.labels[old].superseded_by) == ("revoked", new)
    assert state.labels[new].status == "active"
    assert state.labels[new].status_by == operator
    assert state.labels[theirs].status_by == authenticate(world.other_certifier).actor
    assert state.bodies[OTHER_BODY].status == "suspended"
    assert state.accreditations[_accreditation(OTHER_BODY)].status == "suspended"
    keys = [k for k in state.keys.values() if k.body == LABEL_BODY]
    assert [k.retired_at is None for k in keys][-1] is True
    assert sum(k.retired_at is None for k in keys) == 1
    assert verify_state().ok


def test_a_certifier_cannot_be_named_as_lifting_the_operators_suspension(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)["id"]
    assert change_status(client, world.operator, label, "suspend").status_code == 200
    certifier: Actor = authenticate(world.certifier).actor
    planted = append_entry(
        "label.reinstated",
        LabelReinstated(label, LABEL_BODY, "suspended", "planted", certifier).to_payload(),
    )
    report = verify_state()
    assert report.violation is not None
    assert (report.violation.seq, report.violation.reason) == (
        planted.seq,
        ReplayReason.NOT_AUTHORISED,
    )


def test_the_committed_label_world_replays_cleanly(client: FlaskClient, world: LabelWorld) -> None:
    result = replay(_entries())
    assert result.ok, result.violation
    assert {LABEL_BODY, OTHER_BODY} <= set(result.state.bodies)
    assert ("CN-GD", "PCR-LIB", "2.0") in result.state.rule_versions

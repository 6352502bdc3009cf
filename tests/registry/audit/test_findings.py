"""``flask audit run`` and ``GET /api/v1/audit/findings``: findings computed from the stored
entries (so an entry written around the API is caught), each naming its entries; a regulator
sees only its schemes' findings, a certifier none."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from credentials import LabelSuspended
from registry.auth.models import Role
from registry.auth.services import authenticate, create_token
from registry.db import db
from registry.labels.models import Label, LabelStatus
from registry.ledger.services import append_entry
from tests.registry.factories import LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import auth, issue, ledger_size


def audit(app: Flask, *args: str) -> tuple[int, str]:
    """``flask audit run`` inside the test's transaction (begun, so read_snapshot reads in it)."""
    db.session.connection()
    result = app.test_cli_runner().invoke(args=["audit", "run", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def mine(findings: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """The findings resting on entries this test wrote (the shared registry may hold others')."""
    return [f for f in findings if f["evidence"] and min(f["evidence"]) >= start]


def api(client: FlaskClient, secret: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/audit/findings{query}", headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    findings: list[dict[str, Any]] = response.get_json()["findings"]
    return findings


def plant_foreign_suspension(world: LabelWorld, label_id: str) -> int:
    """Pearl's certifier suspending Lingnan's label, straight into the ledger (past the status
    service that refuses it)."""
    entry = append_entry(
        "label.suspended",
        LabelSuspended(
            label=label_id,
            body=LABEL_BODY,
            previous_status="active",
            reason="planted",
            by=authenticate(world.other_certifier).actor,
        ).to_payload(),
    )
    return entry.seq


def test_issuance_through_the_api_gives_no_findings(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    issue(client, world.certifier)
    issue(client, world.certifier, label_request("40", name="Another module"))
    code, output = audit(app, "--json")
    every = json.loads(output)["findings"]
    assert mine(every, start) == []
    assert mine(api(client, world.operator), start) == []
    # Only what other tests committed to the shared registry could fail the run.
    serious = [f for f in every if f["severity"] in ("high", "critical")]
    assert code == (1 if serious else 0), output


def test_an_entry_written_around_the_api_is_found_and_named(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    label = issue(client, world.certifier)
    seq = plant_foreign_suspension(world, label["id"])
    code, output = audit(app)
    assert code == 1, output
    assert f"CRITICAL unauthorised_status_change [{seq}]" in output
    found = mine(api(client, world.operator), start)
    assert [(f["kind"], f["evidence"]) for f in found] == [("unauthorised_status_change", [seq])]
    assert found[0]["schemes"] == ["CN-GD"]
    # The regulator of CN-GD sees it; a regulator of HK does not.
    assert mine(api(client, world.regulator), start) == found
    assert mine(api(client, world.regulator, "?scheme=CN-GD"), start) == found
    hk = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]
    assert mine(api(client, hk), start) == []
    refused = client.get("/api/v1/audit/findings?scheme=CN-GD", headers=auth(hk))
    assert refused.status_code == 403
    assert "oversees HK, not CN-GD" in refused.get_json()["detail"]
    assert mine(api(client, world.operator, "?scheme=HK"), start) == []
    assert mine(api(client, world.operator, "?severity=critical"), start) == found


def test_a_table_changed_behind_the_ledgers_back_is_a_finding(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    row = db.session.get_one(Label, label["id"])
    row.status = LabelStatus.REVOKED
    db.session.flush()
    code, output = audit(app, "--json")
    assert code == 1
    [finding] = [f for f in json.loads(output)["findings"] if f["kind"] == "state_mismatch"]
    assert finding["evidence"] == [row.ledger_seq]
    assert label["id"] in finding["message"]


def test_the_same_gtin_from_two_bodies_is_a_warning(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    issue(client, world.certifier)  # label_request's GTIN
    issue(client, world.other_certifier)
    code, output = audit(app, "--json", "--fail-on", "warning")
    assert code == 1  # a warning fails a run that fails on warnings
    found = mine(json.loads(output)["findings"], start)
    assert [(f["kind"], f["severity"]) for f in found] == [("gtin_several_bodies", "warning")]
    assert "06901234567892" in found[0]["message"]


def test_certifiers_and_anonymous_callers_are_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    assert client.get("/api/v1/audit/findings").status_code == 401
    response = client.get("/api/v1/audit/findings", headers=auth(world.certifier))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    bad = client.get("/api/v1/audit/findings?severity=loud", headers=auth(world.operator))
    assert bad.status_code == 422


def test_a_get_writes_nothing(client: FlaskClient, world: LabelWorld) -> None:
    before = ledger_size()
    api(client, world.operator)
    assert ledger_size() == before

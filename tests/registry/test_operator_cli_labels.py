"""The operator's label and report commands, on SQLite and PostgreSQL: the same service and
authority rules as the API, ledgered as the operator's console (no token, no person)."""

from __future__ import annotations

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from registry.ledger.services import tree_size
from tests.registry.factories import LabelWorld, ledger_tail
from tests.registry.labels.support import app, change_status, issue, label_app, world

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_the_operator_suspends_and_lifts_its_own_suspension(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    start = tree_size()
    said = run(app, "labels", "set-status", label["id"], "--action", "suspend", "--reason", "audit")
    assert said.exit_code == 0, said.output
    assert said.stdout.strip() == f"Label {label['id']} is now suspended."
    (entry,) = ledger_tail(start)
    assert entry["event"] == "label.suspended"
    assert entry["by"] == {"role": "operator", "token": None, "body": None, "schemes": []}
    # The body may not lift the operator's suspension; the operator may.
    assert change_status(client, world.certifier, label["id"], "reinstate").status_code == 403
    lifted = run(
        app, "labels", "set-status", label["id"].lower(), "--action", "reinstate", "--reason", "ok"
    )
    assert lifted.exit_code == 0, lifted.output
    assert client.get(f"/api/v1/labels/{label['id']}").get_json()["status"] == "active"


def test_a_refused_status_change_is_one_error_line_and_writes_nothing(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    start = tree_size()
    again = run(app, "labels", "set-status", label["id"], "--action", "reinstate", "--reason", "x")
    assert again.exit_code == 1
    assert again.stderr.startswith("Error: ")
    assert "Traceback" not in again.output
    assert tree_size() == start
    revoke = run(app, "labels", "set-status", label["id"], "--action", "revoke", "--reason", "x")
    assert revoke.exit_code == 2  # not a choice: revoking is the issuing body's
    missing = run(app, "labels", "set-status", "0000000000", "--action", "suspend", "--reason", "x")
    assert missing.exit_code == 1
    assert "no label" in missing.stderr


def test_an_unknown_report_is_one_error_line(app: Flask, world: LabelWorld) -> None:
    result = run(app, "reports", "set-status", "999999", "--status", "seen")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")

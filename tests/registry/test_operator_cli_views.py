"""The operator's `list` and `show` commands, the status commands and `setup status`, on SQLite
and PostgreSQL: what they print is what the database and the API say, never a token's secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from registry.auth.models import ApiToken
from registry.bodies.models import Accreditation, BodyStatus
from registry.bodies.services import get_body
from registry.db import db, transaction
from registry.ledger.services import tree_size
from tests.registry.factories import AdminWorld, build_admin_world, ledger_tail

Db = scoped_session[Session]


@pytest.fixture
def world(db_session: Db) -> AdminWorld:
    with transaction():
        return build_admin_world()


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def test_lists_name_every_row_and_json_is_the_apis(app: Flask, world: AdminWorld) -> None:
    schemes = ok(run(app, "schemes", "list"))
    assert schemes.splitlines()[0].split() == ["CODE", "REGION", "RULES", "NAME", "(en)"]
    assert {line.split()[0] for line in schemes.splitlines()[1:]} == {"CN-GD", "HK"}
    as_json = json.loads(ok(run(app, "schemes", "list", "--json")))
    api = app.test_client().get("/api/v1/schemes").get_json()
    assert as_json == (api["schemes"] if isinstance(api, dict) else api)

    rules = ok(run(app, "rules", "list", "--scheme", "CN-GD"))
    assert "PCR-LIB" in rules
    assert rules.splitlines()[1].split()[-1] == "-"  # no version in force yet

    bodies = ok(run(app, "bodies", "list"))
    assert "lingnan" in bodies
    assert "active" in bodies
    shown = json.loads(ok(run(app, "bodies", "show", "lingnan")))
    assert shown["code"] == "lingnan"


def test_an_unknown_name_is_one_error_line(app: Flask, world: AdminWorld) -> None:
    for args in (
        ("schemes", "show", "NOPE"),
        ("bodies", "show", "nope"),
        ("tokens", "show", "999"),
    ):
        result = run(app, *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: ")
        assert "Traceback" not in result.output


def test_tokens_are_listed_by_name_and_role_never_by_secret(app: Flask, world: AdminWorld) -> None:
    listed = ok(run(app, "tokens", "list"))
    as_json = ok(run(app, "tokens", "list", "--json"))
    first = db.session.scalars(select(ApiToken.id).order_by(ApiToken.id)).first()
    shown = ok(run(app, "tokens", "show", str(first)))
    assert json.loads(shown)["id"] == first
    for secret in (world.operator, world.certifier, world.regulator, world.hk_regulator):
        assert secret not in listed
        assert secret not in as_json
        assert secret not in shown
    count = db.session.scalar(select(db.func.count()).select_from(ApiToken))
    assert len(listed.splitlines()) == 1 + count
    assert {"operator", "certifier", "regulator"} <= set(listed.split())


def test_body_status_is_ledgered_like_the_api_and_refuses_a_repeat(
    app: Flask, world: AdminWorld
) -> None:
    start = tree_size()
    said = ok(
        run(app, "bodies", "set-status", "lingnan", "--status", "suspended", "--reason", "audit")
    )
    assert said.strip() == "Body lingnan is now suspended."
    assert get_body("lingnan").status is BodyStatus.SUSPENDED
    (entry,) = ledger_tail(start)
    assert (entry["event"], entry["status"], entry["by"]["role"]) == (
        "body.status_changed",
        "suspended",
        "operator",
    )
    again = run(app, "bodies", "set-status", "lingnan", "--status", "suspended", "--reason", "x")
    assert again.exit_code == 1
    assert "already suspended" in again.stderr
    assert tree_size() == start + 1
    missing = run(app, "bodies", "set-status", "lingnan", "--status", "active")
    assert missing.exit_code == 2  # click: a required option is missing
    assert "--reason" in missing.output


def test_accreditation_status_and_listing(app: Flask, world: AdminWorld) -> None:
    ok(
        run(
            app,
            *("bodies", "accredit", "lingnan", "CN-GD", "--category", "battery"),
            *("--accreditation-body", "CNAS", "--reference", "CNAS-C001"),
            *("--valid-from", "2024-01-01T00:00:00+08:00"),
        )
    )
    accreditation = db.session.scalars(select(Accreditation)).one()
    listed = ok(run(app, "bodies", "accreditations", "--body", "lingnan"))
    assert listed.splitlines()[1].split()[:5] == [
        str(accreditation.id),
        "lingnan",
        "CN-GD",
        "battery",
        "active",
    ]
    start = tree_size()
    said = ok(
        run(
            app,
            *("bodies", "set-accreditation-status", str(accreditation.id)),
            *("--status", "withdrawn", "--reason", "lapsed"),
        )
    )
    assert "withdrawn" in said
    assert tree_size() == start + 1
    assert json.loads(ok(run(app, "bodies", "accreditation", str(accreditation.id))))["status"] == (
        "withdrawn"
    )


def test_setup_status_names_the_next_step_until_every_one_is_done(
    app: Flask, world: AdminWorld
) -> None:
    result = run(app, "setup", "status")
    assert result.exit_code == 1  # no rule version, accreditation, key… yet
    steps = json.loads(run(app, "setup", "status", "--json").stdout)
    done = {step["step"]: step["done"] for step in steps}
    assert done["A scheme"] is True
    assert done["A rule version in force (its grade thresholds)"] is False
    pending = next(step for step in steps if not step["done"])
    assert f"Next: {pending['step']}:" in result.stdout
    assert pending["command"] in result.stdout
    assert pending["command"].startswith(".venv/bin/flask --app wsgi ")


def test_setup_status_on_an_empty_database_says_to_upgrade(tmp_path: Path) -> None:
    from tests.registry.conftest import build_app

    app = build_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path / "i", upgrade=False)
    try:
        result = run(app, "setup", "status")
        assert result.exit_code == 1
        assert "db upgrade" in result.stdout
        assert "Traceback" not in result.output
    finally:
        with app.app_context():
            db.engine.dispose()


def test_mappings_publish_and_withdraw_from_a_file(
    app: Flask, world: AdminWorld, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    refused = run(app, "mappings", "publish", str(bad))
    assert refused.exit_code == 1
    assert "not UTF-8 JSON" in refused.stderr
    assert "Traceback" not in refused.output
    listed = ok(run(app, "mappings", "list"))
    assert listed.splitlines()[0].split()[:2] == ["MAPPING", "REVISION"]

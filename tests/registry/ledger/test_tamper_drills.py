"""Tamper drills: an attacker with the database disables the append-only triggers and rewrites
the ledger. Each time ``flask audit run``, ``flask ledger verify`` and ``GET /health`` detect it
and name the entry. On SQLite the trigger is dropped, on PostgreSQL disabled (as superuser);
both are rolled back with the test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from credentials import canonicalize_jcs, format_entry_time, leaf_hash
from registry.db import db
from registry.ledger.models import LedgerEntry
from registry.ledger.services import publish_checkpoint
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels import support
from tests.registry.labels.support import change_status, issue

# These drills run on the label tests' registry (labels to tamper with): its fixtures.
label_app, app, world = support.label_app, support.app, support.world


def _allow_rewrites() -> None:
    """What the attacker does first (migrations *append_only_triggers*)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        )
    else:
        db.session.execute(text("DROP TRIGGER ledger_entries_no_update"))
        db.session.execute(text("DROP TRIGGER ledger_entries_no_delete"))


def _run(app: Flask, *args: str) -> tuple[int, str]:
    db.session.connection()  # read_snapshot then reads inside the test's transaction
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _body(seq: int) -> dict[str, Any]:
    raw = db.session.execute(select(LedgerEntry.body).where(LedgerEntry.seq == seq)).scalar_one()
    parsed: dict[str, Any] = json.loads(bytes(raw))
    return parsed


def _rewrite(seq: int, body: bytes) -> None:
    """Rewrite an entry's bytes and, as a careful attacker would, its own leaf hash."""
    db.session.execute(
        text("UPDATE ledger_entries SET body = :body, leaf_hash = :leaf WHERE seq = :seq"),
        {"body": body, "leaf": leaf_hash(body), "seq": seq},
    )


def _audit_findings(app: Flask) -> tuple[int, list[dict[str, Any]]]:
    code, output = _run(app, "audit", "run", "--json")
    findings: list[dict[str, Any]] = json.loads(output)["findings"]
    return code, findings


def _named(findings: list[dict[str, Any]], kind: str) -> set[int]:
    return {seq for f in findings if f["kind"] == kind for seq in f["evidence"]}


def _health(client: FlaskClient) -> tuple[int, list[str]]:
    response = client.get("/health")
    problems: list[str] = response.get_json()["ledger"]["problems"]
    return response.status_code, problems


@pytest.fixture
def issued(app: Flask, client: FlaskClient, world: LabelWorld) -> list[dict[str, Any]]:
    """Three labels under a signed checkpoint, and a clean bill of health to start from."""
    labels = [
        issue(client, world.certifier, label_request(value, name=f"Module {value}"))
        for value in ("61.2", "40", "90")
    ]
    publish_checkpoint()
    code, output = _run(app, "ledger", "verify")
    assert code == 0, output
    assert _health(client) == (200, [])
    return labels


def _issuance_seq(label: dict[str, Any]) -> int:
    return int(
        db.session.execute(
            text("SELECT ledger_seq FROM labels WHERE id = :id"), {"id": label["id"]}
        ).scalar_one()
    )


def test_drill_footprint_rewritten_in_an_issuance(
    app: Flask, client: FlaskClient, world: LabelWorld, issued: list[dict[str, Any]]
) -> None:
    seq = _issuance_seq(issued[0])
    body = _body(seq)
    body["footprint"] = "6.12"  # grade B stated, A by the thresholds
    _allow_rewrites()
    _rewrite(seq, canonicalize_jcs(body))
    code, findings = _audit_findings(app)
    assert code == 1
    assert seq in _named(findings, "tampered_entry")
    assert seq in _named(findings, "grade_mismatch")
    code, output = _run(app, "ledger", "verify")
    assert code == 1
    assert f"entry {seq}: the stored leaf node differs" in output
    status, problems = _health(client)
    assert status == 503
    assert f"entry {seq}: the stored leaf node differs from the entry's leaf hash" in problems
    # The regulator of the entry's scheme sees the tampering too.
    response = client.get("/api/v1/audit/findings", headers=support.auth(world.regulator))
    assert seq in _named(response.get_json()["findings"], "tampered_entry")


def test_drill_entry_deleted(
    app: Flask, client: FlaskClient, world: LabelWorld, issued: list[dict[str, Any]]
) -> None:
    assert change_status(client, world.certifier, issued[1]["id"], "suspend").status_code == 200
    seq = int(
        db.session.execute(select(LedgerEntry.seq).order_by(LedgerEntry.seq.desc())).first()[0]
    )  # type: ignore[index]
    assert issue(client, world.certifier, label_request("70", name="After"))  # seq + 1
    _allow_rewrites()
    db.session.execute(text("DELETE FROM ledger_entries WHERE seq = :seq"), {"seq": seq})
    code, findings = _audit_findings(app)
    assert code == 1
    assert seq in _named(findings, "tampered_entry")  # "entry {seq} is missing"
    assert seq + 1 in _named(findings, "refused_entry")  # replay expected seq, got seq + 1
    code, output = _run(app, "ledger", "verify")
    assert code == 1
    assert f"entry {seq} is missing" in output
    status, problems = _health(client)
    assert status == 503
    assert any(p.startswith(f"entry {seq} is missing") for p in problems)


def test_drill_two_entries_reordered(
    app: Flask, client: FlaskClient, issued: list[dict[str, Any]]
) -> None:
    first, second = _issuance_seq(issued[1]), _issuance_seq(issued[2])
    assert second == first + 1
    a, b = canonicalize_jcs(_body(first)), canonicalize_jcs(_body(second))
    _allow_rewrites()
    _rewrite(first, b)
    _rewrite(second, a)
    code, findings = _audit_findings(app)
    assert code == 1
    assert {first, second} <= _named(findings, "refused_entry")
    assert {first, second} <= _named(findings, "tampered_entry")
    code, output = _run(app, "ledger", "verify")
    assert code == 1
    assert f"entry {first}: seq in the body is {second}" in output
    status, problems = _health(client)
    assert status == 503
    assert f"entry {first}: the body states seq {second}" in problems
    assert f"entry {second}: the body states seq {first}" in problems


def test_drill_forged_issuance_inserted(
    app: Flask, client: FlaskClient, issued: list[dict[str, Any]]
) -> None:
    template = _body(_issuance_seq(issued[0]))
    seq = int(db.session.execute(text("SELECT max(seq) FROM ledger_entries")).scalar_one()) + 1
    when = datetime.now(UTC)
    forged = {
        **template,
        "label": "FORGED0000",
        "seq": seq,
        "time": format_entry_time(when),
        "statusLists": {
            purpose: {**slot, "index": slot["index"] + 50_000}
            for purpose, slot in template["statusLists"].items()
        },
    }
    body = canonicalize_jcs(forged)
    # An INSERT needs no disabled trigger: the attacker writes a row past the append path.
    db.session.execute(
        text(
            "INSERT INTO ledger_entries (seq, time, event, body, leaf_hash) "
            "VALUES (:seq, :time, 'label.issued', :body, :leaf)"
        ),
        {"seq": seq, "time": when.replace(tzinfo=None) if _naive() else when, "body": body,
         "leaf": leaf_hash(body)},
    )  # fmt: skip
    code, findings = _audit_findings(app)
    assert code == 1
    assert seq in _named(findings, "state_mismatch")  # in the ledger, not in the tables
    assert seq in _named(findings, "tampered_entry")  # no leaf node: not appended by the log
    code, output = _run(app, "ledger", "verify")
    assert code == 1
    assert f"entry {seq}: no leaf node is stored for it" in output
    status, problems = _health(client)
    assert status == 503
    assert f"entry {seq}: no leaf node is stored for it" in problems


def _naive() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"

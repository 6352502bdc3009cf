"""Recognition mappings through the API, on SQLite and PostgreSQL: who may publish, revisions,
withdrawals, references checked, the ledger and the trust bundle; then a label issued here is
answered for regions offline, from its downloaded bundle alone."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from credentials import (
    RecognitionOutcome,
    TrustBundle,
    recognise_label,
    verify_label,
)
from registry.auth.models import Role
from registry.auth.services import create_token
from registry.db import db, transaction
from registry.ledger.state import verify_state
from tests.registry.factories import LabelWorld, ledger_tail
from tests.registry.labels.support import auth, issue, label_bundle, problem

MAPPINGS = "/api/v1/recognition/mappings"


def mapping(**changes: Any) -> dict[str, Any]:
    """CN-GD batteries recognised in Hong Kong, recomputed under HK-LIB 1.0."""
    body: dict[str, Any] = {
        "mappingId": f"GD-HK-{secrets.token_hex(4)}",
        "source": {"scheme": "CN-GD", "rules": ["PCR-LIB"], "versions": {"minimum": "1.0"}},
        "target": {"scheme": "HK", "region": "HK", "ruleId": "HK-LIB", "ruleVersion": "1.0"},
        "mode": "recompute",
        "effectiveFrom": "2025-01-01T00:00:00Z",
        "approvedBy": "HK regulator (fictitious)",
        "agreementSha256": "5e" * 32,
    }
    return body | changes


def publish(client: FlaskClient, secret: str | None, body: dict[str, Any]) -> Any:
    return client.post(MAPPINGS, json=body, headers=auth(secret))


def hk_regulator(app: Flask) -> str:
    with app.app_context(), transaction():
        return create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]


def test_the_target_schemes_regulator_publishes_and_the_entry_is_ledgered(
    app: Flask, client: FlaskClient
) -> None:
    body = mapping()
    with app.app_context():
        start = db.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
        db.session.remove()
    published = publish(client, hk_regulator(app), body)
    assert published.status_code == 201, published.get_json()
    row = published.get_json()
    assert row["mapping"]["revision"] == 1
    assert row["mapping"]["mappingId"] == body["mappingId"]
    assert published.headers["Location"].endswith(f"{MAPPINGS}/{body['mappingId']}")
    with app.app_context():
        [entry] = [e for e in ledger_tail(start) if e["event"] == "mapping.published"]
        db.session.remove()
    assert entry["mapping"] == row["mapping"]
    assert entry["by"]["role"] == "regulator"
    assert entry["by"]["schemes"] == ["HK"]
    listed = client.get(MAPPINGS).get_json()
    assert body["mappingId"] in {m["mapping"]["mappingId"] for m in listed}


def test_nobody_else_publishes_for_a_scheme(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    # world.regulator oversees CN-GD, the source: what Hong Kong recognises is Hong Kong's call.
    problem(publish(client, world.regulator, mapping()), 403, "forbidden")
    problem(publish(client, world.certifier, mapping()), 403, "forbidden")
    problem(publish(client, None, mapping()), 401, "unauthenticated")


def test_a_revision_supersedes_and_a_stale_one_is_a_conflict(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    first = mapping()
    assert publish(client, world.operator, first).status_code == 201
    second = first | {"revision": 2, "conditions": {"systemBoundaries": ["cradle-to-grave"]}}
    assert publish(client, world.operator, second).status_code == 201
    problem(publish(client, world.operator, first | {"revision": 2}), 409, "conflict")
    problem(publish(client, world.operator, first | {"revision": 4}), 409, "conflict")
    revisions = client.get(f"{MAPPINGS}/{first['mappingId']}").get_json()
    assert [r["mapping"]["revision"] for r in revisions] == [1, 2]
    current = {m["mapping"]["mappingId"]: m for m in client.get(MAPPINGS).get_json()}
    assert current[first["mappingId"]]["mapping"]["revision"] == 2
    # Omitting the revision takes the next one.
    third = publish(client, world.operator, {k: v for k, v in first.items() if k != "revision"})
    assert third.get_json()["mapping"]["revision"] == 3


def test_a_withdrawal_is_a_revision_and_happens_once(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    body = mapping()
    publish(client, world.operator, body)
    url = f"{MAPPINGS}/{body['mappingId']}/withdraw"
    blank = client.post(url, json={"reason": " "}, headers=auth(world.operator))
    problem(blank, 422, "validation-failed")
    problem(client.post(url, json={"reason": "x"}, headers=auth(world.regulator)), 403, "forbidden")
    done = client.post(url, json={"reason": "Arrangement ended"}, headers=auth(world.operator))
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["withdrawn"] is True
    assert done.get_json()["mapping"]["revision"] == 2
    problem(
        client.post(url, json={"reason": "again"}, headers=auth(world.operator)), 409, "conflict"
    )
    problem(client.post(url, json={"reason": ""}, headers=auth(world.operator)), 409, "conflict")
    ids = {m["mapping"]["mappingId"] for m in client.get(MAPPINGS).get_json()}
    assert body["mappingId"] not in ids
    everything = client.get(f"{MAPPINGS}?withdrawn=true").get_json()
    assert body["mappingId"] in {m["mapping"]["mappingId"] for m in everything}
    problem(client.post(f"{MAPPINGS}/NOPE/withdraw", json={"reason": "x"},
                        headers=auth(world.operator)), 404, "not-found")  # fmt: skip


def test_references_are_checked_against_the_register(
    client: FlaskClient, world: LabelWorld
) -> None:
    cases = [
        mapping(source={"scheme": "CN-GD", "rules": ["NO-SUCH-RULE"]}),
        mapping(target={"scheme": "HK", "region": "MO", "ruleId": "HK-LIB", "ruleVersion": "1.0"}),
        mapping(target={"scheme": "HK", "region": "HK", "ruleId": "HK-LIB", "ruleVersion": "9"}),
        mapping(target={"scheme": "CN-GD", "region": "CN-GD", "ruleId": "PCR-LIB",
                        "ruleVersion": "1.0"}),
        mapping(mode="table"),
        mapping(agreementSha256="not a hash"),
        mapping(mappingId="has space"),
        mapping(mappingId="<script>"),
        mapping(approvedBy="\u202eevil"),
        mapping(effectiveFrom="yesterday"),
    ]  # fmt: skip
    for body in cases:
        problem(publish(client, world.operator, body), 422, "validation-failed")
    problem(publish(client, world.operator, mapping(source={"scheme": "XX"})), 422,
            "validation-failed")  # fmt: skip
    unknown = mapping(source={"scheme": "ZZ-NONE", "rules": ["PCR-LIB"]})
    problem(publish(client, world.operator, unknown), 404, "not-found")


def test_revisions_cannot_be_rewritten_in_the_database(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    publish(client, world.operator, mapping())
    with app.app_context():
        for statement in (
            "UPDATE recognition_mappings SET withdrawn = true",
            "DELETE FROM recognition_mappings",
        ):
            try:
                with db.session.begin_nested():
                    db.session.execute(text(statement))
            except DBAPIError:
                pass
            else:
                raise AssertionError(f"{statement} went through")
        db.session.rollback()
        db.session.remove()


def test_the_ledger_replays_into_the_mapping_table(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    body = mapping()
    publish(client, world.operator, body)
    client.post(f"{MAPPINGS}/{body['mappingId']}/withdraw", json={"reason": "Ended"},
                headers=auth(world.operator))  # fmt: skip
    with app.app_context():
        report = verify_state()
        db.session.remove()
    assert report.ok, (report.violation, report.mismatches)


def test_a_label_issued_here_is_answered_for_each_region_offline(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    strict = mapping(conditions={"systemBoundaries": ["cradle-to-grave"]})
    strict["target"] = {"scheme": "HK", "region": "HK", "ruleId": "HK-LIB", "ruleVersion": "1.0"}
    assert publish(client, world.operator, mapping()).status_code == 201
    label = issue(client, world.certifier)
    bundle = label_bundle(client, label["id"])
    # Offline from here: the credential and its bundle, nothing else.
    trust = TrustBundle.from_json(bundle)
    assert trust.schemes["HK"] == "HK"
    assert any(m.target.scheme == "HK" for m in trust.mappings)
    assert any(r.rule_id == "HK-LIB" for r in trust.rules)
    report = verify_label(label["credential"], trust=trust)
    assert report.verified, report.to_json()
    at = report.label.valid_from if report.label else None
    assert at is not None
    home = recognise_label(report, trust, "CN-GD", at=at)
    hong_kong = recognise_label(report, trust, "HK", at=at)
    macao = recognise_label(report, trust, "MO", at=at)
    assert home.outcome is RecognitionOutcome.NATIVE
    assert hong_kong.outcome is RecognitionOutcome.RECOGNISED
    assert hong_kong.grade == label["grade"]  # the test rules share one set of thresholds
    assert macao.outcome is RecognitionOutcome.NO_MAPPING


def test_the_label_page_answers_for_the_readers_region(
    client: FlaskClient, world: LabelWorld
) -> None:
    assert publish(client, world.operator, mapping()).status_code == 201
    label = issue(client, world.certifier)
    plain = client.get(f"/l/{label['id']}")
    assert 'name="region"' in plain.text
    assert '<option value="HK">' in plain.text
    assert "data-recognition" not in plain.text
    hong_kong = client.get(f"/l/{label['id']}?region=HK", headers={"Accept-Language": "zh-HK"})
    assert hong_kong.status_code == 200
    assert 'data-recognition="recognised" data-region="HK"' in hong_kong.text
    assert hong_kong.headers["ETag"] != plain.headers["ETag"]
    macao = client.get(f"/l/{label['id']}?region=MO")
    assert 'data-recognition="no_mapping"' in macao.text
    assert len(hong_kong.data) < 30 * 1024
    refused = client.get(f"/l/{label['id']}?region=%3Cscript%3E")
    assert refused.status_code == 400
    assert "<script>" not in refused.text

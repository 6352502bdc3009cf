"""A label states the assurance its verification gave (ISO 14064-3 / ISO 14065), on SQLite and
PostgreSQL: both issuance doors take it, the signed credential states it (checked with the kit),
the row keeps it, ``minAssurance`` passes or fails on it, the page and certificate show it."""

from __future__ import annotations

import secrets
import string
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from credentials import (
    Condition,
    RecognitionOutcome,
    TrustBundle,
    parse_label_credential,
    read_certificate,
    recognise_label,
    verify_document,
    verify_label,
)
from credentials.cli import main as carbonlabel
from registry.db import db
from registry.labels.models import Label
from tests.pdf_edits import edited_pdf
from tests.registry.factories import LabelWorld, label_request, vc_issue_request
from tests.registry.labels.support import auth, issue, label_bundle, problem, snapshot
from tests.registry.labels.test_certificate import PINNED, _certificate

LEVELS = ["limited", "reasonable", None]
# null is "not stated", as for every optional member of the request (grade, supersedes).
BAD_LEVELS = ["high", "Reasonable", "reasonable ", "", 1, True, ["limited"], {"x": 1}]


def _request(assurance: str | None) -> dict[str, Any]:
    return label_request() if assurance is None else label_request(assurance=assurance)


def _stored(app: Flask, label_id: str) -> str | None:
    with app.app_context():
        label = db.session.get(Label, label_id)
        assert label is not None
        stored = label.assurance
        db.session.remove()
    return stored


@pytest.mark.parametrize("assurance", LEVELS)
def test_issuing_states_the_level_in_the_signed_credential(
    app: Flask, client: FlaskClient, world: LabelWorld, assurance: str | None
) -> None:
    label = issue(client, world.certifier, _request(assurance))
    assert label["assurance"] == assurance
    credential = label["credential"]
    subject = credential["credentialSubject"]
    assert subject.get("assurance") == assurance
    assert ("assurance" in subject) is (assurance is not None)
    assert _stored(app, label["id"]) == assurance
    # The kit, offline, from the label's own bundle: the level is signed and read back.
    bundle = label_bundle(client, label["id"])
    report = verify_label(credential, trust=TrustBundle.from_json(bundle))
    assert report.verified, report.to_json()
    assert report.label is not None
    assert report.label.assurance == assurance
    if assurance is not None:
        other = "limited" if assurance == "reasonable" else "reasonable"
        upgraded = {**credential, "credentialSubject": {**subject, "assurance": other}}
        assert not verify_label(upgraded, trust=TrustBundle.from_json(bundle)).verified


@pytest.mark.parametrize("assurance", LEVELS)
def test_the_vc_api_door_states_it_the_same_way(
    app: Flask, client: FlaskClient, world: LabelWorld, assurance: str | None
) -> None:
    body = vc_issue_request()
    if assurance is not None:
        body["credential"]["credentialSubject"]["assurance"] = assurance
    response = client.post("/credentials/issue", json=body, headers=auth(world.certifier))
    assert response.status_code == 201, response.get_json()
    credential = response.get_json()["verifiableCredential"]
    verify_document(credential)
    assert parse_label_credential(credential).assurance == assurance
    assert credential["credentialSubject"].get("assurance") == assurance
    assert _stored(app, credential["credentialSubject"]["labelId"]) == assurance


@pytest.mark.parametrize("value", BAD_LEVELS)
def test_a_level_outside_the_two_is_refused_on_both_doors(
    client: FlaskClient, world: LabelWorld, value: Any
) -> None:
    before = snapshot()
    native = client.post(
        "/api/v1/labels", json=label_request(assurance=value), headers=auth(world.certifier)
    )
    assert "assurance" in problem(native, 422, "validation-failed")["errors"]
    body = vc_issue_request()
    body["credential"]["credentialSubject"]["assurance"] = value
    vc = client.post("/credentials/issue", json=body, headers=auth(world.certifier))
    errors = problem(vc, 422, "validation-failed")["errors"]
    assert "assurance" in errors["credential"]["credentialSubject"]
    assert snapshot() == before


def _region_requiring_reasonable(client: FlaskClient, world: LabelWorld) -> str:
    """A scheme of its own region, so no other test's mapping answers there; CN-GD batteries
    are accepted there by value, with reasonable assurance."""
    suffix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
    code, region = f"XA-{suffix}", f"XA-{suffix}"
    scheme = {"code": code, "region": region, "names": {"en": code}, "owner": "XA (fictitious)"}
    created = client.post("/api/v1/schemes", json=scheme, headers=auth(world.operator))
    assert created.status_code == 201, created.get_json()
    mapping = {
        "mappingId": f"GD-{code}",
        "source": {"scheme": "CN-GD", "rules": ["PCR-LIB"]},
        "target": {"scheme": code, "region": region},
        "mode": "value-only",
        "conditions": {"minAssurance": "reasonable"},
        "effectiveFrom": "2025-01-01T00:00:00Z",
        "approvedBy": "XA footprint board (fictitious)",
        "agreementSha256": "a5" * 32,
    }
    published = client.post(
        "/api/v1/recognition/mappings", json=mapping, headers=auth(world.operator)
    )
    assert published.status_code == 201, published.get_json()
    return region


@pytest.mark.parametrize(
    ("assurance", "outcome", "message"),
    [
        ("reasonable", RecognitionOutcome.RECOGNISED, "recognition.assurance.ok"),
        ("limited", RecognitionOutcome.NOT_RECOGNISED, "recognition.assurance.too_low"),
        (None, RecognitionOutcome.NOT_RECOGNISED, "recognition.assurance.not_stated"),
    ],
)
def test_min_assurance_passes_fails_or_is_not_stated_online_and_offline(
    client: FlaskClient,
    world: LabelWorld,
    assurance: str | None,
    outcome: RecognitionOutcome,
    message: str,
) -> None:
    region = _region_requiring_reasonable(client, world)
    label = issue(client, world.certifier, _request(assurance))
    online = client.post(
        "/credentials/verify",
        json={"verifiableCredential": label["credential"], "options": {"region": region}},
    ).get_json()
    assert online["verified"] is True
    answer = online["recognition"]
    assert answer["outcome"] == outcome.value
    (checked,) = [c for c in answer["conditions"] if c["condition"] == "assurance"]
    assert checked == {
        "condition": "assurance",
        "passed": outcome is RecognitionOutcome.RECOGNISED,
        "message": message,
        "params": {"assurance": assurance or "", "minimum": "reasonable"},
    }
    # The same answer from the label's downloaded bundle, with nothing but the kit.
    bundle = TrustBundle.from_json(label_bundle(client, label["id"]))
    report = verify_label(label["credential"], trust=bundle)
    assert report.label is not None
    offline = recognise_label(report, bundle, region, at=report.label.valid_from)
    assert offline.outcome is outcome
    assert [c.passed for c in offline.conditions if c.condition is Condition.ASSURANCE] == [
        outcome is RecognitionOutcome.RECOGNISED
    ]


@pytest.mark.parametrize(
    ("language", "limited", "reasonable"),
    [
        ("en-GB", "limited assurance", "reasonable assurance"),
        ("zh-CN", "有限保证", "合理保证"),
        ("zh-HK", "有限保證", "合理保證"),
        ("pt-MO", "garantia limitada", "garantia razoável"),
    ],
)
def test_the_label_page_shows_the_level_in_the_readers_language(
    client: FlaskClient, world: LabelWorld, language: str, limited: str, reasonable: str
) -> None:
    headers = {"Accept-Language": language}
    shown = {}
    for level in LEVELS:
        label = issue(client, world.certifier, _request(level))
        page = client.get(f"/l/{label['id']}", headers=headers)
        assert page.status_code == 200
        shown[level] = page.text
    assert limited in shown["limited"]
    assert reasonable not in shown["limited"]
    assert reasonable in shown["reasonable"]
    assert limited not in shown[None]
    assert reasonable not in shown[None]


def test_the_certificate_prints_the_level_and_refuses_an_edited_one(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    label = issue(client, world.certifier, _request("limited"))
    pdf = _certificate(client, label["id"], "zh-HK")
    assert "Assurance: limited" in read_certificate(pdf).text
    genuine = tmp_path / "certificate.pdf"
    genuine.write_bytes(pdf)
    assert carbonlabel(["verify", str(genuine), "--registry-key", PINNED]) == 0
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(edited_pdf(pdf, b"(Assurance: limited)", b"(Assurance: reasonable)"))
    assert carbonlabel(["verify", str(forged), "--registry-key", PINNED]) == 1
    plain = issue(client, world.certifier)
    assert "Assurance:" not in read_certificate(_certificate(client, plain["id"])).text

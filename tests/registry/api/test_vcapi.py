"""The W3C VC-API endpoints: issue, verify and status, in the request and response shapes.

``/credentials/issue`` answers 201 ``{"verifiableCredential": …}`` and refuses what the registry
sets; ``/credentials/status`` sets and clears suspension and sets revocation, never clears it.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from credentials import StatusList, parse_status_entries, verify_document
from tests.registry.factories import BASE_URL, LabelWorld, vc_issue_request
from tests.registry.labels.support import (
    app,
    auth,
    entries_since,
    issue,
    label_app,
    ledger_size,
    problem,
    snapshot,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def vc_issue(client: FlaskClient, secret: str, body: dict[str, Any] | None = None) -> TestResponse:
    return client.post("/credentials/issue", json=body or vc_issue_request(), headers=auth(secret))


def vc_status(
    client: FlaskClient, secret: str, credential_id: str, purpose: str, status: Any
) -> TestResponse:
    return client.post(
        "/credentials/status",
        json={
            "credentialId": credential_id,
            "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose},
            "status": status,
            "reason": "Market surveillance sample failed",
        },
        headers=auth(secret),
    )


def verify(client: FlaskClient, credential: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 200
    result: dict[str, Any] = response.get_json()
    return result


def served_bit(client: FlaskClient, credential: dict[str, Any], purpose: str) -> bool:
    (entry,) = [e for e in parse_status_entries(credential) if e.purpose == purpose]
    served = client.get(entry.list_url.removeprefix(BASE_URL)).get_json()
    return StatusList.decode(served["credentialSubject"]["encodedList"]).get(entry.index)


# --- issue -----------------------------------------------------------------------------------


def test_issue_answers_201_with_only_the_verifiable_credential(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    response = vc_issue(client, world.certifier)
    assert response.status_code == 201
    body = response.get_json()
    assert list(body) == ["verifiableCredential"]
    credential = body["verifiableCredential"]
    verify_document(credential)
    subject = credential["credentialSubject"]
    assert subject["grade"] == "B"  # computed by the registry: 45 < 61.2 ≤ 65
    assert subject["product"]["manufacturer"]["name"] == "Foshan Solar Works (fictitious)"
    assert subject["footprint"]["declaredUnit"] == "kWh"
    assert credential["id"] == f"{BASE_URL}/l/{subject['labelId']}"
    assert [s["statusPurpose"] for s in credential["credentialStatus"]] == [
        "revocation",
        "suspension",
    ]
    (entry,) = entries_since(start)
    assert (entry["event"], entry["label"]) == ("label.issued", subject["labelId"])
    shown = client.get(f"/api/v1/labels/{subject['labelId']}").get_json()
    assert shown["credential"] == credential
    assert verify(client, credential)["verified"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "https://attacker.example/l/1"),
        ("issuer", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        ("proof", {"type": "DataIntegrityProof"}),
        ("credentialStatus", []),
        ("validFrom", "2020-01-01T00:00:00Z"),
    ],
)
def test_issue_refuses_what_the_registry_sets(
    client: FlaskClient, world: LabelWorld, field: str, value: Any
) -> None:
    before = snapshot()
    response = vc_issue(client, world.certifier, vc_issue_request(**{field: value}))
    assert field in problem(response, 422, "validation-failed")["errors"]["credential"]
    assert snapshot() == before


def test_issue_refuses_an_asserted_grade_the_thresholds_do_not_give(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = vc_issue_request()
    body["credential"]["credentialSubject"]["grade"] = "A"
    before = snapshot()
    problem(vc_issue(client, world.certifier, body), 422, "grade-mismatch")
    assert snapshot() == before


def test_issue_can_supersede_by_the_old_labels_url(client: FlaskClient, world: LabelWorld) -> None:
    old = issue(client, world.certifier)
    body = vc_issue_request("58.0")
    body["credential"]["credentialSubject"]["supersedes"] = old["url"]
    credential = vc_issue(client, world.certifier, body).get_json()["verifiableCredential"]
    assert credential["credentialSubject"]["supersedes"] == old["url"]
    shown = client.get(f"/api/v1/labels/{old['id']}").get_json()
    assert (shown["status"], shown["superseded_by"]) == (
        "superseded",
        credential["credentialSubject"]["labelId"],
    )


@pytest.mark.parametrize(
    ("secret", "status", "slug"),
    [
        (None, 401, "unauthenticated"),
        ("regulator", 403, "forbidden"),
        ("operator", 403, "forbidden"),
    ],
)
def test_only_a_certifier_issues(
    client: FlaskClient, world: LabelWorld, secret: str | None, status: int, slug: str
) -> None:
    before = snapshot()
    response = client.post(
        "/credentials/issue",
        json=vc_issue_request(),
        headers=auth(None if secret is None else getattr(world, secret)),
    )
    problem(response, status, slug)
    assert snapshot() == before


# --- status ----------------------------------------------------------------------------------


def test_status_sets_and_clears_suspension_and_sets_revocation(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = vc_issue(client, world.certifier).get_json()["verifiableCredential"]
    label_id = credential["credentialSubject"]["labelId"]
    steps = [
        ("suspension", True, "suspended", (False, True), "suspended"),
        ("suspension", False, "active", (False, False), "genuine"),
        ("revocation", True, "revoked", (True, False), "revoked"),
    ]
    for purpose, status, label_status, bits, verdict in steps:
        response = vc_status(client, world.certifier, credential["id"], purpose, status)
        assert response.status_code == 200, response.get_json()
        assert response.get_json() == {"credentialId": label_id, "status": label_status}
        assert (
            served_bit(client, credential, "revocation"),
            served_bit(client, credential, "suspension"),
        ) == bits
        assert verify(client, credential)["verdict"] == verdict


def test_status_takes_the_bare_label_id_too(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    response = vc_status(client, world.certifier, label["id"].lower(), "suspension", True)
    assert response.get_json()["status"] == "suspended"


def test_status_cannot_clear_a_revocation(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    assert vc_status(client, world.certifier, label["url"], "revocation", True).status_code == 200
    before = snapshot()
    response = vc_status(client, world.certifier, label["url"], "revocation", False)
    assert "status" in problem(response, 422, "validation-failed")["errors"]
    problem(
        vc_status(client, world.certifier, label["url"], "suspension", False),
        409,
        "invalid-transition",
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("secret", "purpose", "status", "slug"),
    [
        ("other_certifier", "suspension", True, "forbidden"),
        ("other_certifier", "revocation", True, "forbidden"),
        ("operator", "revocation", True, "forbidden"),
        ("regulator", "suspension", True, "forbidden"),
    ],
)
def test_status_by_anyone_but_the_body_is_forbidden(
    client: FlaskClient, world: LabelWorld, secret: str, purpose: str, status: bool, slug: str
) -> None:
    label = issue(client, world.certifier)
    before = snapshot()
    problem(vc_status(client, getattr(world, secret), label["url"], purpose, status), 403, slug)
    assert snapshot() == before


def test_status_of_an_unknown_credential_is_not_found(
    client: FlaskClient, world: LabelWorld
) -> None:
    response = vc_status(client, world.certifier, f"{BASE_URL}/l/ZZZZZZZZZZ", "suspension", True)
    problem(response, 404, "not-found")


@pytest.mark.parametrize(
    "body",
    [
        {"credentialId": "X", "status": True},
        {"credentialId": "X", "credentialStatus": {"statusPurpose": "suspension"}, "status": 1},
        [],
    ],
    ids=["no-purpose", "numeric-status", "not-an-object"],
)
def test_status_refuses_a_malformed_request(
    client: FlaskClient, world: LabelWorld, body: Any
) -> None:
    response = client.post("/credentials/status", json=body, headers=auth(world.certifier))
    problem(response, 422, "validation-failed")


# --- verify ----------------------------------------------------------------------------------


def test_verify_answers_every_check_with_its_reason(client: FlaskClient, world: LabelWorld) -> None:
    credential = issue(client, world.certifier)["credential"]
    result = verify(client, credential)
    assert set(result) == {"verified", "problemDetails", "results", "verdict", "report"}
    for entry in result["report"]["checks"]:
        assert set(entry) == {
            "check",
            "status",
            "required",
            "outcome",
            "message",
            "params",
            "reason",
        }
        assert entry["reason"]
        assert entry["outcome"] == "ok"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("proofValue", "z" + "2" * 900_000),  # held a gunicorn worker for 30 s (issue 7)
        ("verificationMethod", "did:key:z" + "2" * 450_000 + "#z" + "2" * 450_000),
    ],
)
def test_verify_megabyte_encoded_value_refused_fast(
    client: FlaskClient, world: LabelWorld, where: str, value: str
) -> None:
    """Refused by the length cap (the type of refusal is asserted, never the time taken)."""
    credential = issue(client, world.certifier)["credential"]
    credential["proof"][where] = value
    result = verify(client, credential)
    (proof,) = [c for c in result["report"]["checks"] if c["check"] == "proof"]
    assert (proof["outcome"], result["verdict"]) == ("proof_invalid", "not_genuine")
    assert f"{where if where == 'proofValue' else 'did:key identifier'} is" in proof["reason"]
    assert "the limit is" in proof["reason"]


def test_verify_is_public_and_says_no_to_garbage(client: FlaskClient) -> None:
    result = verify(client, {"type": ["VerifiableCredential"], "credentialSubject": {}})
    assert (result["verified"], result["verdict"]) == (False, "not_genuine")
    assert any(p["check"] == "structure" for p in result["problemDetails"])


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"credential": {}}, 400, "bad-request"),
        ({"verifiableCredential": "eyJ..."}, 400, "bad-request"),
        ({"verifiableCredential": {}, "presentation": {}}, 422, "validation-failed"),
    ],
    ids=["wrong-member", "not-an-object", "unknown-member"],
)
def test_verify_refuses_another_request_shape(
    client: FlaskClient, body: dict[str, Any], status: int, slug: str
) -> None:
    problem(client.post("/credentials/verify", json=body), status, slug)


# --- the VCALM shape and options -------------------------------------------------------------


def _verify_with(client: FlaskClient, credential: dict[str, Any], **options: Any) -> Any:
    return client.post(
        "/credentials/verify", json={"verifiableCredential": credential, "options": options}
    )


def test_verify_answers_in_the_vcalm_shape(client: FlaskClient, world: LabelWorld) -> None:
    credential = issue(client, world.certifier)["credential"]
    result = _verify_with(client, credential, returnCredential=True).get_json()
    assert result["verified"] is True
    assert result["credential"] == credential
    assert result["problemDetails"] == []
    results = result["results"]
    assert results["proof"] == [{"verified": True, "input": credential["proof"]}]
    assert [(e["verified"], e["value"]) for e in results["credentialStatus"]] == [(True, 0)] * 2
    assert [e["input"] for e in results["credentialStatus"]] == credential["credentialStatus"]
    assert results["validFrom"] == {"verified": True, "input": credential["validFrom"]}
    assert results["validUntil"] == {"verified": True, "input": credential["validUntil"]}
    bare = _verify_with(
        client, credential, returnResults=False, returnProblemDetails=False
    ).get_json()
    assert set(bare) == {"verified", "verdict", "report"}


def test_a_revoked_label_shows_its_bit_and_a_problem(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    response = client.post(
        f"/api/v1/labels/{label['id']}/status",
        json={"action": "revoke", "reason": "Data error found in audit"},
        headers=auth(world.certifier),
    )
    assert response.status_code == 200, response.get_json()
    result = _verify_with(client, label["credential"]).get_json()
    assert result["verified"] is False
    revocation = next(
        e
        for e in result["results"]["credentialStatus"]
        if e["input"]["statusPurpose"] == "revocation"
    )
    assert (revocation["verified"], revocation["value"]) == (False, 1)
    [problem_] = [p for p in result["problemDetails"] if p["check"] == "revocation"]
    assert problem_["outcome"] == "revoked"
    assert problem_["type"].endswith("/problems/revoked")


def test_a_forged_proof_has_the_data_integrity_problem_type(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["credentialSubject"]["grade"] = "A"
    result = _verify_with(client, credential).get_json()
    [proof] = [p for p in result["problemDetails"] if p["check"] == "proof"]
    assert proof["type"] == "https://w3id.org/security#PROOF_VERIFICATION_ERROR"
    assert result["results"]["proof"][0]["verified"] is False


def test_an_unknown_option_is_refused_with_the_vcalm_type(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    refused = _verify_with(client, credential, checkEverything=True)
    assert (refused.status_code, refused.mimetype) == (400, "application/problem+json")
    body = refused.get_json()
    assert body["type"] == "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"
    assert "checkEverything" in body["detail"]
    problem(_verify_with(client, credential, returnResults="yes"), 422, "validation-failed")
    problem(_verify_with(client, credential, region="<script>"), 422, "validation-failed")
    problem(_verify_with(client, credential, region=7), 422, "validation-failed")


def test_verify_for_a_region_adds_the_recognition_answer(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    home = _verify_with(client, credential, region="CN-GD").get_json()
    assert home["recognition"]["outcome"] == "native"
    far = _verify_with(client, credential, region="AQ").get_json()
    assert far["recognition"] == {
        **far["recognition"],
        "outcome": "no_mapping",
        "recognised": False,
    }
    forged = {**credential, "validUntil": "2039-01-01T00:00:00Z"}
    answer = _verify_with(client, forged, region="CN-GD").get_json()
    assert answer["recognition"]["outcome"] == "not_verified"

"""The label resource over HTTP: shapes, headers, problem details and conditional requests.

The rules behind each answer (scope, grade, idempotency, authorization) are tested in
``tests/registry/labels``; this module checks what a client sees on the wire.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.registry.factories import BASE_URL, PROBLEM_BASE, LabelWorld, label_request
from tests.registry.labels.support import (
    app,
    auth,
    change_status,
    issue,
    label_app,
    label_bundle,
    problem,
    snapshot,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module

LABEL_KEYS = {
    "id",
    "url",
    "status",
    "status_reason",
    "status_changed_at",
    "grade",
    "product",
    "footprint",
    "rule",
    "body",
    "issued_at",
    "valid_from",
    "valid_until",
    "supersedes",
    "superseded_by",
    "assurance",
    "qr",
    "ledger_index",
    "credential",
}


def test_issuing_answers_201_with_the_label_and_its_location(
    client: FlaskClient, world: LabelWorld
) -> None:
    response = client.post("/api/v1/labels", json=label_request(), headers=auth(world.certifier))
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    label = response.get_json()
    assert set(label) == LABEL_KEYS
    assert response.headers["Location"] == f"/api/v1/labels/{label['id']}"
    assert label["footprint"] == {
        "value": "61.2",
        "unit": "kgCO2e",
        "declared_unit": "kWh",
        "declared_unit_amount": "1",
        "system_boundary": "cradle-to-gate",
        "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
    }
    assert label["rule"] == {
        "scheme": "CN-GD",
        "rule": "PCR-LIB",
        "version": "1.0",
        "category": "battery",
        "standard": "ISO 14067:2018",
    }
    assert label["product"]["manufacturer"] == "Pearl River Energy Storage Ltd. (fictitious)"


def test_a_label_is_public_and_read_case_insensitively(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    for spelling in (label["id"], label["id"].lower()):
        response = client.get(f"/api/v1/labels/{spelling}")
        assert response.status_code == 200
        read = response.get_json()
        # The read adds the entry and its inclusion proof, so the file can be checked offline.
        assert read.pop("ledgerEvidence")["index"] == label["ledger_index"]
        assert read == label
    assert label["url"] == f"{BASE_URL}/l/{label['id']}"


def test_reading_a_label_revalidates_by_etag(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    path = f"/api/v1/labels/{label['id']}"
    first = client.get(path)
    assert first.headers["Cache-Control"] == "public, no-cache"
    etag = first.headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["status"] == "suspended"


@pytest.mark.parametrize("label_id", ["ZZZZZZZZZZ", "short", "0O1IL0O1IL-"])
def test_an_unknown_label_is_a_problem_not_found(client: FlaskClient, label_id: str) -> None:
    for path in (f"/api/v1/labels/{label_id}", f"/api/v1/labels/{label_id}/trust-bundle"):
        response = client.get(path)
        body = problem(response, 404, "not-found")
        assert set(body) >= {"type", "title", "status", "detail", "instance"}
        assert body["instance"] == path
        assert response.headers["Cache-Control"] == "no-store"


def test_a_refusal_is_a_problem_with_field_errors(client: FlaskClient, world: LabelWorld) -> None:
    body = label_request()
    body["footprint"]["value"] = 61.2
    response = client.post("/api/v1/labels", json=body, headers=auth(world.certifier))
    details = problem(response, 422, "validation-failed")
    assert details["title"] == "Validation failed"
    assert details["instance"] == "/api/v1/labels"
    assert list(details["errors"]) == ["footprint"]


@pytest.mark.parametrize(
    ("data", "content_type", "status", "slug"),
    [
        ("not json", "application/json", 400, "bad-request"),
        (json.dumps(label_request()), "text/plain", 415, "unsupported-media-type"),
        ('{"a": NaN}', "application/json", 400, "bad-request"),
        ("[]", "application/json", 422, "validation-failed"),
        (json.dumps(label_request(note="x" * (1024 * 1024))), "application/json", 413, None),
    ],
    ids=["malformed", "not-json-type", "nan", "array", "over-1-MiB"],
)
def test_an_unreadable_body_is_refused_and_writes_nothing(
    client: FlaskClient,
    world: LabelWorld,
    data: str,
    content_type: str,
    status: int,
    slug: str | None,
) -> None:
    before = snapshot()
    response = client.post(
        "/api/v1/labels", data=data, content_type=content_type, headers=auth(world.certifier)
    )
    problem(response, status, slug or "payload-too-large")
    assert snapshot() == before


def test_status_changes_answer_the_label(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    response = change_status(client, world.certifier, label["id"], "suspend", reason="Audit")
    assert response.status_code == 200
    shown = response.get_json()
    assert set(shown) == LABEL_KEYS
    assert (shown["status"], shown["status_reason"]) == ("suspended", "Audit")
    assert shown["status_changed_at"] is not None
    assert shown["credential"] == label["credential"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/labels"), ("post", "/api/v1/labels/ZZZZZZZZZZ/status")],
)
def test_writes_need_a_token(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"action": "suspend", "reason": "x"})
    problem(response, 401, "unauthenticated")


def test_a_method_the_path_does_not_take_is_405_with_allow(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    response = client.delete(f"/api/v1/labels/{label['id']}", headers=auth(world.certifier))
    problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]
    assert client.get(f"/api/v1/labels/{label['id']}").get_json()["status"] == "active"


def test_the_trust_bundle_is_public_and_not_cached(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id']}/trust-bundle")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert set(response.get_json()) == {"payload", "signature"}
    bundle = label_bundle(client, label["id"])
    (body,) = bundle["bodies"]
    assert body["name"] == label["body"]["name"]
    (rule,) = bundle["rules"]
    assert (rule["ruleId"], rule["version"], rule["declaredUnit"]) == ("PCR-LIB", "1.0", "kWh")
    assert rule["thresholds"] == {"A": "45", "B": "65", "C": "85", "D": "110"}
    lists = {s["statusListCredential"] for s in label["credential"]["credentialStatus"]}
    assert set(bundle["statusLists"]) == lists
    evidence = bundle["ledger"][label["id"]]
    assert evidence["index"] == label["ledger_index"]
    assert json.loads(evidence["entry"])["label"] == label["id"]


def test_the_openapi_document_describes_the_label_paths(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for path in (
        "/api/v1/labels",
        "/api/v1/labels/{label_id}",
        "/api/v1/labels/{label_id}/status",
        "/api/v1/labels/{label_id}/trust-bundle",
        "/status-lists/{list_id}",
    ):
        assert path in paths, path
    issue_op = paths["/api/v1/labels"]["post"]
    assert {"201", "200", "401", "403", "422"} <= set(issue_op["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in issue_op["parameters"])
    assert PROBLEM_BASE.startswith("https://")

"""``?dry_run=true`` and :func:`registry.labels.preview.preview_label`: every check, no write.

"Nothing written" is checked by counting the rows of every table of the schema (the ledger
and its tree included), the status lists' allocation counters, and by the next real issuance
getting the very next ledger index and issuing normally under the same Idempotency-Key.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from credentials import parse_label_credential
from registry.auth.services import authenticate
from registry.db import Base, db
from registry.labels.models import IdempotencyKey, StatusListRecord
from registry.labels.preview import DryRunWriteError, _never_written, preview_label
from registry.labels.schemas import label_request_schema
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import auth, issue, ledger_size, problem

KEY = "dry-run-2026-000001"


def everything() -> dict[str, Any]:
    """Row counts of every table, and the status lists' counters."""
    counts: dict[str, Any] = {
        table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }
    counts["status list counters"] = db.session.execute(
        select(StatusListRecord.id, StatusListRecord.allocated).order_by(StatusListRecord.id)
    ).all()
    return counts


def dry_post(
    client: FlaskClient,
    world: LabelWorld,
    body: Any,
    *,
    batch: bool = False,
    key: str | None = None,
) -> Any:
    headers = auth(world.certifier) | ({} if key is None else {"Idempotency-Key": key})
    path = "/api/v1/labels/batch" if batch else "/api/v1/labels"
    return client.post(f"{path}?dry_run=true", json=body, headers=headers)


@pytest.mark.parametrize("key", [None, KEY])
def test_a_dry_run_shows_the_label_and_writes_nothing(
    client: FlaskClient, world: LabelWorld, key: str | None
) -> None:
    before = everything()
    response = dry_post(client, world, label_request("61.2"), key=key)
    assert response.status_code == 200, response.get_json()
    assert "Location" not in response.headers
    shown = response.get_json()
    assert (shown["dry_run"], shown["replayed"]) == (True, False)
    assert shown["grade"] == "B"  # 61.2 under PCR-LIB 1.0 (A ≤ 45, B ≤ 65)
    assert shown["ledger_index"] is None
    assert shown["footprint"]["value"] == "61.2"
    credential = shown["credential"]
    assert "proof" not in credential
    assert "credentialStatus" not in credential
    assert credential["credentialSubject"]["grade"] == "B"
    assert credential["validFrom"] < credential["validUntil"]
    assert everything() == before
    # Nothing was claimed or consumed: the real request with the same key issues normally,
    # at the very next ledger index.
    size = ledger_size()
    issued = issue(client, world.certifier, label_request("61.2"), key=key)
    assert issued["ledger_index"] == size
    assert issued["grade"] == shown["grade"]
    assert issued["id"] != shown["id"]


def test_a_dry_run_credential_is_the_one_issuance_signs(
    client: FlaskClient, world: LabelWorld
) -> None:
    shown = dry_post(client, world, label_request("61.2")).get_json()
    issued = issue(client, world.certifier, label_request("61.2"))
    mine, theirs = dict(shown["credential"]), dict(issued["credential"])
    # What differs is what issuance alone decides: the id, the status entries, the proof.
    for member in ("id", "credentialStatus", "proof"):
        mine.pop(member, None)
        theirs.pop(member, None)
    mine["credentialSubject"] = {
        k: v for k, v in mine["credentialSubject"].items() if k not in ("id", "labelId")
    }
    theirs["credentialSubject"] = {
        k: v for k, v in theirs["credentialSubject"].items() if k not in ("id", "labelId")
    }
    mine.pop("validFrom"), theirs.pop("validFrom")
    mine.pop("validUntil"), theirs.pop("validUntil")
    assert mine == theirs
    parse_label_credential(issued["credential"])


@pytest.mark.parametrize("key", [None, KEY])
def test_a_batch_dry_run_shows_every_label_and_writes_nothing(
    client: FlaskClient, world: LabelWorld, key: str | None
) -> None:
    body = {"labels": [label_request("40"), label_request("100", name="Second module")]}
    before = everything()
    response = dry_post(client, world, body, batch=True, key=key)
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()
    assert shown["dry_run"] is True
    assert [label["grade"] for label in shown["labels"]] == ["A", "D"]
    assert all(label["dry_run"] and "proof" not in label["credential"] for label in shown["labels"])
    assert everything() == before
    headers = auth(world.certifier) | ({} if key is None else {"Idempotency-Key": key})
    real = client.post("/api/v1/labels/batch", json=body, headers=headers)
    assert real.status_code == 201, real.get_json()
    assert [label["grade"] for label in real.get_json()["labels"]] == ["A", "D"]


@pytest.mark.parametrize("batch", [False, True])
def test_a_refused_dry_run_is_refused_as_issuance_would_be_and_writes_nothing(
    client: FlaskClient, world: LabelWorld, batch: bool
) -> None:
    not_yet = label_request(rule=("CN-GD", "PCR-LIB", "2.0"))
    body: Any = {"labels": [label_request(), not_yet]} if batch else not_yet
    before = everything()
    refused = problem(dry_post(client, world, body, batch=batch, key=KEY), 422, "rule-not-in-force")
    assert "issue under a version in force now" in refused["detail"]
    assert everything() == before


def test_a_dry_run_is_refused_an_asserted_grade_that_does_not_match(
    client: FlaskClient, world: LabelWorld
) -> None:
    before = everything()
    response = dry_post(client, world, label_request("61.2", grade="A"))
    assert "is grade B, not A" in problem(response, 422, "grade-mismatch")["detail"]
    assert everything() == before


def test_a_dry_run_with_a_used_key_shows_the_issued_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    issued = issue(client, world.certifier, label_request("61.2"), key=KEY)
    before = everything()
    replay = dry_post(client, world, label_request("61.2"), key=KEY).get_json()
    assert (replay["replayed"], replay["id"]) == (True, issued["id"])
    assert replay["credential"]["proof"] == issued["credential"]["proof"]
    other = dry_post(client, world, label_request("48"), key=KEY)
    problem(other, 422, "idempotency-key-reused")
    assert everything() == before


def test_dry_run_takes_true_or_false_only(client: FlaskClient, world: LabelWorld) -> None:
    before = everything()
    response = client.post(
        "/api/v1/labels?dry_run=yes", json=label_request(), headers=auth(world.certifier)
    )
    body = problem(response, 422, "validation-failed")
    assert "dry_run=true" in body["errors"]["dry_run"][0]
    assert everything() == before


def test_a_dry_run_needs_a_certifier_token(client: FlaskClient, world: LabelWorld) -> None:
    response = client.post(
        "/api/v1/labels?dry_run=true", json=label_request(), headers=auth(world.operator)
    )
    problem(response, 403, "forbidden")


def test_the_preview_service_grades_without_writing(client: FlaskClient, world: LabelWorld) -> None:
    principal = authenticate(world.certifier)
    before = everything()
    preview = preview_label(principal, label_request_schema.load(label_request("100")))
    assert preview.grade == "D"
    assert preview.replayed is False
    assert preview.label["credential"]["credentialSubject"]["grade"] == "D"
    assert everything() == before


def test_inside_a_dry_run_the_database_refuses_any_write(
    client: FlaskClient, world: LabelWorld
) -> None:
    before = everything()
    with pytest.raises(DryRunWriteError, match="INSERT"), _never_written():
        db.session.execute(
            insert(IdempotencyKey).values(
                body_id=1, key="x", request_hash=b"", label_id="0000000000"
            )
        )
    assert everything() == before

"""Certification bodies, accreditations and keys through the admin API, against DB and ledger."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, scoped_session

from credentials import KeyPair
from registry.bodies import services as body_services
from registry.bodies.models import (
    AccreditationStatus,
    BodyKey,
    BodyStatus,
)
from registry.bodies.services import get_accreditation, get_body, get_keystore
from registry.errors import ConflictError
from registry.ledger.services import tree_size
from tests.registry.admin_support import assert_problem, world
from tests.registry.factories import (
    AdminWorld,
    actor_of,
    bearer,
    ledger_tail,
)

__all__ = ["world"]  # the admin fixtures, used by this module

Db = scoped_session[Session]
KEY_FIELDS = {
    "public_key_multibase",
    "did",
    "verification_method",
    "active_from",
    "retired_at",
    "managed",
}


def accreditation_request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scheme": "CN-GD",
        "categories": ["pv-module", "battery"],
        "accreditation_body": "CNAS (fictitious)",
        "reference": "CNAS-C0421 (fictitious)",
        "valid_from": "2025-01-01T00:00:00+08:00",
        "valid_until": "2028-01-01T00:00:00+08:00",
        # The admin world's CN-GD has no pv-module rule (refusals: test_plausibility.py).
        "allow_uncovered_category": True,
    }
    body.update(changes)
    return body


def post(client: FlaskClient, world: AdminWorld, url: str, body: Any = None) -> Any:
    return client.post(url, json=body, headers=bearer(world.operator))


def test_operator_registers_a_body(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    body = {
        "code": "pearl",
        "name": "Pearl Delta Verification Ltd. (fictitious)",
        "names": {"zh-Hans": "珠三角核查有限公司（虚构）"},
        "region": "CN-GD",
    }
    response = post(client, world, "/api/v1/bodies", body)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/api/v1/bodies/pearl"
    assert response.get_json()["status"] == "active"
    assert get_body("pearl").status is BodyStatus.ACTIVE
    [entry] = ledger_tail(start)
    assert entry["event"] == "body.registered"
    assert {k: entry[k] for k in ("body", "name", "region", "names")} == {
        "body": "pearl",
        "name": body["name"],
        "region": "CN-GD",
        "names": body["names"],
    }
    detail = client.get(response.headers["Location"]).get_json()
    assert (detail["accreditations"], detail["keys"]) == ([], [])


def test_bodies_are_public(client: FlaskClient, world: AdminWorld) -> None:
    listed = client.get("/api/v1/bodies").get_json()
    assert [(b["code"], b["status"]) for b in listed] == [("lingnan", "active")]
    assert "keys" not in listed[0]
    assert client.get("/api/v1/bodies/lingnan").get_json()["region"] == "CN-GD"


def test_operator_suspends_and_reinstates_a_body(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    change = {"status": "suspended", "reason": "Annual surveillance audit overdue."}
    response = post(client, world, "/api/v1/bodies/lingnan/status", change)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "suspended"
    assert get_body("lingnan").status is BodyStatus.SUSPENDED
    again = post(client, world, "/api/v1/bodies/lingnan/status", change)
    assert_problem(again, 409, "conflict")
    back = post(
        client, world, "/api/v1/bodies/lingnan/status", {"status": "active", "reason": "ok"}
    )
    assert back.get_json()["status"] == "active"
    assert [(e["event"], e["body"], e["status"], e["reason"]) for e in ledger_tail(start)] == [
        ("body.status_changed", "lingnan", "suspended", change["reason"]),
        ("body.status_changed", "lingnan", "active", "ok"),
    ]


def test_withdrawal_is_final(client: FlaskClient, world: AdminWorld) -> None:
    post(client, world, "/api/v1/bodies/lingnan/status", {"status": "withdrawn", "reason": "x"})
    start = tree_size()
    back = post(client, world, "/api/v1/bodies/lingnan/status", {"status": "active", "reason": "y"})
    assert "final" in assert_problem(back, 409, "conflict")["detail"]
    assert tree_size() == start


@pytest.mark.parametrize(
    "change",
    [
        {"status": "closed", "reason": "x"},
        {"status": "suspended"},
        {"status": "suspended", "reason": ""},
        {"status": "suspended", "reason": "x", "created_at": "2025-01-01T00:00:00Z"},
    ],
)
def test_bad_status_changes_are_refused(
    client: FlaskClient, world: AdminWorld, change: dict[str, Any]
) -> None:
    start = tree_size()
    problem = assert_problem(
        post(client, world, "/api/v1/bodies/lingnan/status", change), 422, "validation-failed"
    )
    assert problem["errors"]
    assert tree_size() == start


def test_operator_grants_an_accreditation(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    response = post(client, world, "/api/v1/bodies/lingnan/accreditations", accreditation_request())
    assert response.status_code == 201, response.get_json()
    granted = response.get_json()
    assert response.headers["Location"] == f"/api/v1/accreditations/{granted['id']}"
    assert granted["body"] == "lingnan"
    assert granted["status"] == "active"
    assert granted["categories"] == ["battery", "pv-module"]
    assert granted["valid_from"] == "2024-12-31T16:00:00+00:00"
    stored = get_accreditation(granted["id"])
    assert stored.status is AccreditationStatus.ACTIVE
    assert stored.categories == ["battery", "pv-module"]
    [entry] = ledger_tail(start)
    assert entry | {"seq": 0, "time": ""} == {
        "seq": 0,
        "time": "",
        "event": "accreditation.granted",
        "v": 1,
        "by": actor_of(world.operator),
        "accreditation": granted["id"],
        "body": "lingnan",
        "scheme": "CN-GD",
        "categories": ["battery", "pv-module"],
        "accreditationBody": "CNAS (fictitious)",
        "reference": "CNAS-C0421 (fictitious)",
        "validFrom": "2024-12-31T16:00:00.000Z",
        "validUntil": "2027-12-31T16:00:00.000Z",
    }
    assert client.get(response.headers["Location"]).get_json() == granted
    assert client.get("/api/v1/bodies/lingnan").get_json()["accreditations"] == [granted]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"categories": []}, "categories"),
        ({"valid_until": "2024-01-01T00:00:00+00:00"}, "valid_until"),
        ({"valid_from": "2025-01-01T00:00:00"}, "valid_from"),
        ({"status": "active"}, "status"),
        ({"id": 7}, "id"),
        ({"body": "lingnan"}, "body"),
    ],
)
def test_invalid_accreditations_are_refused(
    client: FlaskClient, world: AdminWorld, changes: dict[str, Any], field: str
) -> None:
    start = tree_size()
    response = post(
        client, world, "/api/v1/bodies/lingnan/accreditations", accreditation_request(**changes)
    )
    assert field in assert_problem(response, 422, "validation-failed")["errors"]
    assert tree_size() == start


def test_accreditation_for_an_unknown_scheme_writes_nothing(
    client: FlaskClient, world: AdminWorld
) -> None:
    start = tree_size()
    body = accreditation_request(scheme="XX")
    assert_problem(
        post(client, world, "/api/v1/bodies/lingnan/accreditations", body), 404, "not-found"
    )
    assert_problem(
        post(client, world, "/api/v1/bodies/nobody/accreditations", accreditation_request()),
        404,
        "not-found",
    )
    assert tree_size() == start
    assert client.get("/api/v1/bodies/lingnan").get_json()["accreditations"] == []


def test_operator_changes_an_accreditation_status(client: FlaskClient, world: AdminWorld) -> None:
    granted = post(client, world, "/api/v1/bodies/lingnan/accreditations", accreditation_request())
    url = f"/api/v1/accreditations/{granted.get_json()['id']}/status"
    start = tree_size()
    response = post(client, world, url, {"status": "suspended", "reason": "Scope under review."})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["status"], response.get_json()["body"]) == ("suspended", "lingnan")
    assert get_accreditation(granted.get_json()["id"]).status is AccreditationStatus.SUSPENDED
    [entry] = ledger_tail(start)
    assert {k: entry[k] for k in ("event", "accreditation", "body", "status", "reason")} == {
        "event": "accreditation.status_changed",
        "accreditation": granted.get_json()["id"],
        "body": "lingnan",
        "status": "suspended",
        "reason": "Scope under review.",
    }
    post(client, world, url, {"status": "withdrawn", "reason": "Withdrawn by CNAS."})
    assert_problem(post(client, world, url, {"status": "active", "reason": "x"}), 409, "conflict")
    unknown = post(
        client, world, "/api/v1/accreditations/999999/status", {"status": "active", "reason": "x"}
    )
    assert_problem(unknown, 404, "not-found")
    assert_problem(client.get("/api/v1/accreditations/999999"), 404, "not-found")


def test_registry_generated_key_is_sealed_and_never_shown(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    start = tree_size()
    response = client.post("/api/v1/bodies/lingnan/keys", headers=bearer(world.operator))
    assert response.status_code == 201, response.get_json()
    key = response.get_json()
    assert set(key) == KEY_FIELDS
    assert key["managed"] is True
    assert key["retired_at"] is None
    assert key["did"] == f"did:key:{key['public_key_multibase']}"
    location = response.headers["Location"]
    assert location == f"/api/v1/bodies/lingnan/keys/{key['public_key_multibase']}"
    row = db_session.execute(
        select(BodyKey).where(BodyKey.public_key_multibase == key["public_key_multibase"])
    ).scalar_one()
    assert row.secret_box is not None
    pair = get_keystore().open(row.secret_box, public_key_multibase=row.public_key_multibase)
    raw = db_session.execute(text("SELECT * FROM body_keys WHERE id = :id"), {"id": row.id}).one()
    for value in raw:
        if isinstance(value, bytes | memoryview):
            assert pair.seed not in bytes(value), "the seed is stored in the clear"
    served = b"".join(
        client.get(url).data
        for url in (location, "/api/v1/bodies/lingnan", "/api/v1/bodies", "/api/v1/openapi.json")
    )
    secrets = (
        pair.seed,
        pair.seed.hex().encode(),
        base64.b64encode(pair.seed),
        base64.urlsafe_b64encode(pair.seed).rstrip(b"="),
        pair.secret_multibase.encode(),
        base64.b64encode(row.secret_box),
    )
    assert not any(secret in served for secret in secrets)
    assert b"secret" not in client.get("/api/v1/bodies/lingnan").data
    [entry] = ledger_tail(start)
    assert entry | {"seq": 0, "time": ""} == {
        "seq": 0,
        "time": "",
        "event": "key.added",
        "v": 1,
        "by": actor_of(world.operator),
        "body": "lingnan",
        "publicKeyMultibase": key["public_key_multibase"],
        "controller": key["did"],
        "managed": True,
        "activeFrom": entry["activeFrom"],
    }


def test_an_empty_object_also_generates_a_key(client: FlaskClient, world: AdminWorld) -> None:
    response = post(client, world, "/api/v1/bodies/lingnan/keys", {})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["managed"] is True


def test_body_held_public_key_is_registered(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    public = KeyPair.generate().public_key.multibase
    start = tree_size()
    response = post(client, world, "/api/v1/bodies/lingnan/keys", {"public_key_multibase": public})
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["public_key_multibase"], response.get_json()["managed"]) == (
        public,
        False,
    )
    row = db_session.execute(
        select(BodyKey).where(BodyKey.public_key_multibase == public)
    ).scalar_one()
    assert row.secret_box is None
    [entry] = ledger_tail(start)
    assert (entry["event"], entry["publicKeyMultibase"], entry["managed"]) == (
        "key.added",
        public,
        False,
    )
    again = post(client, world, "/api/v1/bodies/lingnan/keys", {"public_key_multibase": public})
    assert_problem(again, 409, "conflict")
    assert tree_size() == start + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"public_key_multibase": "z6MkNotAKey"}, "public_key_multibase"),
        ({"public_key_multibase": "uAAAA"}, "public_key_multibase"),
        ({"managed": False}, "managed"),
        ({"secret_box": "AAAA"}, "secret_box"),
        ({"did": "did:key:z6Mk"}, "did"),
        ({"retired_at": None}, "retired_at"),
    ],
)
def test_bad_key_requests_are_refused(
    client: FlaskClient, world: AdminWorld, body: dict[str, Any], field: str
) -> None:
    start = tree_size()
    response = post(client, world, "/api/v1/bodies/lingnan/keys", body)
    assert field in assert_problem(response, 422, "validation-failed")["errors"]
    assert tree_size() == start


def test_rotation_retires_the_old_key_and_keeps_it_listed(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    old = post(client, world, "/api/v1/bodies/lingnan/keys").get_json()
    start = tree_size()
    response = post(client, world, "/api/v1/bodies/lingnan/keys/rotate")
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["public_key_multibase"] != old["public_key_multibase"]
    assert response.headers["Location"].endswith(new["public_key_multibase"])
    assert [e["event"] for e in ledger_tail(start)] == ["key.added", "key.retired"]
    assert ledger_tail(start)[1]["publicKeyMultibase"] == old["public_key_multibase"]
    db_session.expire_all()  # one session serves every request of a test
    keys = client.get("/api/v1/bodies/lingnan").get_json()["keys"]
    assert [(k["public_key_multibase"], k["retired_at"] is None) for k in keys] == [
        (old["public_key_multibase"], False),
        (new["public_key_multibase"], True),
    ]
    assert set(keys[0]) == KEY_FIELDS


def test_rotation_takes_no_input(client: FlaskClient, world: AdminWorld) -> None:
    public = KeyPair.generate().public_key.multibase
    body = {"public_key_multibase": public}
    response = post(client, world, "/api/v1/bodies/lingnan/keys/rotate", body)
    assert_problem(response, 422, "validation-failed")


def test_a_failed_rotation_leaves_nothing_behind(
    client: FlaskClient, world: AdminWorld, db_session: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = post(client, world, "/api/v1/bodies/lingnan/keys").get_json()
    start = tree_size()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConflictError("simulated failure after the new key was written")

    monkeypatch.setattr(body_services, "retire_body_key", refuse)
    response = post(client, world, "/api/v1/bodies/lingnan/keys/rotate")
    assert_problem(response, 409, "conflict")
    assert tree_size() == start
    db_session.expire_all()
    keys = db_session.execute(select(BodyKey.public_key_multibase, BodyKey.retired_at)).all()
    assert [tuple(k) for k in keys] == [(old["public_key_multibase"], None)]


def test_operator_retires_a_key(client: FlaskClient, world: AdminWorld) -> None:
    key = post(client, world, "/api/v1/bodies/lingnan/keys").get_json()
    url = f"/api/v1/bodies/lingnan/keys/{key['public_key_multibase']}"
    start = tree_size()
    response = post(client, world, f"{url}/retire")
    assert response.status_code == 200, response.get_json()
    retired = response.get_json()
    assert retired["retired_at"] is not None
    [entry] = ledger_tail(start)
    assert (entry["event"], entry["body"], entry["publicKeyMultibase"]) == (
        "key.retired",
        "lingnan",
        key["public_key_multibase"],
    )
    assert client.get(url).get_json() == retired
    assert_problem(post(client, world, f"{url}/retire"), 409, "conflict")
    assert tree_size() == start + 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/bodies/nobody"),
        ("get", "/api/v1/bodies/lingnan/keys/z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        ("post", "/api/v1/bodies/nobody/keys"),
        ("post", "/api/v1/bodies/nobody/keys/rotate"),
        ("post", "/api/v1/bodies/nobody/status"),
        (
            "post",
            "/api/v1/bodies/lingnan/keys/z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/retire",
        ),
    ],
)
def test_unknown_bodies_and_keys_are_404(
    client: FlaskClient, world: AdminWorld, method: str, url: str
) -> None:
    start = tree_size()
    body = {"status": "suspended", "reason": "x"} if url.endswith("status") else None
    kwargs: dict[str, Any] = (
        {"json": body, "headers": bearer(world.operator)} if method == "post" else {}
    )
    assert_problem(getattr(client, method)(url, **kwargs), 404, "not-found")
    assert tree_size() == start


def test_duplicate_body_conflicts(client: FlaskClient, world: AdminWorld) -> None:
    body = {"code": "lingnan", "name": "Another (fictitious)", "region": "CN-GD"}
    assert_problem(post(client, world, "/api/v1/bodies", body), 409, "conflict")


def test_body_responses_are_json_not_the_model(client: FlaskClient, world: AdminWorld) -> None:
    post(client, world, "/api/v1/bodies/lingnan/keys")
    detail = json.loads(client.get("/api/v1/bodies/lingnan").data)
    assert set(detail) == {
        "code",
        "name",
        "names",
        "region",
        "status",
        "created_at",
        "accreditations",
        "keys",
    }

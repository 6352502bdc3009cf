"""API tokens through the admin API: shown once, stored hashed, bound to one role."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, scoped_session

from registry.auth.models import ApiToken, Role
from registry.ledger.services import tree_size
from tests.registry.admin_support import assert_problem, world
from tests.registry.factories import AdminWorld, bearer

__all__ = ["world"]  # the admin fixtures, used by this module

Db = scoped_session[Session]
SCHEME = {"code": "MO", "region": "MO", "names": {"en": "Macao (fictitious)"}, "owner": "DSPA"}


def create(client: FlaskClient, world: AdminWorld, **body: Any) -> Any:
    return client.post("/api/v1/tokens", json=body, headers=bearer(world.operator))


def token_count(session: Db) -> int:
    return session.execute(select(func.count()).select_from(ApiToken)).scalar_one()


def test_token_secret_is_shown_once_and_stored_hashed(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    start = tree_size()
    response = create(client, world, role="operator", name="CI deploy")
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    secret = created["token"]
    assert secret.startswith("clr_")
    assert created["prefix"] == secret[:8]
    assert (created["role"], created["name"], created["body"], created["schemes"]) == (
        "operator",
        "CI deploy",
        None,
        [],
    )
    assert response.headers["Location"] == f"/api/v1/tokens/{created['id']}"
    row = db_session.get_one(ApiToken, created["id"])
    assert row.token_hash == hashlib.sha256(secret.encode()).digest()
    raw = db_session.execute(text("SELECT * FROM api_tokens WHERE id = :id"), {"id": row.id}).one()
    assert not any(isinstance(v, str) and secret in v for v in raw)
    assert not any(isinstance(v, bytes | memoryview) and secret.encode() in bytes(v) for v in raw)
    shown = client.get(response.headers["Location"], headers=bearer(world.operator))
    assert shown.status_code == 200
    assert shown.get_json() == {k: v for k, v in created.items() if k != "token"}
    assert secret not in shown.get_data(as_text=True)
    # Tokens are access control, not part of the public register: nothing is ledgered.
    assert tree_size() == start
    works = client.post("/api/v1/schemes", json=SCHEME, headers=bearer(secret))
    assert works.status_code == 201


def test_certifier_token_is_bound_to_its_body(client: FlaskClient, world: AdminWorld) -> None:
    response = create(client, world, role="certifier", name="lingnan issuing", body="lingnan")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["body"] == "lingnan"
    secret = response.get_json()["token"]
    refused = client.post("/api/v1/schemes", json=SCHEME, headers=bearer(secret))
    assert_problem(refused, 403, "forbidden")


def test_regulator_token_names_its_schemes(client: FlaskClient, world: AdminWorld) -> None:
    response = create(client, world, role="regulator", name="audit", schemes=["HK", "CN-GD"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["schemes"] == ["CN-GD", "HK"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "certifier", "name": "x"}, "body"),
        ({"role": "certifier", "name": "x", "body": "lingnan", "schemes": ["HK"]}, "body"),
        ({"role": "regulator", "name": "x"}, "schemes"),
        ({"role": "regulator", "name": "x", "schemes": ["HK"], "body": "lingnan"}, "schemes"),
        ({"role": "operator", "name": "x", "body": "lingnan"}, "role"),
        ({"role": "root", "name": "x"}, "role"),
        ({"role": "operator"}, "name"),
        ({"role": "operator", "name": ""}, "name"),
        ({"role": "operator", "name": "x", "token": "clr_chosen"}, "token"),
        ({"role": "operator", "name": "x", "id": 1}, "id"),
        ({"role": "operator", "name": "x", "prefix": "clr_abcd"}, "prefix"),
        ({"role": "operator", "name": "x", "revoked_at": None}, "revoked_at"),
        ({"role": "operator", "name": "x", "created_at": "2025-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_invalid_token_requests_are_refused(
    client: FlaskClient, world: AdminWorld, db_session: Db, body: dict[str, Any], field: str
) -> None:
    before = token_count(db_session)
    response = create(client, world, **body)
    assert field in assert_problem(response, 422, "validation-failed")["errors"]
    assert token_count(db_session) == before


@pytest.mark.parametrize(
    "body",
    [
        {"role": "certifier", "name": "x", "body": "nobody"},
        {"role": "regulator", "name": "x", "schemes": ["CN-GD", "XX"]},
    ],
)
def test_tokens_for_unknown_bodies_or_schemes_are_404(
    client: FlaskClient, world: AdminWorld, db_session: Db, body: dict[str, Any]
) -> None:
    before = token_count(db_session)
    assert_problem(create(client, world, **body), 404, "not-found")
    assert token_count(db_session) == before


def test_a_revoked_token_stops_working_at_once(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    created = create(client, world, role="operator", name="temporary").get_json()
    url = f"/api/v1/tokens/{created['id']}/revoke"
    response = client.post(url, headers=bearer(world.operator))
    assert response.status_code == 200, response.get_json()
    revoked_at = response.get_json()["revoked_at"]
    assert revoked_at is not None
    assert "token" not in response.get_json()
    assert db_session.get_one(ApiToken, created["id"]).revoked_at is not None
    used = client.post("/api/v1/schemes", json=SCHEME, headers=bearer(created["token"]))
    assert_problem(used, 401, "unauthenticated")
    again = client.post(url, headers=bearer(world.operator))
    assert again.get_json()["revoked_at"] == revoked_at


def test_unknown_tokens_are_404(client: FlaskClient, world: AdminWorld) -> None:
    headers = bearer(world.operator)
    assert_problem(client.get("/api/v1/tokens/999999", headers=headers), 404, "not-found")
    response = client.post("/api/v1/tokens/999999/revoke", headers=headers)
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("who", ["certifier", "regulator"])
def test_only_the_operator_reads_tokens(client: FlaskClient, world: AdminWorld, who: str) -> None:
    created = create(client, world, role="operator", name="x").get_json()
    response = client.get(f"/api/v1/tokens/{created['id']}", headers=bearer(getattr(world, who)))
    assert_problem(response, 403, "forbidden")
    assert_problem(client.get(f"/api/v1/tokens/{created['id']}"), 401, "unauthenticated")


def test_roles_are_stored_by_value(client: FlaskClient, world: AdminWorld, db_session: Db) -> None:
    created = create(client, world, role="regulator", name="x", schemes=["HK"]).get_json()
    raw = db_session.execute(
        text("SELECT role FROM api_tokens WHERE id = :id"), {"id": created["id"]}
    ).scalar_one()
    assert raw == Role.REGULATOR.value

"""Schemes, rules and rule versions through the admin API, checked against DB and ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from registry.ledger.services import tree_size
from registry.schemes.services import get_rule, get_rule_version, get_scheme
from tests.registry.admin_support import assert_problem, world
from tests.registry.factories import (
    ADMIN_THRESHOLDS,
    AdminWorld,
    actor_of,
    bearer,
    ledger_tail,
)

__all__ = ["world"]  # the admin fixtures, used by this module

Db = scoped_session[Session]
VERSIONS = "/api/v1/schemes/CN-GD/rules/PCR-LIB/versions"


def version_request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "2.1",
        "declared_unit": "kWh",
        "standard": "ISO 14067:2018",
        "in_force_from": "2026-01-01T00:00:00+08:00",
        "in_force_until": None,
        "thresholds": dict(ADMIN_THRESHOLDS),
    }
    body.update(changes)
    return body


def test_operator_registers_a_scheme(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    names = {"en": "Macao carbon label (fictitious)", "pt-MO": "Rótulo de carbono (fictício)"}
    body = {"code": "MO", "region": "MO", "names": names, "owner": "DSPA Macao (fictitious)"}
    response = client.post("/api/v1/schemes", json=body, headers=bearer(world.operator))
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/api/v1/schemes/MO"
    assert response.get_json() == {**body, "created_at": response.get_json()["created_at"]}
    scheme = get_scheme("MO")
    assert (scheme.region, scheme.names, scheme.owner) == ("MO", names, body["owner"])
    [entry] = ledger_tail(start)
    assert entry["event"] == "scheme.registered"
    assert entry | {"seq": 0, "time": ""} == {
        "seq": 0,
        "time": "",
        "event": "scheme.registered",
        "v": 1,
        "by": actor_of(world.operator),
        "scheme": "MO",
        "region": "MO",
        "names": names,
        "owner": body["owner"],
    }
    assert client.get(response.headers["Location"]).get_json()["rules"] == []


def test_schemes_are_public(client: FlaskClient, world: AdminWorld) -> None:
    listed = client.get("/api/v1/schemes")
    assert listed.status_code == 200
    assert [s["code"] for s in listed.get_json()] == ["CN-GD", "HK"]
    assert "rules" not in listed.get_json()[0]
    detail = client.get("/api/v1/schemes/CN-GD").get_json()
    assert detail["names"]["zh-Hans"] == "广东碳标签（虚构）"
    assert [(r["code"], r["category"], r["versions"]) for r in detail["rules"]] == [
        ("PCR-LIB", "battery", [])
    ]


def test_operator_adds_a_rule(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    body = {"code": "PCR-PV", "category": "pv-module", "names": {"en": "PV modules"}}
    response = client.post("/api/v1/schemes/CN-GD/rules", json=body, headers=bearer(world.operator))
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/api/v1/schemes/CN-GD/rules/PCR-PV"
    assert response.get_json()["scheme"] == "CN-GD"
    assert get_rule("CN-GD", "PCR-PV").category == "pv-module"
    [entry] = ledger_tail(start)
    assert entry["event"] == "rule.registered"
    assert {k: entry[k] for k in ("scheme", "rule", "category", "names")} == {
        "scheme": "CN-GD",
        "rule": "PCR-PV",
        "category": "pv-module",
        "names": {"en": "PV modules"},
    }
    assert client.get(response.headers["Location"]).get_json()["versions"] == []


def test_operator_publishes_a_rule_version(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    response = client.post(VERSIONS, json=version_request(), headers=bearer(world.operator))
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == f"{VERSIONS}/2.1"
    published = response.get_json()
    assert published["thresholds"] == {"A": "45", "B": "65", "C": "85", "D": "110.5"}
    assert published["thresholds_unit"] == "kgCO2e"
    assert published["in_force_from"] == "2025-12-31T16:00:00+00:00"  # stored in UTC
    assert (published["scheme"], published["rule"], published["category"]) == (
        "CN-GD",
        "PCR-LIB",
        "battery",
    )
    rv = get_rule_version("CN-GD", "PCR-LIB", "2.1")
    assert rv.thresholds.as_tuple() == (Decimal(45), Decimal(65), Decimal(85), Decimal("110.5"))
    assert (rv.declared_unit, rv.standard, rv.in_force_until) == ("kWh", "ISO 14067:2018", None)
    [entry] = ledger_tail(start)
    assert entry["event"] == "rule_version.published"
    assert entry["thresholds"] == {"A": "45", "B": "65", "C": "85", "D": "110.5"}
    assert entry["inForceFrom"] == "2025-12-31T16:00:00.000Z"
    assert (entry["scheme"], entry["rule"], entry["version"]) == ("CN-GD", "PCR-LIB", "2.1")
    assert client.get(response.headers["Location"]).get_json() == published
    [rule] = client.get("/api/v1/schemes/CN-GD").get_json()["rules"]
    assert rule["versions"] == [published]


def test_thresholds_keep_every_decimal(client: FlaskClient, world: AdminWorld) -> None:
    fine = {"A": "0.000000000001", "B": "45.123456789012", "C": "85", "D": "110"}
    response = client.post(
        VERSIONS, json=version_request(thresholds=fine), headers=bearer(world.operator)
    )
    assert response.status_code == 201, response.get_json()
    assert client.get(f"{VERSIONS}/2.1").get_json()["thresholds"] == fine


def test_large_thresholds_round_trip_exactly(
    client: FlaskClient, world: AdminWorld, db_session: Db
) -> None:
    # 123456.789 is no binary float: a NUMERIC column on SQLite would give back ...0000004.
    bounds = {"A": "45", "B": "65", "C": "85", "D": "123456.789"}
    response = client.post(
        VERSIONS, json=version_request(thresholds=bounds), headers=bearer(world.operator)
    )
    assert response.status_code == 201, response.get_json()
    db_session.expire_all()
    assert get_rule_version("CN-GD", "PCR-LIB", "2.1").threshold_d == Decimal("123456.789")


def test_regulator_publishes_for_a_scheme_it_oversees(
    client: FlaskClient, world: AdminWorld
) -> None:
    start = tree_size()
    response = client.post(VERSIONS, json=version_request(), headers=bearer(world.regulator))
    assert response.status_code == 201, response.get_json()
    assert [e["event"] for e in ledger_tail(start)] == ["rule_version.published"]


@pytest.mark.parametrize("who", ["hk_regulator", "certifier"])
def test_others_may_not_publish_rule_versions(
    client: FlaskClient, world: AdminWorld, who: str
) -> None:
    start = tree_size()
    response = client.post(VERSIONS, json=version_request(), headers=bearer(getattr(world, who)))
    assert_problem(response, 403, "forbidden")
    assert tree_size() == start


def test_a_published_version_is_immutable(client: FlaskClient, world: AdminWorld) -> None:
    first = client.post(VERSIONS, json=version_request(), headers=bearer(world.operator))
    assert first.status_code == 201
    start = tree_size()
    corrected = version_request(thresholds={"A": "40", "B": "60", "C": "80", "D": "100"})
    again = client.post(VERSIONS, json=corrected, headers=bearer(world.operator))
    assert "immutable" in assert_problem(again, 409, "conflict")["detail"]
    assert tree_size() == start
    assert client.get(f"{VERSIONS}/2.1").get_json() == first.get_json()


@pytest.mark.parametrize(
    "statement", ["UPDATE rule_versions SET threshold_a = 0", "DELETE FROM rule_versions"]
)
def test_the_database_refuses_to_rewrite_a_version(
    client: FlaskClient, world: AdminWorld, db_session: Db, statement: str
) -> None:
    client.post(VERSIONS, json=version_request(), headers=bearer(world.operator))
    with pytest.raises(DBAPIError) as info, db_session.begin_nested():
        db_session.execute(text(statement))
    assert "rule_versions" in str(info.value.orig)
    assert "refused" in str(info.value.orig)
    db_session.expire_all()
    assert get_rule_version("CN-GD", "PCR-LIB", "2.1").threshold_a == Decimal(45)


@pytest.mark.parametrize(
    ("thresholds", "field", "message"),
    [
        ({"A": 45, "B": "65", "C": "85", "D": "110"}, "A", "not a JSON number"),
        ({"A": 45.5, "B": "65", "C": "85", "D": "110"}, "A", "not a JSON number"),
        ({"A": "4.5e1", "B": "65", "C": "85", "D": "110"}, "A", "no sign or exponent"),
        ({"A": "-1", "B": "65", "C": "85", "D": "110"}, "A", "no sign or exponent"),
        ({"A": "٤٥", "B": "65", "C": "85", "D": "110"}, "A", "no sign or exponent"),
        ({"A": "NaN", "B": "65", "C": "85", "D": "110"}, "A", "no sign or exponent"),
        ({"A": "45.0000000000001", "B": "65", "C": "85", "D": "110"}, "A", "decimal places"),
        ({"A": "1" * 19, "B": "65", "C": "85", "D": "110"}, "A", "before the point"),
        ({"A": "45", "B": "65", "C": "85"}, "D", "Missing"),
        ({"A": "45", "B": "65", "C": "85", "D": "110", "E": "200"}, "E", "Unknown grade"),
    ],
)
def test_bad_thresholds_are_refused(
    client: FlaskClient, world: AdminWorld, thresholds: dict[str, Any], field: str, message: str
) -> None:
    start = tree_size()
    response = client.post(
        VERSIONS, json=version_request(thresholds=thresholds), headers=bearer(world.operator)
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert message in problem["errors"]["thresholds"][field][0]
    assert tree_size() == start


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"thresholds": {"A": "65", "B": "45", "C": "85", "D": "110"}}, "thresholds"),
        ({"in_force_from": "2026-01-01T00:00:00"}, "in_force_from"),
        # A date alone is accepted (the start of that day in the scheme's time zone): see
        # tests/registry/api/test_error_messages.py. A date with a bad day is not.
        ({"in_force_from": "2026-02-30"}, "in_force_from"),
        ({"in_force_from": "2026-01-01T00:00:00.000001+00:00"}, "in_force_from"),
        ({"in_force_until": "2025-06-01T00:00:00Z"}, "in_force_until"),
        ({"version": "2/1"}, "version"),
        ({"version": "2.1\n"}, "version"),
        ({"declared_unit": ""}, "declared_unit"),
    ],
)
def test_invalid_versions_are_refused(
    client: FlaskClient, world: AdminWorld, changes: dict[str, Any], field: str
) -> None:
    start = tree_size()
    response = client.post(
        VERSIONS, json=version_request(**changes), headers=bearer(world.operator)
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert field in problem["errors"]
    assert tree_size() == start


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/schemes", "created_at"),
        ("/api/v1/schemes", "rules"),
        ("/api/v1/schemes", "id"),
        ("/api/v1/schemes/CN-GD/rules", "scheme"),
        ("/api/v1/schemes/CN-GD/rules", "versions"),
        ("/api/v1/schemes/CN-GD/rules", "created_at"),
        (VERSIONS, "published_at"),
        (VERSIONS, "scheme"),
        (VERSIONS, "category"),
        (VERSIONS, "thresholds_unit"),
        (VERSIONS, "grade"),
    ],
)
def test_server_owned_and_unknown_fields_are_refused(
    client: FlaskClient, world: AdminWorld, url: str, field: str
) -> None:
    valid: dict[str, dict[str, Any]] = {
        "/api/v1/schemes": {"code": "MO", "region": "MO", "names": {"en": "M"}, "owner": "O"},
        "/api/v1/schemes/CN-GD/rules": {"code": "R", "category": "tea", "names": {"en": "Tea"}},
        VERSIONS: version_request(),
    }
    start = tree_size()
    response = client.post(url, json={**valid[url], field: "x"}, headers=bearer(world.operator))
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"] == {field: ["Unknown field."]}
    assert tree_size() == start


def test_duplicates_conflict(client: FlaskClient, world: AdminWorld) -> None:
    start = tree_size()
    scheme = {"code": "HK", "region": "HK", "names": {"en": "again"}, "owner": "someone"}
    rule = {"code": "PCR-LIB", "category": "battery", "names": {"en": "again"}}
    headers = bearer(world.operator)
    assert_problem(client.post("/api/v1/schemes", json=scheme, headers=headers), 409, "conflict")
    response = client.post("/api/v1/schemes/CN-GD/rules", json=rule, headers=headers)
    assert_problem(response, 409, "conflict")
    assert tree_size() == start


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/schemes/XX"),
        ("get", "/api/v1/schemes/CN-GD/rules/NOPE"),
        ("get", f"{VERSIONS}/9.9"),
        ("post", "/api/v1/schemes/XX/rules"),
        ("post", "/api/v1/schemes/CN-GD/rules/NOPE/versions"),
    ],
)
def test_unknown_schemes_rules_and_versions_are_404(
    client: FlaskClient, world: AdminWorld, method: str, url: str
) -> None:
    body = (
        version_request()
        if url.endswith("versions")
        else {"code": "R", "category": "tea", "names": {"en": "Tea"}}
    )
    kwargs: dict[str, Any] = (
        {"json": body, "headers": bearer(world.operator)} if method == "post" else {}
    )
    assert_problem(getattr(client, method)(url, **kwargs), 404, "not-found")

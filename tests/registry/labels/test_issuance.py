"""Issuance rules through ``POST /api/v1/labels``: scope, rule in force, grade, body and key.

Every refusal is checked to leave nothing behind: no ledger entry, no label, no idempotency
claim, no status-list allocation (``snapshot()`` before and after).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials import (
    EDDSA_RDFC_2022,
    KeyPair,
    Thresholds,
    credential_digest,
    grade_for,
    verify_document,
)
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.models import AccreditationStatus, BodyStatus
from registry.bodies.services import (
    add_body_key,
    get_body,
    grant_accreditation,
    register_body,
    retire_body_key,
    set_accreditation_status,
    set_body_status,
)
from registry.clock import utcnow
from registry.db import db, transaction
from registry.labels.models import Label
from tests.registry.factories import (
    BASE_URL,
    LABEL_BODY,
    LABEL_THRESHOLDS,
    LabelWorld,
    label_request,
)
from tests.registry.labels.support import (
    auth,
    entries_since,
    issue,
    ledger_size,
    problem,
    snapshot,
)

LABEL_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")


def refused(
    client: FlaskClient, secret: str, body: dict[str, Any], status: int, slug: str
) -> dict[str, Any]:
    """POST a request that must be refused, and check it wrote nothing at all."""
    before = snapshot()
    response = client.post("/api/v1/labels", json=body, headers=auth(secret))
    details = problem(response, status, slug)
    assert snapshot() == before, "a refused issuance left something behind"
    return details


def test_issues_a_signed_label_graded_and_ledgered_by_the_registry(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    label = issue(client, world.certifier)

    assert LABEL_ID.fullmatch(label["id"])
    assert label["url"] == f"{BASE_URL}/l/{label['id']}"
    assert (label["status"], label["grade"]) == ("active", "B")  # 45 < 61.2 ≤ 65
    assert label["footprint"]["value"] == "61.2"
    assert label["footprint"]["declared_unit"] == "kWh"
    assert label["body"]["code"] == LABEL_BODY
    credential = label["credential"]
    (proof,) = verify_document(credential)
    assert proof.cryptosuite == EDDSA_RDFC_2022
    assert proof.verification_method.split("#")[0] == credential["issuer"]["id"]
    subject = credential["credentialSubject"]
    assert credential["id"] == label["url"]
    assert subject["labelId"] == label["id"]
    assert subject["grade"] == "B"
    assert subject["footprint"]["value"] == "61.2"
    assert subject["rule"] == {
        "type": "ProductRule",
        "ruleId": "PCR-LIB",
        "ruleVersion": "1.0",
        "scheme": "CN-GD",
    }
    purposes = [
        (s["statusPurpose"], s["statusListCredential"]) for s in credential["credentialStatus"]
    ]
    assert [p for p, _ in purposes] == ["revocation", "suspension"]
    assert all(url.startswith(f"{BASE_URL}/status-lists/") for _, url in purposes)

    (entry,) = entries_since(start)
    assert entry["event"] == "label.issued"
    assert entry["seq"] == label["ledger_index"] == start
    assert entry["label"] == label["id"]
    assert entry["credentialDigest"] == credential_digest(credential)
    assert (entry["grade"], entry["footprint"], entry["body"]) == ("B", "61.2", LABEL_BODY)
    row = db.session.get_one(Label, label["id"])
    assert json.loads(row.credential) == credential
    assert row.footprint == Decimal("61.2")


# --- scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [("CN-GD", "PCR-PV", "1.0"), ("HK", "HK-LIB", "1.0")],
    ids=["category-not-accredited", "scheme-not-accredited"],
)
def test_outside_the_accreditation_scope_is_refused(
    client: FlaskClient, world: LabelWorld, rule: tuple[str, str, str]
) -> None:
    refused(client, world.certifier, label_request(rule=rule), 422, "out-of-scope")


def test_a_body_accredited_for_the_category_issues_under_it(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(
        client, world.other_certifier, label_request("300", rule=("CN-GD", "PCR-PV", "1.0"))
    )
    assert label["rule"]["category"] == "pv-module"
    assert label["footprint"]["declared_unit"] == "kWp"


def _body_with_accreditation(state: str) -> str:
    """A third body with a registry-held key and an accreditation in ``state``; its token."""
    now = utcnow()
    periods = {
        "expired": (now - timedelta(days=400), now - timedelta(days=1)),
        "not-yet-valid": (now + timedelta(days=1), None),
    }
    with transaction():
        register_body(
            actor=OPERATOR_CONSOLE,
            code="delta",
            name="Delta Carbon Audit (fictitious)",
            region="CN-GD",
        )
        if state != "none":
            valid_from, valid_until = periods.get(state, (now - timedelta(days=10), None))
            accreditation = grant_accreditation(
                actor=OPERATOR_CONSOLE,
                body_code="delta",
                scheme_code="CN-GD",
                categories=["battery"],
                accreditation_body="CNAS (fictitious)",
                reference="CNAS-DELTA-001",
                valid_from=valid_from,
                valid_until=valid_until,
            )
            if state in ("suspended", "withdrawn"):
                set_accreditation_status(
                    accreditation.id,
                    AccreditationStatus(state),
                    reason="Surveillance finding",
                    actor=OPERATOR_CONSOLE,
                )
        add_body_key("delta", actor=OPERATOR_CONSOLE)
        _, secret = create_token(role=Role.CERTIFIER, name="delta", body_code="delta")
    return secret


@pytest.mark.parametrize("state", ["none", "expired", "not-yet-valid", "suspended", "withdrawn"])
def test_issuance_without_an_accreditation_in_force_is_refused(
    client: FlaskClient, state: str
) -> None:
    secret = _body_with_accreditation(state)
    refused(client, secret, label_request(), 422, "out-of-scope")


def test_the_same_body_issues_once_its_accreditation_is_in_force(client: FlaskClient) -> None:
    secret = _body_with_accreditation("active")
    label = issue(client, secret)
    assert label["body"]["code"] == "delta"


# --- rule version in force -------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.9", "2.0"], ids=["expired", "not-yet-in-force"])
def test_a_rule_version_not_in_force_is_refused(
    client: FlaskClient, world: LabelWorld, version: str
) -> None:
    body = refused(
        client,
        world.certifier,
        label_request(rule=("CN-GD", "PCR-LIB", version)),
        422,
        "rule-not-in-force",
    )
    assert version in body["detail"]


def test_an_unknown_rule_version_is_not_found(client: FlaskClient, world: LabelWorld) -> None:
    refused(
        client, world.certifier, label_request(rule=("CN-GD", "PCR-LIB", "9.9")), 404, "not-found"
    )


# --- grade -----------------------------------------------------------------------------------

# Thresholds A ≤ 45, B ≤ 65, C ≤ 85, D ≤ 110, else E, per kWh; the value is for `amount` kWh.
# Zero is refused unless the rule version allows net-negative values (test_plausibility.py).
GRADE_CASES = [
    ("0.000000000001", None, "A"),
    ("45", None, "A"),
    ("45.000000000001", None, "B"),
    ("65", None, "B"),
    ("65.000000000001", None, "C"),
    ("85", None, "C"),
    ("110", None, "D"),
    ("110.000000000001", None, "E"),
    ("90", "2", "A"),
    ("90.000000000001", "2", "B"),
    ("13", "0.2", "B"),
    ("13.000000000001", "0.2", "C"),
    ("5500", "50", "D"),
    ("5500.000000000001", "50", "E"),
]


@pytest.mark.parametrize(("value", "amount", "grade"), GRADE_CASES)
def test_grade_from_thresholds_with_a_bound_belonging_to_the_better_grade(
    client: FlaskClient, world: LabelWorld, value: str, amount: str | None, grade: str
) -> None:
    label = issue(client, world.certifier, label_request(value, amount=amount, grade=grade))
    assert label["grade"] == label["credential"]["credentialSubject"]["grade"] == grade
    footprint = label["credential"]["credentialSubject"]["footprint"]
    assert Decimal(footprint["value"]) == Decimal(value)
    assert Decimal(footprint["declaredUnitAmount"]) == Decimal(amount or "1")


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    values=st.lists(
        st.decimals(min_value="0.001", max_value=240, places=3), min_size=2, max_size=3, unique=True
    ),
    amount=st.sampled_from(["1", "2", "0.5"]),
)
def test_grade_is_monotone_in_the_footprint(
    client: FlaskClient, world: LabelWorld, values: list[Decimal], amount: str
) -> None:
    """More carbon for the same declared amount never earns a better grade."""
    grades = []
    for value in sorted(values):
        label = issue(client, world.certifier, label_request(f"{value:f}", amount=amount))
        grades.append(label["grade"])
        expected = grade_for(value, Thresholds(*LABEL_THRESHOLDS), amount=Decimal(amount))
        assert label["grade"] == expected
    assert grades == sorted(grades)


@pytest.mark.parametrize("asserted", ["A", "C", "E"])
def test_an_asserted_grade_the_thresholds_do_not_give_is_refused(
    client: FlaskClient, world: LabelWorld, asserted: str
) -> None:
    body = refused(
        client, world.certifier, label_request("61.2", grade=asserted), 422, "grade-mismatch"
    )
    assert f"grade B, not {asserted}" in body["detail"]


# --- the body and its key --------------------------------------------------------------------


@pytest.mark.parametrize("status", [BodyStatus.SUSPENDED, BodyStatus.WITHDRAWN])
def test_a_body_that_is_not_active_cannot_issue(
    client: FlaskClient, world: LabelWorld, status: BodyStatus
) -> None:
    with transaction():
        set_body_status(
            LABEL_BODY, status, reason="Accreditation body finding", actor=OPERATOR_CONSOLE
        )
    refused(client, world.certifier, label_request(), 422, "body-not-active")


def test_a_body_whose_keys_are_all_retired_cannot_issue(
    client: FlaskClient, world: LabelWorld
) -> None:
    with transaction():
        for key in get_body(LABEL_BODY).keys:
            retire_body_key(LABEL_BODY, key.public_key_multibase, actor=OPERATOR_CONSOLE)
    refused(client, world.certifier, label_request(), 422, "no-signing-key")


def test_a_body_holding_its_own_key_cannot_have_the_registry_sign(client: FlaskClient) -> None:
    secret = _body_with_accreditation("active")
    with transaction():
        for key in get_body("delta").keys:
            retire_body_key("delta", key.public_key_multibase, actor=OPERATOR_CONSOLE)
        add_body_key(
            "delta",
            actor=OPERATOR_CONSOLE,
            public_key_multibase=KeyPair.generate().public_key.multibase,
        )
    # The two-step flow is the only way (tests/registry/labels/test_held_key.py).
    detail = refused(client, secret, label_request(), 409, "body-holds-key")["detail"]
    assert "/api/v1/labels/prepare" in detail


# --- what the request may say ----------------------------------------------------------------


def test_a_declared_unit_other_than_the_rules_is_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = label_request()
    body["footprint"]["declared_unit"] = "kg"
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert "declared_unit" in details["errors"]["footprint"]
    body["footprint"]["declared_unit"] = "kWh"
    assert issue(client, world.certifier, body)["footprint"]["declared_unit"] == "kWh"


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "url",
        "status",
        "status_reason",
        "credential",
        "issued_at",
        "valid_from",
        "ledger_index",
        "superseded_by",
        "body",
    ],
)
def test_a_server_owned_field_in_the_request_is_refused(
    client: FlaskClient, world: LabelWorld, field: str
) -> None:
    body = label_request(**{field: "ABCDEFGHJK"})
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert field in details["errors"]


@pytest.mark.parametrize(
    ("part", "field"),
    [("footprint", "unit"), ("footprint", "grade"), ("product", "id"), ("rule", "category")],
)
def test_a_server_owned_nested_field_is_refused(
    client: FlaskClient, world: LabelWorld, part: str, field: str
) -> None:
    body = label_request()
    body[part][field] = "kgCO2e"
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert field in details["errors"][part]


@pytest.mark.parametrize(
    ("field", "number"),
    [("value", 61.2), ("value", 61), ("declared_unit_amount", 2)],
    ids=["float-value", "integer-value", "integer-amount"],
)
def test_a_json_number_for_a_footprint_is_refused(
    client: FlaskClient, world: LabelWorld, field: str, number: float
) -> None:
    body = label_request()
    body["footprint"][field] = number
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert "decimal string" in details["errors"]["footprint"][field][0]


def test_html_in_a_product_name_is_stored_and_signed_verbatim(
    client: FlaskClient, world: LabelWorld
) -> None:
    name = '<script>alert("x")</script> <b>LFP</b> module & "pack" 电池'
    label = issue(client, world.certifier, label_request(name=name))
    assert label["product"]["name"] == name
    assert label["credential"]["credentialSubject"]["product"]["name"] == name
    verify_document(label["credential"])
    assert db.session.get_one(Label, label["id"]).product_name == name
    again = client.get(f"/api/v1/labels/{label['id']}").get_json()
    assert again["credential"]["credentialSubject"]["product"]["name"] == name


@pytest.mark.parametrize(
    ("part", "field", "value"),
    [
        ("product", "name", "N" * 501),
        ("product", "manufacturer", "M" * 501),
        ("product", "model", "X" * 501),
        ("product", "identifiers", [f"urn:example:{n}" for n in range(21)]),
        ("product", "identifiers", ["urn:example:" + "9" * 500]),
        ("footprint", "declared_unit", "k" * 33),
        ("rule", "version", "1" * 33),
    ],
    ids=["name", "manufacturer", "model", "identifiers-count", "identifier", "unit", "version"],
)
def test_oversized_strings_are_refused(
    client: FlaskClient, world: LabelWorld, part: str, field: str, value: Any
) -> None:
    body = label_request()
    body[part][field] = value
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert field in details["errors"][part]


def test_a_500_character_product_name_is_accepted(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier, label_request(name="电" * 500))
    assert label["credential"]["credentialSubject"]["product"]["name"] == "电" * 500


@pytest.mark.parametrize(
    "delta", [timedelta(days=-1), timedelta(days=5 * 366 + 2)], ids=["past", "beyond-5-years"]
)
def test_a_valid_until_outside_the_allowed_window_is_refused(
    client: FlaskClient, world: LabelWorld, delta: timedelta
) -> None:
    body = label_request(valid_until=(utcnow() + delta).isoformat())
    details = refused(client, world.certifier, body, 422, "validation-failed")
    assert "valid_until" in details["errors"]


def test_a_requested_valid_until_is_signed_to_the_second(
    client: FlaskClient, world: LabelWorld
) -> None:
    until = (utcnow() + timedelta(days=700)).replace(microsecond=0)
    label = issue(client, world.certifier, label_request(valid_until=until.isoformat()))
    assert label["credential"]["validUntil"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")

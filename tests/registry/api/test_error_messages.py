"""Errors that say what to do (issue 12, point 3): each refusal is checked for its problem type,
a message naming the fix, and nothing written; on SQLite and PostgreSQL (the label registry
fixtures are per backend)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from credentials import parse_datetime
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.services import add_body_key, get_body, grant_accreditation, register_body
from registry.clock import utcnow
from registry.schemes.services import create_scheme, get_rule_version
from tests.registry.factories import ADMIN_THRESHOLDS, PROBLEM_BASE, LabelWorld, label_request
from tests.registry.labels.support import (
    app,
    auth,
    change_status,
    issue,
    label_app,
    ledger_size,
    problem,
    snapshot,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module

BATCH = "/api/v1/labels/batch"


def refused(
    client: FlaskClient,
    secret: str,
    body: Any,
    status: int,
    slug: str,
    path: str = "/api/v1/labels",
) -> dict[str, Any]:
    """POST a request that must be refused; check its type and that it wrote nothing."""
    before = snapshot()
    response = client.post(path, json=body, headers=auth(secret))
    details = problem(response, status, slug)
    assert snapshot() == before, "a refused request left something behind"
    return details


# --- a missing scheme, rule or version names the valid choices ---------------------------------


@pytest.mark.parametrize(
    ("rule", "missing", "choices", "words"),
    [
        (("XX", "PCR-LIB", "1.0"), "scheme", ["CN-GD", "HK"], "no scheme 'XX'"),
        (("CN-GD", "PCR-NOPE", "1.0"), "rule", ["PCR-LIB", "PCR-PV"], "no rule 'PCR-NOPE'"),
        # 0.9 is past and 2.0 not yet in force: only 1.0 is a choice now.
        (("CN-GD", "PCR-LIB", "9.9"), "version", ["1.0"], "versions in force now are: 1.0"),
    ],
    ids=["scheme", "rule", "version"],
)
def test_an_unknown_reference_names_what_is_missing_and_the_choices(
    client: FlaskClient,
    world: LabelWorld,
    rule: tuple[str, str, str],
    missing: str,
    choices: list[str],
    words: str,
) -> None:
    details = refused(client, world.certifier, label_request(rule=rule), 404, "not-found")
    assert (details["missing"], details["choices"]) == (missing, choices)
    assert words in details["detail"]
    assert ", ".join(choices) in details["detail"]


# --- each bad decimal gets its own message ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (61.2, "not a JSON number"),
        (61, "not a JSON number"),
        ("-61.2", "Must not be negative"),
        ("61,2", 'Use a point as the decimal separator: send "61.2", not "61,2"'),
        ("1,061.2", "Leave out the thousands separators"),
        ("61.2 kgCO2e", "Send the number alone"),
        ("61.2kg", "Send the number alone"),
        ("6.1e1", "written out in full"),
        ("+61.2", "Leave out the plus sign"),
        (" 61.2", "Leave out the spaces"),
    ],
)
def test_each_bad_decimal_says_how_to_write_it(
    client: FlaskClient, world: LabelWorld, value: Any, words: str
) -> None:
    details = refused(client, world.certifier, label_request(value), 422, "validation-failed")
    [message] = details["errors"]["footprint"]["value"]
    assert words in message
    amount = label_request(amount=value)  # the same field type, the same messages
    details = refused(client, world.certifier, amount, 422, "validation-failed")
    assert words in details["errors"]["footprint"]["declared_unit_amount"][0]


# --- dates and date-times give an example; a date alone is the start of a scheme's day ----------


def test_dates_and_times_give_an_example_of_the_accepted_form(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = label_request()
    body["footprint"]["reference_period"]["start"] = "2025/01/01"
    details = refused(client, world.certifier, body, 422, "validation-failed")
    [message] = details["errors"]["footprint"]["reference_period"]["start"]
    assert 'YYYY-MM-DD, such as "2026-01-31"' in message
    # A label's end of validity is an instant: a date alone is not enough there.
    for value in ("2027-01-01", "2027-01-01T00:00:00", "tomorrow"):
        details = refused(
            client, world.certifier, label_request(valid_until=value), 422, "validation-failed"
        )
        assert '"2026-01-01T00:00:00+08:00"' in details["errors"]["valid_until"][0]


@pytest.mark.parametrize(
    ("scheme", "region", "instant"),
    [
        ("CN-GD", "CN-GD", "2026-02-28T16:00:00Z"),  # China Standard Time, UTC+8
        ("HK", "HK", "2026-02-28T16:00:00Z"),
        ("XT", "XT", "2026-03-01T00:00:00Z"),  # a region with no zone of its own: UTC
    ],
)
def test_a_date_alone_is_the_start_of_that_day_in_the_schemes_time_zone(
    client: FlaskClient, world: LabelWorld, scheme: str, region: str, instant: str
) -> None:
    if scheme == "XT":
        create_scheme(actor=OPERATOR_CONSOLE, code="XT", region="XT", names={"en": "x"}, owner="x")
    client.post(
        f"/api/v1/schemes/{scheme}/rules",
        json={"code": "R-DATE", "category": "battery", "names": {"en": "Dated"}},
        headers=auth(world.operator),
    )
    body = {
        "version": "5.0",
        "declared_unit": "kWh",
        "standard": "ISO 14067:2018",
        "in_force_from": "2026-03-01",
        "in_force_until": "2027-03-01",
        "thresholds": dict(ADMIN_THRESHOLDS),
    }
    response = client.post(
        f"/api/v1/schemes/{scheme}/rules/R-DATE/versions", json=body, headers=auth(world.operator)
    )
    assert response.status_code == 201, response.get_json()
    rv = get_rule_version(scheme, "R-DATE", "5.0")
    assert rv.in_force_from == parse_datetime(instant)
    assert rv.in_force_until == parse_datetime(instant.replace("2026", "2027"))
    # The same rule for an accreditation's period.
    body = {
        "scheme": scheme,
        "categories": ["battery"],
        "accreditation_body": "CNAS (fictitious)",
        "reference": "CNAS-DATE-1",
        "valid_from": "2026-03-01",
    }
    response = client.post(
        "/api/v1/bodies/lingnan/accreditations", json=body, headers=auth(world.operator)
    )
    assert response.status_code == 201, response.get_json()
    assert parse_datetime(response.get_json()["valid_from"]) == parse_datetime(instant)
    # A day that does not exist is refused with the accepted forms.
    body["valid_from"] = "2026-02-30"
    refusal = client.post(
        "/api/v1/bodies/lingnan/accreditations", json=body, headers=auth(world.operator)
    )
    message = problem(refusal, 422, "validation-failed")["errors"]["valid_from"][0]
    assert "the start of that day in the scheme's time zone" in message


def test_the_openapi_document_says_what_a_date_alone_means(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for schema, field in (
        ("RuleVersion", "in_force_from"),
        ("RuleVersion", "in_force_until"),
        ("Accreditation", "valid_from"),
    ):
        assert (
            "the start of that day in the scheme's time zone"
            in (schemas[schema]["properties"][field]["description"])
        )


# --- status messages: "already suspended", final states -----------------------------------------


def test_a_label_status_change_says_already_or_final(
    client: FlaskClient, world: LabelWorld
) -> None:
    label_id = issue(client, world.certifier)["id"]
    assert change_status(client, world.certifier, label_id, "suspend").status_code == 200
    before = snapshot()
    again = problem(
        change_status(client, world.certifier, label_id, "suspend"), 409, "invalid-transition"
    )
    assert again["detail"] == f"Label {label_id} is already suspended."
    assert change_status(client, world.certifier, label_id, "reinstate").status_code == 200
    active = problem(
        change_status(client, world.certifier, label_id, "reinstate"), 409, "invalid-transition"
    )
    assert active["detail"] == f"Label {label_id} is already active."
    assert change_status(client, world.certifier, label_id, "revoke").status_code == 200
    before = snapshot()
    final = problem(
        change_status(client, world.certifier, label_id, "suspend"), 409, "invalid-transition"
    )
    assert final["detail"] == f"Label {label_id} was revoked; revocation is final."
    assert "cannot be suspended now" not in final["detail"]
    assert snapshot() == before


def test_a_body_and_an_accreditation_say_already(client: FlaskClient, world: LabelWorld) -> None:
    accreditation = get_body("pearl").accreditations[0].id
    for path, noun in (
        ("/api/v1/bodies/pearl/status", "Certification body pearl"),
        (f"/api/v1/accreditations/{accreditation}/status", f"Accreditation {accreditation}"),
    ):
        change = {"action": "suspend", "reason": "Surveillance audit overdue."}
        assert client.post(path, json=change, headers=auth(world.operator)).status_code == 200
        start = ledger_size()
        again = problem(
            client.post(path, json=change, headers=auth(world.operator)), 409, "conflict"
        )
        assert again["detail"] == f"{noun} is already suspended."
        assert ledger_size() == start


# --- an expired accreditation says that it expired, and when ------------------------------------


def test_an_expired_accreditation_says_so_and_when(client: FlaskClient, world: LabelWorld) -> None:
    now = utcnow()
    ended = (now - timedelta(days=2)).replace(microsecond=0)
    register_body(
        actor=OPERATOR_CONSOLE, code="delta", name="Delta Cert (fictitious)", region="CN-GD"
    )
    grant_accreditation(
        actor=OPERATOR_CONSOLE,
        body_code="delta",
        scheme_code="CN-GD",
        categories=["battery"],
        accreditation_body="CNAS (fictitious)",
        reference="CNAS-DELTA-001",
        valid_from=now - timedelta(days=400),
        valid_until=ended,
    )
    add_body_key("delta", actor=OPERATOR_CONSOLE)
    secret = create_token(role=Role.CERTIFIER, name="delta", body_code="delta")[1]
    details = refused(client, secret, label_request(), 422, "out-of-scope")
    when = ended.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"for CN-GD / battery expired on {when}" in details["detail"]
    assert "grants a new one" in details["detail"]


def test_a_suspended_accreditation_says_so_and_when(client: FlaskClient, world: LabelWorld) -> None:
    accreditation = get_body("lingnan").accreditations[0].id
    change = {"action": "suspend", "reason": "Scope under review."}
    path = f"/api/v1/accreditations/{accreditation}/status"
    assert client.post(path, json=change, headers=auth(world.operator)).status_code == 200
    details = refused(client, world.certifier, label_request(), 422, "out-of-scope")
    assert "for CN-GD / battery was suspended on 20" in details["detail"]


# --- batches ---------------------------------------------------------------------------------


def test_a_bare_array_to_the_batch_says_to_send_an_object(
    client: FlaskClient, world: LabelWorld
) -> None:
    details = refused(client, world.certifier, [label_request()], 422, "validation-failed", BATCH)
    assert details["errors"]["_schema"] == [
        'Send an object {"labels": [label request, …]}, not a bare array.'
    ]


def test_every_refused_item_of_a_batch_is_reported_from_zero(
    client: FlaskClient, world: LabelWorld
) -> None:
    labels = [
        label_request(),
        label_request(rule=("CN-GD", "PCR-LIB", "2.0")),  # not yet in force
        label_request(),
        label_request(grade="A"),  # 61.2 is a B
    ]
    details = refused(client, world.certifier, {"labels": labels}, 422, "rule-not-in-force", BATCH)
    assert [(item["index"], item["type"]) for item in details["items"]] == [
        (1, PROBLEM_BASE + "rule-not-in-force"),
        (3, PROBLEM_BASE + "grade-mismatch"),
    ]
    assert details["detail"].startswith("2 of the 4 labels were refused, so none was issued;")
    assert "labels[1]: Version 2.0 of PCR-LIB" in details["detail"]
    assert "labels[3]: Under PCR-LIB" in details["detail"]


def test_every_invalid_item_of_a_batch_is_reported_from_zero(
    client: FlaskClient, world: LabelWorld
) -> None:
    labels = [label_request("61,2"), label_request(), label_request(61.2)]
    details = refused(client, world.certifier, {"labels": labels}, 422, "validation-failed", BATCH)
    assert set(details["errors"]["labels"]) == {"0", "2"}
    assert "decimal separator" in details["errors"]["labels"]["0"]["footprint"]["value"][0]
    assert "not a JSON number" in details["errors"]["labels"]["2"]["footprint"]["value"][0]


# --- one status-change shape for labels, accreditations and bodies ------------------------------


def test_one_status_change_shape_for_labels_accreditations_and_bodies(
    client: FlaskClient, world: LabelWorld
) -> None:
    label_id = issue(client, world.certifier)["id"]
    accreditation = get_body("pearl").accreditations[0].id
    doors = {
        f"/api/v1/labels/{label_id}/status": world.certifier,
        f"/api/v1/accreditations/{accreditation}/status": world.operator,
        "/api/v1/bodies/pearl/status": world.operator,
    }
    for path, secret in doors.items():
        # The shape of all three: the action; and the earlier shape of two, the status.
        for change, status in (
            ({"action": "suspend"}, "suspended"),
            ({"status": "active"}, "active"),
            ({"action": "suspend"}, "suspended"),
            ({"action": "reinstate"}, "active"),
        ):
            response = client.post(path, json={**change, "reason": "Audit."}, headers=auth(secret))
            assert (response.status_code, response.get_json()["status"]) == (200, status), path
        start = ledger_size()
        both = {"action": "suspend", "status": "suspended", "reason": "Audit."}
        details = problem(
            client.post(path, json=both, headers=auth(secret)), 422, "validation-failed"
        )
        assert details["errors"]["status"] == ["Send action or status, not both."]
        assert ledger_size() == start
    # Each resource names the actions it takes.
    wrong = {"action": "withdraw", "reason": "x"}
    label_door = f"/api/v1/labels/{label_id}/status"
    details = problem(
        client.post(label_door, json=wrong, headers=auth(world.certifier)), 422, "validation-failed"
    )
    assert details["errors"]["action"] == ["Must be one of: suspend, reinstate, revoke."]
    details = problem(
        client.post(
            "/api/v1/bodies/pearl/status",
            json={"action": "revoke", "reason": "x"},
            headers=auth(world.operator),
        ),
        422,
        "validation-failed",
    )
    assert details["errors"]["action"] == ["Must be one of: suspend, reinstate, withdraw."]

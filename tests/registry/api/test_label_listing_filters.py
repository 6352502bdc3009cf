"""The certifier's listing: a total over every page, filters by issue day, product and rule, and
the same listing as CSV, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry.clock import FixedClock
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import app, auth, issue, label_app, problem, world

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module

PV = ("CN-GD", "PCR-PV", "1.0")


def _list(client: FlaskClient, secret: str, **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/labels", query_string=query, headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def _csv_ids(client: FlaskClient, secret: str, **query: Any) -> list[str]:
    response = client.get("/api/v1/exports/labels.csv", query_string=query, headers=auth(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [row[0] for row in rows[1:]]


def test_the_total_counts_every_page(client: FlaskClient, world: LabelWorld) -> None:
    issued = [issue(client, world.certifier)["id"] for _ in range(5)]
    first = _list(client, world.certifier, limit=2)
    assert first["total"] == 5
    assert [label["id"] for label in first["labels"]] == issued[:2]
    assert _list(client, world.other_certifier)["total"] == 0  # another body's labels: none


def test_product_filter_matches_name_or_model_in_any_case_and_no_wildcard(
    client: FlaskClient, world: LabelWorld
) -> None:
    lfp = issue(client, world.certifier, label_request(name="LFP battery module 51.2 V"))
    nmc = issue(client, world.certifier, label_request(name="NMC pack 100% recycled_case"))
    assert [
        label["id"] for label in _list(client, world.certifier, product="BATTERY")["labels"]
    ] == [lfp["id"]]
    # The model (PRE-LFP-5120) of both.
    assert _list(client, world.certifier, product="pre-lfp")["total"] == 2
    # % and _ are letters here, not LIKE's wildcards.
    assert [label["id"] for label in _list(client, world.certifier, product="100%")["labels"]] == [
        nmc["id"]
    ]
    assert _list(client, world.certifier, product="y_m")["total"] == 0  # "battery module" has "y m"
    assert _list(client, world.certifier, product="%")["total"] == 1
    assert _csv_ids(client, world.certifier, product="LFP BATTERY") == [lfp["id"]]


def test_rule_filter(client: FlaskClient, world: LabelWorld) -> None:
    battery = issue(client, world.other_certifier)
    pv = issue(client, world.other_certifier, label_request("300", rule=PV))
    by_rule = _list(client, world.other_certifier, rule="PCR-PV")
    assert [label["id"] for label in by_rule["labels"]] == [pv["id"]]
    assert by_rule["total"] == 1
    assert _csv_ids(client, world.other_certifier, rule="PCR-LIB") == [battery["id"]]
    assert _list(client, world.other_certifier, rule="NO-SUCH-RULE")["total"] == 0


def test_issue_day_range_includes_both_ends(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    start = clock.now()
    day = start.date()
    first = issue(client, world.certifier)
    clock.set(start + timedelta(days=1))
    second = issue(client, world.certifier)
    clock.set(start + timedelta(days=2))
    third = issue(client, world.certifier)

    def ids(**query: Any) -> list[str]:
        return [label["id"] for label in _list(client, world.certifier, **query)["labels"]]

    tomorrow = (day + timedelta(days=1)).isoformat()
    assert ids(issued_from=tomorrow) == [second["id"], third["id"]]
    assert ids(issued_until=tomorrow) == [first["id"], second["id"]]
    assert ids(issued_from=tomorrow, issued_until=tomorrow) == [second["id"]]
    assert ids(issued_from=day.isoformat(), issued_until=day.isoformat()) == [first["id"]]
    assert _csv_ids(client, world.certifier, issued_from=tomorrow) == [second["id"], third["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"issued_from": "2026-02-30"}, "issued_from"),
        ({"issued_from": "20260101"}, "issued_from"),
        ({"issued_from": "2026-03-02", "issued_until": "2026-03-01"}, "issued_until"),
        ({"product": "x" * 201}, "product"),
        ({"product": "bad\u202eorder"}, "product"),
        ({"rule": "has space"}, "rule"),
    ],
)
def test_malformed_filters_are_refused_naming_the_field(
    client: FlaskClient, world: LabelWorld, query: dict[str, str], field: str
) -> None:
    for path in ("/api/v1/labels", "/api/v1/exports/labels.csv"):
        response = client.get(path, query_string=query, headers=auth(world.certifier))
        body = problem(response, 422, "validation-failed")
        assert field in body["errors"], body


def test_a_regulator_naming_another_scheme_is_refused_before_the_csv_starts(
    client: FlaskClient, world: LabelWorld
) -> None:
    response = client.get(
        "/api/v1/exports/labels.csv", query_string={"scheme": "HK"}, headers=auth(world.regulator)
    )
    problem(response, 403, "forbidden")

"""Implausible labels are refused with a 422 naming the field and the fix, and leave nothing.

Rule versions state the boundaries they grade, the maximum age of a reference period and
whether a zero footprint is admitted; the admin API and the CLI take them, the ledger records
them (left out at their defaults, so earlier entries keep their bytes).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from credentials import (
    RuleVersionPublished,
    canonicalize_jcs,
    format_entry_time,
    parse_entry,
    replay,
)
from credentials.errors import LedgerEventError
from registry.auth.services import authenticate
from registry.clock import utcnow
from registry.db import db, transaction
from registry.errors import ValidationFailedError
from registry.labels.preview import preview_label
from registry.labels.schemas import label_request_schema
from registry.ledger.models import LedgerEntry
from registry.ledger.services import tree_size
from registry.ledger.state import verify_state
from tests.registry.factories import LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import auth, entries_since, issue, problem
from tests.registry.labels.test_dry_run import everything

VERSIONS = "/api/v1/schemes/CN-GD/rules/PCR-LIB/versions"


def publish(client: FlaskClient, world: LabelWorld, version: str, **props: Any) -> dict[str, Any]:
    """Publish a PCR-LIB version in force since yesterday, through the admin API, committed
    (so that a refused request's rollback keeps it)."""
    body = {
        "version": version,
        "declared_unit": "kWh",
        "standard": "ISO 14067:2018",
        "in_force_from": (utcnow() - timedelta(days=1)).isoformat(timespec="milliseconds"),
        "thresholds": {"A": "45", "B": "65", "C": "85", "D": "110"},
        **props,
    }
    with transaction():
        response = client.post(VERSIONS, json=body, headers=auth(world.operator))
    assert response.status_code == 201, response.get_json()
    shown: dict[str, Any] = response.get_json()
    return shown


def refused_request(
    client: FlaskClient, world: LabelWorld, body: dict[str, Any], *, dry_run: bool = False
) -> dict[str, Any]:
    """POST the request, assert a 422 validation-failed and that nothing was written."""
    before = everything()
    path = "/api/v1/labels?dry_run=true" if dry_run else "/api/v1/labels"
    response = client.post(path, json=body, headers=auth(world.certifier))
    problem_body = problem(response, 422, "validation-failed")
    assert everything() == before
    return problem_body


def with_period(start: str, end: str, **kwargs: Any) -> dict[str, Any]:
    body = label_request(**kwargs)
    body["footprint"]["reference_period"] = {"start": start, "end": end}
    return body


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_reference_period_that_ends_in_the_future_is_refused(
    client: FlaskClient, world: LabelWorld, dry_run: bool
) -> None:
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    body = refused_request(client, world, with_period("2025-01-01", tomorrow), dry_run=dry_run)
    [message] = body["errors"]["footprint"]["reference_period"]
    assert "ends in the future" in message
    assert f"on or before {utcnow().date().isoformat()}" in message
    assert body["detail"] == message


def test_a_reference_period_that_ends_today_is_accepted(
    client: FlaskClient, world: LabelWorld
) -> None:
    today = utcnow().date().isoformat()
    issue(client, world.certifier, with_period("2025-01-01", today))


def test_a_reference_period_that_begins_after_it_ends_is_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = refused_request(client, world, with_period("2025-12-31", "2025-01-01"))
    [message] = body["errors"]["footprint"]["reference_period"]["end"]
    assert "on or after the start" in message


def test_the_service_refuses_a_reversed_period_too(client: FlaskClient, world: LabelWorld) -> None:
    """The portal calls the service with a request no schema checked."""
    request = label_request_schema.load(label_request())
    reversed_period = replace(request, period_start=request.period_end + timedelta(days=1))
    with pytest.raises(ValidationFailedError) as caught:
        preview_label(authenticate(world.certifier), reversed_period)
    assert "send start on or before end" in str(caught.value.detail)


def test_a_boundary_the_rule_version_does_not_grade_is_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    shown = publish(client, world, "3.0-grave", system_boundaries=["cradle-to-grave"])
    assert shown["system_boundaries"] == ["cradle-to-grave"]
    body = refused_request(client, world, label_request(rule=("CN-GD", "PCR-LIB", "3.0-grave")))
    [message] = body["errors"]["footprint"]["system_boundary"]
    assert "grades cradle-to-grave footprints only, not cradle-to-gate" in message
    graved = label_request(rule=("CN-GD", "PCR-LIB", "3.0-grave"))
    graved["footprint"]["system_boundary"] = "cradle-to-grave"
    issue(client, world.certifier, graved)


def test_a_reference_period_older_than_the_rule_version_allows_is_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    publish(client, world, "3.0-recent", max_period_age_months=6)
    today = utcnow().date()
    old = today.replace(year=today.year - 1).isoformat()
    body = refused_request(
        client, world, with_period("2024-01-01", old, rule=("CN-GD", "PCR-LIB", "3.0-recent"))
    )
    [message] = body["errors"]["footprint"]["reference_period"]
    assert "at most 6 months before issuance" in message
    assert "Measure a more recent period" in message
    recent = (today - timedelta(days=30)).isoformat()
    issue(
        client,
        world.certifier,
        with_period("2024-01-01", recent, rule=("CN-GD", "PCR-LIB", "3.0-recent")),
    )


def test_a_zero_footprint_is_refused_unless_the_rule_version_allows_net_negative(
    client: FlaskClient, world: LabelWorld
) -> None:
    body = refused_request(client, world, label_request("0"))
    [message] = body["errors"]["footprint"]["value"]
    assert "does not allow net-zero or net-negative values" in message
    assert "greater than zero" in message
    publish(client, world, "3.0-net", allows_net_negative=True)
    label = issue(client, world.certifier, label_request("0", rule=("CN-GD", "PCR-LIB", "3.0-net")))
    assert label["grade"] == "A"


def test_a_negative_footprint_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    body = refused_request(client, world, label_request("-1"))
    assert body["errors"]["footprint"]["value"]


@pytest.mark.parametrize("amount", ["0", "0.000"])
def test_a_declared_unit_amount_of_zero_is_refused(
    client: FlaskClient, world: LabelWorld, amount: str
) -> None:
    body = refused_request(client, world, label_request(amount=amount))
    [message] = body["errors"]["footprint"]["declared_unit_amount"]
    assert "greater than zero" in message
    assert "leave it out for 1" in message


def test_the_service_refuses_a_zero_amount_too(client: FlaskClient, world: LabelWorld) -> None:
    request = replace(label_request_schema.load(label_request()), declared_unit_amount=Decimal(0))
    with pytest.raises(ValidationFailedError) as caught:
        preview_label(authenticate(world.certifier), request)
    [message] = caught.value.errors["footprint"]["declared_unit_amount"]
    assert "greater than zero" in message


# --- rule versions: what they state, where it is recorded ----------------------------------------


def test_rule_version_properties_are_ledgered_only_when_not_the_defaults(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = tree_size()
    publish(client, world, "4.0-plain")
    publish(
        client,
        world,
        "4.0-strict",
        system_boundaries=["cradle-to-gate"],
        max_period_age_months=18,
        allows_net_negative=True,
    )
    plain, strict = entries_since(start)
    assert {"systemBoundaries", "maxPeriodAgeMonths", "allowsNetNegative"}.isdisjoint(plain)
    assert (
        strict["systemBoundaries"],
        strict["maxPeriodAgeMonths"],
        strict["allowsNetNegative"],
    ) == (["cradle-to-gate"], 18, True)
    rows = [
        bytes(body)
        for body in client.application.extensions["sqlalchemy"]
        .session.execute(
            select(LedgerEntry.body).where(LedgerEntry.seq >= start).order_by(LedgerEntry.seq)
        )
        .scalars()
    ]
    for row in rows:
        event = parse_entry(row).event
        assert isinstance(event, RuleVersionPublished)
    assert parse_entry(rows[1]).event.max_period_age_months == 18  # type: ignore[union-attr]


def test_a_spelled_out_default_is_not_a_canonical_entry(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = tree_size()
    publish(client, world, "4.1")
    [entry] = entries_since(start)
    parse_entry(json.dumps(entry))
    for member, default in (
        ("allowsNetNegative", False),
        ("maxPeriodAgeMonths", None),
        ("systemBoundaries", ["cradle-to-gate", "cradle-to-grave"]),
    ):
        with pytest.raises(LedgerEventError, match="left out"):
            parse_entry(json.dumps({**entry, member: default}))


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"system_boundaries": ["cradle-to-shelf"]}, "system_boundaries"),
        ({"system_boundaries": []}, "system_boundaries"),
        ({"max_period_age_months": 0}, "max_period_age_months"),
        ({"max_period_age_months": "12"}, "max_period_age_months"),
    ],
)
def test_bad_rule_version_properties_are_refused(
    client: FlaskClient, world: LabelWorld, props: dict[str, Any], field: str
) -> None:
    before = everything()
    body = {
        "version": "5.0",
        "declared_unit": "kWh",
        "standard": "ISO 14067:2018",
        "in_force_from": "2026-01-01T00:00:00.000+08:00",
        "thresholds": {"A": "45", "B": "65", "C": "85", "D": "110"},
        **props,
    }
    response = client.post(VERSIONS, json=body, headers=auth(world.operator))
    assert field in problem(response, 422, "validation-failed")["errors"]
    assert everything() == before


def test_the_cli_publishes_a_version_with_its_properties(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = tree_size()
    result = client.application.test_cli_runner().invoke(
        args=[
            "rules",
            "publish-version",
            "CN-GD",
            "PCR-LIB",
            "6.0",
            "--declared-unit=kWh",
            "--standard=ISO 14067:2018",
            "--in-force-from=2026-01-01T00:00:00+08:00",
            *(
                f"--threshold={g}={b}"
                for g, b in zip("ABCD", ("45", "65", "85", "110"), strict=True)
            ),
            "--system-boundary=cradle-to-grave",
            "--max-period-age-months=24",
            "--allow-net-negative",
        ]
    )
    assert result.exit_code == 0, result.output
    [entry] = entries_since(start)
    assert (entry["systemBoundaries"], entry["maxPeriodAgeMonths"], entry["allowsNetNegative"]) == (
        ["cradle-to-grave"],
        24,
        True,
    )


# --- accreditations for categories no rule covers ------------------------------------------------


def accreditation(categories: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "scheme": "CN-GD",
        "categories": categories,
        "accreditation_body": "CNAS",
        "reference": "CNAS-C123",
        "valid_from": "2026-01-01T00:00:00+08:00",
        **extra,
    }


def test_an_accreditation_for_a_category_no_rule_covers_is_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    before = everything()
    response = client.post(
        f"/api/v1/bodies/{LABEL_BODY}/accreditations",
        json=accreditation(["battery", "batery"]),
        headers=auth(world.operator),
    )
    body = problem(response, 422, "validation-failed")
    [message] = body["errors"]["categories"]
    assert "No rule of CN-GD covers batery" in message
    assert "battery, pv-module" in message  # the valid choices
    assert "allow_uncovered_category" in message
    assert everything() == before


def test_an_uncovered_category_is_granted_when_asked_explicitly(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = tree_size()
    response = client.post(
        f"/api/v1/bodies/{LABEL_BODY}/accreditations",
        json=accreditation(["heat-pump"], allow_uncovered_category=True),
        headers=auth(world.operator),
    )
    assert response.status_code == 201, response.get_json()
    assert "allow_uncovered_category" not in response.get_json()
    [entry] = entries_since(start)
    assert (entry["event"], entry["categories"]) == ("accreditation.granted", ["heat-pump"])


@pytest.mark.parametrize("flag", [[], ["--allow-uncovered-category"]])
def test_the_cli_refuses_an_uncovered_category_without_the_flag(
    client: FlaskClient, world: LabelWorld, flag: list[str]
) -> None:
    start = tree_size()
    result = client.application.test_cli_runner().invoke(
        args=[
            "bodies",
            "accredit",
            LABEL_BODY,
            "CN-GD",
            "--category=heat-pump",
            "--accreditation-body=CNAS",
            "--reference=CNAS-C124",
            "--valid-from=2026-01-01T00:00:00+08:00",
            *flag,
        ]
    )
    if flag:
        assert result.exit_code == 0, result.output
        assert len(entries_since(start)) == 1
    else:
        assert result.exit_code != 0
        assert "--allow-uncovered-category" in result.output
        assert entries_since(start) == []


# --- the rule page -------------------------------------------------------------------------------

# The new version's words (boundary heading, age limit, net-zero heading, admitted), then an
# older version's defaults (no limit, not admitted).
RULE_PAGE_WORDS = {
    "en": (
        "System boundaries graded",
        "Maximum age of the reference period at issuance, in months",
        "Net-zero footprint",
        "Admitted",
        "No limit",
        "Not admitted",
    ),
    "zh-CN": (
        "评级的系统边界",
        "签发时参考期的最长时限（月）",
        "净零足迹",
        "接受",
        "不限",
        "不接受",
    ),
    "zh-HK": (
        "評級的系統邊界",
        "簽發時參考期的最長時限（月）",
        "淨零足跡",
        "接受",
        "不設限",
        "不接受",
    ),
    "pt-MO": (
        "Fronteiras do sistema classificadas",
        "Antiguidade máxima do período de referência à data da emissão, em meses",
        "Pegada nula",
        "Admitida",
        "Sem limite",
        "Não admitida",
    ),
}


@pytest.mark.parametrize("language", sorted(RULE_PAGE_WORDS))
def test_the_rule_page_shows_what_a_version_admits_in_four_languages(
    client: FlaskClient, world: LabelWorld, language: str
) -> None:
    publish(
        client,
        world,
        "7.0",
        system_boundaries=["cradle-to-grave"],
        max_period_age_months=18,
        allows_net_negative=True,
    )
    page = client.get("/schemes/CN-GD/rules/PCR-LIB", headers={"Accept-Language": language})
    assert page.status_code == 200
    version = page.text[page.text.index('id="version-7.0"') :]
    version = version[: version.index("</section>")]
    boundary, limit, net_zero, admitted, no_limit, not_admitted = RULE_PAGE_WORDS[language]
    for words in (boundary, limit, net_zero):
        assert words in version
    assert "<dd>18</dd>" in version
    assert f"<dd>{admitted}</dd>" in version
    # A version published without them shows the defaults: both boundaries, no limit.
    older = page.text[page.text.index('id="version-1.0"') :]
    older = older[: older.index("</section>")]
    assert f"<dd>{no_limit}</dd>" in older
    assert f"<dd>{not_admitted}</dd>" in older
    assert older.count("; ") >= 1  # the two boundaries, each in words


# An entry as written before rule versions stated boundaries, age and net-negative (the bytes
# the registry stored then): it still reads, and re-writes to the very same bytes.
OLD_ENTRY = (
    b'{"by":{"body":null,"role":"operator","schemes":[],"token":null},"category":"battery",'
    b'"declaredUnit":"kWh","event":"rule_version.published","inForceFrom":"2026-01-01T00:00:00.000Z",'
    b'"inForceUntil":null,"rule":"PCR-LIB","scheme":"CN-GD","seq":7,"standard":"ISO 14067:2018",'
    b'"thresholds":{"A":"45","B":"65","C":"85","D":"110"},"time":"2026-01-01T00:00:00.000Z",'
    b'"v":1,"version":"1.0"}'
)


def test_an_entry_written_before_the_new_members_keeps_its_bytes() -> None:
    record = parse_entry(OLD_ENTRY)
    event = record.event
    assert isinstance(event, RuleVersionPublished)
    assert event.system_boundaries == ("cradle-to-gate", "cradle-to-grave")
    assert (event.max_period_age_months, event.allows_net_negative) == (None, False)
    rewritten = canonicalize_jcs(
        {
            **event.to_payload(),
            "seq": record.seq,
            "time": format_entry_time(record.time),
            "event": event.KIND,
        }
    )
    assert rewritten == OLD_ENTRY


def test_the_tables_agree_with_the_replayed_ledger_on_the_new_properties(
    client: FlaskClient, world: LabelWorld
) -> None:
    publish(
        client,
        world,
        "8.0",
        system_boundaries=["cradle-to-gate"],
        max_period_age_months=12,
        allows_net_negative=True,
    )
    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)
    [rule_version] = [
        rv for key, rv in replayed_rule_versions().items() if key == ("CN-GD", "PCR-LIB", "8.0")
    ]
    assert rule_version.system_boundaries == ("cradle-to-gate",)
    assert (rule_version.max_period_age_months, rule_version.allows_net_negative) == (12, True)


def replayed_rule_versions() -> dict[tuple[str, str, str], Any]:
    stmt = select(LedgerEntry.body).order_by(LedgerEntry.seq)
    entries = [bytes(body) for body in db.session.execute(stmt).scalars()]
    result = replay(entries)
    assert result.violation is None
    return dict(result.state.rule_versions)

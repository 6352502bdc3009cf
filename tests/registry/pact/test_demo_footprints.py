"""The whole demo data set served over PACT: ``demo load`` prints a working client, and every
footprint the registry serves validates against PACT's v3 schemas (the demo has every declared
unit, region, boundary and status the registry knows), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from flask import Flask
from sqlalchemy import select

from registry.db import db
from registry.labels.models import Label, LabelStatus
from registry.pact.ids import footprint_id
from registry.pact.mapping import EXTENSION_SCHEMA_PATH, UNITS
from tests.registry.conftest import build_app
from tests.registry.factories import BASE_URL
from tests.registry.pact.support import basic, validate


@pytest.fixture
def demo(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, dict[str, Any]]]:
    app = build_app(fresh_database_url, tmp_path)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    yield app, json.loads(result.stdout)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _all_pages(http: Any, token: str) -> list[dict[str, Any]]:
    footprints: list[dict[str, Any]] = []
    target = "/3/footprints?limit=7"
    while target:
        response = http.get(target, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_json()
        footprints.extend(response.get_json()["data"])
        link = response.headers.get("Link")
        target = ""
        if link:
            parts = urlsplit(link[1 : link.index(">")])
            target = f"{parts.path}?{parts.query}"
    return footprints


def test_every_demo_footprint_validates_and_maps_its_label(
    demo: tuple[Flask, dict[str, Any]],
) -> None:
    app, printed = demo
    pact = printed["pact"]
    assert pact["token_url"] == f"{BASE_URL}/auth/token"
    http = app.test_client()
    answer = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(pact["client_id"], pact["client_secret"]),
        base_url=BASE_URL,
    )
    assert answer.status_code == 200, answer.get_json()
    footprints = _all_pages(http, answer.get_json()["access_token"])
    extension_schema = http.get(EXTENSION_SCHEMA_PATH).get_json(force=True)
    jsonschema.Draft202012Validator.check_schema(extension_schema)
    with app.app_context():
        labels = {label.id: label for label in db.session.execute(select(Label)).scalars()}
        by_pf = {footprint_id(i): label for i, label in labels.items()}
        expected = {
            footprint_id(label.id)
            for label in labels.values()
            if label.status in (LabelStatus.ACTIVE, LabelStatus.SUPERSEDED)
            and label.rule_version.declared_unit in UNITS
        }
        assert [f["id"] for f in footprints] == sorted(expected, key=lambda i: by_pf[i].ledger_seq)
        units = set()
        for footprint in footprints:
            validate(footprint, "ProductFootprint")
            label = by_pf[footprint["id"]]
            extension = footprint["extensions"][0]
            assert extension["dataSchema"] == BASE_URL + EXTENSION_SCHEMA_PATH
            jsonschema.validate(extension["data"], extension_schema)
            data = extension["data"]
            assert (data["labelId"], data["grade"], data["ledgerIndex"]) == (
                label.id,
                label.grade,
                label.ledger_seq,
            )
            credential = http.get(urlsplit(data["credentialUrl"]).path)
            assert credential.status_code == 200
            assert credential.get_data(as_text=True) == label.credential
            pcf = footprint["pcf"]
            unit = UNITS[label.rule_version.declared_unit]
            units.add(label.rule_version.declared_unit)
            assert Decimal(pcf["pcfExcludingBiogenicUptake"]) == label.footprint
            assert Decimal(pcf["declaredUnitAmount"]) == label.declared_unit_amount * unit.factor
            assert footprint["productNameCompany"] == label.product_name
            if label.gtin:
                assert f"urn:gtin:{label.gtin}" in footprint["productIds"]
            if label.status is LabelStatus.SUPERSEDED:
                assert footprint["status"] == "Deprecated"
                newer = next(
                    f for f in footprints if f["id"] == footprint_id(label.superseded_by_id)
                )
                assert footprint["id"] in newer["precedingPfIds"]
            else:
                assert footprint["status"] == "Active"
        # The demo's units: every one PACT can state is served; kWp (a rated power) is not.
        assert units == {
            lb.rule_version.declared_unit
            for lb in labels.values()
            if lb.rule_version.declared_unit in UNITS
        }
        assert {"kg", "t", "kWh"} <= units
        refused = [
            lb
            for lb in labels.values()
            if lb.rule_version.declared_unit not in UNITS and lb.status is LabelStatus.ACTIVE
        ]
        for label in refused:
            response = http.get(
                f"/3/footprints/{footprint_id(label.id)}",
                base_url=BASE_URL,
                headers={"Authorization": f"Bearer {answer.get_json()['access_token']}"},
            )
            assert response.status_code == 404


def test_pact_clients_cli(demo: tuple[Flask, dict[str, Any]]) -> None:
    app, printed = demo
    runner = app.test_cli_runner()
    created = runner.invoke(args=["pact", "clients", "create", "--name", "Buyer GmbH"])
    assert created.exit_code == 0, created.output
    client = json.loads(created.stdout)
    assert set(client) == {"client_id", "client_secret", "name"}
    listed = runner.invoke(args=["pact", "clients", "list"])
    assert client["client_id"] in listed.stdout
    assert printed["pact"]["client_id"] in listed.stdout
    assert client["client_secret"] not in listed.stdout  # only the hash is kept
    http = app.test_client()

    def token() -> int:
        return http.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client["client_id"], client["client_secret"]),
            base_url=BASE_URL,
        ).status_code

    assert token() == 200
    revoked = runner.invoke(args=["pact", "clients", "revoke", client["client_id"]])
    assert revoked.exit_code == 0, revoked.output
    assert token() == 401
    unknown = runner.invoke(args=["pact", "clients", "revoke", "pact_nobody"])
    assert unknown.exit_code == 1
    assert "no PACT client" in unknown.output
    blank = runner.invoke(args=["pact", "clients", "create", "--name", " "])
    assert blank.exit_code == 1

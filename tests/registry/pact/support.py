"""Fixtures of the PACT tests: the label registry, a few labels in every state, a PACT client,
and the v3 OpenAPI schemas to validate what the registry serves."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry.auth.services import OPERATOR_CONSOLE
from registry.clock import utcnow
from registry.db import db, transaction
from registry.pact.services import create_client
from registry.schemes.models import Rule
from registry.schemes.services import create_rule, publish_rule_version
from tests.registry.factories import BASE_URL, LABEL_THRESHOLDS, LabelWorld, label_request
from tests.registry.labels.support import app, auth, change_status, issue, label_app, world

__all__ = [
    "HTTPS",
    "RULES",
    "Pact",
    "app",
    "basic",
    "label_app",
    "make_pact_rules",
    "pact",
    "pact_client_token",
    "rule_for",
    "validate",
    "world",
]

HTTPS = BASE_URL  # https://registry.example.test: the registry's public base URL in tests
VECTORS = Path(os.environ.get("CARBONLABEL_VECTORS", Path(__file__).parents[4] / "shared/vectors"))
OPENAPI_V3 = VECTORS / "pact" / "v3" / "openapi.yaml"

# Rules matching the specification's examples' declared units and standards (unit, standard).
RULES = {
    "PACT-KG-GHGP": ("kg", "GHG Protocol Product Standard"),
    "PACT-KG-PEF": ("kg", "PEF 3.1"),
    "PACT-L": ("L", "ISO 14067:2018"),
    "PACT-PIECE": ("piece", "ISO 14067:2018"),
}


def rule_for(footprint: dict[str, Any]) -> str:
    """The rule of :data:`RULES` a footprint of the specification's examples is graded under."""
    pcf = footprint["pcf"]
    unit = pcf.get("declaredUnitOfMeasurement", pcf.get("declaredUnit"))
    standards = pcf.get("crossSectoralStandards", pcf.get("crossSectoralStandardsUsed", []))
    if unit == "kilogram":
        return "PACT-KG-PEF" if standards == ["PEF"] else "PACT-KG-GHGP"
    return {"liter": "PACT-L", "piece": "PACT-PIECE"}.get(unit, "PACT-KG-GHGP")


def pact_client_token(client: FlaskClient) -> tuple[str, str, str]:
    """A new PACT client (committed) and an access token it was given: (id, secret, token)."""
    with transaction():
        pact_client, secret = create_client("buyer's PACT tool")
    response = client.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(pact_client.client_id, secret),
        base_url=HTTPS,
    )
    assert response.status_code == 200, response.get_json()
    token: str = response.get_json()["access_token"]
    return pact_client.client_id, secret, token


def make_pact_rules() -> None:
    """Create and publish :data:`RULES` under CN-GD / battery, those not there yet (in the
    caller's transaction)."""
    known = set(db.session.execute(select(Rule.code)).scalars())
    for code, (unit, standard) in RULES.items():
        if code in known:
            continue
        create_rule(
            actor=OPERATOR_CONSOLE,
            scheme_code="CN-GD",
            code=code,
            category="battery",
            names={"en": code},
        )
        publish_rule_version(
            actor=OPERATOR_CONSOLE,
            scheme_code="CN-GD",
            rule_code=code,
            version="1.0",
            declared_unit=unit,
            standard=standard,
            in_force_from=utcnow() - timedelta(days=30),
            in_force_until=None,
            thresholds=LABEL_THRESHOLDS,
        )


@cache
def _openapi() -> dict[str, Any]:
    with OPENAPI_V3.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def validate(instance: Any, component: str) -> None:
    """Validate against ``#/components/schemas/<component>`` of PACT's v3 OpenAPI document,
    with format checks (uuid, date-time, uri)."""
    root = dict(_openapi())
    root["$ref"] = f"#/components/schemas/{component}"
    validator = jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(instance)


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass
class Pact:
    """A data recipient's view of the test registry."""

    http: FlaskClient
    client_id: str
    secret: str
    token: str
    active: dict[str, Any]  # an active label (API JSON), GTIN 06901234567892
    other: dict[str, Any]  # an active label of the other body, another product
    old: dict[str, Any]  # superseded by ``newer``
    newer: dict[str, Any]
    revoked: dict[str, Any]
    suspended: dict[str, Any]

    def get(self, path: str, *, token: str | None = None, **kwargs: Any) -> TestResponse:
        headers = auth(self.token if token is None else token) | kwargs.pop("headers", {})
        return self.http.get(
            path, base_url=kwargs.pop("base_url", HTTPS), headers=headers, **kwargs
        )

    def post_event(
        self, event: Any, *, token: str | None = None, base_url: str = HTTPS, **kwargs: Any
    ) -> TestResponse:
        headers = auth(self.token if token is None else token)
        headers["Content-Type"] = kwargs.pop(
            "content_type", "application/cloudevents+json; charset=UTF-8"
        )
        body = event if isinstance(event, bytes | str) else json.dumps(event)
        return self.http.post("/3/events", data=body, headers=headers, base_url=base_url)

    def token_for(self, client_id: str, secret: str, *, base_url: str = HTTPS) -> TestResponse:
        return self.http.post(
            "/auth/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client_id, secret),
            base_url=base_url,
        )


@pytest.fixture
def pact(client: FlaskClient, world: LabelWorld) -> Pact:
    old = issue(client, world.certifier, label_request("70.5", name="LFP module 48 V"))
    newer = issue(
        client,
        world.certifier,
        label_request("64.25", name="LFP module 48 V", supersedes=old["id"]),
    )
    active = issue(client, world.certifier, label_request("61.2"))
    other_body = label_request("55", name="Sodium-ion module 24 V")
    other_body["product"].update(
        gtin="04012345000016",
        manufacturer="Delta Cells Co. (fictitious)",
        identifiers=["urn:epc:id:sgtin:4012345.000001.*"],
    )
    other = issue(client, world.other_certifier, other_body)
    revoked = issue(client, world.certifier, label_request("80", name="Revoked module"))
    assert change_status(client, world.certifier, revoked["id"], "revoke").status_code == 200
    suspended = issue(client, world.certifier, label_request("81", name="Suspended module"))
    assert change_status(client, world.certifier, suspended["id"], "suspend").status_code == 200
    client_id, secret, token = pact_client_token(client)
    return Pact(
        http=client,
        client_id=client_id,
        secret=secret,
        token=token,
        active=active,
        other=other,
        old=old,
        newer=newer,
        revoked=revoked,
        suspended=suspended,
    )

"""Settings and ledger data for registry tests, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import g, has_app_context
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from credentials import KeyPair, NoteSigner
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.services import add_body_key, grant_accreditation, register_body
from registry.clock import utcnow
from registry.config import Settings, default_log_origin, generate_kek
from registry.errors import PROBLEM_PATH
from registry.ledger.models import LedgerEntry
from registry.ledger.services import append_entry
from registry.schemes.services import create_rule, create_scheme, publish_rule_version

BASE_URL = "https://registry.example.test"
ORIGIN = default_log_origin(BASE_URL)
# Each problem type is the registry's page about it: {public base URL}/problems/<slug>.
PROBLEM_BASE = BASE_URL + PROBLEM_PATH
# A fixed seed: signatures in failures are reproducible. Never a real key.
LOG_SIGNER = NoteSigner(ORIGIN, KeyPair.from_seed(bytes(range(32))))
KEK = generate_kek()
SECRET = "test-secret-key-that-is-long-enough-for-prod"
BUNDLE_SIGNER = KeyPair.from_seed(b"\x5b" * 32)  # the test registry's trust-bundle key


def make_settings(database_url: str, instance_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "log_key": LOG_SIGNER.signer_key(),
        "kek": KEK,
        "bundle_key": BUNDLE_SIGNER.secret_multibase,
        "env": "testing",
        "public_base_url": BASE_URL,
        "instance_path": instance_path,
        "checkpoint_interval": 0.0,
    }
    values.update(changes)
    return Settings(**values)


def append_entries(count: int, event: str = "test.appended") -> list[LedgerEntry]:
    """Append ``count`` entries with realistic-looking (fictitious) payloads."""
    return [
        append_entry(
            event,
            {"label": f"LBL{n:07d}", "note": "fictitious test data", "ordinal": n},
        )
        for n in range(count)
    ]


def register_schemes(count: int) -> None:
    """``count`` ledger entries that replay cleanly: fictitious schemes, one entry each."""
    for n in range(count):
        create_scheme(
            actor=OPERATOR_CONSOLE,
            code=f"TEST-{n}",
            region="CN-GD",
            names={"en": f"Test scheme {n} (fictitious)"},
            owner="Test owner (fictitious)",
        )


# --- Labels: a small registry for the label tests (tests/registry/labels) --------------------
# Two fictitious Guangdong certification bodies, a battery rule with an expired, a current and
# a future version, and rules neither body's accreditation covers. Thresholds in kgCO2e/kWh.

LABEL_THRESHOLDS = (Decimal(45), Decimal(65), Decimal(85), Decimal(110))
LABEL_BODY = "lingnan"
OTHER_BODY = "pearl"


@dataclass(frozen=True, slots=True)
class LabelWorld:
    """The API tokens of the label tests' registry (secrets, shown once at creation)."""

    certifier: str  # of LABEL_BODY, accredited for CN-GD / battery
    other_certifier: str  # of OTHER_BODY, accredited for CN-GD / battery and pv-module
    operator: str
    regulator: str  # of CN-GD


def create_test_schemes() -> None:
    """The two fictitious schemes every test registry starts with: CN-GD and HK."""
    create_scheme(
        actor=OPERATOR_CONSOLE,
        code="CN-GD",
        region="CN-GD",
        names={"en": "Guangdong carbon label (fictitious)", "zh-Hans": "广东碳标签（虚构）"},
        owner="Guangdong Ecology Department (fictitious)",
    )
    create_scheme(
        actor=OPERATOR_CONSOLE,
        code="HK",
        region="HK",
        names={"en": "Hong Kong carbon label (fictitious)"},
        owner="HK Environment Bureau (fictitious)",
    )


def build_label_world() -> LabelWorld:
    """Schemes, rules, bodies, accreditations, registry-held keys and tokens (caller commits)."""
    now = utcnow()
    since = now - timedelta(days=30)
    create_test_schemes()
    rules = [
        ("CN-GD", "PCR-LIB", "battery", "kWh"),
        ("CN-GD", "PCR-PV", "pv-module", "kWp"),
        ("HK", "HK-LIB", "battery", "kWh"),
    ]
    for scheme, code, category, unit in rules:
        create_rule(
            actor=OPERATOR_CONSOLE,
            scheme_code=scheme,
            code=code,
            category=category,
            names={"en": code},
        )
        label_rule_version(scheme, code, "1.0", unit, since, None)
    label_rule_version("CN-GD", "PCR-LIB", "0.9", "kWh", now - timedelta(days=400), since)
    label_rule_version("CN-GD", "PCR-LIB", "2.0", "kWh", now + timedelta(days=30), None)
    for code, name, categories in (
        (LABEL_BODY, "Lingnan Product Carbon Certification Co. (fictitious)", ["battery"]),
        (OTHER_BODY, "Pearl Delta Verification Ltd. (fictitious)", ["battery", "pv-module"]),
    ):
        register_body(actor=OPERATOR_CONSOLE, code=code, name=name, region="CN-GD")
        grant_accreditation(
            actor=OPERATOR_CONSOLE,
            body_code=code,
            scheme_code="CN-GD",
            categories=categories,
            accreditation_body="CNAS (fictitious)",
            reference=f"CNAS-{code.upper()}-001",
            valid_from=since,
            valid_until=None,
        )
        add_body_key(code, actor=OPERATOR_CONSOLE)
    return LabelWorld(
        certifier=create_token(role=Role.CERTIFIER, name="lingnan", body_code=LABEL_BODY)[1],
        other_certifier=create_token(role=Role.CERTIFIER, name="pearl", body_code=OTHER_BODY)[1],
        operator=create_token(role=Role.OPERATOR, name="operator")[1],
        regulator=create_token(role=Role.REGULATOR, name="gd", schemes=["CN-GD"])[1],
    )


def label_rule_version(
    scheme: str,
    rule: str,
    version: str,
    unit: str,
    in_force_from: datetime,
    in_force_until: datetime | None,
) -> None:
    publish_rule_version(
        actor=OPERATOR_CONSOLE,
        scheme_code=scheme,
        rule_code=rule,
        version=version,
        declared_unit=unit,
        standard="ISO 14067:2018",
        in_force_from=in_force_from,
        in_force_until=in_force_until,
        thresholds=LABEL_THRESHOLDS,
    )


def label_request(
    value: str = "61.2",
    *,
    amount: str | None = None,
    name: str = "LFP battery module 51.2 V 100 Ah",
    rule: tuple[str, str, str] = ("CN-GD", "PCR-LIB", "1.0"),
    **top: Any,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/labels``; ``top`` adds top-level members (grade, …)."""
    footprint: dict[str, Any] = {
        "value": value,
        "system_boundary": "cradle-to-gate",
        "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
    }
    if amount is not None:
        footprint["declared_unit_amount"] = amount
    scheme, code, version = rule
    return {
        "product": {
            "name": name,
            "manufacturer": "Pearl River Energy Storage Ltd. (fictitious)",
            "model": "PRE-LFP-5120",
            "gtin": "06901234567892",
            "identifiers": ["urn:epc:idpat:sgtin:6901234.056789.*"],
        },
        "footprint": footprint,
        "rule": {"scheme": scheme, "rule": code, "version": version},
        **top,
    }


def vc_issue_request(value: str = "61.2", **credential: Any) -> dict[str, Any]:
    """The JSON body of VC-API ``POST /credentials/issue``; ``credential`` adds members."""
    return {
        "credential": {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://w3id.org/carbon-label/v1",
            ],
            "type": ["VerifiableCredential", "CarbonLabelCredential"],
            "credentialSubject": {
                "type": "CarbonLabel",
                "product": {
                    "type": "Product",
                    "name": "PV module 410 Wp, monocrystalline",
                    "manufacturer": {
                        "type": "Organization",
                        "name": "Foshan Solar Works (fictitious)",
                    },
                },
                "footprint": {
                    "type": "CarbonFootprint",
                    "value": value,
                    "systemBoundary": "cradle-to-gate",
                    "referencePeriod": {"startDate": "2025-01-01", "endDate": "2025-06-30"},
                },
                "rule": {"scheme": "CN-GD", "ruleId": "PCR-LIB", "ruleVersion": "1.0"},
            },
            **credential,
        },
        "options": {},
    }


# --- Admin API and operator CLI (tests/registry/api/test_admin.py, schemes/, bodies/, auth/) ---
# Fictitious names. Thresholds in kgCO2e per kWh, as the API takes them: decimal strings.

ADMIN_THRESHOLDS = {"A": "45", "B": "65", "C": "85", "D": "110.5"}


@dataclass(frozen=True, slots=True)
class AdminWorld:
    """Token secrets for the admin tests' registry: schemes CN-GD and HK, one body."""

    operator: str
    certifier: str  # of body "lingnan"
    regulator: str  # of CN-GD only
    hk_regulator: str  # of HK only


def build_admin_world() -> AdminWorld:
    """Schemes CN-GD (rule PCR-LIB, no version) and HK, body lingnan, tokens (caller commits)."""
    create_test_schemes()
    create_rule(
        actor=OPERATOR_CONSOLE,
        scheme_code="CN-GD",
        code="PCR-LIB",
        category="battery",
        names={"en": "Li-ion"},
    )
    register_body(
        actor=OPERATOR_CONSOLE,
        code="lingnan",
        name="Lingnan Product Carbon Certification Co. (fictitious)",
        region="CN-GD",
    )
    return AdminWorld(
        operator=create_token(role=Role.OPERATOR, name="operator")[1],
        certifier=create_token(role=Role.CERTIFIER, name="lingnan", body_code="lingnan")[1],
        regulator=create_token(role=Role.REGULATOR, name="gd", schemes=["CN-GD"])[1],
        hk_regulator=create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1],
    )


def actor_of(secret: str) -> dict[str, Any]:
    """The ``by`` member the ledger records for changes made with this token."""
    from registry.auth.services import authenticate

    return authenticate(secret).actor.to_json()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def ledger_tail(start: int) -> list[dict[str, Any]]:
    """The ledger entries from ``start`` on, decoded."""
    import json

    from registry.ledger.services import list_entries, tree_size

    size = tree_size()
    return [json.loads(body) for body in list_entries(start, size)] if size > start else []


class PerRequestClient(FlaskClient):
    """A test client whose requests each start with an empty ``flask.g``, as in production.

    ``db_session`` pushes the app context that every request of a test then shares, so without
    this a request would reuse the principal an earlier request cached in ``g.principal``.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)

"""Issuance benchmarks' shared parts: a registry ready to issue, issuance requests, checks.

Used by ``bench/issuance.py`` and its ``--memory`` (``bench/_memory.py``) and ``--profile``
(``bench/_profile.py``) modes.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench._common import Request, json_request, migrate
from credentials import verify_document
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.services import add_body_key, grant_accreditation, register_body
from registry.clock import utcnow
from registry.db import db, transaction
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.ledger.services import publish_checkpoint
from registry.ledger.verification import verify_ledger
from registry.schemes.services import create_rule, create_scheme, publish_rule_version

SCHEME, RULE, VERSION = "CN-GD", "PCR-LIB", "2.1"
PRODUCTS = (
    "LFP battery module 51.2 V 100 Ah",
    "NMC battery pack 48 V 280 Ah",
    "LFP cell 3.2 V 314 Ah",
    "Home storage battery 10 kWh",
)


# --- set-up ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registry:
    """A registry ready to issue: the certifier tokens of its bodies."""

    tokens: tuple[str, ...]


def set_up_registry(app: Flask, *, bodies: int) -> Registry:
    """Migrate, then create what a certifier needs to issue, through the registry's services."""
    tokens = []
    migrate(app)
    with app.app_context():
        now = utcnow()
        with transaction():
            create_scheme(
                actor=OPERATOR_CONSOLE,
                code=SCHEME,
                region="CN-GD",
                names={
                    "en": "Guangdong product carbon label (fictitious)",
                    "zh": "广东碳标签（虚构）",
                },
                owner="Guangdong environment department (fictitious)",
            )
            create_rule(
                actor=OPERATOR_CONSOLE,
                scheme_code=SCHEME,
                code=RULE,
                category="battery",
                names={"en": "Lithium-ion batteries", "zh": "锂离子电池"},
            )
            publish_rule_version(
                actor=OPERATOR_CONSOLE,
                scheme_code=SCHEME,
                rule_code=RULE,
                version=VERSION,
                declared_unit="kWh",
                standard="ISO 14067:2018",
                in_force_from=now - timedelta(days=30),
                in_force_until=None,
                thresholds=(Decimal(45), Decimal(65), Decimal(85), Decimal(110)),
            )
        for b in range(bodies):
            code = f"bench-body-{b}"
            with transaction():
                register_body(
                    actor=OPERATOR_CONSOLE,
                    code=code,
                    name=f"Benchmark Product Carbon Certification {b} Co. (fictitious)",
                    region="CN-GD",
                )
                grant_accreditation(
                    actor=OPERATOR_CONSOLE,
                    body_code=code,
                    scheme_code=SCHEME,
                    categories=["battery"],
                    accreditation_body="CNAS (fictitious)",
                    reference=f"CNAS-C{1000 + b} (fictitious)",
                    valid_from=now - timedelta(days=10),
                    valid_until=None,
                )
                add_body_key(code, actor=OPERATOR_CONSOLE)
                _, secret = create_token(role=Role.CERTIFIER, name=f"bench {b}", body_code=code)
            tokens.append(secret)
        db.engine.dispose()
    # The key's active-from is "now" to the millisecond; credentials carry whole seconds, so
    # let the clock pass a second before the first label (a verifier compares the two).
    time.sleep(1.1)
    return Registry(tuple(tokens))


def gtin14(n: int) -> str:
    digits = f"1690{n % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def label_payload(n: int, rng: random.Random) -> dict[str, Any]:
    """A plausible, always-different issuance request (fictitious products)."""
    value = Decimal(rng.randrange(3000, 13000)) / 100
    return {
        "product": {
            "name": f"{rng.choice(PRODUCTS)} #{n} (fictitious)",
            "manufacturer": f"Pearl River Energy Storage {rng.randrange(200)} Ltd. (fictitious)",
            "model": f"PRE-{rng.randrange(10**6):06d}",
            "gtin": gtin14(n),
        },
        "footprint": {
            "value": str(value),
            "system_boundary": rng.choice(("cradle-to-gate", "cradle-to-grave")),
            "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "rule": {"scheme": SCHEME, "rule": RULE, "version": VERSION},
    }


def issue_request(registry: Registry, seed: int) -> Callable[[int], Request]:
    rng = random.Random(seed)
    tokens = registry.tokens

    def make(n: int) -> Request:
        return json_request(
            "POST",
            "/api/v1/labels",
            label_payload(seed * 10_000_000 + n, rng),
            {
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    return make


def batch_request(registry: Registry, seed: int, size: int) -> Callable[[int], Request]:
    rng = random.Random(seed)
    tokens = registry.tokens

    def make(n: int) -> Request:
        first = seed * 10_000_000 + n * size
        return json_request(
            "POST",
            "/api/v1/labels/batch",
            {"labels": [label_payload(first + k, rng) for k in range(size)]},
            {
                "Authorization": f"Bearer {tokens[n % len(tokens)]}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    return make


def verify_after(
    app: Flask, *, created: int, sample: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Labels = ledger label.issued entries = labels in 201 responses; the ledger verifies."""
    checks: list[str] = []
    problems: list[str] = []
    with app.app_context():
        with transaction():
            labels = db.session.execute(select(func.count()).select_from(Label)).scalar_one()
            issued = db.session.execute(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.event == "label.issued")
            ).scalar_one()
            checkpoint = publish_checkpoint()
        line = f"labels {labels}, ledger label.issued {issued}, labels in 201 responses {created}"
        (checks if labels == issued == created else problems).append(line)
        t0 = time.perf_counter()
        report = verify_ledger()
        took = time.perf_counter() - t0
        db.session.rollback()
        if report.ok and report.uncovered == 0 and checkpoint.size == report.size:
            checks.append(
                f"verify_ledger: OK, {report.size} entries gapless from 0, "
                f"{report.checkpoints_verified} checkpoints verified, the latest covers all "
                f"({took:.1f} s)"
            )
        else:
            problems.extend(f"verify_ledger: {p}" for p in report.problems or ("not covered",))
        db.engine.dispose()
    if sample:
        bad = 0
        for credential in sample:
            try:
                verify_document(credential)
            except Exception as exc:
                bad += 1
                problems.append(f"credential proof: {type(exc).__name__}: {exc}")
        line = f"{len(sample)} sampled credentials: the eddsa-rdfc-2022 proof verifies with the kit"
        (problems if bad else checks).append(line)
    return checks, problems


def print_checks(checks: list[str], problems: list[str]) -> None:
    """The checks (``note:`` lines as they are, the rest as ``ok:``), then the problems."""
    for line in checks:
        print(f"  {'' if line.startswith('note:') else 'ok: '}{line}")
    for line in problems:
        print(f"  PROBLEM: {line}")

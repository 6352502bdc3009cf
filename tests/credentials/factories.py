"""Realistic label credentials for tests and benchmarks (fictitious companies)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from credentials.credential import (
    CarbonLabel,
    Footprint,
    Product,
    RuleRef,
    StatusRef,
    build_label_credential,
    label_url,
)
from credentials.cryptosuites import sign_document
from credentials.keys import KeyPair

BASE = "https://registry.example.cn"
ISSUED_AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def body_key(n: int = 1) -> KeyPair:
    return KeyPair.from_seed(bytes([n]) * 32)


def sample_label(key: KeyPair | None = None, **changes: Any) -> CarbonLabel:
    key = key or body_key()
    label_id = changes.pop("label_id", "7K3M9QH2XD")
    label = CarbonLabel(
        label_id=label_id,
        url=label_url(BASE, label_id),
        issuer_did=key.did,
        issuer_name="Lingnan Product Carbon Certification Co. (fictitious)",
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        valid_until=datetime(2029, 2, 28, 23, 59, 59, tzinfo=UTC),
        product=Product(
            name="LFP battery module 51.2 V 100 Ah",
            manufacturer="Pearl River Energy Storage Ltd. (fictitious)",
            model="PRE-LFP-5120",
            gtin="06901234567892",
            identifiers=("urn:epc:idpat:sgtin:6901234.056789.*",),
        ),
        footprint=Footprint(
            value=Decimal("61.2"),
            declared_unit="kWh",
            system_boundary="cradle-to-gate",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
        ),
        grade="B",
        rule=RuleRef(rule_id="CN-GD-PCR-LIB", version="2.1", scheme="CN-GD"),
        status=(
            StatusRef("revocation", f"{BASE}/status-lists/r1", 4711),
            StatusRef("suspension", f"{BASE}/status-lists/s1", 4711),
        ),
    )
    return replace(label, **changes)


def signed_credential(
    key: KeyPair | None = None, cryptosuite: str = "eddsa-rdfc-2022", **changes: Any
) -> dict[str, Any]:
    key = key or body_key()
    credential = build_label_credential(sample_label(key, **changes))
    return sign_document(credential, key=key, cryptosuite=cryptosuite, created=ISSUED_AT)

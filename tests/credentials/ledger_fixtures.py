"""A small, fictitious ledger built from the kit's event types alone, for the replay tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from credentials import (
    AccreditationGranted,
    Actor,
    ActorRole,
    BodyRegistered,
    KeyAdded,
    KeyPair,
    LabelIssued,
    LedgerEvent,
    MappingSource,
    MappingTarget,
    RecognitionMapping,
    RuleRegistered,
    RuleVersionPublished,
    SchemeRegistered,
    StatusSlot,
    Thresholds,
    VersionRange,
    canonicalize_jcs,
    format_entry_time,
)
from credentials.grading import Grade

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OPERATOR = Actor(ActorRole.OPERATOR, token=1)
CONSOLE = Actor(ActorRole.OPERATOR)
CERTIFIER = Actor(ActorRole.CERTIFIER, token=2, body="lingnan")
OTHER_CERTIFIER = Actor(ActorRole.CERTIFIER, token=3, body="pearl")
REGULATOR = Actor(ActorRole.REGULATOR, token=4, schemes=("CN-GD",))
KEY = KeyPair.from_seed(bytes(range(1, 33))).public_key.multibase
OTHER_KEY = KeyPair.from_seed(bytes(range(2, 34))).public_key.multibase
THRESHOLDS = Thresholds(Decimal(45), Decimal(65), Decimal("85.5"), Decimal(110))


def world() -> list[LedgerEvent]:
    """Scheme CN-GD with a battery rule in force from T0; bodies lingnan and pearl, each
    accredited for CN-GD / battery with one registry-held key."""
    events: list[LedgerEvent] = [
        SchemeRegistered("CN-GD", "CN-GD", {"en": "Guangdong (fictitious)"}, "GD", CONSOLE),
        RuleRegistered("CN-GD", "PCR-LIB", "battery", {"en": "Li-ion"}, CONSOLE),
        RuleRegistered("CN-GD", "PCR-PV", "pv-module", {"en": "PV"}, CONSOLE),
        RuleVersionPublished(
            "CN-GD", "PCR-LIB", "1.0", "battery", "kWh", "ISO 14067:2018", T0, None, THRESHOLDS,
            REGULATOR,
        ),
        RuleVersionPublished(
            "CN-GD", "PCR-PV", "1.0", "pv-module", "kWp", "ISO 14067:2018", T0, None,
            THRESHOLDS, OPERATOR,
        ),
    ]  # fmt: skip
    for n, (code, key) in enumerate((("lingnan", KEY), ("pearl", OTHER_KEY)), start=1):
        events += [
            BodyRegistered(code, f"{code.title()} (fictitious)", "CN-GD", {}, OPERATOR),
            AccreditationGranted(
                n, code, "CN-GD", ("battery",), "CNAS (fictitious)", f"CNAS-{n}", T0, None, OPERATOR
            ),
            KeyAdded(code, key, f"did:key:{key}", True, T0, OPERATOR),
        ]  # fmt: skip
    return events


def issued(
    label: str,
    *,
    n: int = 0,
    at: datetime = T0 + timedelta(days=1),
    body: str = "lingnan",
    key: str = KEY,
    rule: tuple[str, str] = ("PCR-LIB", "battery"),
    footprint: str = "61.2",
    grade: Grade = "B",
    supersedes: str | None = None,
    by: Actor = CERTIFIER,
) -> LabelIssued:
    return LabelIssued(
        label=label,
        body=body,
        credential_digest=f"sha256-fictitious-{label}",
        verification_method=f"did:key:{key}#{key}",
        scheme="CN-GD",
        rule=rule[0],
        rule_version="1.0",
        category=rule[1],
        footprint=Decimal(footprint),
        declared_unit="kWh" if rule[1] == "battery" else "kWp",
        declared_unit_amount=Decimal(1),
        grade=grade,
        valid_from=at,
        valid_until=at + timedelta(days=365),
        status_lists=(StatusSlot(f"r-{body}-1", n), StatusSlot(f"s-{body}-1", n)),
        supersedes=supersedes,
        by=by,
    )


def entries(events: Sequence[LedgerEvent]) -> list[bytes]:
    """The exact bytes a ledger would hold for these events, numbered from 0."""
    return [
        canonicalize_jcs(
            {
                **event.to_payload(),
                "seq": seq,
                "time": format_entry_time(T0 + timedelta(milliseconds=seq)),
                "event": event.KIND,
            }
        )
        for seq, event in enumerate(events)
    ]


HK_REGULATOR = Actor(ActorRole.REGULATOR, token=5, schemes=("HK",))


def hk_world() -> list[LedgerEvent]:
    """The world plus scheme HK with a battery rule in force from T0."""
    return [
        *world(),
        SchemeRegistered("HK", "HK", {"en": "Hong Kong (fictitious)"}, "HK", CONSOLE),
        RuleRegistered("HK", "HK-PCR-LIB", "battery", {"en": "Li-ion"}, CONSOLE),
        RuleVersionPublished(
            "HK", "HK-PCR-LIB", "1.0", "battery", "kWh", "ISO 14067:2018", T0, None, THRESHOLDS,
            HK_REGULATOR,
        ),
    ]  # fmt: skip


def gd_hk_mapping(revision: int = 1, **changes: object) -> RecognitionMapping:
    """CN-GD batteries recognised in Hong Kong, recomputed under HK-PCR-LIB 1.0."""
    mapping = RecognitionMapping(
        mapping_id="GD-HK-LIB",
        revision=revision,
        source=MappingSource("CN-GD", frozenset({"PCR-LIB"}), VersionRange("1.0", None)),
        target=MappingTarget("HK", "HK", "HK-PCR-LIB", "1.0"),
        mode="recompute",
        effective_from=T0,
        approved_by="HK regulator (fictitious)",
        agreement_sha256="0f" * 32,
    )
    return replace(mapping, **changes)  # type: ignore[arg-type]

"""Recognition for a region: each mode, unit conversion, each condition alone, revisions,
withdrawals, effective periods and chains that are (not) followed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from credentials import CredentialError, Thresholds, TrustBundle, verify_label
from credentials.messages import ENGLISH, render, template_parameters
from credentials.recognition import (
    Condition,
    Conditions,
    Conversion,
    LabelFacts,
    MappingSource,
    MappingTarget,
    Recognition,
    RecognitionError,
    RecognitionMapping,
    RecognitionOutcome,
    VersionRange,
    accounting_standard,
    current_revisions,
    recognise,
    recognise_label,
    version_key,
)
from credentials.trust import TrustedRule
from tests.credentials.factories import signed_credential
from tests.credentials.trust_fixtures import full_trust, rule_json

NOW = datetime(2026, 6, 1, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
SHA = "ab" * 32
REGIONS = {"CN-GD": "CN-GD", "HK": "HK", "MO": "MO", "CN-JS": "CN-JS", "CN-SH": "CN-SH"}

RULES = {
    ("HK", "HK-PCR-TEA", "1.0"): TrustedRule(
        "HK", "HK-PCR-TEA", "1.0", "tea", "kg",
        Thresholds(Decimal(2), Decimal(4), Decimal(6), Decimal(9)), START,
    ),
    ("HK", "HK-PCR-TEA-G", "1.0"): TrustedRule(
        "HK", "HK-PCR-TEA-G", "1.0", "tea", "g",
        Thresholds(Decimal("0.002"), Decimal("0.004"), Decimal("0.006"), Decimal("0.009")), START,
    ),
    ("MO", "MO-PCR-TEA", "1.0"): TrustedRule(
        "MO", "MO-PCR-TEA", "1.0", "tea", "kg",
        Thresholds(Decimal(3), Decimal(5), Decimal(8), Decimal(12)), START,
    ),
}  # fmt: skip


def rules(scheme: str, rule_id: str, version: str) -> TrustedRule | None:
    return RULES.get((scheme, rule_id, version))


def facts(**changes: Any) -> LabelFacts:
    base = LabelFacts(
        scheme="CN-GD",
        rule_id="CN-GD-PCR-TEA",
        rule_version="1.0",
        grade="B",
        footprint=Decimal("4.5"),  # per 1 kg: B under CN-GD (≤ 5), C under HK (≤ 6)
        declared_unit="kg",
        declared_unit_amount=Decimal(1),
        system_boundary="cradle-to-gate",
        period_end=date(2025, 12, 31),
        valid_from=datetime(2026, 1, 15, tzinfo=UTC),
        valid_until=datetime(2029, 1, 15, tzinfo=UTC),
        standard="ISO 14067",
        assurance="reasonable",
        categories=frozenset({"tea"}),
    )
    return dataclasses.replace(base, **changes)


def gd_to_hk(**changes: Any) -> RecognitionMapping:
    base = RecognitionMapping(
        mapping_id="GD-HK-TEA",
        revision=1,
        source=MappingSource("CN-GD", frozenset({"CN-GD-PCR-TEA"}), VersionRange("1.0", "1.9")),
        target=MappingTarget("HK", "HK", "HK-PCR-TEA", "1.0"),
        mode="recompute",
        effective_from=START,
        approved_by="regulator:HK",
        agreement_sha256=SHA,
    )
    return dataclasses.replace(base, **changes)


def answer(*mappings: RecognitionMapping, region: str = "HK", **fact_changes: Any) -> Recognition:
    return recognise(
        facts(**fact_changes), region, list(mappings), rules, at=NOW, native_regions=REGIONS
    )


def failed(result: Recognition) -> list[Condition]:
    return [c.condition for c in result.conditions if not c.passed]


def test_a_label_is_native_in_its_own_schemes_region() -> None:
    result = answer(gd_to_hk(), region="CN-GD")
    assert result.outcome is RecognitionOutcome.NATIVE
    assert result.recognised
    assert result.grade == "B"


def test_recompute_applies_the_target_thresholds() -> None:
    result = answer(gd_to_hk())
    assert result.outcome is RecognitionOutcome.RECOGNISED
    assert (result.grade, result.footprint, result.declared_unit) == ("C", Decimal("4.5"), "kg")
    assert result.via == (("GD-HK-TEA", 1),)
    assert failed(result) == []


def test_recompute_divides_by_the_declared_amount() -> None:
    # 9 kgCO2e for 2 kg is 4.5 per kg: the same answer as for 4.5 per 1 kg.
    result = answer(gd_to_hk(), footprint=Decimal(9), declared_unit_amount=Decimal(2))
    assert (result.grade, result.footprint) == ("C", Decimal("4.5"))


def test_recompute_refuses_other_units_without_a_stated_conversion() -> None:
    mapping = gd_to_hk(target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"))
    result = answer(mapping)
    assert result.outcome is RecognitionOutcome.NOT_RECOGNISED
    assert failed(result) == [Condition.UNIT]
    assert result.conditions[-1].message == "recognition.unit.mismatch"
    assert result.grade is None
    assert result.footprint is None


def test_recompute_converts_through_the_mappings_factor() -> None:
    mapping = gd_to_hk(
        target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"),
        conversion=Conversion("kg", "g", Decimal(1000)),
    )
    result = answer(mapping)
    assert result.recognised
    assert (result.footprint, result.declared_unit, result.grade) == (Decimal("0.0045"), "g", "C")


def test_a_conversion_for_other_units_does_not_apply() -> None:
    mapping = gd_to_hk(
        target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"),
        conversion=Conversion("t", "g", Decimal(1_000_000)),
    )
    assert failed(answer(mapping)) == [Condition.UNIT]


def test_recompute_needs_the_target_rule_in_the_bundle() -> None:
    mapping = gd_to_hk(target=MappingTarget("HK", "HK", "HK-PCR-TEA", "9.9"))
    result = answer(mapping)
    assert failed(result) == [Condition.UNIT]
    assert result.conditions[-1].message == "recognition.unit.target_unknown"


def test_table_maps_grade_to_grade() -> None:
    table = {"A": "A", "B": "A", "C": "B", "D": "C", "E": "E"}
    mapping = gd_to_hk(mode="table", table=table)
    result = answer(mapping)
    assert (result.outcome, result.grade) == (RecognitionOutcome.RECOGNISED, "A")


def test_value_only_accepts_the_footprint_and_gives_no_grade() -> None:
    mapping = gd_to_hk(mode="value-only", target=MappingTarget("EU", "EU"))
    result = answer(mapping, region="EU")
    assert result.recognised
    assert result.grade is None
    assert (result.footprint, result.declared_unit) == (Decimal("4.5"), "kg")


@pytest.mark.parametrize(
    ("conditions", "fact_changes", "condition", "message"),
    [
        (Conditions(standards=frozenset({"PAS 2050"})), {}, Condition.STANDARD, "other"),
        (
            Conditions(boundaries=frozenset({"cradle-to-grave"})),
            {},
            Condition.BOUNDARY,
            "other",
        ),
        (Conditions(max_period_age_days=100), {}, Condition.PERIOD_AGE, "too_old"),
        (Conditions(categories=frozenset({"battery"})), {}, Condition.ACCREDITATION, "outside"),
        (Conditions(min_assurance="reasonable"), {"assurance": "limited"}, Condition.ASSURANCE,
         "too_low"),
        (Conditions(min_assurance="limited"), {"assurance": None}, Condition.ASSURANCE,
         "not_stated"),
        (Conditions(issued_from=datetime(2026, 2, 1, tzinfo=UTC)), {}, Condition.ISSUED,
         "outside"),
        (Conditions(issued_until=datetime(2026, 1, 1, tzinfo=UTC)), {}, Condition.ISSUED,
         "outside"),
        (Conditions(max_validity_days=730), {}, Condition.VALIDITY, "too_long"),
    ],
)  # fmt: skip
def test_each_condition_fails_alone_and_says_why(
    conditions: Conditions, fact_changes: dict[str, Any], condition: Condition, message: str
) -> None:
    result = answer(gd_to_hk(conditions=conditions), **fact_changes)
    assert result.outcome is RecognitionOutcome.NOT_RECOGNISED
    assert failed(result) == [condition]
    failing = next(c for c in result.conditions if not c.passed)
    assert failing.message == f"recognition.{condition.value}.{message}"
    assert result.grade is None


def test_every_condition_can_pass_together() -> None:
    conditions = Conditions(
        standards=frozenset({"ISO 14067"}),
        boundaries=frozenset({"cradle-to-gate"}),
        max_period_age_days=365,
        categories=frozenset({"tea"}),
        min_assurance="limited",
        issued_from=datetime(2026, 1, 1, tzinfo=UTC),
        issued_until=datetime(2026, 2, 1, tzinfo=UTC),
        max_validity_days=3 * 366,
    )
    result = answer(gd_to_hk(conditions=conditions))
    assert result.recognised
    assert {c.condition for c in result.conditions} == set(Condition)
    assert all(c.passed for c in result.conditions)


def test_the_source_rule_version_and_grade_must_be_covered() -> None:
    assert failed(answer(gd_to_hk(), rule_version="2.0")) == [Condition.SOURCE]
    # A mapping of the scheme's other rules does not apply at all: no mapping covers the label.
    assert answer(gd_to_hk(), rule_id="CN-GD-PCR-PV").outcome is RecognitionOutcome.NO_MAPPING
    grades = dataclasses.replace(gd_to_hk().source, grades=frozenset({"A"}))
    assert failed(answer(gd_to_hk(source=grades))) == [Condition.SOURCE]


def test_a_mapping_outside_its_effective_period_does_not_apply() -> None:
    later = gd_to_hk(effective_from=NOW + timedelta(days=1))
    ended = gd_to_hk(effective_until=NOW)
    for mapping in (later, ended):
        result = answer(mapping)
        assert result.outcome is RecognitionOutcome.NOT_RECOGNISED
        assert failed(result) == [Condition.EFFECTIVE]


def test_a_label_issued_before_the_mapping_took_effect_is_recognised_unless_it_says_so() -> None:
    # The effective period is when the mapping applies; which labels it takes is a condition.
    mapping = gd_to_hk(effective_from=datetime(2026, 3, 1, tzinfo=UTC))
    assert answer(mapping).recognised
    strict = dataclasses.replace(
        mapping, conditions=Conditions(issued_from=datetime(2026, 3, 1, tzinfo=UTC))
    )
    assert failed(answer(strict)) == [Condition.ISSUED]


def test_a_newer_revision_supersedes_the_older() -> None:
    first = gd_to_hk()
    second = gd_to_hk(revision=2, conditions=Conditions(boundaries=frozenset({"cradle-to-grave"})))
    assert current_revisions([second, first]) == [second]
    result = answer(first, second)
    assert result.via == (("GD-HK-TEA", 2),)
    assert failed(result) == [Condition.BOUNDARY]


def test_a_withdrawn_mapping_no_longer_applies() -> None:
    withdrawal = gd_to_hk(revision=2, withdrawn=True)
    assert current_revisions([gd_to_hk(), withdrawal]) == []
    assert answer(gd_to_hk(), withdrawal).outcome is RecognitionOutcome.NO_MAPPING


def test_two_different_texts_of_one_revision_are_refused() -> None:
    with pytest.raises(RecognitionError):
        current_revisions([gd_to_hk(), gd_to_hk(approved_by="someone else")])


def hk_to_mo(**changes: Any) -> RecognitionMapping:
    return gd_to_hk(
        mapping_id="HK-MO-TEA",
        source=MappingSource("HK", frozenset({"HK-PCR-TEA"})),
        target=MappingTarget("MO", "MO", "MO-PCR-TEA", "1.0"),
        mode="table",
        table={"A": "A", "B": "B", "C": "C", "D": "D", "E": "E"},
        **changes,
    )


def test_a_chain_is_not_followed_unless_the_first_mapping_says_transitive() -> None:
    result = answer(gd_to_hk(), hk_to_mo(), region="MO")
    assert result.outcome is RecognitionOutcome.NO_MAPPING
    followed = answer(gd_to_hk(transitive=True), hk_to_mo(), region="MO")
    assert followed.recognised
    assert followed.via == (("GD-HK-TEA", 1), ("HK-MO-TEA", 1))
    assert followed.grade == "C"  # B in CN-GD is C in HK, and HK's C is Macao's C


def test_a_direct_mapping_wins_over_a_chain() -> None:
    direct = gd_to_hk(
        mapping_id="GD-MO-TEA",
        target=MappingTarget("MO", "MO", "MO-PCR-TEA", "1.0"),
    )
    result = answer(gd_to_hk(transitive=True), hk_to_mo(), direct, region="MO")
    assert result.via == (("GD-MO-TEA", 1),)
    assert result.grade == "B"


def test_a_transitive_loop_ends() -> None:
    back = gd_to_hk(
        mapping_id="HK-GD-TEA",
        source=MappingSource("HK", frozenset({"HK-PCR-TEA"})),
        target=MappingTarget("CN-GD", "CN-GD", "HK-PCR-TEA", "1.0"),
        transitive=True,
    )
    result = answer(gd_to_hk(transitive=True), back, region="MO")
    assert result.outcome is RecognitionOutcome.NO_MAPPING


def test_mappings_check_their_own_consistency() -> None:
    with pytest.raises(RecognitionError, match="target rule"):
        gd_to_hk(target=MappingTarget("HK", "HK"))
    with pytest.raises(RecognitionError, match="grade table"):
        gd_to_hk(mode="table", table={"A": "A"})
    with pytest.raises(RecognitionError, match="only a table"):
        gd_to_hk(table={"A": "A"})
    with pytest.raises(RecognitionError, match="converts"):
        gd_to_hk(mode="value-only", conversion=Conversion("kg", "g", Decimal(1000)))
    with pytest.raises(RecognitionError, match="hex"):
        gd_to_hk(agreement_sha256="AB" * 32)
    with pytest.raises(RecognitionError, match="standard"):
        gd_to_hk(conditions=Conditions(standards=frozenset({"ISO 9001"})))
    with pytest.raises(RecognitionError, match="ends after"):
        gd_to_hk(effective_until=START)
    with pytest.raises(RecognitionError, match="empty"):
        VersionRange("2.0", "1.0")
    with pytest.raises(RecognitionError, match="positive"):
        Conversion("kg", "g", Decimal(0))


def test_versions_order_as_people_number_them() -> None:
    assert version_key("1.9") < version_key("1.10") < version_key("2.0") < version_key("10.0")
    assert version_key("2023") < version_key("2025")
    assert VersionRange("1.0", "1.9").contains("1.5")
    assert not VersionRange("1.0", "1.9").contains("1.10")


def every_kind() -> list[RecognitionMapping]:
    return [
        gd_to_hk(),
        gd_to_hk(
            revision=3,
            target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"),
            conversion=Conversion("kg", "g", Decimal("1000.5")),
            effective_until=datetime(2030, 1, 1, tzinfo=UTC),
            conditions=Conditions(
                standards=frozenset({"ISO 14067", "PAS 2050"}),
                boundaries=frozenset({"cradle-to-grave"}),
                max_period_age_days=730,
                categories=frozenset({"tea"}),
                min_assurance="reasonable",
                issued_from=START,
                issued_until=datetime(2027, 1, 1, tzinfo=UTC),
                max_validity_days=1000,
            ),
            transitive=True,
        ),
        hk_to_mo(withdrawn=True, revision=2),
        gd_to_hk(mode="value-only", target=MappingTarget("EU", "EU")),
    ]


@pytest.mark.parametrize("mapping", every_kind(), ids=lambda m: f"{m.mapping_id}-{m.revision}")
def test_the_json_form_reads_back_equal(mapping: RecognitionMapping) -> None:
    assert RecognitionMapping.from_json(mapping.to_json()) == mapping


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "guess"},
        {"revision": True},
        {"revision": "1"},
        {"agreementSha256": "x"},
        {"source": []},
        {"target": {"scheme": "HK"}},
        {"table": {"A": "F"}},
        {"conditions": {"systemBoundaries": ["gate-to-gate"]}},
        {"conditions": {"maxPeriodAgeDays": -1}},
        {"conditions": {"maxPeriodAgeDays": 1.5}},
        {"effectiveFrom": "2026-01-01"},
        {"transitive": "yes"},
        {"conversion": {"fromUnit": "kg", "toUnit": "g", "factor": "1e3"}},
        {"mappingId": "x" * 65},
    ],
)
def test_malformed_json_is_refused_with_a_mapping_error(change: dict[str, Any]) -> None:
    data = gd_to_hk().to_json() | change
    with pytest.raises(RecognitionError):
        RecognitionMapping.from_json(data)


ALL_CONDITIONS = Conditions(
    standards=frozenset({"ISO 14067"}),
    boundaries=frozenset({"cradle-to-gate"}),
    max_period_age_days=365,
    categories=frozenset({"tea"}),
    min_assurance="reasonable",
    issued_from=datetime(2026, 1, 1, tzinfo=UTC),
    issued_until=datetime(2026, 2, 1, tzinfo=UTC),
    max_validity_days=3 * 366,
)


def test_every_message_has_an_english_template_with_its_parameters() -> None:
    failing_everything = {
        "rule_version": "3",
        "standard": "PAS 2050",
        "system_boundary": "cradle-to-grave",
        "period_end": date(2020, 1, 1),
        "categories": frozenset({"battery"}),
        "assurance": "limited",
        "valid_from": datetime(2025, 6, 1, tzinfo=UTC),
        "valid_until": datetime(2035, 6, 1, tzinfo=UTC),
    }
    strict = gd_to_hk(conditions=ALL_CONDITIONS)
    results = [
        answer(strict, region="CN-GD"),
        answer(strict),
        answer(gd_to_hk(conditions=ALL_CONDITIONS, effective_until=NOW), **failing_everything),
        answer(strict, assurance=None),
        answer(gd_to_hk(target=MappingTarget("HK", "HK", "HK-PCR-TEA", "9"))),
        answer(gd_to_hk(target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"))),
        answer(
            gd_to_hk(
                target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"),
                conversion=Conversion("kg", "g", Decimal(1000)),
            )
        ),
        answer(strict, region="EU"),
        Recognition("HK", RecognitionOutcome.NOT_VERIFIED),
    ]
    seen = set()
    for result in results:
        for message, params in [(result.message, result.params)] + [
            (c.message, c.params) for c in result.conditions
        ]:
            assert message in ENGLISH, message
            assert template_parameters(ENGLISH[message]) <= set(params), message
            render(message, params)
            seen.add(message)
    assert seen == {m for m in ENGLISH if m.startswith("recognition.")}


def test_the_answer_serialises_for_the_api() -> None:
    data = answer(gd_to_hk()).to_json()
    assert data["recognised"] is True
    assert data["grade"] == "C"
    assert data["via"] == [{"mappingId": "GD-HK-TEA", "revision": 1}]
    assert {c["condition"] for c in data["conditions"]} == {"source", "effective", "unit"}
    converted = answer(
        gd_to_hk(
            target=MappingTarget("HK", "HK", "HK-PCR-TEA-G", "1.0"),
            conversion=Conversion("kg", "g", Decimal(1000)),
        )
    )
    unit = converted.conditions[-1]
    assert render(unit.message, unit.params) == "converted from per kg to per g (× 1/1000)"


# --- from a verification report and its bundle ---------------------------------------------


def _bundle_with_mappings(credential: dict[str, Any], *mappings: RecognitionMapping) -> Any:
    hk_rule = {
        "scheme": "HK",
        "ruleId": "HK-PCR-LIB",
        "version": "1.0",
        "category": "lithium-battery",
        "declaredUnit": "kWh",
        "thresholds": {"A": "40", "B": "55", "C": "70", "D": "90"},
        "inForceFrom": "2025-01-01T00:00:00Z",
    }
    return full_trust(
        credential,
        rules=[rule_json(standard="ISO 14067:2018"), hk_rule],
        schemes={"CN-GD": "CN-GD", "HK": "HK", "EU-PEF": "EU"},
        mappings=[m.to_json() for m in mappings],
    )


def _lib_mappings() -> list[RecognitionMapping]:
    to_hk = gd_to_hk(
        mapping_id="GD-HK-LIB",
        source=MappingSource("CN-GD", frozenset({"CN-GD-PCR-LIB"}), VersionRange("2.0", None)),
        target=MappingTarget("HK", "HK", "HK-PCR-LIB", "1.0"),
        conditions=Conditions(
            standards=frozenset({"ISO 14067"}), categories=frozenset({"lithium-battery"})
        ),
    )
    to_eu = gd_to_hk(
        mapping_id="GD-EU",
        source=MappingSource("CN-GD", frozenset({"CN-GD-PCR-LIB"})),
        target=MappingTarget("EU-PEF", "EU"),
        mode="value-only",
        conditions=Conditions(boundaries=frozenset({"cradle-to-grave"}), max_period_age_days=730),
    )
    return [to_hk, to_eu]


def test_one_verified_label_gets_a_different_answer_in_each_region() -> None:

    credential = signed_credential()
    trust = _bundle_with_mappings(credential, *_lib_mappings())
    report = verify_label(credential, trust=trust, now=NOW)
    assert report.verified, report.to_json()
    home = recognise_label(report, trust, "CN-GD", at=NOW)
    hk = recognise_label(report, trust, "HK", at=NOW)
    eu = recognise_label(report, trust, "EU", at=NOW)
    mo = recognise_label(report, trust, "MO", at=NOW)
    assert (home.outcome, home.grade) == (RecognitionOutcome.NATIVE, "B")
    assert (hk.outcome, hk.grade) == (RecognitionOutcome.RECOGNISED, "C")  # 61.2 > 55
    assert eu.outcome is RecognitionOutcome.NOT_RECOGNISED
    assert failed(eu) == [Condition.BOUNDARY]
    assert mo.outcome is RecognitionOutcome.NO_MAPPING


def test_a_label_that_does_not_verify_is_recognised_nowhere() -> None:

    credential = signed_credential()
    trust = _bundle_with_mappings(credential, *_lib_mappings())
    forged = {**credential, "validUntil": "2039-01-01T00:00:00Z"}
    report = verify_label(forged, trust=trust, now=NOW)
    assert not report.verified
    assert recognise_label(report, trust, "HK", at=NOW).outcome is RecognitionOutcome.NOT_VERIFIED


def test_the_bundle_carries_schemes_and_mappings_through_json() -> None:

    trust = _bundle_with_mappings(signed_credential(), *_lib_mappings())
    assert TrustBundle.from_json(trust.to_json()) == trust
    assert trust.rules[0].standard == "ISO 14067:2018"
    broken = {**trust.to_json(), "mappings": [{"mappingId": "x"}]}
    with pytest.raises(CredentialError, match="malformed trust bundle"):
        TrustBundle.from_json(broken)


@pytest.mark.parametrize(
    ("stated", "standard"),
    [
        ("ISO 14067:2018", "ISO 14067"),
        ("ISO 14067:2018; IEC 61215 module scope", "ISO 14067"),
        ("ISO 14067", "ISO 14067"),
        ("PAS 2050:2011", "PAS 2050"),
        ("GHG Protocol Product Standard", "GHG Protocol Product Standard"),
        ("ISO 140670", None),
        ("ISO 14064-1", None),
        ("", None),
        (None, None),
    ],
)
def test_a_rules_stated_standard_is_read_as_one_of_the_three(
    stated: str | None, standard: str | None
) -> None:

    assert accounting_standard(stated) == standard


@pytest.mark.parametrize(
    ("stated", "outcome", "message"),
    [
        ("reasonable", RecognitionOutcome.RECOGNISED, "recognition.assurance.ok"),
        ("limited", RecognitionOutcome.NOT_RECOGNISED, "recognition.assurance.too_low"),
        (None, RecognitionOutcome.NOT_RECOGNISED, "recognition.assurance.not_stated"),
    ],
)
def test_the_credentials_stated_assurance_decides_min_assurance(
    stated: str | None, outcome: RecognitionOutcome, message: str
) -> None:
    to_hk = _lib_mappings()[0]
    strict = dataclasses.replace(
        to_hk, conditions=dataclasses.replace(to_hk.conditions, min_assurance="reasonable")
    )
    credential = signed_credential(assurance=stated)
    trust = _bundle_with_mappings(credential, strict)
    report = verify_label(credential, trust=trust, now=NOW)
    assert report.verified, report.to_json()
    assert report.label is not None
    assert report.label.assurance == stated
    hk = recognise_label(report, trust, "HK", at=NOW)
    assert hk.outcome is outcome
    (checked,) = [c for c in hk.conditions if c.condition is Condition.ASSURANCE]
    assert checked.message == message
    assert dict(checked.params) == {"assurance": stated or "", "minimum": "reasonable"}
    assert failed(hk) == ([] if stated == "reasonable" else [Condition.ASSURANCE])

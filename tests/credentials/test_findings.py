"""Audit findings from the entries alone: each finding has a planted case and a clean case, and
the findings pass lists every refused entry where replay stops at the first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from credentials import (
    AuditSettings,
    Finding,
    FindingKind,
    KeyRetired,
    LabelIssued,
    LabelRevoked,
    LabelSuspended,
    LedgerEvent,
    Severity,
    canonicalize_jcs,
    find_findings,
    format_entry_time,
    grade_for,
    replay,
)
from tests.credentials.ledger_fixtures import (
    CERTIFIER,
    KEY,
    OPERATOR,
    OTHER_CERTIFIER,
    OTHER_KEY,
    T0,
    THRESHOLDS,
    entries,
    issued,
    world,
)

DAY = T0 + timedelta(days=1)


def label_id(n: int) -> str:
    return f"L{n:09d}"


def graded(n: int, footprint: str, **kwargs: object) -> LabelIssued:
    """Label ``n`` with the grade the thresholds give (so only what a test plants is wrong)."""
    body = kwargs.get("body", "lingnan")
    by = CERTIFIER if body == "lingnan" else OTHER_CERTIFIER
    kwargs.setdefault("key", KEY if body == "lingnan" else OTHER_KEY)
    grade = grade_for(Decimal(footprint), THRESHOLDS)
    return issued(label_id(n), n=n, footprint=footprint, grade=grade, by=by, **kwargs)  # type: ignore[arg-type]


def kinds(findings: Sequence[Finding]) -> list[tuple[FindingKind, tuple[int, ...]]]:
    return [(f.kind, f.evidence) for f in findings]


def audit(
    events: Sequence[LedgerEvent], **kwargs: object
) -> list[tuple[FindingKind, tuple[int, ...]]]:
    findings, _ = find_findings(entries(events), **kwargs)  # type: ignore[arg-type]
    return kinds(findings)


BASE = len(world())


def test_clean_ledger_has_no_findings() -> None:
    events = [*world(), graded(0, "61.2"), graded(1, "40"), graded(2, "90", body="pearl")]
    assert replay(entries(events)).ok
    assert audit(events, gtins={label_id(0): "1", label_id(1): "2", label_id(2): "3"}) == []


def test_every_issuance_outside_scope_is_listed_not_only_the_first() -> None:
    pv = ("PCR-PV", "pv-module")  # lingnan is accredited for batteries only
    events = [*world(), graded(0, "61.2", rule=pv), graded(1, "61.2"), graded(2, "50", rule=pv)]
    assert replay(entries(events)).violation.seq == BASE  # type: ignore[union-attr]
    assert audit(events) == [
        (FindingKind.OUT_OF_SCOPE, (BASE,)),
        (FindingKind.OUT_OF_SCOPE, (BASE + 2,)),
    ]


def test_issuance_outside_the_accreditation_period() -> None:
    before = T0 - timedelta(days=1)  # the accreditation is valid from T0
    events = [*world(), graded(0, "61.2", at=before)]
    found = audit(events)
    assert (FindingKind.OUT_OF_SCOPE, (BASE,)) in found


def test_a_refused_issuance_is_admitted_so_later_entries_about_it_are_judged() -> None:
    pv = ("PCR-PV", "pv-module")
    events = [
        *world(),
        graded(0, "61.2", rule=pv),
        LabelRevoked(label_id(0), "lingnan", "active", "out of scope", CERTIFIER),
    ]
    assert audit(events) == [(FindingKind.OUT_OF_SCOPE, (BASE,))]


def test_issuance_with_a_retired_key() -> None:
    events = [
        *world(),
        graded(0, "61.2", at=DAY),
        KeyRetired("lingnan", KEY, DAY + timedelta(days=1), OPERATOR),
        graded(1, "61.2", at=DAY + timedelta(days=2)),
        graded(2, "61.2", at=DAY + timedelta(days=3)),
    ]
    found, _ = find_findings(entries(events))
    assert kinds(found) == [
        (FindingKind.KEY_NOT_ACTIVE, (BASE + 2,)),
        (FindingKind.KEY_NOT_ACTIVE, (BASE + 3,)),
    ]
    assert "retired" in found[0].message
    assert found[0].severity is Severity.CRITICAL


def test_issuance_with_another_bodys_key() -> None:
    events = [*world(), graded(0, "61.2", key=OTHER_KEY)]  # lingnan signing with pearl's key
    assert audit(events) == [(FindingKind.KEY_NOT_ACTIVE, (BASE,))]


def test_grade_that_does_not_match_the_thresholds() -> None:
    events = [*world(), issued(label_id(0), footprint="61.2", grade="A"), graded(1, "61.2")]
    found, _ = find_findings(entries(events))
    assert kinds(found) == [(FindingKind.GRADE_MISMATCH, (BASE,))]
    assert "give B" in found[0].message


def test_an_issuance_that_breaks_two_rules_gives_two_findings() -> None:
    pv = ("PCR-PV", "pv-module")
    events = [*world(), issued(label_id(0), footprint="61.2", grade="E", rule=pv)]
    assert sorted(audit(events)) == sorted(
        [(FindingKind.OUT_OF_SCOPE, (BASE,)), (FindingKind.GRADE_MISMATCH, (BASE,))]
    )


def test_status_change_by_a_party_that_may_not_make_it() -> None:
    events = [
        *world(),
        graded(0, "61.2"),
        LabelSuspended(label_id(0), "lingnan", "active", "not ours", OTHER_CERTIFIER),
        LabelRevoked(label_id(0), "lingnan", "active", "operator", OPERATOR),
    ]
    found, _ = find_findings(entries(events))
    assert kinds(found) == [
        (FindingKind.UNAUTHORISED_STATUS_CHANGE, (BASE + 1,)),
        (FindingKind.UNAUTHORISED_STATUS_CHANGE, (BASE + 2,)),
    ]
    assert found[0].schemes == ("CN-GD",)


def test_status_change_by_the_labels_own_body_is_clean() -> None:
    events = [
        *world(),
        graded(0, "61.2"),
        LabelSuspended(label_id(0), "lingnan", "active", "audit", CERTIFIER),
        LabelRevoked(label_id(0), "lingnan", "suspended", "audit", CERTIFIER),
    ]
    assert audit(events) == []


def spread(n: int) -> list[str]:
    """``n`` footprints close to 60 (a realistic spread for one battery rule)."""
    return [str(Decimal(55) + Decimal(i % 7)) for i in range(n)]


def test_footprint_outlier_within_its_rule_and_unit() -> None:
    labels = [graded(i, fp) for i, fp in enumerate(spread(12))]
    events = [*world(), *labels, graded(12, "600")]
    found, _ = find_findings(entries(events))
    assert kinds(found) == [(FindingKind.FOOTPRINT_OUTLIER, (BASE + 12,))]
    assert "0.6745" in found[0].message
    assert "> 3.5" in found[0].message


def test_no_outlier_in_a_tight_group() -> None:
    events = [*world(), *(graded(i, fp) for i, fp in enumerate(spread(13)))]
    assert audit(events) == []


def test_no_outlier_in_a_group_below_the_minimum_size() -> None:
    labels = [graded(i, fp) for i, fp in enumerate(spread(5))]
    events = [*world(), *labels, graded(5, "600")]
    assert audit(events) == []
    assert audit(events, settings=AuditSettings(outlier_min_group=6)) == [
        (FindingKind.FOOTPRINT_OUTLIER, (BASE + 5,))
    ]


def test_same_gtin_labelled_by_several_bodies() -> None:
    events = [*world(), graded(0, "61.2"), graded(1, "61.2", body="pearl")]
    gtins = {label_id(0): "09506000134352", label_id(1): "09506000134352"}
    assert audit(events, gtins=gtins) == [(FindingKind.GTIN_SEVERAL_BODIES, (BASE, BASE + 1))]
    assert audit(events, gtins={label_id(0): "09506000134352"}) == []


def test_gtin_relabelled_unusually_often() -> None:
    events = [*world(), *(graded(i, "61.2") for i in range(4))]
    gtins = {label_id(i): "09506000134352" for i in range(4)}
    evidence = tuple(range(BASE, BASE + 4))
    assert audit(events, gtins=gtins) == [(FindingKind.GTIN_RELABELLED, evidence)]
    del gtins[label_id(3)]
    assert audit(events, gtins=gtins) == []


def timed(events: Sequence[LedgerEvent], times: Sequence[datetime]) -> list[bytes]:
    """Entries whose append times the test chooses."""
    return [
        canonicalize_jcs(
            {
                **event.to_payload(),
                "seq": seq,
                "time": format_entry_time(time),
                "event": event.KIND,
            }
        )
        for seq, (event, time) in enumerate(zip(events, times, strict=True))
    ]


def test_burst_of_issuance_by_one_body() -> None:
    settings = AuditSettings(burst_count=3, burst_window=timedelta(minutes=10))
    setup = world()
    labels = [graded(i, "61.2") for i in range(6)]
    minute = timedelta(minutes=1)
    # 4 within 3 minutes (a burst), then 2 an hour apart (not).
    at = [DAY + i * minute for i in range(4)] + [DAY + timedelta(hours=h) for h in (2, 3)]
    times = [T0] * len(setup) + at
    found, _ = find_findings(timed([*setup, *labels], times), settings=settings)
    assert kinds(found) == [(FindingKind.ISSUANCE_BURST, tuple(range(BASE, BASE + 4)))]
    assert "more than 3 within 10 minutes" in found[0].message


def test_steady_issuance_is_not_a_burst() -> None:
    settings = AuditSettings(burst_count=3, burst_window=timedelta(minutes=10))
    setup = world()
    labels = [graded(i, "61.2") for i in range(8)]
    times = [T0] * len(setup) + [DAY + i * timedelta(minutes=4) for i in range(8)]
    found, _ = find_findings(timed([*setup, *labels], times), settings=settings)
    assert found == []


def test_a_missing_entry_and_a_reordered_pair_are_named() -> None:
    events = [*world(), *(graded(i, "61.2") for i in range(4))]
    stored = entries(events)
    missing = [*stored[: BASE + 1], *stored[BASE + 2 :]]
    found, _ = find_findings(missing)
    assert (FindingKind.REFUSED_ENTRY, (BASE + 2,)) in kinds(found)
    assert "expected entry" in found[0].message
    swapped = [*stored[:BASE], stored[BASE + 1], stored[BASE], *stored[BASE + 2 :]]
    found, _ = find_findings(swapped)
    assert kinds(found) == [
        (FindingKind.REFUSED_ENTRY, (BASE,)),
        (FindingKind.REFUSED_ENTRY, (BASE + 1,)),
    ]


def test_a_malformed_entry_is_named_by_its_position() -> None:
    stored = entries([*world(), graded(0, "61.2")])
    found, _ = find_findings([*stored, b'{"seq": 99}'])
    assert kinds(found) == [(FindingKind.REFUSED_ENTRY, (len(stored),))]


def test_findings_are_deterministic_and_ordered_by_evidence() -> None:
    pv = ("PCR-PV", "pv-module")
    events = [
        *world(),
        graded(0, "61.2", rule=pv),
        issued(label_id(1), n=1, footprint="61.2", grade="A"),
        LabelSuspended(label_id(1), "lingnan", "active", "x", OTHER_CERTIFIER),
    ]
    first, _ = find_findings(entries(events))
    second, _ = find_findings(entries(events))
    assert first == second
    assert [f.evidence for f in first] == [(BASE,), (BASE + 1,), (BASE + 2,)]
    assert first[0].to_json()["kind"] == "out_of_scope"

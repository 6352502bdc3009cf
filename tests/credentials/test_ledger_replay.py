"""Replaying a ledger derives every state from the entries alone and names the first entry whose
transition the registry may not make. Each planted case is named after what it would let
through."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from credentials import (
    AccreditationStatusChanged,
    Actor,
    BodyStatusChanged,
    KeyAdded,
    KeyPair,
    KeyRetired,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    LedgerEvent,
    ReplayReason,
    RuleVersionPublished,
    canonicalize_jcs,
    replay,
)
from tests.credentials.ledger_fixtures import (
    CERTIFIER,
    KEY,
    OPERATOR,
    OTHER_CERTIFIER,
    OTHER_KEY,
    REGULATOR,
    T0,
    entries,
    issued,
    world,
)

LATER = T0 + timedelta(days=3)
OWN_KEY = KeyPair.from_seed(bytes(range(3, 35))).public_key.multibase  # a body's own key


def test_a_clean_ledger_replays_to_its_state() -> None:
    events = [
        *world(),
        issued("AAAAAAAAAA", n=0),
        issued("BBBBBBBBBB", n=1, footprint="120", grade="E"),
        LabelSuspended("AAAAAAAAAA", "lingnan", "active", "Audit", OPERATOR),
        LabelReinstated("AAAAAAAAAA", "lingnan", "suspended", "Cleared", OPERATOR),
        LabelSuspended("BBBBBBBBBB", "lingnan", "active", "Audit", CERTIFIER),
        issued("CCCCCCCCCC", n=2, at=LATER, supersedes="BBBBBBBBBB"),
        LabelRevoked("BBBBBBBBBB", "lingnan", "superseded", "Replaced", CERTIFIER),
        LabelSuspended("CCCCCCCCCC", "lingnan", "active", "Market check", REGULATOR),
        BodyStatusChanged("pearl", "suspended", "active", "Finding", OPERATOR),
        AccreditationStatusChanged(1, "lingnan", "suspended", "active", "Audit", LATER, OPERATOR),
        KeyRetired("lingnan", KEY, LATER, OPERATOR),
    ]
    result = replay(entries(events))
    assert result.ok, result.violation
    assert result.size == len(events)
    labels = result.state.labels
    assert {i: label.status for i, label in labels.items()} == {
        "AAAAAAAAAA": "active",
        "BBBBBBBBBB": "revoked",
        "CCCCCCCCCC": "suspended",
    }
    assert labels["AAAAAAAAAA"].status_by == OPERATOR
    assert labels["BBBBBBBBBB"].superseded_by == "CCCCCCCCCC"
    assert labels["CCCCCCCCCC"].supersedes == "BBBBBBBBBB"
    assert labels["CCCCCCCCCC"].status_by == REGULATOR
    assert labels["BBBBBBBBBB"].grade == "E"
    assert result.state.bodies["pearl"].status == "suspended"
    assert result.state.bodies["lingnan"].status == "active"
    accreditation = result.state.accreditations[1]
    assert (accreditation.status, accreditation.status_changed_at) == ("suspended", LATER)
    assert result.state.keys[KEY].retired_at == LATER
    rule = result.state.rule_versions[("CN-GD", "PCR-LIB", "1.0")]
    assert rule.thresholds.c == 85.5
    assert rule.in_force_until is None


def _revoked() -> list[LedgerEvent]:
    return [
        *world(),
        issued("AAAAAAAAAA"),
        LabelRevoked("AAAAAAAAAA", "lingnan", "active", "Withdrawn", CERTIFIER),
    ]


def _suspended_by(actor: Actor) -> list[LedgerEvent]:
    suspension = LabelSuspended("AAAAAAAAAA", "lingnan", "active", "x", actor)
    return [*world(), issued("AAAAAAAAAA"), suspension]


PLANTED: list[tuple[str, list[LedgerEvent], ReplayReason]] = [
    (
        "reinstatement_of_a_revoked_label",
        [*_revoked(), LabelReinstated("AAAAAAAAAA", "lingnan", "suspended", "x", CERTIFIER)],
        ReplayReason.INCONSISTENT,  # it claims the label was suspended
    ),
    (
        "reinstatement_of_a_revoked_label_stating_its_status",
        [*_revoked(), LabelReinstated("AAAAAAAAAA", "lingnan", "revoked", "x", CERTIFIER)],
        ReplayReason.INVALID_TRANSITION,
    ),
    (
        "issuance_after_the_body_was_suspended",
        [*world(), BodyStatusChanged("lingnan", "suspended", "active", "x", OPERATOR),
         issued("AAAAAAAAAA")],
        ReplayReason.BODY_NOT_ACTIVE,
    ),
    (
        "issuance_after_the_accreditation_was_withdrawn",
        [*world(), AccreditationStatusChanged(1, "lingnan", "withdrawn", "active", "x", T0,
                                              OPERATOR), issued("AAAAAAAAAA")],
        ReplayReason.NOT_ACCREDITED,
    ),
    (
        "issuance_after_the_key_was_retired_stating_an_earlier_time",
        [*world(), KeyRetired("lingnan", KEY, LATER, OPERATOR), issued("AAAAAAAAAA")],
        ReplayReason.KEY_NOT_ACTIVE,
    ),
    (
        "issuance_before_the_rule_version_was_in_force",
        [*world(), issued("AAAAAAAAAA", at=T0 - timedelta(seconds=1))],
        ReplayReason.RULE_NOT_IN_FORCE,
    ),
    (
        "issuance_with_another_bodys_key",
        [*world(), issued("AAAAAAAAAA", key=OTHER_KEY)],
        ReplayReason.KEY_NOT_ACTIVE,
    ),
    (
        "issuance_for_a_category_outside_the_accreditation",
        [*world(), issued("AAAAAAAAAA", rule=("PCR-PV", "pv-module"))],
        ReplayReason.NOT_ACCREDITED,
    ),
    (
        "issuance_with_a_grade_the_thresholds_do_not_give",
        [*world(), issued("AAAAAAAAAA", footprint="61.2", grade="A")],
        ReplayReason.GRADE_MISMATCH,
    ),
    (
        "issuance_by_the_operator",
        [*world(), issued("AAAAAAAAAA", by=OPERATOR)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "issuance_by_a_certifier_of_another_body",
        [*world(), issued("AAAAAAAAAA", by=OTHER_CERTIFIER)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_label_issued_twice",
        [*world(), issued("AAAAAAAAAA"), issued("AAAAAAAAAA", n=1)],
        ReplayReason.DUPLICATE,
    ),
    (
        "a_status_list_index_handed_out_twice",
        [*world(), issued("AAAAAAAAAA"), issued("BBBBBBBBBB")],
        ReplayReason.DUPLICATE,
    ),
    (
        "superseding_a_revoked_label",
        [*_revoked(), issued("BBBBBBBBBB", n=1, supersedes="AAAAAAAAAA")],
        ReplayReason.INVALID_TRANSITION,
    ),
    (
        "superseding_a_label_under_the_operators_suspension",
        [*_suspended_by(OPERATOR), issued("BBBBBBBBBB", n=1, supersedes="AAAAAAAAAA")],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_certifier_lifting_the_operators_suspension",
        [*_suspended_by(OPERATOR),
         LabelReinstated("AAAAAAAAAA", "lingnan", "suspended", "x", CERTIFIER)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_certifier_lifting_a_regulators_suspension",
        [*_suspended_by(REGULATOR),
         LabelReinstated("AAAAAAAAAA", "lingnan", "suspended", "x", CERTIFIER)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "the_operator_lifting_a_certifiers_suspension",
        [*_suspended_by(CERTIFIER),
         LabelReinstated("AAAAAAAAAA", "lingnan", "suspended", "x", OPERATOR)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "the_operator_revoking",
        [*world(), issued("AAAAAAAAAA"),
         LabelRevoked("AAAAAAAAAA", "lingnan", "active", "x", OPERATOR)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_certifier_suspending_another_bodys_label",
        [*world(), issued("AAAAAAAAAA"),
         LabelSuspended("AAAAAAAAAA", "lingnan", "active", "x", OTHER_CERTIFIER)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_status_change_of_an_unknown_label",
        [*world(), LabelSuspended("ZZZZZZZZZZ", "lingnan", "active", "x", CERTIFIER)],
        ReplayReason.UNKNOWN_REFERENCE,
    ),
    (
        "a_body_reinstated_after_its_withdrawal",
        [*world(), BodyStatusChanged("lingnan", "withdrawn", "active", "x", OPERATOR),
         BodyStatusChanged("lingnan", "active", "withdrawn", "x", OPERATOR)],
        ReplayReason.INVALID_TRANSITION,
    ),
    (
        "a_body_status_changed_by_a_certifier",
        [*world(), BodyStatusChanged("lingnan", "suspended", "active", "x", CERTIFIER)],
        ReplayReason.NOT_AUTHORISED,
    ),
    (
        "a_label_signed_by_the_registry_for_a_body_holding_its_own_key",
        [*world(), KeyAdded("lingnan", OWN_KEY, f"did:key:{OWN_KEY}", False, T0, OPERATOR),
         issued("AAAAAAAAAA")],
        ReplayReason.KEY_NOT_ACTIVE,
    ),
    (
        "a_key_registered_twice",
        [*world(), KeyAdded("pearl", KEY, f"did:key:{KEY}", False, T0, OPERATOR)],
        ReplayReason.DUPLICATE,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "events", "reason"), PLANTED, ids=[c for c, _, _ in PLANTED])
def test_replay_names_the_first_illegal_entry(
    case: str, events: list[LedgerEvent], reason: ReplayReason
) -> None:
    planted = len(events) - 1
    tail = [*events, LabelRevoked("ZZZZZZZZZZ", "lingnan", "active", "never reached", OPERATOR)]
    result = replay(entries(tail))
    assert result.violation is not None, case
    assert (result.violation.seq, result.violation.reason) == (planted, reason), result.violation
    assert result.violation.event == events[-1].KIND
    assert str(planted) in str(result.violation)
    # Messages are built only on refusal (callables): the violation carries the text itself.
    assert isinstance(result.violation.message, str)
    assert result.violation.message
    assert "lambda" not in result.violation.message
    assert result.size == planted  # the state is that before the refused entry


def test_a_refusal_message_names_the_entrys_values() -> None:
    at = T0 - timedelta(seconds=1)
    result = replay(entries([*world(), issued("AAAAAAAAAA", at=at)]))
    assert result.violation is not None
    assert result.violation.reason is ReplayReason.RULE_NOT_IN_FORCE
    assert at.isoformat() in result.violation.message
    withdrawn = AccreditationStatusChanged(1, "lingnan", "withdrawn", "active", "x", T0, OPERATOR)
    result = replay(entries([*world(), withdrawn, issued("AAAAAAAAAA")]))
    assert result.violation is not None
    assert result.violation.reason is ReplayReason.NOT_ACCREDITED
    assert result.violation.message.startswith("lingnan holds no active accreditation for ")


def test_the_entries_must_be_numbered_from_zero_without_gaps() -> None:
    stored = entries(world())
    result = replay([*stored[:3], *stored[4:]])
    assert result.violation is not None
    assert (result.violation.seq, result.violation.reason) == (3, ReplayReason.OUT_OF_SEQUENCE)


def test_an_entry_outside_the_vocabulary_or_malformed_is_named() -> None:
    stored = entries(world())
    stranger = canonicalize_jcs({"seq": 2, "time": "2026-01-01T00:00:00.002Z", "event": "x.y"})
    result = replay([*stored[:2], stranger])
    assert result.violation is not None
    assert (result.violation.seq, result.violation.event) == (2, "x.y")
    assert result.violation.reason is ReplayReason.UNKNOWN_EVENT
    result = replay([*stored[:2], stored[2].replace(b'"v":1', b'"v":7')])
    assert result.violation is not None
    assert (result.violation.seq, result.violation.reason) == (2, ReplayReason.MALFORMED_ENTRY)


def test_a_rule_version_is_published_only_by_the_operator_or_its_schemes_regulator() -> None:
    stranger = replace(REGULATOR, schemes=("HK",))
    published = world()[3]
    assert isinstance(published, RuleVersionPublished)
    rv = replace(published, version="2.0", by=stranger)
    result = replay(entries([*world(), rv]))
    assert result.violation is not None
    assert result.violation.reason is ReplayReason.NOT_AUTHORISED


def test_a_body_holding_its_own_key_signs_its_labels_until_it_is_retired() -> None:
    own = KeyAdded("lingnan", OWN_KEY, f"did:key:{OWN_KEY}", False, T0, OPERATOR)
    events = [*world(), own, issued("AAAAAAAAAA", key=OWN_KEY)]
    # Pearl holds no key of its own: the registry still signs for it.
    events.append(issued("BBBBBBBBBB", body="pearl", key=OTHER_KEY, by=OTHER_CERTIFIER))
    events += [KeyRetired("lingnan", OWN_KEY, LATER, OPERATOR)]
    events.append(issued("CCCCCCCCCC", n=1, at=LATER + timedelta(seconds=1)))
    result = replay(entries(events))
    assert result.ok, result.violation
    assert {"AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"} <= set(result.state.labels)

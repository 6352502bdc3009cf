"""Replay of recognition mappings: who may publish them, revisions in order, withdrawals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from credentials import (
    LedgerEvent,
    MappingPublished,
    MappingTarget,
    MappingWithdrawn,
    ReplayReason,
    replay,
)
from tests.credentials.ledger_fixtures import (
    CERTIFIER,
    OPERATOR,
    REGULATOR,
    entries,
    gd_hk_mapping,
    hk_world,
)
from tests.credentials.ledger_fixtures import HK_REGULATOR as HK

UNKNOWN_RULE = gd_hk_mapping(source=replace(gd_hk_mapping().source, rules=frozenset({"NOPE"})))
UNKNOWN_VERSION = gd_hk_mapping(target=MappingTarget("HK", "HK", "HK-PCR-LIB", "9.0"))
WRONG_REGION = gd_hk_mapping(target=MappingTarget("HK", "MO", "HK-PCR-LIB", "1.0"))


def run(*events: LedgerEvent) -> tuple[ReplayReason | None, int | None]:
    world = hk_world()
    result = replay(entries([*world, *events]))
    if result.violation is None:
        return None, None
    return result.violation.reason, result.violation.seq - len(world)


def test_revisions_and_a_withdrawal_replay_into_the_state() -> None:
    world = hk_world()
    result = replay(
        entries(
            [
                *world,
                MappingPublished(gd_hk_mapping(), HK),
                MappingPublished(gd_hk_mapping(2, transitive=True), OPERATOR),
                MappingWithdrawn("GD-HK-LIB", 3, "HK", "Ended (fictitious)", HK),
            ]
        )
    )
    assert result.ok, result.violation
    revisions = result.state.mappings["GD-HK-LIB"]
    assert [(m.revision, m.withdrawn, m.transitive) for m in revisions] == [
        (1, False, False),
        (2, False, True),
        (3, True, True),
    ]


@pytest.mark.parametrize(
    ("events", "reason", "at"),
    [
        # a regulator of another scheme (the source's, here) cannot publish for HK
        ((MappingPublished(gd_hk_mapping(), REGULATOR),), ReplayReason.NOT_AUTHORISED, 0),
        ((MappingPublished(gd_hk_mapping(), CERTIFIER),), ReplayReason.NOT_AUTHORISED, 0),
        ((MappingPublished(gd_hk_mapping(2), HK),), ReplayReason.OUT_OF_SEQUENCE, 0),
        (
            (MappingPublished(gd_hk_mapping(), HK), MappingPublished(gd_hk_mapping(), HK)),
            ReplayReason.OUT_OF_SEQUENCE,
            1,
        ),
        (
            (
                MappingPublished(gd_hk_mapping(), HK),
                MappingPublished(gd_hk_mapping(3), HK),
            ),
            ReplayReason.OUT_OF_SEQUENCE,
            1,
        ),
        (
            (MappingPublished(UNKNOWN_RULE, HK),),
            ReplayReason.UNKNOWN_REFERENCE,
            0,
        ),
        (
            (MappingPublished(UNKNOWN_VERSION, HK),),
            ReplayReason.UNKNOWN_REFERENCE,
            0,
        ),
        (
            (MappingPublished(WRONG_REGION, HK),),
            ReplayReason.INCONSISTENT,
            0,
        ),
        ((MappingWithdrawn("GD-HK-LIB", 2, "HK", "x", HK),), ReplayReason.UNKNOWN_REFERENCE, 0),
        (
            (
                MappingPublished(gd_hk_mapping(), HK),
                MappingWithdrawn("GD-HK-LIB", 2, "HK", "Ended", HK),
                MappingWithdrawn("GD-HK-LIB", 3, "HK", "Again", HK),
            ),
            ReplayReason.INVALID_TRANSITION,
            2,
        ),
        (
            (
                MappingPublished(gd_hk_mapping(), HK),
                MappingWithdrawn("GD-HK-LIB", 2, "HK", "Ended", REGULATOR),
            ),
            ReplayReason.NOT_AUTHORISED,
            1,
        ),
        (
            (
                MappingPublished(gd_hk_mapping(), HK),
                MappingWithdrawn("GD-HK-LIB", 2, "CN-GD", "Ended", OPERATOR),
            ),
            ReplayReason.INCONSISTENT,
            1,
        ),
    ],
)  # fmt: skip
def test_an_illegal_mapping_entry_is_named(
    events: tuple[LedgerEvent, ...], reason: ReplayReason, at: int
) -> None:
    assert run(*events) == (reason, at)

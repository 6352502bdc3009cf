"""Ledger services: gapless appends, the stored tree, and checkpoint signing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from credentials import Checkpoint, NoteVerifier, leaf_hash, open_checkpoint, root_hash
from credentials.merkle import EMPTY_ROOT
from registry.clock import FixedClock
from registry.db import transaction
from registry.errors import ValidationFailedError
from registry.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerNode
from registry.ledger.services import (
    EXTENSION_KEY,
    LedgerConfig,
    append_entry,
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    list_entries,
    publish_checkpoint,
    root_at,
    tree_size,
)
from tests.registry.factories import LOG_SIGNER, append_entries

Db = scoped_session[Session]


@pytest.fixture
def interval(app: Flask) -> Iterator[None]:
    """Helper to change the checkpoint interval for one test."""
    original = app.extensions[EXTENSION_KEY]
    yield
    app.extensions[EXTENSION_KEY] = original


def set_interval(app: Flask, seconds: float) -> None:
    app.extensions[EXTENSION_KEY] = LedgerConfig(LOG_SIGNER, seconds)


def test_entries_are_numbered_from_zero_without_gaps(db_session: Db) -> None:
    entries = append_entries(25)
    assert [e.seq for e in entries] == list(range(25))
    stored = db_session.execute(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).scalars()
    assert list(stored) == list(range(25))
    assert tree_size() == 25


def test_entry_bytes_are_canonical_json_with_seq_time_event(db_session: Db) -> None:
    entry = append_entry("label.issued", {"label": "7K3M9QH2XD", "grade": "B", "名": "茶"})
    parsed = json.loads(entry.body)
    assert parsed["seq"] == entry.seq == 0
    assert parsed["event"] == "label.issued"
    assert parsed["time"].endswith("Z")
    assert datetime.fromisoformat(parsed["time"]) == entry.time
    assert list(parsed) == sorted(parsed), "RFC 8785 sorts keys"
    assert b" " not in entry.body
    assert entry.leaf_hash == leaf_hash(entry.body)
    assert entry.time.tzinfo is UTC


def test_time_is_aware_utc_after_a_round_trip(db_session: Db) -> None:
    append_entries(1)
    db_session.expire_all()
    stored = db_session.execute(select(LedgerEntry)).scalar_one()
    assert stored.time.utcoffset() == timedelta(0)


@pytest.mark.parametrize("key", ["seq", "time", "event"])
def test_payload_may_not_set_ledger_owned_keys(db_session: Db, key: str) -> None:
    with pytest.raises(ValueError, match="ledger owns them"):
        append_entry("label.issued", {key: "forged"})
    assert tree_size() == 0


@pytest.mark.parametrize("event", ["", "issued", "Label.Issued", "label..issued", "label issued"])
def test_event_names_are_dotted_lower_case(db_session: Db, event: str) -> None:
    with pytest.raises(ValueError, match="dotted lower-case"):
        append_entry(event, {})


def test_failed_transaction_leaves_no_trace_and_no_gap(db_session: Db) -> None:
    with transaction():
        append_entries(2)

    def request_failing_after_append() -> None:
        with transaction():
            append_entries(3)
            raise RuntimeError("a later step of the request failed")

    with pytest.raises(RuntimeError):
        request_failing_after_append()
    assert tree_size() == 2
    assert db_session.execute(select(func.count()).select_from(LedgerNode)).scalar_one() == 3
    with transaction():
        assert append_entries(1)[0].seq == 2


def test_nodes_are_exactly_the_perfect_subtrees(db_session: Db) -> None:
    entries = append_entries(13)
    leaves = [e.leaf_hash for e in entries]
    rows = db_session.execute(select(LedgerNode.level, LedgerNode.index, LedgerNode.hash)).all()
    stored = {(level, index): h for level, index, h in rows}
    expected = {
        (level, index): root_hash(leaves[index << level : (index + 1) << level])
        for level in range(4)
        for index in range(13 >> level)
    }
    assert stored == expected


def test_roots_match_the_kit_for_every_size(db_session: Db) -> None:
    leaves = [e.leaf_hash for e in append_entries(33)]
    assert root_at(0) == EMPTY_ROOT
    for size in range(1, 34):
        assert root_at(size) == root_hash(leaves[:size])


def test_proof_reads_are_a_single_query(db_session: Db) -> None:
    from sqlalchemy import event

    append_entries(21)
    statements: list[str] = []
    engine = db_session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        inclusion_proof(5, 21)
        consistency_proof(7, 21)
        root_at(19)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3


def test_first_append_signs_and_later_ones_wait_for_the_interval(
    app: Flask, db_session: Db, interval: None
) -> None:
    set_interval(app, 3600)
    append_entries(5)
    sizes = db_session.execute(select(LedgerCheckpoint.size)).scalars().all()
    assert sizes == [1]
    checkpoint = publish_checkpoint()
    assert checkpoint.size == 5
    assert publish_checkpoint().id == checkpoint.id
    count = db_session.execute(select(func.count()).select_from(LedgerCheckpoint)).scalar_one()
    assert count == 2


def test_append_signs_when_the_latest_checkpoint_is_old(
    app: Flask, db_session: Db, interval: None, clock: FixedClock
) -> None:
    set_interval(app, 1.0)
    clock.set(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    append_entries(3)
    clock.advance(timedelta(seconds=1.5))
    append_entries(1)
    sizes = db_session.execute(select(LedgerCheckpoint.size)).scalars().all()
    assert sorted(sizes) == [1, 4]


def test_interval_zero_signs_on_every_append(app: Flask, db_session: Db, interval: None) -> None:
    set_interval(app, 0)
    append_entries(4)
    sizes = db_session.execute(select(LedgerCheckpoint.size)).scalars().all()
    assert sorted(sizes) == [1, 2, 3, 4]


def test_checkpoint_note_verifies_and_matches_the_entries(db_session: Db) -> None:
    leaves = [e.leaf_hash for e in append_entries(9)]
    checkpoint = publish_checkpoint()
    opened = open_checkpoint(checkpoint.note, verifier=LOG_SIGNER.verifier())
    assert opened == Checkpoint(LOG_SIGNER.name, 9, root_hash(leaves))
    assert checkpoint.root_hash == opened.root_hash
    assert latest_checkpoint() == checkpoint


def test_empty_ledger_gets_a_signed_empty_checkpoint(db_session: Db) -> None:
    checkpoint = publish_checkpoint()
    verifier = NoteVerifier.from_verifier_key(LOG_SIGNER.verifier_key())
    assert open_checkpoint(checkpoint.note, verifier=verifier).size == 0
    assert checkpoint.root_hash == EMPTY_ROOT


def test_reads_beyond_the_tree_are_refused(db_session: Db) -> None:
    append_entries(4)
    for call in (
        lambda: root_at(5),
        lambda: inclusion_proof(0, 5),
        lambda: consistency_proof(2, 5),
        lambda: list_entries(2, 5),
    ):
        with pytest.raises(ValidationFailedError, match="currently has 4 entries") as info:
            call()
        assert "beyond" in str(next(iter(info.value.errors.values())))


def test_list_entries_returns_the_exact_leaf_bytes(db_session: Db) -> None:
    entries = append_entries(6)
    assert list_entries(1, 4) == [e.body for e in entries[1:4]]

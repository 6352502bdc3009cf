"""`flask ledger verify` recomputes everything from the stored bytes and catches rewrites.

The entries are real events (schemes registered through the service), because the command also
replays every state transition: an entry of a kind the vocabulary does not define is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session, scoped_session

from credentials import (
    Checkpoint,
    KeyPair,
    NoteSigner,
    canonicalize_jcs,
    leaf_hash,
    open_checkpoint,
    sign_checkpoint,
)
from credentials.merkle import EMPTY_ROOT
from registry.ledger.models import LedgerCheckpoint
from registry.ledger.services import EXTENSION_KEY, LedgerConfig, publish_checkpoint
from tests.registry.factories import LOG_SIGNER, ORIGIN, append_entries, register_schemes

Db = scoped_session[Session]


def _allow_rewrites(session: Db) -> None:
    """What an attacker with database access would do first; rolled back with the test."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        )
    else:
        session.execute(text("DROP TRIGGER ledger_entries_no_update"))


def test_verify_passes_on_an_intact_ledger(app: Flask, db_session: Db) -> None:
    register_schemes(37)
    publish_checkpoint()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "entries:             37" in result.output
    assert "latest checkpoint:   size 37" in result.output
    assert "transitions:         all 37 allowed" in result.output
    assert "tables:              none differ from the ledger" in result.output
    assert "ledger OK" in result.output


def test_verify_refuses_an_event_kind_outside_the_vocabulary(app: Flask, db_session: Db) -> None:
    register_schemes(2)
    append_entries(1)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1, result.output
    assert "entry 2 (test.appended): unknown_event" in result.output


def test_verify_reports_entries_not_yet_covered(
    app: Flask, db_session: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.extensions, EXTENSION_KEY, LedgerConfig(LOG_SIGNER, 3600.0))
    register_schemes(3)  # only the first append signs within the interval
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "not yet covered:     2 entries" in result.output


def test_verify_detects_rewritten_entry(app: Flask, db_session: Db) -> None:
    register_schemes(6)
    publish_checkpoint()
    _allow_rewrites(db_session)
    forged = canonicalize_jcs({"seq": 4, "event": "test.appended", "grade": "A"})
    db_session.execute(
        text("UPDATE ledger_entries SET body = :body, leaf_hash = :leaf WHERE seq = 4"),
        {"body": forged, "leaf": leaf_hash(forged)},
    )
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "entry 4: time in the body" in result.output
    assert "entry 4: the stored leaf node differs" in result.output
    assert "checkpoint 6: signed root differs" in result.output


def test_verify_detects_checkpoint_signed_by_another_key(app: Flask, db_session: Db) -> None:
    append_entries(2)
    impostor = NoteSigner(ORIGIN, KeyPair.from_seed(b"\x66" * 32))
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), impostor)
    db_session.add(
        LedgerCheckpoint(size=0, root_hash=EMPTY_ROOT, note=note, created_at=datetime.now(UTC))
    )
    db_session.flush()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "checkpoint 0:" in result.output


def test_checkpoint_command_prints_a_verifiable_note(app: Flask, db_session: Db) -> None:
    append_entries(5)
    result = app.test_cli_runner().invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert open_checkpoint(result.output, verifier=LOG_SIGNER.verifier()).size == 5

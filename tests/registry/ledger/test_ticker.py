"""The per-worker checkpoint tick: uncovered entries get a signed checkpoint without any reader."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from credentials import NoteVerifier, open_checkpoint
from registry.clock import CLOCK_KEY, FixedClock
from registry.db import db, transaction
from registry.demo import load_demo
from registry.labels.models import StatusListRecord
from registry.labels.status_lists import REFRESH
from registry.ledger.services import (
    EXTENSION_KEY,
    LedgerConfig,
    latest_checkpoint,
    tree_size,
)
from registry.ledger.ticker import start_checkpoint_ticker, tick
from tests.registry.conftest import build_app
from tests.registry.factories import LOG_SIGNER, append_entries


def test_tick_covers_entries_the_appends_left_uncovered(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    # A long interval: only the first append signs, the rest wait for someone to sign.
    app.extensions[EXTENSION_KEY] = LedgerConfig(LOG_SIGNER, 3600.0)
    with app.app_context():
        with transaction():
            append_entries(3)
        with transaction():
            append_entries(2)
        latest = latest_checkpoint()
        assert latest is not None
        assert latest.size == 1
        db.session.remove()

    assert tick(app) is True
    assert tick(app) is False, "nothing left to cover: no second checkpoint"
    with app.app_context():
        latest = latest_checkpoint()
        assert latest is not None
        assert latest.size == tree_size() == 5
        verifier = NoteVerifier.from_verifier_key(LOG_SIGNER.verifier_key())
        assert open_checkpoint(latest.note, verifier=verifier).size == 5
        db.session.remove()
        db.engine.dispose()


def test_ticker_thread_signs_within_about_an_interval(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    app.extensions[EXTENSION_KEY] = LedgerConfig(LOG_SIGNER, 3600.0)
    with app.app_context():
        with transaction():
            append_entries(4)
        db.session.remove()
    # The thread ticks every max(interval, 1 s); use a 1 s interval for the thread itself.
    app.extensions[EXTENSION_KEY] = LedgerConfig(LOG_SIGNER, 1.0)
    ticker = start_checkpoint_ticker(app)
    try:
        deadline = time.monotonic() + 10
        size = 0
        while time.monotonic() < deadline:
            with app.app_context():
                latest = latest_checkpoint()
                size = 0 if latest is None else latest.size
                db.session.remove()
            if size == 4:
                break
            time.sleep(0.2)
    finally:
        ticker.stop()  # waits for a tick in flight before the database goes away
    assert size == 4
    with app.app_context():
        db.engine.dispose()


def test_tick_resigns_status_lists_a_day_old_and_reads_never_do(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    clock = FixedClock(datetime.now(UTC))
    app.extensions[CLOCK_KEY] = clock
    with app.app_context():
        load_demo()
        list_id = db.session.execute(select(StatusListRecord.id).limit(1)).scalar_one()
        db.session.remove()
    client = app.test_client()
    first = client.get(f"/status-lists/{list_id}")
    assert first.status_code == 200

    clock.advance(REFRESH)
    again = client.get(f"/status-lists/{list_id}")
    assert again.headers["ETag"] == first.headers["ETag"], "a read must not re-sign"
    assert tick(app) is True
    fresh = client.get(f"/status-lists/{list_id}")
    assert fresh.headers["ETag"] != first.headers["ETag"]
    assert fresh.get_json()["validFrom"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert tick(app) is False, "nothing is a day old any more"
    with app.app_context():
        db.engine.dispose()

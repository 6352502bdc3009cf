"""Concurrent writers in separate processes: numbering stays gapless and every entry is covered."""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from credentials import NoteVerifier, leaf_hash, open_checkpoint, root_hash
from registry.db import db
from registry.ledger.models import LedgerCheckpoint, LedgerEntry
from registry.ledger.verification import verify_ledger
from tests.registry.conftest import build_app
from tests.registry.factories import make_settings
from tests.registry.ledger._workers import append_for

SECONDS = 2.5
# At least 8 writers on PostgreSQL, the production database; SQLite serialises writers on its
# single write lock anyway, so 4 show the same property at half the start-up cost.
WORKERS = {"postgresql": 8, "sqlite": 4}


@pytest.mark.slow
def test_concurrent_appends_are_gapless_and_covered(
    fresh_database_url: str, tmp_path: Path
) -> None:
    # A database of its own: these rows are committed, and the ledger refuses to delete them.
    app = build_app(fresh_database_url, tmp_path)
    settings = make_settings(fresh_database_url, tmp_path)
    backend = fresh_database_url.split(":")[0].split("+")[0]
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS[backend])
    results = ctx.Queue()
    workers = [
        ctx.Process(target=append_for, args=(settings, n, start, SECONDS, results))
        for n in range(WORKERS[backend])
    ]
    for process in workers:
        process.start()
    try:
        counts = dict(results.get(timeout=120) for _ in workers)
    finally:
        for process in workers:
            process.join(timeout=30)
    assert all(process.exitcode == 0 for process in workers)
    assert all(count > 0 for count in counts.values()), counts
    total = sum(counts.values())

    client = app.test_client()
    note = client.get("/ledger/checkpoint").data
    verifier = NoteVerifier.from_verifier_key(client.get("/ledger/log-key").get_data(as_text=True))
    checkpoint = open_checkpoint(note, verifier=verifier)
    with app.app_context():
        rows = db.session.execute(
            select(LedgerEntry.seq, LedgerEntry.body).order_by(LedgerEntry.seq)
        ).all()
        signed = db.session.execute(select(LedgerCheckpoint.size)).scalars().all()
        report = verify_ledger()
        db.session.remove()
        db.engine.dispose()

    assert [seq for seq, _ in rows] == list(range(total)), "numbers must be 0..n-1, no gaps"
    payloads = Counter((json.loads(body)["worker"], json.loads(body)["n"]) for _, body in rows)
    assert max(payloads.values()) == 1, "an append was recorded twice"
    assert set(payloads) == {(w, n) for w, count in counts.items() for n in range(count)}
    assert checkpoint.size == total
    assert checkpoint.root_hash == root_hash([leaf_hash(body) for _, body in rows])
    assert len(signed) == len(set(signed)) > 1
    assert report.ok, report.problems
    assert report.checkpoints_verified == len(signed)
    print(f"{backend}: {len(workers)} workers appended {total} entries, {len(signed)} checkpoints")

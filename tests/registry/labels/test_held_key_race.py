"""One preparation submitted by many processes at once, on PostgreSQL: one label, one entry.

The submission locks the preparation's row first, so the others wait for the first commit and
then find its label (a replay, 200) instead of issuing it twice.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from registry.config import Settings
from registry.db import db
from registry.ledger.models import LedgerEntry
from tests.registry.factories import LabelWorld
from tests.registry.labels._workers import race_submit
from tests.registry.labels.test_concurrency import pytestmark, registry, run_workers
from tests.registry.labels.test_held_key import held_body, in_process_sign, prepare

__all__ = ["pytestmark", "registry"]

WORKERS = 4


def test_one_preparation_submitted_by_many_processes_at_once_makes_one_label(
    registry: tuple[Settings, LabelWorld, Flask],
) -> None:
    settings, _, app = registry
    with app.app_context():
        held = held_body()
        preparation = prepare(app.test_client(), held.certifier)
        signed = in_process_sign(preparation, held.key)
        db.session.remove()
    arguments = [(settings, held.certifier, preparation["submit"], signed)] * WORKERS
    outcomes = run_workers(race_submit, arguments)
    assert sorted(status for status, _ in outcomes) == [200] * (WORKERS - 1) + [201]
    assert {label_id for _, label_id in outcomes} == {preparation["label_id"]}
    with app.app_context():
        issued = db.session.execute(
            select(LedgerEntry.seq).where(LedgerEntry.event == "label.issued")
        ).all()
        db.session.remove()
    assert len(issued) == 1

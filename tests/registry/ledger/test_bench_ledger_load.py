"""The bench's bulk-loaded ledger is one the registry could have written: it replays clean and
has the scope rows the append path gives (on the cached SQLite file and after the PostgreSQL
COPY)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bench._ledger_load import cached_ledger, load_postgresql
from credentials.ledger_replay import replay
from registry.db import db
from tests.registry.conftest import BACKENDS, build_app

SIZE = 1500  # the 91-entry prologue, then issuances and status changes of every kind


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_bench_ledger_replays_clean_with_its_scope_rows(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ledger = cached_ledger(tmp_path / "cache", SIZE, rebuild=False)
    url = f"sqlite:///{ledger.path}"
    if backend == "postgresql":
        make: Callable[[], str] = request.getfixturevalue("make_pg_database")
        url = make()
        with build_app(url, tmp_path / "pg").app_context():  # the schema, by the migrations
            db.engine.dispose()
        load_postgresql(url.replace("postgresql+psycopg://", "postgresql://"), ledger)
    app = build_app(url, tmp_path / "instance", upgrade=False)
    with app.app_context():
        bodies = db.session.execute(text("SELECT body FROM ledger_entries ORDER BY seq"))
        result = replay([bytes(body) for (body,) in bodies])
        assert (result.ok, result.size) == (True, SIZE), result.violation
        rows = db.session.execute(
            text(
                "SELECT e.seq, s.seq AS scope_seq, e.event, "
                "s.scheme, s.body, s.label, s.accreditation "
                "FROM ledger_entries e LEFT JOIN ledger_entry_scopes s ON s.seq = e.seq "
                "ORDER BY e.seq"
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    assert {"label.suspended", "label.reinstated", "label.revoked"} <= {r.event for r in rows}
    assert [row.scope_seq for row in rows] == list(range(SIZE))  # one scope row per entry
    issued_under: dict[str, str] = {}
    for row in rows:
        if row.event == "label.issued":
            assert None not in (row.scheme, row.body, row.label), row
            issued_under[row.label] = row.scheme
        elif row.event.startswith("label."):
            # A status change states no scheme: it takes its label's (the append path's rule).
            assert row.scheme == issued_under[row.label], row
        elif row.event == "accreditation.granted":
            assert None not in (row.scheme, row.body, row.accreditation), row

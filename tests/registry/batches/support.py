"""A label registry of its own per backend for the batch tests, and CSV helpers.

The runner commits in several short transactions and writes progress on connections of its
own, so these tests run against committed state (their own databases), not inside
``db_session``'s rolled-back transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.batches.csvformat import COLUMNS
from registry.batches.models import LabelBatch
from registry.db import db
from registry.labels.models import IdempotencyKey, Label
from registry.ledger.models import LedgerEntry
from tests.registry.conftest import BACKENDS
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import make_label_app

__all__ = ["Counts", "batch_app", "counts", "csv_of", "row", "upload"]

_APPS: dict[str, tuple[Flask, LabelWorld, str]] = {}


@pytest.fixture(scope="module", params=BACKENDS)
def batch_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, LabelWorld, str]]:
    """(app, tokens, database URL) of a registry with the label world committed."""
    backend: str = request.param
    if backend not in _APPS:
        folder = tmp_path_factory.mktemp(f"batches-{backend}")
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'registry.sqlite3'}"
        else:
            url = request.getfixturevalue("make_pg_database")()
        app, world = make_label_app(url, folder)
        _APPS[backend] = (app, world, url)
    yield _APPS[backend]
    with _APPS[backend][0].app_context():
        db.engine.dispose()


def row(**changes: str) -> dict[str, str]:
    """One CSV row: the template's example (a CN-GD battery label, grade B) with changes, under
    the test registry's rule (the template names the demo's, CN-GD-PCR-LIB 2.0)."""
    cells = {column.name: column.example for column in COLUMNS}
    cells["manufacturer"] = "Pearl River Energy Storage Ltd. (fictitious)"
    cells |= {"rule": "PCR-LIB", "rule_version": "1.0"}
    cells.update(changes)
    return cells


def csv_of(rows: list[Mapping[str, str]], *, columns: list[str] | None = None) -> bytes:
    names = columns or [column.name for column in COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows([[cells.get(name, "") for name in names] for cells in rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def upload(
    client: FlaskClient, secret: str, data: bytes, *, key: str | None = None, expect: int = 202
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "text/csv"}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post("/api/v1/label-batches", data=data, headers=headers)
    assert response.status_code == expect, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


@dataclass(frozen=True, slots=True)
class Counts:
    labels: int
    entries: int
    keys: int
    batches: int


def counts(app: Flask) -> Counts:
    with app.app_context():
        try:
            one = db.session.scalar
            return Counts(
                labels=one(select(func.count()).select_from(Label)) or 0,
                entries=one(select(func.count()).select_from(LedgerEntry)) or 0,
                keys=one(select(func.count()).select_from(IdempotencyKey)) or 0,
                batches=one(select(func.count()).select_from(LabelBatch)) or 0,
            )
        finally:
            db.session.remove()

"""Exports: the ledger export audits clean offline with the checkpoint it carries, tampering
is named; the label CSV is scoped to the token, injection-safe, and both stream read-only."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event

from credentials import canonicalize_jcs
from credentials.cli import main
from registry.api.exports import csv_cell
from registry.auth.models import Role
from registry.auth.services import create_token
from registry.db import _READ_ONLY, db
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import app, auth, issue, label_app, problem, world

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def _ledger_export(client: FlaskClient, query: str = "") -> tuple[bytes, str, int]:
    response = client.get(f"/api/v1/exports/ledger.jsonl{query}")
    assert response.status_code == 200, response.get_data()
    assert response.is_streamed
    assert response.mimetype == "application/jsonl"
    note = base64.b64decode(response.headers["Ledger-Checkpoint"]).decode()
    return response.get_data(), note, int(response.headers["Ledger-Checkpoint-Size"])


def _audit(tmp_path: Path, client: FlaskClient, ledger: bytes, note: str, creds: list[Any]) -> int:
    (tmp_path / "ledger.jsonl").write_bytes(ledger)
    (tmp_path / "checkpoint").write_text(note)
    (tmp_path / "credentials.jsonl").write_bytes(
        b"".join(canonicalize_jcs(c) + b"\n" for c in creds)
    )
    log_key = client.get("/ledger/log-key").get_data(as_text=True)
    return main(
        [
            "audit", str(tmp_path / "ledger.jsonl"), "--checkpoint", str(tmp_path / "checkpoint"),
            "--log-key", log_key, "--credentials", str(tmp_path / "credentials.jsonl"),
            "--jobs", "1",
        ]
    )  # fmt: skip


def test_the_ledger_export_audits_clean_and_tampering_is_named(
    client: FlaskClient, world: LabelWorld, tmp_path: Path, capsys: Any
) -> None:
    credentials = [issue(client, world.certifier)["credential"] for _ in range(3)]
    ledger, note, size = _ledger_export(client)
    lines = ledger.splitlines()
    assert len(lines) == size
    assert note.splitlines()[1] == str(size)
    assert _audit(tmp_path, client, ledger, note, credentials) == 0
    assert capsys.readouterr().out.startswith(f"Clean: {size} entries")

    n = next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "label.issued")
    entry = json.loads(lines[n])
    entry["footprint"] = "60"  # the same grade: only the credential shows the change
    lines[n] = canonicalize_jcs(entry)
    tampered = b"".join(line + b"\n" for line in lines)
    assert _audit(tmp_path, client, tampered, note, credentials) == 1
    assert capsys.readouterr().out.startswith(f"Not clean: entry {n}: the footprint is")


def test_a_ranged_export_is_the_same_bytes(client: FlaskClient, world: LabelWorld) -> None:
    issue(client, world.certifier)
    whole, _, size = _ledger_export(client)
    part, _, _ = _ledger_export(client, f"?start=2&end={size - 1}")
    assert part == b"".join(line + b"\n" for line in whole.splitlines()[2 : size - 1])


def test_a_range_past_the_checkpoint_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    issue(client, world.certifier)
    _, _, size = _ledger_export(client)
    for query in (f"?end={size + 1}", "?start=3&end=3", "?start=-1", "?end=x", "?start=1e3"):
        problem(client.get(f"/api/v1/exports/ledger.jsonl{query}"), 422, "validation-failed")


def _csv(client: FlaskClient, secret: str | None) -> list[dict[str, str]]:
    response = client.get("/api/v1/exports/labels.csv", headers=auth(secret))
    assert response.status_code == 200, response.get_data()
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeffl")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_labels_csv_is_scoped_to_the_token(client: FlaskClient, world: LabelWorld) -> None:
    mine = [issue(client, world.certifier)["id"] for _ in range(2)]
    theirs = [issue(client, world.other_certifier)["id"]]
    assert [r["label"] for r in _csv(client, world.certifier)][-2:] == mine
    assert theirs[0] not in {r["label"] for r in _csv(client, world.certifier)}
    assert {r["label"] for r in _csv(client, world.other_certifier)} >= set(theirs)
    assert set(mine + theirs) <= {r["label"] for r in _csv(client, world.regulator)}
    _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    assert _csv(client, hong_kong) == []
    operator = _csv(client, world.operator)
    assert [r["label"] for r in operator][-3:] == mine + theirs
    row = operator[-1]
    assert (row["grade"], row["footprint"], row["scheme"], row["rule"]) == (
        "B", "61.2", "CN-GD", "PCR-LIB"
    )  # fmt: skip


def test_labels_csv_needs_a_token(client: FlaskClient, world: LabelWorld) -> None:
    problem(client.get("/api/v1/exports/labels.csv"), 401, "unauthenticated")


def test_labels_csv_defuses_formulas(client: FlaskClient, world: LabelWorld) -> None:
    issue(client, world.certifier, label_request(name='=HYPERLINK("http://evil","x")'))
    row = _csv(client, world.certifier)[-1]
    assert row["product"] == '\'=HYPERLINK("http://evil","x")'
    assert [csv_cell(v) for v in ("+1", "-1", "@SUM(A1)", "\tx", "plain", None, 7)] == [
        "'+1", "'-1", "'@SUM(A1)", "'\tx", "plain", "", "7"
    ]  # fmt: skip


def test_streamed_exports_read_inside_a_read_only_transaction(
    client: FlaskClient, world: LabelWorld
) -> None:
    """The generator runs after the view's boundary closed; its queries must still be read-only."""
    issue(client, world.certifier)
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        tables = re.findall(r"\bFROM\s+(\w+)", statement)
        seen.append((tables[0] if tables else statement.split()[0], _READ_ONLY.get()))

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        _ledger_export(client)
        _csv(client, world.operator)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [read_only for table, read_only in seen if table in ("ledger_entries", "labels")]
    assert reads, seen
    assert all(reads)

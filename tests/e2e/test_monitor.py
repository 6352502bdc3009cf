"""The remote monitor against a real registry: gunicorn over a real database, demo loaded.

The monitor only speaks HTTP to the server; the test writes to the same database from this
process (as another worker would), and in the end rewrites history the way someone with
database access could (triggers disabled, an entry and its tree path recomputed) to see the
monitor catch it. Two of the runs go through the ``carbonlabel audit --url`` console script
(what cron runs), in a subprocess, for its exit codes and output.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from credentials import (
    KeyPair,
    NoteSigner,
    NoteVerifier,
    PublicKey,
    canonicalize_jcs,
    leaf_hash,
    open_checkpoint,
)
from credentials.merkle import node_hash
from credentials.monitor import EXIT_OK, EXIT_PROBLEM, EXIT_UNCHECKED, run_monitor
from registry import create_app
from registry.auth.services import OPERATOR_CONSOLE
from registry.db import db, transaction
from registry.ledger.models import LedgerEntry, LedgerNode
from registry.ledger.services import append_entry, publish_checkpoint, tree_size
from registry.schemes.services import create_scheme
from tests.browser.server import LiveServer, live_server

LEDGER_TABLES = ("ledger_entries", "ledger_nodes")


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    backend = fresh_database_url.split(":", 1)[0].split("+", 1)[0]
    with live_server(backend, fresh_database_url, tmp_path / "server") as live:
        yield live


@pytest.fixture
def writer(server: LiveServer) -> Iterator[Flask]:
    """An app on the server's database in this process, to append (and tamper) directly."""
    app = create_app(server.settings)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _add_schemes(first: int, count: int) -> None:
    """``count`` entries that replay cleanly (a fictitious scheme each), then a checkpoint."""
    with transaction():
        for n in range(first, first + count):
            create_scheme(
                actor=OPERATOR_CONSOLE,
                code=f"MON-{n}",
                region="CN-GD",
                names={"en": f"Monitor test scheme {n} (fictitious)"},
                owner="Test owner (fictitious)",
            )
    with transaction():
        publish_checkpoint()


def _allow_rewrites() -> None:
    """What an attacker with database access does first (for good: the database is this
    test's own)."""
    with transaction():
        for table in LEDGER_TABLES:
            if db.session.get_bind().dialect.name == "postgresql":
                db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
            else:
                db.session.execute(text(f"DROP TRIGGER {table}_no_update"))


def _forge_body(seq: int) -> None:
    """Entry ``seq`` served with other bytes than its leaf hash in the tree."""
    with transaction():
        db.session.execute(
            update(LedgerEntry).where(LedgerEntry.seq == seq).values(body=b'{"forged":true}')
        )


def _rewrite_entry(seq: int) -> None:
    """Forge entry ``seq`` and recompute every stored node above it, as an attacker would."""
    with transaction():
        body = db.session.execute(
            select(LedgerEntry.body).where(LedgerEntry.seq == seq)
        ).scalar_one()
        forged = canonicalize_jcs({**json.loads(body), "forged": True})
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.seq == seq)
            .values(body=forged, leaf_hash=leaf_hash(forged))
        )
        size, h, level, index = tree_size(), leaf_hash(forged), 0, seq
        while ((index + 1) << level) <= size:
            db.session.execute(
                update(LedgerNode)
                .where(LedgerNode.level == level, LedgerNode.index == index)
                .values(hash=h)
            )
            sibling = db.session.execute(
                select(LedgerNode.hash).where(
                    LedgerNode.level == level, LedgerNode.index == index ^ 1
                )
            ).scalar_one_or_none()
            if sibling is None:
                break
            h = node_hash(sibling, h) if index & 1 else node_hash(h, sibling)
            level, index = level + 1, index >> 1


def _run(server: LiveServer, vkey: str, state: Path) -> tuple[int, str]:
    return _run_at(server.base_url, vkey, state)


def test_monitor_follows_the_log_and_catches_a_rewrite(
    server: LiveServer, writer: Flask, tmp_path: Path
) -> None:
    vkey = NoteSigner.from_signer_key(server.settings.log_key).verifier_key()
    verifier = NoteVerifier.from_verifier_key(vkey)
    state = tmp_path / "monitor"
    with transaction():
        publish_checkpoint()
    demo_size = tree_size()
    assert demo_size > 0

    # Pinned to another key, the served checkpoint is refused and nothing is kept.
    impostor = NoteVerifier.for_key(verifier.name, _other_public_key()).verifier_key()
    code, report = _run(server, impostor, state)
    assert code == EXIT_PROBLEM, report
    assert report.startswith("BAD CHECKPOINT")
    assert not (state / "checkpoint").exists()

    code, report = _run(server, vkey, state)
    assert code == EXIT_OK, report
    assert report.startswith(f"OK: {verifier.name} size {demo_size} (was 0, {demo_size} new")

    # Grows across a tile boundary: only the new entries are fetched and checked.
    _add_schemes(0, 300)
    code, report = _run(server, vkey, state)
    assert code == EXIT_OK, report
    grown = demo_size + 300
    assert f"size {grown} (was {demo_size}, 300 new entries verified; {grown} replayed)" in report
    assert len((state / "entries.jsonl").read_bytes().splitlines()) == grown

    cli = _run_cli(server, vkey, state)
    assert cli.returncode == EXIT_OK, cli.stderr
    assert cli.stdout.startswith(f"OK: {verifier.name} size {grown} (was {grown}, 0 new entries")

    # An entry the replay refuses is named by its index, and the state does not move past it.
    with transaction():
        append_entry("test.appended", {"note": "not an event of the vocabulary"})
    code, report = _run(server, vkey, state)
    assert code == EXIT_PROBLEM, report
    assert report.startswith(f"BAD ENTRY: entry {grown} (test.appended): unknown_event")
    assert open_checkpoint((state / "checkpoint").read_text(), verifier=verifier).size == grown

    # An entry served with bytes that are not its leaf: named by its index.
    _allow_rewrites()
    _forge_body(grown)
    code, report = _run(server, vkey, state)
    assert code == EXIT_PROBLEM, report
    assert report.startswith(f"BAD ENTRY: entry {grown}: its bytes do not hash to leaf {grown}")

    # History rewritten under the checkpoint the monitor holds, then a new one signed over it.
    _rewrite_entry(7)
    _add_schemes(300, 1)
    code, report = _run(server, vkey, state)
    assert code == EXIT_PROBLEM, report
    assert report.startswith(f"FORK/REWRITE: no valid consistency proof {grown}→{grown + 2}")
    (evidence,) = (state / "evidence").iterdir()
    old = open_checkpoint((evidence / "old.checkpoint").read_text(), verifier=verifier)
    new = open_checkpoint((evidence / "new.checkpoint").read_text(), verifier=verifier)
    assert (old.size, new.size) == (grown, grown + 2)
    # Running again keeps reporting it: the monitor never adopts the rewritten log.
    cli = _run_cli(server, vkey, state)
    assert cli.returncode == EXIT_PROBLEM, cli.stderr
    assert cli.stdout.startswith(f"FORK/REWRITE: no valid consistency proof {grown}→{grown + 2}")
    assert open_checkpoint((state / "checkpoint").read_text(), verifier=verifier).size == grown


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "file:///etc/passwd", "ftp://x/"])
def test_monitor_that_cannot_reach_a_registry_says_so(url: str, tmp_path: Path) -> None:
    vkey = NoteVerifier.for_key("example.org/log", _other_public_key()).verifier_key()
    code, report = _run_at(url, vkey, tmp_path)
    assert code == EXIT_UNCHECKED
    assert report.startswith("ERROR: cannot check the log")


def _other_public_key() -> PublicKey:
    return KeyPair.from_seed(b"\x07" * 32).public_key


CONSOLE_SCRIPT = Path(sys.executable).with_name("carbonlabel")


def _run_cli(server: LiveServer, vkey: str, state: Path) -> subprocess.CompletedProcess[str]:
    """``carbonlabel audit --url`` as cron runs it: a process of its own, exit code and stdout."""
    argv = ["audit", "--url", server.base_url, "--log-key", vkey, "--state", str(state)]
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CONSOLE_SCRIPT), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def _run_at(url: str, vkey: str, state: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = run_monitor(url, vkey, state, out=out)
    return code, out.getvalue()

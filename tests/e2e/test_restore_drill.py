"""The restore drill of the production guide (README, "Running it in production"), on PostgreSQL.

A live registry (gunicorn, demo loaded, a label issued) is dumped with ``pg_dump`` while it
serves; the dump is restored with ``pg_restore`` into a brand-new database, and a registry is
started on it with the same secrets (the key-encryption key, the log key, the bundle key: the
backup of the secrets) at the same address. Then the restored ledger is exported and audited
offline with the kit, the checkpoint it serves is the one signed before the dump, the label's
page and credential are there, and it issues again: the next entry follows the last one and its
checkpoint is consistent with the one from before. A copy of the database without the
key-encryption key cannot sign.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

import tests.browser.server as live
from credentials.audit import check_consistency
from registry import create_app
from registry.bodies.keystore import KeyStoreError
from registry.bodies.models import CertificationBody
from registry.bodies.services import signing_key
from registry.clock import utcnow
from registry.config import Settings, generate_kek
from registry.db import db
from tests.browser.flow import BODY, _payload
from tests.browser.server import live_server
from tests.e2e.ledger_check import audited_export, get

pytestmark = pytest.mark.postgres

# What the production guide says to back up beside the database: without these the restored
# registry could neither open its bodies' keys nor go on signing the same log.
SECRETS = (
    "SECRET_KEY",
    "REGISTRY_PUBLIC_BASE_URL",
    "REGISTRY_LOG_ORIGIN",
    "REGISTRY_LOG_KEY",
    "REGISTRY_KEK",
    "REGISTRY_BUNDLE_KEY",
)


def _libpq(url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL, as pg_dump and pg_restore take it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _run(*argv: str) -> None:
    tool = shutil.which(argv[0])
    assert tool is not None, f"{argv[0]} is not installed (Debian: postgresql-client)"
    done = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr}"


def _size(note: bytes) -> int:
    return int(note.decode().split("\n")[1])


def _issue(server: live.LiveServer, serial: int) -> dict[str, Any]:
    token = server.demo.certifier_tokens[BODY]
    label: dict[str, Any] = server.json(
        "POST", "/api/v1/labels", _payload(serial, "41.8"), token=token, expect=201
    )
    return label


def test_a_dump_restored_into_a_fresh_database_verifies_and_serves(
    make_pg_database: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = live.server_environment
    kept: dict[str, str] = {}

    def same_secrets(**kwargs: Any) -> dict[str, str]:
        env = made(**kwargs)
        kept.update({name: env[name] for name in SECRETS if name not in kept})
        return {**env, **kept}

    monkeypatch.setattr(live, "server_environment", same_secrets)
    source, dump = make_pg_database(), tmp_path / "registry.dump"
    with live_server("postgresql", source, tmp_path / "before") as before:
        issued = _issue(before, 1)
        _, checkpoint = get(before, "/ledger/checkpoint")
        # Online: pg_dump reads one snapshot while the registry goes on serving.
        _run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq(source))
        port, demo = int(before.base_url.rsplit(":", 1)[1]), before.demo
        size = _size(checkpoint)

    restored = make_pg_database()
    _run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(restored)}", str(dump))
    # The restored ledger is as append-only as the original: its triggers came with it.
    with (
        psycopg.connect(_libpq(restored)) as conn,
        pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"),
    ):
        conn.execute("UPDATE ledger_entries SET body = body WHERE seq = 0")

    with live_server("postgresql", restored, tmp_path / "after", port=port, demo=demo) as after:
        # The ledger as it was at the dump: every entry audits, under the same signed root.
        audited = audited_export(after)
        assert audited.report.size == size
        _, served = get(after, "/ledger/checkpoint")
        assert served.decode().split("\n")[1:3] == checkpoint.decode().split("\n")[1:3]
        assert issued["id"] in audited.labels
        status, _, page = after.request("GET", f"/l/{issued['id']}")
        assert status == 200
        assert issued["product"]["name"] in page.decode()
        # And it goes on: the next label is the next entry, under a consistent checkpoint.
        _issue(after, 2)
        _, latest = get(after, "/ledger/checkpoint")
        assert _size(latest) == size + 1
        path = f"/ledger/proof/consistency?first={size}&second={size + 1}"
        proof = json.loads(get(after, path)[1])
        check_consistency(checkpoint.decode(), latest.decode(), proof, audited.log_key)
        assert audited_export(after).report.size == size + 1

    # The database alone (another key-encryption key) cannot open a body's key to sign.
    alone = tmp_path / "alone"
    alone.mkdir()
    env = made(database_url=restored, instance=alone, port=port)
    settings = Settings.from_env({**env, "REGISTRY_KEK": generate_kek()})
    app = create_app(settings)
    with app.app_context():
        try:
            body = db.session.execute(
                select(CertificationBody).where(CertificationBody.code == BODY)
            ).scalar_one()
            with pytest.raises(KeyStoreError):
                signing_key(body, at=utcnow())
        finally:
            db.session.remove()
            db.engine.dispose()

"""Issue 10: the label page and the trust bundle say how many witnesses co-signed the label's
checkpoint, and when, against a real witness (``carbonlabel witness serve``, a process)."""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from credentials import (
    CheckName,
    LedgerEvidence,
    TrustBundle,
    open_bundle,
    verify_label,
)
from registry import create_app
from registry.clock import FixedClock
from registry.db import db, transaction
from registry.ledger.ticker import tick
from registry.pages.label import FAST_KEY
from tests.registry.factories import (
    BUNDLE_SIGNER,
    LabelWorld,
    PerRequestClient,
    build_label_world,
    make_settings,
)
from tests.registry.labels.support import issue
from tests.registry.ledger.test_witnessing import START, WitnessProcess, _make_witness

HTML = {"Accept": "text/html", "Accept-Language": "en"}
AT = START + timedelta(minutes=1)  # when the downloaded files are checked offline


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[WitnessProcess]:
    server = _make_witness(tmp_path)
    yield server
    server.stop()


def _registry(database_url: str, folder: Path, *witnesses: str) -> tuple[Flask, LabelWorld]:
    settings = make_settings(database_url, folder / "instance", witnesses=witnesses)
    app = create_app(settings, clock=FixedClock(START))
    app.test_client_class = PerRequestClient
    with app.app_context():
        flask_migrate.upgrade()
        with transaction():
            world = build_label_world()
        db.session.remove()
    return app, world


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    made: list[Flask] = []
    yield made
    for app in made:
        fast = app.extensions.get(FAST_KEY)
        if fast is not None:
            fast.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _line(client: FlaskClient, label_id: str, language: str = "en") -> tuple[str | None, str]:
    response = client.get(f"/l/{label_id}", headers={**HTML, "Accept-Language": language})
    assert response.status_code == 200
    found = re.search(r"<p class=\"witnesses\" data-witnesses>([^<]*)</p>", response.text)
    return (None if found is None else found.group(1)), response.headers["ETag"]


def _offline(client: FlaskClient, label_id: str) -> tuple[TrustBundle, dict[str, Any]]:
    """The label's signed trust bundle as a buyer downloads it, opened against the pinned key,
    and the credential."""
    signed = client.get(f"/api/v1/labels/{label_id}/trust-bundle").get_json()
    opened = open_bundle(signed, pinned=BUNDLE_SIGNER.public_key.multibase, now=AT)
    credential = client.get(f"/l/{label_id}/credential.json").get_json()
    return opened.bundle, credential


def _ledger_check(bundle: TrustBundle, credential: dict[str, Any]) -> Any:
    report = verify_label(credential, trust=bundle, now=AT)
    assert report.verified, [c for c in report.to_json()["checks"] if c["status"] != "passed"]
    return report.check(CheckName.LEDGER)


def _alter_cosignature(note: str) -> str:
    """The note with one bit of its last line's (the cosignature's) signature flipped."""
    head, _, last = note.rstrip("\n").rpartition("\n")
    prefix, _, b64 = last.rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01
    return f"{head}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


def test_a_label_cosigned_by_a_real_witness_says_so_on_its_page_and_offline(
    fresh_database_url: str, tmp_path: Path, witness: WitnessProcess, apps: list[Flask]
) -> None:
    app, world = _registry(fresh_database_url, tmp_path, witness.configured)
    apps.append(app)
    client = app.test_client()
    label = issue(client, world.certifier)["id"]
    line, before = _line(client, label)
    assert line == "Not yet co-signed by any witness"
    bundle, credential = _offline(client, label)
    assert bundle.witnesses == (witness.vkey,)  # signed into the bundle with the rest
    assert _ledger_check(bundle, credential).message == "ledger.not_cosigned"

    assert tick(app) is True  # the witness cosigned the checkpoint that includes the label
    line, after = _line(client, label)
    assert after != before, "a cosignature changes the page's state key"
    assert line is not None
    assert line.startswith("Co-signed by 1 independent witness, at ")
    for language, words in (
        ("zh-Hans", "已获 1 个独立见证方联署"),
        ("zh-Hant", "已獲 1 個獨立見證方聯署"),
        ("pt-MO", "Co-assinado por 1 testemunha independente"),
    ):
        shown = _line(client, label, language)[0]
        assert shown is not None
        assert shown.startswith(words), (language, shown)
    bundle, credential = _offline(client, label)
    check = _ledger_check(bundle, credential)
    assert check.message == "ledger.cosigned"
    assert (check.params["count"], check.params["names"]) == ("1", "witness.example/w1")
    cosigned = witness.state.cosigned(bundle.ledger[label].checkpoint.partition("\n")[0])
    assert cosigned is not None
    assert check.params["size"] == str(cosigned[0])
    assert bundle.checkpoint is not None
    assert "witness.example/w1" in bundle.checkpoint  # the bundle's own checkpoint, cosigned

    # A file carrying the evidence with the cosignature altered: nothing counted, and the
    # ledger check still passes on the log's own signature.
    evidence = bundle.ledger[label]
    forged = dataclasses.replace(evidence, checkpoint=_alter_cosignature(evidence.checkpoint))
    assert _ledger_check(bundle.with_evidence(label, forged), credential).message == (
        "ledger.not_cosigned"
    )
    # Read back as a credential file would carry it: the same.
    reread = LedgerEvidence.from_json(forged.to_json())
    assert _ledger_check(bundle.with_evidence(label, reread), credential).message == (
        "ledger.not_cosigned"
    )

    # A newer label moves the latest checkpoint past the cosigned one. The first label's
    # evidence stays under the newest cosigned checkpoint that includes it (with a fresh proof
    # to it); the new one gets the latest, not yet co-signed.
    newer = issue(client, world.certifier)["id"]
    assert _line(client, label)[0] == line
    assert _line(client, newer)[0] == "Not yet co-signed by any witness"
    old_bundle, _ = _offline(client, label)
    assert old_bundle.ledger[label].size == evidence.size
    tick(app)
    new_bundle, new_credential = _offline(client, newer)
    assert _ledger_check(new_bundle, new_credential).params["count"] == "1"
    moved, _ = _offline(client, label)
    assert moved.ledger[label].size > evidence.size  # now under the newer cosigned checkpoint


def test_no_witness_configured_no_line_and_the_report_as_before(
    fresh_database_url: str, tmp_path: Path, apps: list[Flask]
) -> None:
    app, world = _registry(fresh_database_url, tmp_path)
    apps.append(app)
    client = app.test_client()
    label = issue(client, world.certifier)["id"]
    assert _line(client, label)[0] is None
    bundle, credential = _offline(client, label)
    assert bundle.witnesses == ()
    assert (
        "witnesses" not in client.get(f"/api/v1/labels/{label}/trust-bundle").get_json()["payload"]
    )
    assert _ledger_check(bundle, credential).message == "ledger.ok"

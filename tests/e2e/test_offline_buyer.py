"""A foreign buyer, end to end on SQLite and PostgreSQL: a certifier issues a label on a real
server (gunicorn over a fresh database with the demo, as ``tests/browser/server.py`` runs it);
the buyer downloads the registry's bundle and key, the label's credential, its own bundle and
its PDF certificate; the server is stopped; from then on only the kit answers.

Offline, the credential and the PDF verify and get different answers for Hong Kong (recomputed
under the Hong Kong rule, with a grade) and the EU-style scheme (not recognised: its mapping
asks for cradle-to-grave, the tea rule is cradle-to-gate). Then the downloaded files are
attacked: a threshold changed or a key added to a body, the log key substituted, a bundle read
after its validity, a PDF whose printed grade was edited. Each attack's unit test lives beside
its code (tests/registry/labels/test_registry_bundle.py, test_certificate.py); here they are
made on what a real server sent, with nothing of it running.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from credentials import (
    BundleRefusal,
    Condition,
    KeyPair,
    NoteSigner,
    OpenedBundle,
    RecognitionOutcome,
    SignedBundleError,
    open_bundle,
    read_certificate,
    recognise_label,
    sign_bundle,
    unprinted_facts,
    verify_label,
)
from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.trust import TrustBundle
from registry.demo_data import RULES, demo_gtin
from tests.browser.server import HOST, live_server
from tests.pdf_edits import edited_pdf

CARBONLABEL = Path(sys.executable).with_name("carbonlabel")
BODY = "lingnan-pcc"
TEA = next(r for r in RULES if r.code == "CN-GD-PCR-TEA")
ROGUE = KeyPair.from_seed(b"\x7e" * 32)  # a forger's key, never the registry's


def _tea_label() -> dict[str, Any]:
    """A Guangdong tea label: grade A at home (A ≤ 3 kgCO2e per kg), cradle-to-gate, verified
    with reasonable assurance (so the EU-style mapping fails on its boundary alone)."""
    return {
        "product": {
            "name": "Lianshan white tea, 1 kg (e2e demo)",
            "manufacturer": "Yingde Tea Estate Co., Ltd. (fictitious)",
            "model": "E2E-WT1000",
            "gtin": demo_gtin(9901),
        },
        "footprint": {
            "value": "2.4",
            "system_boundary": TEA.boundary,
            "reference_period": {"start": "2025-03-01", "end": "2025-10-31"},
        },
        "rule": {"scheme": TEA.scheme, "rule": TEA.code, "version": TEA.current.version},
        "assurance": "reasonable",
    }


def _download(tmp_path: Path, database_url: str) -> tuple[Path, str, int]:
    """Issue the label on a real server and download what a buyer keeps; stop the server.
    Returns the download folder, the label id and the port the server listened on."""
    files = tmp_path / "downloads"
    files.mkdir()
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with live_server(backend, database_url, tmp_path / "server") as server:
        token = server.demo.certifier_tokens[BODY]
        label_id = server.json("POST", "/api/v1/labels", _tea_label(), token=token, expect=201)[
            "id"
        ]
        for name, path in {
            "bundle.json": "/trust-bundle",
            "bundle-key.json": "/trust-bundle/key",
            "label.json": f"/api/v1/labels/{label_id}",
            "credential.json": f"/l/{label_id}/credential.json",
            "label-bundle.json": f"/api/v1/labels/{label_id}/trust-bundle",
            "certificate.pdf": f"/l/{label_id}/certificate.pdf",
        }.items():
            status, _, body = server.request("GET", path)
            assert status == 200, f"{path}: {status} {body[:500]!r}"
            (files / name).write_bytes(body)
        port = int(server.base_url.rsplit(":", 1)[1])
    return files, label_id, port


def _read(files: Path, name: str) -> Any:
    return json.loads((files / name).read_text(encoding="utf-8"))


def _cli(*args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CARBONLABEL), "verify", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def _answers(opened: OpenedBundle, credential: Any, at: datetime) -> dict[str, Any]:
    report = verify_label(credential, trust=opened.bundle, now=at)
    assert report.verified, [c for c in report.to_json()["checks"] if c["status"] != "passed"]
    return {r: recognise_label(report, opened.bundle, r, at=at) for r in ("HK", "EU")}


def _refusal(data: Any, pinned: str, at: datetime) -> BundleRefusal:
    with pytest.raises(SignedBundleError) as info:
        open_bundle(data, pinned=pinned, now=at)
    return info.value.refusal


def test_a_buyer_verifies_offline_for_two_regions_after_the_server_is_gone(
    fresh_database_url: str, tmp_path: Path
) -> None:
    files, label_id, port = _download(tmp_path, fresh_database_url)
    with pytest.raises(OSError):  # nothing answers any more: what follows is offline
        socket.create_connection((HOST, port), timeout=5).close()

    pinned = _read(files, "bundle-key.json")["publicKeyMultibase"]
    credential = _read(files, "credential.json")
    assert _read(files, "label.json")["credential"] == credential
    whole, subset = _read(files, "bundle.json"), _read(files, "label-bundle.json")
    pdf = (files / "certificate.pdf").read_bytes()
    certificate = read_certificate(pdf)
    carried = certificate.trust
    assert carried is not None
    # A moment the label and every bundle are valid at: the served ones are dated to the start
    # of their ten-minute period, the certificate's to when it was made.
    at = max(
        parse_datetime(subset["payload"]["issued"]) + timedelta(minutes=1),
        parse_datetime(credential["validFrom"]) + timedelta(seconds=1),
        parse_datetime(carried["payload"]["issued"]),
    )

    # The label's own bundle is a subset of the registry's, in the same form, by the same key.
    opened = open_bundle(subset, pinned=pinned, now=at)
    full = open_bundle(whole, pinned=pinned, now=at)
    assert (opened.key, opened.registry) == (full.key, full.registry)
    assert set(opened.bundle.rules) <= set(full.bundle.rules)
    revisions = {(m.mapping_id, m.revision) for m in opened.bundle.mappings}
    assert ("GD-HK-TEA", 1) in revisions
    assert revisions <= {(m.mapping_id, m.revision) for m in full.bundle.mappings}
    assert opened.bundle.log_key == full.bundle.log_key
    assert label_id in opened.bundle.ledger  # its entry and proof travel with it

    answers = _answers(opened, credential, at)
    hong_kong, eu = answers["HK"], answers["EU"]
    assert hong_kong.outcome is RecognitionOutcome.RECOGNISED
    assert (hong_kong.target_rule, hong_kong.grade) == ("HK-PCR-TEA", "A")
    assert eu.outcome is RecognitionOutcome.NOT_RECOGNISED
    assert [c.condition for c in eu.conditions if not c.passed] == [Condition.BOUNDARY]

    # The same answers through the command line, as a buyer runs it.
    at_text = format_datetime(at)
    common = ["--registry-key", pinned, "--at", at_text]
    code, out = _cli(str(files / "credential.json"), "--trust", str(files / "label-bundle.json"),
                     *common, "--region", "HK", "--region", "EU")  # fmt: skip
    assert code == 1  # genuine, but not recognised everywhere asked
    assert (out["verified"], out["verdict"]) == (True, "genuine")
    assert [(r["region"], r["outcome"]) for r in out["recognition"]] == [
        ("HK", "recognised"),
        ("EU", "not_recognised"),
    ]
    code, out = _cli(str(files / "certificate.pdf"), *common, "--region", "HK")
    assert code == 0, out
    assert out["certificate"]["printedFactsMatch"] is True

    # The PDF alone, with the kit: its embedded bundle, credential and printed facts.
    assert certificate.credential == credential
    embedded = open_bundle(carried, pinned=pinned, now=at)
    assert embedded.bundle.ledger == opened.bundle.ledger  # the same subset, dated otherwise
    report = verify_label(credential, trust=embedded.bundle, now=at)
    assert report.verified
    assert report.label is not None
    assert unprinted_facts(report.label, certificate.text) == []
    assert recognise_label(report, embedded.bundle, "HK", at=at).grade == "A"

    # Refused: a threshold changed; a key added to the issuing body; the log key substituted.
    forged_rule = copy.deepcopy(subset)
    tea = next(r for r in forged_rule["payload"]["rules"] if r["ruleId"] == TEA.code)
    tea["thresholds"]["A"] = "9"
    added_key = copy.deepcopy(whole)
    body = added_key["payload"]["bodies"][0]
    body["keys"].append({**body["keys"][0], "publicKeyMultibase": ROGUE.public_key.multibase})
    swapped_log = copy.deepcopy(subset)
    name = swapped_log["payload"]["logKey"].split("+", 1)[0]  # a forger's log of the same name
    forger_log = NoteSigner(name, KeyPair.from_seed(b"\x7f" * 32))
    swapped_log["payload"]["logKey"] = forger_log.verifier_key()
    for forged in (forged_rule, added_key, swapped_log):
        assert _refusal(forged, pinned, at) is BundleRefusal.SIGNATURE_INVALID
    # Re-signed by the forger to hide the change: signed by a key that was not pinned.
    own = {k: subset["payload"][k] for k in ("registry", "issued", "validUntil")}
    resigned = sign_bundle(
        TrustBundle.from_json({k: v for k, v in swapped_log["payload"].items() if k not in own}),
        ROGUE,
        registry=own["registry"],
        issued=parse_datetime(own["issued"]),
        valid_until=parse_datetime(own["validUntil"]),
    )
    assert _refusal(resigned, pinned, at) is BundleRefusal.OTHER_KEY
    (files / "swapped.json").write_text(json.dumps(swapped_log), encoding="utf-8")
    code, out = _cli(str(files / "credential.json"), "--trust", str(files / "swapped.json"),
                     *common, "--region", "HK")  # fmt: skip
    assert code == 1
    assert out["verified"] is False
    assert out["trustBundle"]["refused"] == "signature_invalid"

    # Refused: the bundles read after their validity (an explicit time; nothing waits).
    for signed in (subset, whole, carried):
        stale = parse_datetime(signed["payload"]["validUntil"]) + timedelta(seconds=1)
        assert _refusal(signed, pinned, stale) is BundleRefusal.EXPIRED

    # Refused: the certificate with its printed grade edited (the embedded files untouched).
    forged_pdf = edited_pdf(pdf, b"(Grade: A)", b"(Grade: C)")
    edited = read_certificate(forged_pdf)
    assert edited.credential == credential
    assert unprinted_facts(report.label, edited.text) == ["Grade: A"]
    (files / "forged.pdf").write_bytes(forged_pdf)
    code, out = _cli(str(files / "forged.pdf"), *common)
    assert code == 1
    assert (out["verified"], out["verdict"]) == (False, "not_genuine")
    assert out["certificate"] == {"printedFactsMatch": False, "notPrinted": ["Grade: A"]}

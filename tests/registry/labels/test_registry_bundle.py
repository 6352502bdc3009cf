"""The registry's signed trust bundle, end to end on SQLite and PostgreSQL: download it and its
key, then verify a label and its recognition offline with the kit alone; a forged, re-keyed
or stale bundle is refused."""

from __future__ import annotations

import copy
import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from credentials import (
    BundleRefusal,
    CheckName,
    CheckStatus,
    KeyPair,
    RecognitionOutcome,
    SignedBundleError,
    open_bundle,
    recognise_label,
    verify_label,
)
from credentials._internal.timefmt import parse_datetime
from credentials.cli import main as carbonlabel
from credentials.trust import LedgerEvidence, TrustBundle
from registry.clock import FixedClock
from tests.registry.factories import BUNDLE_SIGNER, LabelWorld
from tests.registry.labels.support import auth, issue, label_bundle

ROGUE = KeyPair.from_seed(b"\x66" * 32)


def _mapping() -> dict[str, Any]:
    return {
        "mappingId": f"GD-HK-{secrets.token_hex(4)}",
        "source": {"scheme": "CN-GD", "rules": ["PCR-LIB"]},
        "target": {"scheme": "HK", "region": "HK", "ruleId": "HK-LIB", "ruleVersion": "1.0"},
        "mode": "recompute",
        "effectiveFrom": "2025-01-01T00:00:00Z",
        "approvedBy": "HK regulator (fictitious)",
        "agreementSha256": "77" * 32,
    }


def test_the_key_is_the_bundle_key_and_not_the_log_key(client: FlaskClient) -> None:
    key = client.get("/trust-bundle/key").get_json()
    assert key["publicKeyMultibase"] == BUNDLE_SIGNER.public_key.multibase
    bundle = client.get("/trust-bundle").get_json()
    assert bundle["signature"]["key"] == key["publicKeyMultibase"]
    assert key["publicKeyMultibase"] not in bundle["payload"]["logKey"]


def test_the_bundle_is_cacheable_and_conditional(client: FlaskClient) -> None:
    first = client.get("/trust-bundle")
    assert first.headers["ETag"]
    again = client.get("/trust-bundle", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_label_verifies_offline_for_two_regions_from_the_downloaded_bundle(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    published = client.post("/api/v1/recognition/mappings", json=_mapping(),
                            headers=auth(world.operator))  # fmt: skip
    assert published.status_code == 201, published.get_json()
    issued = issue(client, world.certifier)
    # What a buyer is sent or downloads: the label JSON (credential and ledger evidence), the
    # registry's signed bundle and the key to pin.
    label = client.get(f"/api/v1/labels/{issued['id']}").get_json()
    assert label["ledgerEvidence"] is not None
    bundle = client.get("/trust-bundle").get_json()
    pinned = client.get("/trust-bundle/key").get_json()["publicKeyMultibase"]
    # Offline from here on: the credential, the bundle and the pinned key.
    at = max(_now(bundle), parse_datetime(label["credential"]["validFrom"]) + timedelta(seconds=1))
    opened = open_bundle(bundle, pinned=pinned, now=at)
    assert opened.registry.startswith("http")
    trust = opened.bundle.with_evidence(
        label["id"], LedgerEvidence.from_json(label["ledgerEvidence"])
    )
    without_ledger = verify_label(label["credential"], trust=opened.bundle, now=at)
    assert without_ledger.check(CheckName.LEDGER).status is CheckStatus.NOT_CHECKED
    report = verify_label(label["credential"], trust=trust, now=at)
    assert report.verified, [c for c in report.to_json()["checks"] if c["status"] != "passed"]
    hong_kong = recognise_label(report, trust, "HK", at=at)
    macao = recognise_label(report, trust, "MO", at=at)
    assert hong_kong.outcome is RecognitionOutcome.RECOGNISED
    assert macao.outcome is RecognitionOutcome.NO_MAPPING
    # And through the command line, as a buyer would.
    cred = tmp_path / "cred.json"
    cred.write_text(json.dumps(label))  # the registry's label JSON, evidence included
    trust = tmp_path / "bundle.json"
    trust.write_text(json.dumps(bundle))
    at_text = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    args = ["verify", str(cred), "--trust", str(trust), "--at", at_text]
    assert carbonlabel([*args, "--registry-key", pinned, "--region", "HK"]) == 0
    assert carbonlabel([*args, "--registry-key", pinned, "--region", "MO"]) == 1
    assert carbonlabel(args) == 1  # signed but not pinned: nothing reads as verified


def _now(bundle: dict[str, Any]) -> datetime:
    return parse_datetime(bundle["payload"]["issued"]) + timedelta(minutes=1)


def _forged(bundle: dict[str, Any], how: str) -> dict[str, Any]:
    forged = copy.deepcopy(bundle)
    payload = forged["payload"]
    if how == "threshold":
        payload["rules"][0]["thresholds"]["B"] = "999"
    elif how == "key-added":
        payload["bodies"][0]["keys"].append(
            {**payload["bodies"][0]["keys"][0], "publicKeyMultibase": ROGUE.public_key.multibase}
        )
    elif how == "log-key":
        payload["logKey"] = payload["logKey"].rsplit("+", 2)[0] + "+00000000+AAAA"
    return forged


@pytest.mark.parametrize("how", ["threshold", "key-added", "log-key"])
def test_a_forged_bundle_is_refused(client: FlaskClient, how: str) -> None:
    bundle = client.get("/trust-bundle").get_json()
    pinned = BUNDLE_SIGNER.public_key.multibase
    with pytest.raises(SignedBundleError) as info:
        open_bundle(_forged(bundle, how), pinned=pinned, now=_now(bundle))
    assert info.value.refusal is BundleRefusal.SIGNATURE_INVALID


def test_a_stale_bundle_and_another_registrys_are_refused(
    client: FlaskClient, clock: FixedClock
) -> None:
    bundle = client.get("/trust-bundle").get_json()
    later = _now(bundle) + timedelta(days=2)
    with pytest.raises(SignedBundleError) as info:
        open_bundle(bundle, pinned=BUNDLE_SIGNER.public_key.multibase, now=later)
    assert info.value.refusal is BundleRefusal.EXPIRED
    assert "/trust-bundle" in str(info.value)
    with pytest.raises(SignedBundleError) as info:
        open_bundle(bundle, pinned=ROGUE.public_key.multibase, now=_now(bundle))
    assert info.value.refusal is BundleRefusal.OTHER_KEY


def test_the_per_label_bundle_is_a_subset_of_the_registry_bundle(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    label = issue(client, world.certifier)  # the clock stands still: one ten-minute period
    whole = TrustBundle.from_json(
        {k: v for k, v in client.get("/trust-bundle").get_json()["payload"].items()
         if k not in ("registry", "issued", "validUntil")}
    )  # fmt: skip
    served = client.get(f"/api/v1/labels/{label['id']}/trust-bundle").get_json()
    full = client.get("/trust-bundle").get_json()
    # The same signed form, by the same key, with the same dates.
    assert set(served) == set(full) == {"payload", "signature"}
    assert served["signature"]["key"] == full["signature"]["key"]
    own = ("registry", "issued", "validUntil")
    assert [served["payload"][k] for k in own] == [full["payload"][k] for k in own]
    one = TrustBundle.from_json(label_bundle(client, label["id"]))
    assert set(one.bodies) <= set(whole.bodies)
    assert set(one.rules) <= set(whole.rules)
    assert set(one.status_lists) <= set(whole.status_lists)
    assert one.schemes == whole.schemes
    assert one.log_key == whole.log_key
    assert whole.checkpoint is not None
    assert one.checkpoint == whole.checkpoint


def test_evidence_carried_in_a_file_cannot_vouch_for_a_forgery(
    client: FlaskClient, world: LabelWorld
) -> None:
    issued = issue(client, world.certifier)
    other = issue(client, world.certifier)
    label = client.get(f"/api/v1/labels/{issued['id']}").get_json()
    foreign = client.get(f"/api/v1/labels/{other['id']}").get_json()["ledgerEvidence"]
    bundle = client.get("/trust-bundle").get_json()
    at = max(_now(bundle), parse_datetime(label["credential"]["validFrom"]) + timedelta(seconds=1))
    opened = open_bundle(bundle, pinned=BUNDLE_SIGNER.public_key.multibase, now=at)
    # Another label's genuine entry and proof, presented as this label's.
    trust = opened.bundle.with_evidence(label["id"], LedgerEvidence.from_json(foreign))
    report = verify_label(label["credential"], trust=trust, now=at)
    assert not report.verified
    assert report.check(CheckName.LEDGER).status is CheckStatus.FAILED

"""Each issuance and status change is exactly one ledger entry, provable from the public log."""

from __future__ import annotations

import base64
import json

from flask.testing import FlaskClient

from credentials import (
    NoteVerifier,
    credential_digest,
    leaf_hash,
    open_checkpoint,
    root_hash,
    verify_inclusion,
)
from registry.db import db
from registry.labels.models import Label
from registry.ledger.verification import verify_ledger
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import (
    change_status,
    entries_since,
    issue,
    ledger_size,
)


def test_a_label_lifecycle_is_exactly_its_events(client: FlaskClient, world: LabelWorld) -> None:
    start = ledger_size()
    label = issue(client, world.certifier, label_request("90", amount="2"))
    for action in ("suspend", "reinstate", "revoke"):
        assert change_status(client, world.certifier, label["id"], action).status_code == 200
    issued, suspended, reinstated, revoked = entries_since(start)

    stored = json.loads(db.session.get_one(Label, label["id"]).credential)
    assert stored == label["credential"]
    assert issued["event"] == "label.issued"
    assert issued["credentialDigest"] == credential_digest(stored)
    assert issued["verificationMethod"] == label["credential"]["proof"]["verificationMethod"]
    assert {k: issued[k] for k in ("label", "body", "scheme", "rule", "ruleVersion")} == {
        "label": label["id"],
        "body": "lingnan",
        "scheme": "CN-GD",
        "rule": "PCR-LIB",
        "ruleVersion": "1.0",
    }
    assert (issued["footprint"], issued["declaredUnitAmount"], issued["grade"]) == ("90", "2", "A")
    assert (issued["category"], issued["declaredUnit"]) == ("battery", "kWh")
    assert issued["validFrom"].startswith(label["credential"]["validFrom"][:19])
    lists = {s["statusPurpose"]: s for s in label["credential"]["credentialStatus"]}
    for purpose, where in issued["statusLists"].items():
        assert lists[purpose]["statusListCredential"].endswith("/" + where["list"])
        assert lists[purpose]["statusListIndex"] == str(where["index"])
    assert issued["supersedes"] is None

    assert [e["event"] for e in (suspended, reinstated, revoked)] == [
        "label.suspended",
        "label.reinstated",
        "label.revoked",
    ]
    assert all(e["label"] == label["id"] and e["body"] == "lingnan" for e in entries_since(start))
    assert [e["seq"] for e in entries_since(start)] == list(range(start, start + 4))


def test_a_refused_change_appends_nothing(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    start = ledger_size()
    change_status(client, world.other_certifier, label["id"], "revoke")
    change_status(client, world.operator, label["id"], "revoke")
    change_status(client, world.certifier, label["id"], "reinstate")
    assert entries_since(start) == []


def test_the_signed_checkpoint_is_the_root_of_the_served_entries(
    client: FlaskClient, world: LabelWorld
) -> None:
    labels = [issue(client, world.certifier) for _ in range(3)]
    change_status(client, world.certifier, labels[0]["id"], "revoke")
    verifier = NoteVerifier.from_verifier_key(client.get("/ledger/log-key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/ledger/checkpoint").data, verifier=verifier)
    assert checkpoint.size == ledger_size()
    lines = client.get(f"/ledger/entries?start=0&end={checkpoint.size}").data.split(b"\n")[:-1]
    assert checkpoint.root_hash == root_hash([leaf_hash(line) for line in lines])
    report = verify_ledger()
    assert report.ok, report.problems
    assert (report.size, report.root_hash) == (checkpoint.size, checkpoint.root_hash)


def test_every_label_entry_has_an_inclusion_proof_that_verifies(
    client: FlaskClient, world: LabelWorld
) -> None:
    start = ledger_size()
    labels = [issue(client, s) for s in (world.certifier, world.other_certifier, world.certifier)]
    change_status(client, world.certifier, labels[0]["id"], "suspend")
    change_status(client, world.operator, labels[1]["id"], "suspend")
    verifier = NoteVerifier.from_verifier_key(client.get("/ledger/log-key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/ledger/checkpoint").data, verifier=verifier)
    size = checkpoint.size
    lines = client.get(f"/ledger/entries?start={start}&end={size}").data.split(b"\n")[:-1]
    assert [json.loads(line)["event"].split(".")[0] for line in lines] == ["label"] * 5
    for index, line in enumerate(lines, start=start):
        response = client.get(f"/ledger/proof/inclusion?index={index}&size={size}")
        assert response.status_code == 200
        proof = [base64.b64decode(h) for h in response.get_json()["hashes"]]
        verify_inclusion(
            index=index,
            size=size,
            leaf_hash=leaf_hash(line),
            proof=proof,
            root=checkpoint.root_hash,
        )
    for label in labels:
        assert json.loads(lines[label["ledger_index"] - start])["credentialDigest"] == (
            credential_digest(label["credential"])
        )

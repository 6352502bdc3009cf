"""A body that holds its own key: the registry prepares, the body signs, the registry checks.

The body's key is registered by its public half only; the registry refuses to sign in its name,
prepares the credential as it would sign it, and issues what the body signed only if it is that
credential, signed as asked, by that key. Signatures are real: the kit's ``carbonlabel sign``
(the console script, in a subprocess) signs the registry's preparation as it is.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from credentials import (
    EDDSA_RDFC_2022,
    CheckName,
    CheckStatus,
    KeyPair,
    TrustBundle,
    replay,
    sign_document,
    verify_label,
)
from credentials._internal.timefmt import parse_datetime
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.services import (
    add_body_key,
    get_body,
    grant_accreditation,
    register_body,
    retire_body_key,
)
from registry.bodies.services import signing_key as status_list_key
from registry.clock import FixedClock, utcnow
from registry.db import db, transaction
from registry.labels.held import PREPARATION_KEPT, PREPARATION_LIFETIME
from registry.labels.models import LabelPreparation
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_state
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import (
    auth,
    change_status,
    entries_since,
    issue,
    label_bundle,
    ledger_size,
    problem,
)
from tests.registry.labels.test_verification import check, verify

CARBONLABEL = Path(sys.executable).with_name("carbonlabel")
HELD_BODY = "riverside"


@dataclass(frozen=True)
class Held:
    key: KeyPair  # the body's own key: the registry never sees its secret
    certifier: str  # the body's certifier token


def held_body(code: str = HELD_BODY) -> Held:
    """A body with a key of its own, and a registry-held key that signs only its status lists."""
    key = KeyPair.generate()
    with transaction():
        register_body(
            actor=OPERATOR_CONSOLE,
            code=code,
            name=f"{code} Verification (fictitious)",
            region="CN-GD",
        )
        grant_accreditation(
            actor=OPERATOR_CONSOLE,
            body_code=code,
            scheme_code="CN-GD",
            categories=["battery"],
            accreditation_body="CNAS (fictitious)",
            reference=f"CNAS-{code.upper()}-001",
            valid_from=utcnow() - timedelta(days=30),
            valid_until=None,
        )
        add_body_key(code, actor=OPERATOR_CONSOLE)
        add_body_key(code, actor=OPERATOR_CONSOLE, public_key_multibase=key.public_key.multibase)
        secret = create_token(role=Role.CERTIFIER, name=code, body_code=code)[1]
    return Held(key, secret)


def prepare(client: FlaskClient, secret: str, body: Any = None, expect: int = 201) -> Any:
    response = client.post(
        "/api/v1/labels/prepare", json=body or label_request(), headers=auth(secret)
    )
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def kit_sign(tmp_path: Path, document: Any, key: KeyPair, *extra: str) -> dict[str, Any]:
    """``carbonlabel sign`` run on ``document`` as the body would run it."""
    path = tmp_path / "preparation.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CARBONLABEL), "sign", str(path), "--secret-key", key.secret_multibase, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    signed: dict[str, Any] = json.loads(done.stdout)
    return signed


def in_process_sign(preparation: dict[str, Any], key: KeyPair, **changes: Any) -> dict[str, Any]:
    """The prepared credential signed with the kit's function, as the preparation asks (unless
    ``changes`` says otherwise)."""
    signing = preparation["signing"]
    options: dict[str, Any] = {
        "key": key,
        "cryptosuite": signing["cryptosuite"],
        "created": parse_datetime(signing["created"]),
        "verification_method": signing["verificationMethod"],
        **changes,
    }
    return sign_document(copy.deepcopy(preparation["credential"]), **options)


def submit(client: FlaskClient, secret: str, preparation: dict[str, Any], signed: Any) -> Any:
    return client.post(preparation["submit"], json=signed, headers=auth(secret))


def test_the_body_held_key_is_ledgered_as_held_by_the_body(client: FlaskClient) -> None:
    held = held_body()
    mine = {
        e["publicKeyMultibase"]: e["managed"]
        for e in entries_since(0)
        if e["event"] == "key.added" and e["body"] == HELD_BODY
    }
    assert mine[held.key.public_key.multibase] is False
    assert sorted(mine.values()) == [False, True]  # and the registry's, for the status lists
    shown = client.get(f"/api/v1/bodies/{HELD_BODY}").get_json()
    keys = {k["public_key_multibase"]: k["managed"] for k in shown["keys"]}
    assert keys[held.key.public_key.multibase] is False


def test_the_registry_cannot_sign_in_the_name_of_a_body_holding_its_key(
    client: FlaskClient, world: LabelWorld
) -> None:
    held = held_body()
    before = ledger_size()
    for path in ("/api/v1/labels", "/api/v1/labels?dry_run=true"):
        response = client.post(path, json=label_request(), headers=auth(held.certifier))
        refused = problem(response, 409, "body-holds-key")
        assert "/api/v1/labels/prepare" in refused["detail"]
    batch = client.post(
        "/api/v1/labels/batch", json={"labels": [label_request()]}, headers=auth(held.certifier)
    )
    problem(batch, 409, "body-holds-key")
    # The operator issues for no body at all, by either path.
    for path in ("/api/v1/labels", "/api/v1/labels/prepare"):
        response = client.post(path, json=label_request(), headers=auth(world.operator))
        problem(response, 403, "forbidden")
    assert ledger_size() == before


def test_prepare_sign_with_the_kit_and_submit_issues_a_genuine_label(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    held = held_body()
    before = ledger_size()
    preparation = prepare(client, held.certifier, label_request("61.2"))
    assert ledger_size() == before  # nothing ledgered until the body signed
    credential = preparation["credential"]
    assert "proof" not in credential
    assert credential["id"].endswith(f"/l/{preparation['label_id']}")
    assert credential["issuer"]["id"] == held.key.did
    assert credential["credentialSubject"]["grade"] == "B"  # the registry's, from the rule
    assert len(credential["credentialStatus"]) == 2
    assert preparation["signing"] == {
        "type": "DataIntegrityProof",
        "cryptosuite": EDDSA_RDFC_2022,
        "created": credential["validFrom"],
        "verificationMethod": held.key.verification_method,
        "proofPurpose": "assertionMethod",
    }
    shown = client.get(preparation["submit"].removesuffix("/signed"), headers=auth(held.certifier))
    assert shown.status_code == 200
    assert shown.get_json()["credential"] == credential

    signed = kit_sign(tmp_path, preparation, held.key)  # the preparation as it is
    response = submit(client, held.certifier, preparation, signed)
    assert response.status_code == 201, response.get_json()
    label = response.get_json()
    assert (label["id"], label["ledger_index"]) == (preparation["label_id"], before)
    assert label["credential"] == signed

    result = verify(client, label["credential"])
    assert result["verified"] is True, result["problemDetails"]
    assert result["verdict"] == "genuine"
    registry_signed = verify(client, issue(client, world.certifier)["credential"])
    assert [(c["check"], c["status"]) for c in result["report"]["checks"]] == [
        (c["check"], c["status"]) for c in registry_signed["report"]["checks"]
    ]
    assert {c["status"] for c in result["report"]["checks"]} == {"passed"}
    assert check(result, "issuer_key")["status"] == "passed"

    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)
    entries = db.session.execute(select(LedgerEntry.body).order_by(LedgerEntry.seq)).scalars()
    replayed = replay([bytes(e) for e in entries])
    assert replayed.ok, replayed.violation
    assert label["id"] in replayed.state.labels

    # Offline too, against the label's signed trust bundle.
    offline = verify_label(
        label["credential"], trust=TrustBundle.from_json(label_bundle(client, label["id"]))
    )
    assert offline.verified, offline.to_json()

    again = submit(client, held.certifier, preparation, signed)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == label["id"]
    assert ledger_size() == before + 2  # this label and the registry-signed one, once each


def test_a_credential_signed_by_another_key_is_refused(client: FlaskClient) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    thief = KeyPair.generate()
    # In the body's name (its verification method), but not by its key.
    forged = in_process_sign(preparation, thief)
    refused = problem(
        submit(client, held.certifier, preparation, forged), 422, "signed-proof-invalid"
    )
    assert held.key.verification_method in refused["detail"]
    # Or under its own name.
    own = in_process_sign(preparation, thief, verification_method=thief.verification_method)
    refused = problem(submit(client, held.certifier, preparation, own), 422, "signed-proof-invalid")
    assert "verificationMethod" in refused["detail"]
    # The genuine signature still goes through: the refusals changed nothing.
    good = in_process_sign(preparation, held.key)
    assert submit(client, held.certifier, preparation, good).status_code == 201


@pytest.mark.parametrize(
    ("member", "change"),
    [
        ("credentialSubject.grade", lambda c: c["credentialSubject"].update(grade="A")),
        (
            "credentialSubject.footprint.value",
            lambda c: c["credentialSubject"]["footprint"].update(value="12.0"),
        ),
        ("validUntil", lambda c: c.update(validUntil="2099-01-01T00:00:00Z")),
        (
            "credentialStatus[1].statusListIndex",
            lambda c: c["credentialStatus"][1].update(statusListIndex="1"),
        ),
        ("name", lambda c: c.update(name="A label the registry never prepared")),
    ],
)
def test_an_altered_member_is_refused_and_named(
    client: FlaskClient, member: str, change: Any
) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    before = ledger_size()
    tampered = copy.deepcopy(preparation)
    change(tampered["credential"])
    signed = in_process_sign(tampered, held.key)  # a valid signature over the altered document
    refused = problem(
        submit(client, held.certifier, preparation, signed), 422, "signed-credential-altered"
    )
    assert refused["members"] == [member]
    assert member in refused["detail"]
    assert ledger_size() == before


@pytest.mark.parametrize(
    ("proof_change", "named"),
    [
        ({"created": "2020-01-01T00:00:00Z"}, "created"),
        ({"proofPurpose": "authentication"}, "proofPurpose"),
        ({"expires": "2099-01-01T00:00:00Z"}, "expires"),
    ],
)
def test_a_proof_not_made_as_asked_is_refused(
    client: FlaskClient, proof_change: dict[str, str], named: str
) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    signed = in_process_sign(preparation, held.key)
    signed["proof"].update(proof_change)
    refused = problem(
        submit(client, held.certifier, preparation, signed), 422, "signed-proof-invalid"
    )
    assert named in refused["detail"]
    unsigned = preparation["credential"]
    problem(submit(client, held.certifier, preparation, unsigned), 422, "signed-proof-invalid")
    # The preparation itself, sent back by mistake, is named as such.
    mistaken = problem(
        submit(client, held.certifier, preparation, preparation), 422, "validation-failed"
    )
    assert "carbonlabel sign" in mistaken["errors"]["credential"][0]


def test_another_bodys_preparation_is_not_found(client: FlaskClient, world: LabelWorld) -> None:
    held = held_body()
    other = held_body("estuary")
    preparation = prepare(client, held.certifier)
    signed = in_process_sign(preparation, held.key)
    for secret in (other.certifier, world.certifier):
        problem(submit(client, secret, preparation, signed), 404, "not-found")
        shown = client.get(preparation["submit"].removesuffix("/signed"), headers=auth(secret))
        problem(shown, 404, "not-found")
    problem(submit(client, world.operator, preparation, signed), 403, "forbidden")


def test_a_submitted_preparation_takes_no_other_credential(client: FlaskClient) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    assert (
        submit(
            client, held.certifier, preparation, in_process_sign(preparation, held.key)
        ).status_code
        == 201
    )
    # Another valid signature of the same credential (a proof id makes it another document).
    other = in_process_sign(preparation, held.key, proof_id="urn:uuid:0f5e")
    refused = problem(submit(client, held.certifier, preparation, other), 409, "conflict")
    assert preparation["label_id"] in refused["detail"]


def test_an_expired_preparation_is_refused(client: FlaskClient, clock: FixedClock) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    signed = in_process_sign(preparation, held.key)
    clock.advance(PREPARATION_LIFETIME + timedelta(seconds=1))
    before = ledger_size()
    refused = problem(
        submit(client, held.certifier, preparation, signed), 409, "preparation-expired"
    )
    assert "prepare" in refused["detail"]
    assert ledger_size() == before
    # Its label id and status entries stay with it: a new preparation draws others.
    again = prepare(client, held.certifier)
    assert again["label_id"] != preparation["label_id"]
    assert again["credential"]["credentialStatus"] != preparation["credential"]["credentialStatus"]
    stored = db.session.execute(select(LabelPreparation.id)).scalars().all()
    assert {preparation["id"], again["id"]} <= set(stored)
    # Preparations are not ledgered: the audit of the tables against the ledger still agrees.
    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)


def test_preparations_that_expired_unsigned_are_pruned_after_a_week(
    app: Flask, client: FlaskClient, clock: FixedClock
) -> None:
    held = held_body()
    used = prepare(client, held.certifier)
    made = submit(client, held.certifier, used, in_process_sign(used, held.key))
    assert made.status_code == 201, made.get_json()
    stale = prepare(client, held.certifier)
    clock.advance(PREPARATION_LIFETIME + PREPARATION_KEPT + timedelta(seconds=1))
    recent = prepare(client, held.certifier)
    clock.advance(PREPARATION_LIFETIME + timedelta(seconds=1))  # expired, but within the week
    before = ledger_size()
    pruned = app.test_cli_runner().invoke(args=["labels", "prune-preparations"])
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.strip() == "1 expired label preparations removed."
    kept = set(db.session.execute(select(LabelPreparation.id)).scalars())
    assert stale["id"] not in kept
    assert {used["id"], recent["id"]} <= kept  # the one that made a label, the recent one
    assert ledger_size() == before  # preparations were never ledgered
    # A late submission of the pruned one is not found; the recent one is still told it expired.
    gone = submit(client, held.certifier, stale, in_process_sign(stale, held.key))
    problem(gone, 404, "not-found")
    late = submit(client, held.certifier, recent, in_process_sign(recent, held.key))
    problem(late, 409, "preparation-expired")
    again = app.test_cli_runner().invoke(args=["labels", "prune-preparations"])
    assert again.stdout.strip() == "0 expired label preparations removed."


def test_preparing_makes_the_checks_issuance_makes(client: FlaskClient) -> None:
    held = held_body()
    problem(
        client.post(
            "/api/v1/labels/prepare", json=label_request(grade="A"), headers=auth(held.certifier)
        ),
        422,
        "grade-mismatch",
    )
    pv = label_request(rule=("CN-GD", "PCR-PV", "1.0"))
    problem(
        client.post("/api/v1/labels/prepare", json=pv, headers=auth(held.certifier)),
        422,
        "out-of-scope",
    )
    problem(
        client.post(
            "/api/v1/labels/prepare",
            json={**label_request(), "grade_x": 1},
            headers=auth(held.certifier),
        ),
        422,
        "validation-failed",
    )


def test_a_body_holding_its_key_needs_a_registry_key_for_its_status_lists(
    client: FlaskClient,
) -> None:
    held = held_body()
    registry_key = next(k for k in get_body(HELD_BODY).keys if k.managed)
    with transaction():
        retire_body_key(HELD_BODY, registry_key.public_key_multibase, actor=OPERATOR_CONSOLE)
    response = client.post(
        "/api/v1/labels/prepare", json=label_request(), headers=auth(held.certifier)
    )
    assert "status lists" in problem(response, 422, "no-signing-key")["detail"]


def test_a_body_without_a_key_of_its_own_cannot_prepare(
    client: FlaskClient, world: LabelWorld
) -> None:
    response = client.post(
        "/api/v1/labels/prepare", json=label_request(), headers=auth(world.certifier)
    )
    problem(response, 422, "no-signing-key")


def test_the_status_of_a_body_signed_label_changes_as_any_label(client: FlaskClient) -> None:
    held = held_body()
    preparation = prepare(client, held.certifier)
    response = submit(client, held.certifier, preparation, in_process_sign(preparation, held.key))
    label = response.get_json()
    assert change_status(client, held.certifier, label["id"], "suspend").status_code == 200
    result = verify(client, label["credential"])
    assert (result["verified"], result["verdict"]) == (False, "suspended")
    assert change_status(client, held.certifier, label["id"], "reinstate").status_code == 200
    assert verify(client, label["credential"])["verdict"] == "genuine"


def test_a_label_signed_with_the_registrys_key_of_a_body_holding_its_own_is_not_genuine(
    client: FlaskClient,
) -> None:
    """What an operator with the database and the KEK could sign outside the API, with the key
    of the body that signs its status lists: offline verifiers refuse it too."""
    held = held_body()
    preparation = prepare(client, held.certifier)
    label = submit(
        client, held.certifier, preparation, in_process_sign(preparation, held.key)
    ).get_json()
    bundle = label_bundle(client, label["id"])
    (body,) = [b for b in bundle["bodies"] if b["name"] == get_body(HELD_BODY).name]
    marked = {k["publicKeyMultibase"]: k.get("heldByBody", False) for k in body["keys"]}
    assert marked[held.key.public_key.multibase] is True
    assert sorted(marked.values()) == [False, True]

    _, registry_key = status_list_key(get_body(HELD_BODY), at=utcnow())
    forged = copy.deepcopy(preparation["credential"])
    forged["issuer"]["id"] = registry_key.did
    signed = sign_document(
        forged,
        key=registry_key,
        cryptosuite=EDDSA_RDFC_2022,
        created=parse_datetime(preparation["signing"]["created"]),
    )
    result = verify(client, signed)
    assert result["verified"] is False
    assert check(result, "issuer_key")["status"] == "failed"
    assert check(result, "issuer_key")["outcome"] == "key_not_active"
    offline = verify_label(signed, trust=TrustBundle.from_json(bundle))
    assert not offline.verified
    assert offline.check(CheckName.ISSUER_KEY).status is CheckStatus.FAILED


def test_a_body_signed_label_supersedes_an_earlier_one_as_issuance_does(
    client: FlaskClient,
) -> None:
    held = held_body()
    first = prepare(client, held.certifier)
    old = submit(client, held.certifier, first, in_process_sign(first, held.key)).get_json()
    second = prepare(client, held.certifier, label_request("50.1", supersedes=old["id"]))
    assert second["credential"]["credentialSubject"]["grade"] == "B"
    new = submit(client, held.certifier, second, in_process_sign(second, held.key))
    assert new.status_code == 201, new.get_json()
    assert client.get(f"/api/v1/labels/{old['id']}").get_json()["status"] == "superseded"
    assert verify(client, old["credential"])["verdict"] == "superseded"
    report = verify_state()
    assert report.ok, (report.violation, report.mismatches)

"""Verification against the register (``/credentials/verify``) and offline with a trust bundle.

Tamper cases are named after the attack. The "leaked key" cases sign with the body's real key,
unsealed from the registry's key store, as an attacker holding a stolen key would.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from credentials import (
    EDDSA_RDFC_2022,
    CheckName,
    KeyPair,
    TrustBundle,
    build_label_credential,
    new_label_id,
    sign_document,
    verify_label,
)
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, create_token
from registry.bodies.services import add_body_key, get_body, grant_accreditation, register_body
from registry.bodies.services import signing_key as body_signing_key
from registry.clock import FixedClock, utcnow, utcnow_seconds
from registry.db import transaction
from tests.credentials.factories import body_key, sample_label
from tests.registry.factories import BASE_URL, BUNDLE_SIGNER, LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import change_status, issue, label_bundle

CARBONLABEL = Path(sys.executable).with_name("carbonlabel")
ALL_CHECKS = {c.value for c in CheckName}


def verify(client: FlaskClient, credential: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 200, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def check(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in result["report"]["checks"] if c["check"] == name]
    return found


def not_genuine(result: dict[str, Any], *failed: str) -> None:
    assert result["verified"] is False
    assert result["verdict"] == "not_genuine"
    for name in failed:
        assert check(result, name)["status"] == "failed", check(result, name)


def altered(result: dict[str, Any]) -> None:
    """The proof failed, so nothing the document says is checked, let alone shown as "ok"."""
    not_genuine(result, "proof")
    checks = result["report"]["checks"]
    after = checks[[c["check"] for c in checks].index("proof") + 1 :]
    assert {(c["status"], c["outcome"]) for c in after} == {("not_checked", "contents_untrusted")}


def resigned(credential: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """Signed again with ``key``, the proof created at the app's now (to the second)."""
    unsigned = {k: v for k, v in copy.deepcopy(credential).items() if k != "proof"}
    return sign_document(unsigned, key=key, cryptosuite=EDDSA_RDFC_2022, created=utcnow_seconds())


def leaked_key() -> KeyPair:
    """The body's real signing key, as an attacker who stole it would hold it."""
    return body_signing_key(get_body(LABEL_BODY), at=utcnow())[1]


def test_a_fresh_label_passes_every_check(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    result = verify(client, label["credential"])
    assert result["verified"] is True, result["problemDetails"]
    assert result["verdict"] == "genuine"
    assert {c["check"] for c in result["report"]["checks"]} == ALL_CHECKS
    assert result["problemDetails"] == []
    assert result["report"]["trustChecked"] is True
    assert result["report"]["labelId"] == label["id"]
    assert {c["status"] for c in result["report"]["checks"]} == {"passed"}


# --- tampering with a signed credential ------------------------------------------------------


def test_footprint_lowered_after_signing_is_not_genuine(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["credentialSubject"]["footprint"]["value"] = "16.2"
    altered(verify(client, credential))


def test_grade_upgraded_after_signing_is_not_genuine(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["credentialSubject"]["grade"] = "A"
    altered(verify(client, credential))


def test_product_swapped_after_signing_is_not_genuine(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["credentialSubject"]["product"]["name"] = "NMC battery module 48 V (other product)"
    altered(verify(client, credential))


def test_validity_extended_after_signing_is_not_genuine(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["validUntil"] = "2099-12-31T00:00:00Z"
    altered(verify(client, credential))


def test_credential_resigned_with_an_unregistered_key_fails_the_issuer_check(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    attacker = KeyPair.generate()
    credential["issuer"]["id"] = attacker.did
    result = verify(client, resigned(credential, attacker))
    assert check(result, "proof")["status"] == "passed"
    not_genuine(result, "issuer_key", "ledger")


def test_credential_signed_by_another_key_in_the_issuers_name_fails_the_proof(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    not_genuine(verify(client, resigned(credential, KeyPair.generate())), "proof")


def test_leaked_key_cannot_alter_a_registered_label(client: FlaskClient, world: LabelWorld) -> None:
    credential = issue(client, world.certifier)["credential"]
    credential["credentialSubject"]["footprint"]["value"] = "40"
    credential["credentialSubject"]["grade"] = "A"
    result = verify(client, resigned(credential, leaked_key()))
    for name in ("proof", "issuer_key", "grade"):
        assert check(result, name)["status"] == "passed", check(result, name)
    not_genuine(result, "ledger")
    assert "different credential" in check(result, "ledger")["reason"]


def test_leaked_key_cannot_forge_a_label_the_register_never_issued(
    client: FlaskClient, world: LabelWorld
) -> None:
    credential = issue(client, world.certifier)["credential"]
    forged_id = new_label_id()
    credential["id"] = f"{BASE_URL}/l/{forged_id}"
    credential["credentialSubject"]["labelId"] = forged_id
    result = verify(client, resigned(credential, leaked_key()))
    assert check(result, "proof")["status"] == "passed"
    assert result["verified"] is False
    assert result["verdict"] != "genuine"
    assert check(result, "ledger")["status"] != "passed"


def test_a_credential_of_another_registry_is_not_verified(client: FlaskClient) -> None:
    key = body_key(7)
    credential = sign_document(
        build_label_credential(sample_label(key)), key=key, cryptosuite=EDDSA_RDFC_2022
    )
    result = verify(client, credential)
    assert check(result, "proof")["status"] == "passed"
    assert result["verified"] is False
    assert result["verdict"] != "genuine"
    assert check(result, "issuer_key")["status"] != "passed"


# --- status and validity ---------------------------------------------------------------------


def test_a_suspended_label_verifies_as_suspended_until_reinstated(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    change_status(client, world.certifier, label["id"], "suspend")
    result = verify(client, label["credential"])
    assert (result["verified"], result["verdict"]) == (False, "suspended")
    suspension = check(result, "suspension")
    # The change's own ledger entry says when, why and by whom.
    assert set(suspension["params"]) == {"since", "reason"}
    assert suspension | {"reason": "", "params": {}} == {
        "check": "suspension",
        "status": "failed",
        "required": True,
        "outcome": "suspended",
        "message": "suspension.suspended_by_certifier",
        "params": {},
        "reason": "",
    }
    assert check(result, "revocation")["status"] == "passed"
    change_status(client, world.certifier, label["id"], "reinstate")
    assert verify(client, label["credential"])["verdict"] == "genuine"


def test_a_revoked_label_verifies_as_revoked(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    change_status(client, world.certifier, label["id"], "suspend")
    change_status(client, world.certifier, label["id"], "revoke")
    result = verify(client, label["credential"])
    assert (result["verified"], result["verdict"]) == (False, "revoked")
    assert check(result, "revocation")["status"] == "failed"
    assert check(result, "proof")["status"] == "passed"


def test_an_expired_label_verifies_as_expired(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    until = clock.now().replace(microsecond=0) + timedelta(seconds=2)
    label = issue(client, world.certifier, label_request(valid_until=until.isoformat()))
    clock.set(until)  # validUntil is exclusive: at that instant the label has expired
    result = verify(client, label["credential"])
    assert (result["verified"], result["verdict"]) == (False, "expired")
    assert check(result, "validity")["status"] == "failed"
    passed = {c["check"] for c in result["report"]["checks"] if c["status"] == "passed"}
    assert passed == ALL_CHECKS - {"validity"}
    clock.set(until - timedelta(milliseconds=1))
    assert verify(client, label["credential"])["verdict"] == "genuine"


def test_a_label_issued_in_the_same_second_as_its_key_was_added_verifies(
    client: FlaskClient, clock: FixedClock
) -> None:
    """Credentials state times to the second; a key added at 12:00:00.4 signed at 12:00:00.7.

    The key must count as active for a proof ``created`` at 12:00:00, or every label a new
    body issues in its key's first second is "not genuine" for ever.
    """
    clock.set(clock.now().replace(microsecond=400_000))
    with transaction():
        register_body(
            actor=OPERATOR_CONSOLE,
            code="delta",
            name="Delta Carbon Audit (fictitious)",
            region="CN-GD",
        )
        grant_accreditation(
            actor=OPERATOR_CONSOLE,
            body_code="delta",
            scheme_code="CN-GD",
            categories=["battery"],
            accreditation_body="CNAS (fictitious)",
            reference="CNAS-DELTA-001",
            valid_from=utcnow() - timedelta(days=1),
            valid_until=None,
        )
        add_body_key("delta", actor=OPERATOR_CONSOLE)
        _, secret = create_token(role=Role.CERTIFIER, name="delta", body_code="delta")
    clock.set(clock.now().replace(microsecond=700_000))
    label = issue(client, secret)
    result = verify(client, label["credential"])
    assert result["verified"] is True, result["problemDetails"]


# --- offline, with the trust bundle ----------------------------------------------------------


def carbonlabel_verify(tmp_path: Path, credential: Any, bundle: Any, *extra: str) -> Any:
    (tmp_path / "credential.json").write_text(json.dumps(credential), encoding="utf-8")
    (tmp_path / "bundle.json").write_text(json.dumps(bundle), encoding="utf-8")
    args = [str(tmp_path / "credential.json"), "--trust", str(tmp_path / "bundle.json")]
    args += ["--registry-key", BUNDLE_SIGNER.public_key.multibase]
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CARBONLABEL), "verify", *args, "--json", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_trust_bundle_verifies_offline_until_revocation(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id']}/trust-bundle")
    assert response.status_code == 200
    bundle = response.get_json()
    assert set(bundle["payload"]) >= {"bodies", "rules", "statusLists", "logKey", "ledger"}
    opened = TrustBundle.from_json(label_bundle(client, label["id"]))
    report = verify_label(label["credential"], trust=opened)
    assert report.verified, report.to_json()

    done = carbonlabel_verify(tmp_path, label["credential"], bundle)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["verdict"] == "genuine"
    later = carbonlabel_verify(
        tmp_path, label["credential"], bundle, "--at", "2035-01-01T00:00:00Z"
    )
    assert later.returncode == 1
    assert json.loads(later.stdout)["verdict"] == "expired"
    # By then the bundle is long stale too, and says so rather than vouching.
    assert json.loads(later.stdout)["trustBundle"]["refused"] == "expired"

    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    fresh = client.get(f"/api/v1/labels/{label['id']}/trust-bundle").get_json()
    done = carbonlabel_verify(tmp_path, label["credential"], fresh)
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(done.stdout)["verdict"] == "revoked"


def test_the_trust_bundle_does_not_vouch_for_a_tampered_copy(
    client: FlaskClient, world: LabelWorld, tmp_path: Path
) -> None:
    label = issue(client, world.certifier)
    bundle = client.get(f"/api/v1/labels/{label['id']}/trust-bundle").get_json()
    credential = copy.deepcopy(label["credential"])
    credential["credentialSubject"]["footprint"]["value"] = "6.12"
    done = carbonlabel_verify(tmp_path, resigned(credential, leaked_key()), bundle)
    assert done.returncode == 1
    assert json.loads(done.stdout)["verdict"] == "not_genuine"

"""The ledger check counts the valid cosignatures of the bundle's witnesses on the checkpoint."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from credentials import KeyPair, NoteVerifier, render_message, verify_label
from credentials.checkpoint import CosignatureSigner, cosign
from credentials.report import CheckName, CheckStatus
from credentials.trust import TrustBundle
from tests.credentials.factories import body_key, signed_credential
from tests.credentials.trust_fixtures import (
    LABEL_ID,
    LOG,
    NOW,
    ledger_evidence_json,
    trust_bundle_json,
)

W1 = CosignatureSigner("witness.example/w1", KeyPair.from_seed(b"\x51" * 32))
W2 = CosignatureSigner("witness.example/w2", KeyPair.from_seed(b"\x52" * 32))
STRANGER = CosignatureSigner("witness.example/w3", KeyPair.from_seed(b"\x53" * 32))
T1 = 1_780_000_000  # 2026-05-28T20:26:40Z
T2 = T1 + 3600
LOG_VERIFIER = NoteVerifier.from_verifier_key(LOG.verifier_key())


@pytest.fixture
def credential() -> dict[str, Any]:
    return signed_credential(body_key(1))


def _cosigned(
    credential: dict[str, Any], *signers: tuple[CosignatureSigner, int]
) -> dict[str, Any]:
    evidence = ledger_evidence_json(credential)
    note = evidence["checkpoint"]
    for signer, timestamp in signers:
        note = cosign(note, signer, timestamp=timestamp, log_verifier=LOG_VERIFIER)
    return {**evidence, "checkpoint": note}


def _ledger(credential: dict[str, Any], evidence: dict[str, Any], witnesses: list[str]) -> Any:
    bundle = trust_bundle_json(credential, ledger={LABEL_ID: evidence}, witnesses=witnesses)
    report = verify_label(credential, trust=TrustBundle.from_json(bundle), now=NOW)
    check = report.check(CheckName.LEDGER)
    assert check.status is CheckStatus.PASSED, check  # witnesses never fail the ledger check
    return check


def test_valid_cosignatures_of_the_bundles_witnesses_are_counted(
    credential: dict[str, Any],
) -> None:
    evidence = _cosigned(credential, (W1, T1), (W2, T2))
    check = _ledger(credential, evidence, [W1.verifier_key(), W2.verifier_key()])
    assert check.message == "ledger.cosigned"
    assert check.params["count"] == "2"
    assert check.params["names"] == "witness.example/w1, witness.example/w2"
    assert check.params["cosigned_at"] == "2026-05-28T21:26:40Z"  # the newest of the two
    assert render_message(check.message, check.params) == (
        "entry 2 of a signed checkpoint of 5 entries, co-signed by 2 witness(es) "
        "(witness.example/w1, witness.example/w2), the newest at 2026-05-28T21:26:40Z"
    )


def test_an_altered_cosignature_is_not_counted_and_spoils_no_other(
    credential: dict[str, Any],
) -> None:
    evidence = _cosigned(credential, (W1, T1), (W2, T2))
    head, _, w2_line = evidence["checkpoint"].rstrip("\n").rpartition("\n")
    prefix, _, b64 = w2_line.rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 0x01  # one bit of W2's signature
    forged = f"{head}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    check = _ledger(
        credential, {**evidence, "checkpoint": forged}, [W1.verifier_key(), W2.verifier_key()]
    )
    assert (check.message, check.params["count"]) == ("ledger.cosigned", "1")
    assert check.params["names"] == "witness.example/w1"
    assert check.params["cosigned_at"] == "2026-05-28T20:26:40Z"
    alone = _ledger(credential, {**evidence, "checkpoint": forged}, [W2.verifier_key()])
    assert alone.message == "ledger.not_cosigned"


def test_a_witness_the_bundle_does_not_name_is_not_counted(credential: dict[str, Any]) -> None:
    evidence = _cosigned(credential, (STRANGER, T1))
    check = _ledger(credential, evidence, [W1.verifier_key()])
    assert check.message == "ledger.not_cosigned"
    assert "count" not in check.params


def test_a_cosigned_time_beyond_any_calendar_is_not_counted(credential: dict[str, Any]) -> None:
    evidence = _cosigned(credential, (W1, 2**63 - 1))
    assert _ledger(credential, evidence, [W1.verifier_key()]).message == "ledger.not_cosigned"


def test_without_witnesses_the_ledger_check_says_what_it_always_said(
    credential: dict[str, Any],
) -> None:
    evidence = _cosigned(credential, (W1, T1))  # lines nobody asked to count are ignored
    check = _ledger(credential, evidence, [])
    assert check.message == "ledger.ok"
    assert check.params == {"index": "2", "size": "5"}

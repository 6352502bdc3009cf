"""verify_label: the ten checks, the verdict, and one test per attack on each check."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials.checkpoint import NoteSigner
from credentials.credential import build_label_credential
from credentials.cryptosuites import SUITES, sign_document
from credentials.errors import TrustError
from credentials.grading import Thresholds, grade_for
from credentials.jsonld import DEFAULT_LOADER
from credentials.keys import encode_multibase_base58
from credentials.merkle import leaf_hash
from credentials.trust import TrustBundle
from credentials.verify import (
    ALL_CHECKS,
    BASIC_CHECKS,
    CheckName,
    CheckStatus,
    Outcome,
    Verdict,
    VerificationReport,
    verify_label,
)
from tests.credentials.factories import ISSUED_AT, body_key, sample_label, signed_credential
from tests.credentials.trust_fixtures import (
    LABEL_ID,
    LEDGER_INDEX,
    LOG,
    NOW,
    OTHER_BODY_NAME,
    REVOCATION_URL,
    ROGUE_LOG,
    STATUS_INDEX,
    SUSPENSION_URL,
    accreditation_json,
    body_json,
    full_trust,
    inclusion_proof_b64,
    issuance_entry,
    key_json,
    ledger_entries,
    ledger_entry,
    ledger_evidence_json,
    rule_json,
    signed_checkpoint,
    status_list_credential,
    status_lists_json,
    trust_bundle_json,
)

KEY = body_key(1)
OTHER_BODY_KEY = body_key(2)  # registered in the bundle to another body
UNREGISTERED_KEY = body_key(3)  # in no trust bundle
ROTATED_KEY = body_key(4)  # body 1's second key


def _failed(report: VerificationReport) -> set[CheckName]:
    return {c.name for c in report.checks if c.status is CheckStatus.FAILED}


def _status(report: VerificationReport, name: CheckName) -> CheckStatus:
    return report.check(name).status


def _assert_fails(
    report: VerificationReport, name: CheckName, reason: str, verdict: Verdict
) -> None:
    check = report.check(name)
    assert check.status is CheckStatus.FAILED, check
    assert reason in check.reason
    assert not report.verified
    assert report.verdict is verdict


def _assert_check_fails(report: VerificationReport, name: CheckName, reason: str) -> None:
    check = report.check(name)
    assert check.status is CheckStatus.FAILED, check
    assert reason in check.reason
    assert not report.verified


def _verify(credential: Any, bundle: dict[str, Any] | None, now: datetime = NOW) -> Any:
    trust = None if bundle is None else TrustBundle.from_json(bundle)
    return verify_label(credential, trust=trust, now=now)


@pytest.fixture
def credential() -> dict[str, Any]:
    return signed_credential(KEY)


# --- the honest label ----------------------------------------------------------------------


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_label_with_full_trust_is_genuine_on_every_check(cryptosuite: str) -> None:
    credential = signed_credential(KEY, cryptosuite=cryptosuite)
    report = verify_label(credential, trust=full_trust(credential), now=NOW)
    assert [c.name for c in report.checks] == list(CheckName)
    assert all(c.status is CheckStatus.PASSED for c in report.checks), report.checks
    assert report.verified
    assert report.verdict is Verdict.GENUINE
    assert report.trust_checked
    assert report.required == ALL_CHECKS
    assert report.label is not None
    assert report.label.label_id == LABEL_ID
    assert f"entry {LEDGER_INDEX} of a signed checkpoint" in report.check(CheckName.LEDGER).reason


def test_without_trust_the_signature_is_intact_but_the_signer_was_not_checked(
    credential: dict[str, Any],
) -> None:
    """Issue 7: a valid signature from a signer nobody checked is never "verified"."""
    report = verify_label(credential, now=NOW)
    assert not report.verified
    assert report.verdict is Verdict.SIGNER_NOT_CHECKED
    assert not report.trust_checked
    assert report.required == BASIC_CHECKS | {CheckName.ISSUER_KEY}
    assert report.check(CheckName.ISSUER_KEY).outcome is Outcome.TRUST_NOT_GIVEN
    for name in BASIC_CHECKS:
        assert _status(report, name) is CheckStatus.PASSED
    for name in (
        CheckName.ISSUER_KEY,
        CheckName.ACCREDITATION,
        CheckName.RULE,
        CheckName.GRADE,
        CheckName.LEDGER,
    ):
        check = report.check(name)
        assert check.status is CheckStatus.NOT_CHECKED
        assert "trust was not checked" in check.reason
    for name in (CheckName.REVOCATION, CheckName.SUSPENSION):
        assert _status(report, name) is CheckStatus.NOT_CHECKED


def test_without_trust_status_lists_given_directly_are_still_checked(
    credential: dict[str, Any],
) -> None:
    lists = status_lists_json(signer=KEY, revoked=True)
    report = verify_label(credential, status_lists=lists, now=NOW)
    _assert_fails(report, CheckName.REVOCATION, "revoked", Verdict.REVOKED)
    assert not report.trust_checked


def test_status_lists_argument_overrides_the_bundled_ones(credential: dict[str, Any]) -> None:
    trust = full_trust(credential)  # bundled lists: nothing set
    fresh = status_lists_json(signer=KEY, suspended=True)
    report = verify_label(credential, trust=trust, status_lists=fresh, now=NOW)
    _assert_fails(report, CheckName.SUSPENSION, "suspended", Verdict.SUSPENDED)


# --- trust given but evidence missing: a check not made is never a pass ---------------------


@pytest.mark.parametrize(
    ("overrides", "unchecked"),
    [
        pytest.param(
            {"statusLists": None}, {CheckName.REVOCATION, CheckName.SUSPENSION}, id="no-lists"
        ),
        pytest.param(
            {"statusLists": {REVOCATION_URL: status_list_credential("revocation")}},
            {CheckName.SUSPENSION},
            id="no-suspension-list",
        ),
        pytest.param({"ledger": None}, {CheckName.LEDGER}, id="no-ledger-evidence"),
        pytest.param({"logKey": None}, {CheckName.LEDGER}, id="no-log-key"),
    ],
)
def test_trust_without_status_lists_or_ledger_evidence_is_unverified(
    credential: dict[str, Any], overrides: dict[str, Any], unchecked: set[CheckName]
) -> None:
    report = _verify(credential, trust_bundle_json(credential, **overrides))
    not_checked = {c.name for c in report.checks if c.status is CheckStatus.NOT_CHECKED}
    assert not_checked == unchecked
    assert not _failed(report)
    assert not report.verified
    assert report.verdict is Verdict.UNVERIFIED


def test_proof_without_creation_time_leaves_key_and_rule_unchecked() -> None:
    """A valid proof with no ``created``: the issuance time, so key activity, is unknown."""
    unsigned = build_label_credential(sample_label(KEY))
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": KEY.verification_method,
        "proofPurpose": "assertionMethod",
    }
    config = {**options, "@context": unsigned["@context"]}
    signature = KEY.sign(SUITES["eddsa-rdfc-2022"].hash_data(unsigned, config, DEFAULT_LOADER))
    credential = {
        **unsigned,
        "proof": {**options, "proofValue": encode_multibase_base58(signature)},
    }
    report = _verify(credential, trust_bundle_json(credential))
    assert _status(report, CheckName.PROOF) is CheckStatus.PASSED
    for name in (CheckName.ISSUER_KEY, CheckName.ACCREDITATION, CheckName.RULE):
        check = report.check(name)
        assert check.status is CheckStatus.NOT_CHECKED
        assert "issuance time unknown" in check.reason
    assert not _failed(report)
    assert not report.verified
    assert report.verdict is Verdict.UNVERIFIED


# --- proof ---------------------------------------------------------------------------------


def test_forged_signature_footprint_lowered_after_signing(credential: dict[str, Any]) -> None:
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["footprint"]["value"] = "50.1"  # still grade B
    report = _verify(forged, trust_bundle_json(credential))
    _assert_fails(report, CheckName.PROOF, "signature does not verify", Verdict.NOT_GENUINE)
    # Issue 7: the grade matches the (forged) footprint, yet nothing forged may read as "ok".
    assert report.contents_untrusted
    for check in report.checks[2:]:
        assert check.outcome is Outcome.CONTENTS_UNTRUSTED, check
        assert check.status is CheckStatus.NOT_CHECKED


def test_swapped_issuer_other_body_did_with_original_proof(credential: dict[str, Any]) -> None:
    swapped = copy.deepcopy(credential)
    swapped["issuer"]["id"] = OTHER_BODY_KEY.did
    report = _verify(swapped, trust_bundle_json(credential))
    _assert_fails(report, CheckName.PROOF, "signature does not verify", Verdict.NOT_GENUINE)
    assert _status(report, CheckName.ISSUER_KEY) is CheckStatus.NOT_CHECKED


def test_swapped_issuer_proof_by_a_key_that_is_not_the_issuer() -> None:
    """Signed (validly) by body 2's key while the credential names body 1 as issuer."""
    unsigned = build_label_credential(sample_label(KEY))
    credential = sign_document(unsigned, key=OTHER_BODY_KEY, created=ISSUED_AT)
    report = _verify(credential, trust_bundle_json(credential))
    _assert_fails(
        report, CheckName.PROOF, "no proof was made with the issuer's key", Verdict.NOT_GENUINE
    )


def test_proof_moved_to_another_credential(credential: dict[str, Any]) -> None:
    other = signed_credential(KEY, label_id="8M4N0RJ3YE", grade="B")
    moved = copy.deepcopy(other)
    moved["proof"] = copy.deepcopy(credential["proof"])
    report = _verify(moved, trust_bundle_json(credential))
    _assert_fails(report, CheckName.PROOF, "signature does not verify", Verdict.NOT_GENUINE)


def test_proof_stripped(credential: dict[str, Any]) -> None:
    stripped = {k: v for k, v in credential.items() if k != "proof"}
    report = verify_label(stripped, now=NOW)
    _assert_fails(report, CheckName.PROOF, "no proof", Verdict.NOT_GENUINE)


def test_expired_proof(credential: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    signed = sign_document(unsigned, key=KEY, created=ISSUED_AT)
    signed["proof"]["expires"] = "2026-04-01T00:00:00Z"  # changes the signed options too
    report = verify_label(signed, now=NOW)
    _assert_fails(report, CheckName.PROOF, "expired", Verdict.NOT_GENUINE)


# --- issuer key ----------------------------------------------------------------------------


def test_key_of_no_registered_body() -> None:
    credential = signed_credential(UNREGISTERED_KEY)
    report = _verify(credential, trust_bundle_json(credential))
    _assert_fails(report, CheckName.ISSUER_KEY, "does not cover the issuer", Verdict.NOT_GENUINE)
    assert _status(report, CheckName.PROOF) is CheckStatus.PASSED
    assert _status(report, CheckName.ACCREDITATION) is CheckStatus.NOT_CHECKED


def test_key_of_another_body_not_accredited_for_the_scheme() -> None:
    """Body 2 holds a registered key, but only an accreditation for CN-FJ cement."""
    credential = signed_credential(OTHER_BODY_KEY, issuer_name=OTHER_BODY_NAME)
    lists = status_lists_json(signer=OTHER_BODY_KEY)
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    _assert_fails(report, CheckName.ACCREDITATION, OTHER_BODY_NAME, Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.ACCREDITATION}
    assert _status(report, CheckName.ISSUER_KEY) is CheckStatus.PASSED


def test_issuer_name_of_another_body() -> None:
    """Body 2 (registered, and here accredited for the label's scheme) signs with its own key
    but writes body 1's name as ``issuer.name``. Every key check passes; the name the page
    shows as "who certified it" must not be a name the bundle gives to another body.
    """
    credential = signed_credential(OTHER_BODY_KEY)  # issuer.name: the factory's body-1 name
    assert credential["issuer"]["name"] != OTHER_BODY_NAME
    bundle = trust_bundle_json(
        credential,
        bodies=[
            body_json(key_json(KEY)),
            body_json(key_json(OTHER_BODY_KEY), name=OTHER_BODY_NAME),
        ],
        statusLists=status_lists_json(signer=OTHER_BODY_KEY),
    )
    report = _verify(credential, bundle)
    assert not report.verified
    assert report.verdict is Verdict.NOT_GENUINE


def _bundle_with_key(credential: dict[str, Any], key: dict[str, Any]) -> dict[str, Any]:
    return trust_bundle_json(credential, bodies=[body_json(key)])


def test_key_retired_before_issuance(credential: dict[str, Any]) -> None:
    bundle = _bundle_with_key(credential, key_json(KEY, active_until=ISSUED_AT - timedelta(days=1)))
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.ISSUER_KEY, "not active at issuance", Verdict.NOT_GENUINE)
    # The body's status lists were signed by the same retired key, so they are unusable too.
    assert _failed(report) == {CheckName.ISSUER_KEY, CheckName.REVOCATION, CheckName.SUSPENSION}


def test_key_retired_at_the_second_of_issuance(credential: dict[str, Any]) -> None:
    report = _verify(
        credential, _bundle_with_key(credential, key_json(KEY, active_until=ISSUED_AT))
    )
    _assert_fails(report, CheckName.ISSUER_KEY, "not active", Verdict.NOT_GENUINE)


def test_key_not_yet_active_at_issuance(credential: dict[str, Any]) -> None:
    bundle = _bundle_with_key(credential, key_json(KEY, active_from=ISSUED_AT + timedelta(hours=1)))
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.ISSUER_KEY, "not active at issuance", Verdict.NOT_GENUINE)


def test_key_retired_after_issuance_still_vouches_for_old_labels(
    credential: dict[str, Any],
) -> None:
    bundle = _bundle_with_key(credential, key_json(KEY, active_until=NOW - timedelta(days=1)))
    assert _verify(credential, bundle).verified


# --- accreditation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accreditation",
    [
        pytest.param(accreditation_json(scheme="CN-FJ"), id="another-scheme"),
        pytest.param(accreditation_json(categories=["cement", "steel"]), id="another-category"),
        pytest.param(accreditation_json(valid_until=ISSUED_AT - timedelta(days=30)), id="expired"),
        pytest.param(
            accreditation_json(valid_from=ISSUED_AT + timedelta(days=1)), id="not-yet-granted"
        ),
    ],
)
def test_accreditation_does_not_cover_the_label(
    credential: dict[str, Any], accreditation: dict[str, Any]
) -> None:
    bundle = trust_bundle_json(
        credential, bodies=[body_json(key_json(KEY), accreditations=[accreditation])]
    )
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.ACCREDITATION, "not accredited", Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.ACCREDITATION}


def test_body_without_any_accreditation(credential: dict[str, Any]) -> None:
    bundle = trust_bundle_json(credential, bodies=[body_json(key_json(KEY), accreditations=[])])
    _assert_fails(
        _verify(credential, bundle), CheckName.ACCREDITATION, "not accredited", Verdict.NOT_GENUINE
    )


# --- rule and grade ------------------------------------------------------------------------


def test_rule_unknown(credential: dict[str, Any]) -> None:
    report = _verify(credential, trust_bundle_json(credential, rules=[rule_json(version="3.0")]))
    _assert_fails(report, CheckName.RULE, "does not cover rule", Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.RULE, CheckName.GRADE}
    assert _status(report, CheckName.ACCREDITATION) is CheckStatus.NOT_CHECKED


def test_rule_of_another_scheme_with_same_id(credential: dict[str, Any]) -> None:
    report = _verify(credential, trust_bundle_json(credential, rules=[rule_json(scheme="CN-FJ")]))
    _assert_fails(report, CheckName.RULE, "does not cover rule", Verdict.NOT_GENUINE)


@pytest.mark.parametrize(
    "window",
    [
        pytest.param({"inForceFrom": ISSUED_AT + timedelta(days=1)}, id="published-later"),
        pytest.param({"inForceUntil": ISSUED_AT - timedelta(days=1)}, id="superseded-before"),
    ],
)
def test_rule_version_not_in_force_at_issuance(
    credential: dict[str, Any], window: dict[str, Any]
) -> None:
    report = _verify(credential, trust_bundle_json(credential, rules=[rule_json(**window)]))
    _assert_fails(report, CheckName.RULE, "not in force at issuance", Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.RULE}


def test_rule_declared_unit_mismatch(credential: dict[str, Any]) -> None:
    report = _verify(
        credential, trust_bundle_json(credential, rules=[rule_json(declaredUnit="kg")])
    )
    _assert_fails(report, CheckName.RULE, "declared unit is kg", Verdict.NOT_GENUINE)


def test_grade_that_does_not_match_thresholds() -> None:
    """The label says A; 75 kgCO2e/kWh under thresholds 45/65/85/110 is C."""
    label = sample_label(KEY, grade="A")
    label = replace(label, footprint=replace(label.footprint, value=Decimal("75")))
    credential = sign_document(build_label_credential(label), key=KEY, created=ISSUED_AT)
    report = _verify(credential, trust_bundle_json(credential))
    _assert_fails(report, CheckName.GRADE, "give grade C, the label says A", Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.GRADE}
    assert _status(report, CheckName.PROOF) is CheckStatus.PASSED


def test_grade_uses_declared_unit_amount() -> None:
    """122.4 kgCO2e for 2 kWh is 61.2 per kWh: grade B, not D."""
    label = sample_label(KEY)
    footprint = replace(label.footprint, value=Decimal("122.4"), declared_unit_amount=Decimal(2))
    credential = sign_document(
        build_label_credential(replace(label, footprint=footprint)), key=KEY, created=ISSUED_AT
    )
    assert _verify(credential, trust_bundle_json(credential)).verified


# --- status lists --------------------------------------------------------------------------


def test_revoked(credential: dict[str, Any]) -> None:
    bundle = trust_bundle_json(credential, statusLists=status_lists_json(signer=KEY, revoked=True))
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.REVOCATION, "revoked", Verdict.REVOKED)
    assert _failed(report) == {CheckName.REVOCATION}


def test_suspended(credential: dict[str, Any]) -> None:
    bundle = trust_bundle_json(
        credential, statusLists=status_lists_json(signer=KEY, suspended=True)
    )
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.SUSPENSION, "suspended", Verdict.SUSPENDED)
    assert _failed(report) == {CheckName.SUSPENSION}


def test_revoked_wins_over_suspended(credential: dict[str, Any]) -> None:
    lists = status_lists_json(signer=KEY, revoked=True, suspended=True)
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    assert report.verdict is Verdict.REVOKED


def test_other_labels_revoked_do_not_affect_this_one(credential: dict[str, Any]) -> None:
    lists = status_lists_json(signer=KEY, revoked=True, index=STATUS_INDEX + 1)
    assert _verify(credential, trust_bundle_json(credential, statusLists=lists)).verified


def test_status_list_of_another_issuer(credential: dict[str, Any]) -> None:
    """Body 2 publishes an all-clear list at body 1's URL, signed with its own key."""
    lists = status_lists_json(signer=KEY, revoked=True)
    lists[REVOCATION_URL] = status_list_credential("revocation", signer=OTHER_BODY_KEY)
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    _assert_check_fails(report, CheckName.REVOCATION, "another issuer")


def test_status_list_naming_the_issuer_but_signed_by_another_body(
    credential: dict[str, Any],
) -> None:
    forged = status_list_credential("revocation", signer=OTHER_BODY_KEY, issuer=KEY.did)
    lists = {**status_lists_json(signer=KEY), REVOCATION_URL: forged}
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    _assert_check_fails(report, CheckName.REVOCATION, "not signed by its issuer")


def test_status_list_with_forged_signature_bit_cleared_after_signing(
    credential: dict[str, Any],
) -> None:
    """The body revoked the label; an attacker serves the list with the bit cleared."""
    revoked = status_lists_json(signer=KEY, revoked=True)
    clean = status_lists_json(signer=KEY)
    forged = copy.deepcopy(revoked)
    forged[REVOCATION_URL]["credentialSubject"]["encodedList"] = clean[REVOCATION_URL][
        "credentialSubject"
    ]["encodedList"]
    report = _verify(credential, trust_bundle_json(credential, statusLists=forged))
    _assert_check_fails(report, CheckName.REVOCATION, "signature does not verify")


def test_status_list_served_for_another_url(credential: dict[str, Any]) -> None:
    """The suspension list handed in place of the revocation list."""
    lists = status_lists_json(signer=KEY)
    lists[REVOCATION_URL] = lists[SUSPENSION_URL]
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    assert _status(report, CheckName.REVOCATION) is CheckStatus.FAILED
    assert not report.verified


def test_expired_status_list(credential: dict[str, Any]) -> None:
    lists = status_lists_json(signer=KEY)
    lists[REVOCATION_URL] = status_list_credential(
        "revocation", signer=KEY, valid_until=NOW - timedelta(days=1)
    )
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    _assert_check_fails(report, CheckName.REVOCATION, "status list has expired")


def test_expired_status_list_with_a_utc_offset(credential: dict[str, Any]) -> None:
    """validUntil 2026-06-01T07:00:00+08:00 is 2026-05-31T23:00Z: expired an hour before NOW.

    A stale list (from before the label was revoked) must not be accepted because its end is
    written with an offset instead of Z.
    """
    unsigned = {
        k: v for k, v in status_list_credential("revocation", signer=KEY).items() if k != "proof"
    }
    unsigned["validUntil"] = "2026-06-01T07:00:00+08:00"
    lists = status_lists_json(signer=KEY)
    lists[REVOCATION_URL] = sign_document(unsigned, key=KEY, created=ISSUED_AT)
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    _assert_check_fails(report, CheckName.REVOCATION, "expired")


def _unusable_list(purpose: str, attack: str) -> dict[str, Any]:
    if attack == "another-issuer":
        return status_list_credential(purpose, signer=OTHER_BODY_KEY)
    if attack == "expired":
        return status_list_credential(purpose, signer=KEY, valid_until=NOW - timedelta(days=1))
    forged = status_list_credential(purpose, signer=KEY, set_bits=[STATUS_INDEX])
    forged["credentialSubject"]["encodedList"] = status_list_credential(purpose, signer=KEY)[
        "credentialSubject"
    ]["encodedList"]
    return forged


@pytest.mark.parametrize("attack", ["another-issuer", "expired", "forged-signature"])
@pytest.mark.parametrize(
    ("purpose", "url", "wrong"),
    [
        pytest.param("revocation", REVOCATION_URL, Verdict.REVOKED, id="revocation"),
        pytest.param("suspension", SUSPENSION_URL, Verdict.SUSPENDED, id="suspension"),
    ],
)
def test_unusable_status_list_does_not_claim_the_label_is_revoked_or_suspended(
    credential: dict[str, Any], attack: str, purpose: str, url: str, wrong: Verdict
) -> None:
    """A list that cannot be trusted says nothing about the label: the bit was never read.

    The verdict must not be "revoked"/"suspended" (that is a statement about the label, shown
    first on the public page); it is "unverified" or "not genuine", with the reason below.
    """
    lists = {**status_lists_json(signer=KEY), url: _unusable_list(purpose, attack)}
    report = _verify(credential, trust_bundle_json(credential, statusLists=lists))
    assert report.check(CheckName(purpose)).status is CheckStatus.FAILED
    assert report.verdict is not wrong
    assert report.verdict in {Verdict.UNVERIFIED, Verdict.NOT_GENUINE}


def test_status_list_valid_until_in_the_future_is_fine(credential: dict[str, Any]) -> None:
    lists = status_lists_json(signer=KEY)
    lists[REVOCATION_URL] = status_list_credential(
        "revocation", signer=KEY, valid_until=NOW + timedelta(days=1)
    )
    assert _verify(credential, trust_bundle_json(credential, statusLists=lists)).verified


def test_key_rotation_status_list_signed_by_second_key_of_same_body(
    credential: dict[str, Any],
) -> None:
    """Label signed with the old key in March; the key rotated in April; the list of May is
    signed with the new key. Same body, other did: accepted."""
    rotation = datetime(2026, 4, 1, tzinfo=UTC)
    bundle = trust_bundle_json(
        credential,
        bodies=[
            body_json(
                key_json(KEY, active_until=rotation), key_json(ROTATED_KEY, active_from=rotation)
            )
        ],
        statusLists=status_lists_json(signer=ROTATED_KEY, created=datetime(2026, 5, 1, tzinfo=UTC)),
    )
    report = _verify(credential, bundle)
    assert report.verified, report.checks
    assert report.verdict is Verdict.GENUINE


def test_status_list_signed_by_a_retired_key_of_the_same_body(credential: dict[str, Any]) -> None:
    """The body retired its old key (say, after a leak) a year before; whoever holds that key
    signs an all-clear list. Belonging to the body is not enough: the key must have been active
    when the list was signed (2026-03-01, the list proof's ``created``).
    """
    retired = key_json(ROTATED_KEY, active_until=datetime(2025, 3, 1, tzinfo=UTC))
    bundle = trust_bundle_json(
        credential,
        bodies=[body_json(key_json(KEY), retired)],
        statusLists={
            **status_lists_json(signer=KEY),
            REVOCATION_URL: status_list_credential("revocation", signer=ROTATED_KEY),
        },
    )
    report = _verify(credential, bundle)
    assert _status(report, CheckName.REVOCATION) is CheckStatus.FAILED
    assert not report.verified


def test_key_rotation_revocation_by_second_key_is_honoured(credential: dict[str, Any]) -> None:
    bundle = trust_bundle_json(
        credential,
        bodies=[body_json(key_json(KEY), key_json(ROTATED_KEY))],
        statusLists=status_lists_json(signer=ROTATED_KEY, revoked=True),
    )
    assert _verify(credential, bundle).verdict is Verdict.REVOKED


def test_status_list_value_that_is_not_an_object_never_raises(
    credential: dict[str, Any],
) -> None:
    """A bundle whose statusLists maps the URL to a string: the check fails, nothing raises.

    Either TrustBundle.from_json refuses the bundle (TrustError) or verify_label reports the
    revocation check as failed; an uncaught TypeError/ValueError is a bug.
    """
    bundle = trust_bundle_json(credential)
    bundle["statusLists"][REVOCATION_URL] = "not a credential"
    try:
        trust = TrustBundle.from_json(bundle)
    except TrustError:
        return
    report = verify_label(credential, trust=trust, now=NOW)
    assert _status(report, CheckName.REVOCATION) is CheckStatus.FAILED


# --- validity ------------------------------------------------------------------------------


def test_expired_label(credential: dict[str, Any]) -> None:
    report = _verify(
        credential, trust_bundle_json(credential), now=datetime(2030, 6, 1, tzinfo=UTC)
    )
    _assert_fails(report, CheckName.VALIDITY, "expired on 2029-02-28", Verdict.EXPIRED)
    assert _failed(report) == {CheckName.VALIDITY}


def test_expired_label_without_trust(credential: dict[str, Any]) -> None:
    report = verify_label(credential, now=datetime(2029, 3, 1, tzinfo=UTC))
    assert report.verdict is Verdict.EXPIRED


def test_not_yet_valid_label(credential: dict[str, Any]) -> None:
    report = _verify(
        credential, trust_bundle_json(credential), now=datetime(2026, 2, 1, tzinfo=UTC)
    )
    _assert_fails(report, CheckName.VALIDITY, "not valid before", Verdict.NOT_YET_VALID)
    assert _failed(report) == {CheckName.VALIDITY}


def test_validity_end_is_exclusive(credential: dict[str, Any]) -> None:
    end = datetime(2029, 2, 28, 23, 59, 59, tzinfo=UTC)
    before = verify_label(credential, now=end - timedelta(seconds=1))
    assert before.check(CheckName.VALIDITY).outcome is Outcome.OK
    assert before.verdict is Verdict.SIGNER_NOT_CHECKED
    assert verify_label(credential, now=end).verdict is Verdict.EXPIRED


def test_validity_dates_moved_after_signing(credential: dict[str, Any]) -> None:
    extended = copy.deepcopy(credential)
    extended["validUntil"] = "2035-02-28T23:59:59Z"
    report = verify_label(extended, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert _status(report, CheckName.PROOF) is CheckStatus.FAILED
    assert report.verdict is Verdict.NOT_GENUINE


# --- ledger --------------------------------------------------------------------------------


def _with_ledger(credential: dict[str, Any], evidence: dict[str, Any]) -> dict[str, Any]:
    return trust_bundle_json(credential, ledger={LABEL_ID: evidence})


def test_ledger_entry_of_another_credential(credential: dict[str, Any]) -> None:
    """The entry is in the ledger, but it records a different credential's digest."""
    other = signed_credential(KEY, grade="B", valid_until=datetime(2028, 1, 1, tzinfo=UTC))
    evidence = ledger_evidence_json(credential, entry=issuance_entry(other))
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "different credential", Verdict.NOT_GENUINE)
    assert _failed(report) == {CheckName.LEDGER}


def test_ledger_entry_that_is_not_an_issuance(credential: dict[str, Any]) -> None:
    entry = ledger_entry(LEDGER_INDEX, "label.revoked", labelId=LABEL_ID)
    report = _verify(
        credential, _with_ledger(credential, ledger_evidence_json(credential, entry=entry))
    )
    _assert_fails(report, CheckName.LEDGER, "not a label issuance", Verdict.NOT_GENUINE)


def test_inclusion_proof_for_a_different_index(credential: dict[str, Any]) -> None:
    entries = ledger_entries(credential)
    leaves = [leaf_hash(e) for e in entries]
    evidence = ledger_evidence_json(credential)
    evidence["proof"] = inclusion_proof_b64(LEDGER_INDEX + 1, leaves)
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


def test_inclusion_proof_claims_another_index(credential: dict[str, Any]) -> None:
    evidence = ledger_evidence_json(credential)
    evidence["index"] = LEDGER_INDEX + 1
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


def test_checkpoint_signed_by_another_log_key(credential: dict[str, Any]) -> None:
    evidence = ledger_evidence_json(credential, log=ROGUE_LOG)
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


def test_checkpoint_of_another_log_origin(credential: dict[str, Any]) -> None:
    stranger = NoteSigner("other-registry.example/log", LOG.key_pair)
    bundle = _with_ledger(credential, ledger_evidence_json(credential))
    bundle["logKey"] = stranger.verifier_key()
    report = _verify(credential, bundle)
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


def test_checkpoint_size_differs_from_proof_size(credential: dict[str, Any]) -> None:
    """A valid proof against the 4-entry tree, shown with a checkpoint of the 5-entry tree."""
    entries = ledger_entries(credential, size=5)
    leaves = [leaf_hash(e) for e in entries]
    evidence = {
        "entry": entries[LEDGER_INDEX].decode(),
        "index": LEDGER_INDEX,
        "size": 4,
        "proof": inclusion_proof_b64(LEDGER_INDEX, leaves[:4]),
        "checkpoint": signed_checkpoint(leaves, log=LOG),
    }
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "tree size", Verdict.NOT_GENUINE)


def test_tampered_ledger_entry_bytes(credential: dict[str, Any]) -> None:
    evidence = ledger_evidence_json(credential)
    entry = json.loads(evidence["entry"])
    entry["time"] = "2026-02-01T00:00:00Z"  # backdate the issuance
    evidence["entry"] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


def test_tampered_inclusion_proof_hash(credential: dict[str, Any]) -> None:
    evidence = ledger_evidence_json(credential)
    evidence["proof"][0] = "A" * 43 + "="
    report = _verify(credential, _with_ledger(credential, evidence))
    _assert_fails(report, CheckName.LEDGER, "does not verify", Verdict.NOT_GENUINE)


@pytest.mark.parametrize(("index", "size"), [(0, 1), (0, 2), (3, 4), (6, 7), (4, 9)])
def test_ledger_inclusion_holds_anywhere_in_the_tree(
    credential: dict[str, Any], index: int, size: int
) -> None:
    evidence = ledger_evidence_json(credential, index=index, size=size)
    assert _verify(credential, _with_ledger(credential, evidence)).verified


# --- malformed input never raises ----------------------------------------------------------


def _deep(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def _huge_string_credential() -> dict[str, Any]:
    credential = signed_credential(KEY)
    credential["credentialSubject"]["product"]["name"] = "x" * 1_000_000
    return credential


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: None, id="None"),
        pytest.param(lambda: [], id="list"),
        pytest.param(lambda: [signed_credential(KEY)], id="credential-in-a-list"),
        pytest.param(dict, id="empty-object"),
        pytest.param(lambda: "a label", id="string"),
        pytest.param(lambda: 42, id="number"),
        pytest.param(_huge_string_credential, id="1MB-string-value"),
        pytest.param(lambda: _deep(10_000), id="deeply-nested-object"),
        pytest.param(
            lambda: {**signed_credential(KEY), "credentialSubject": _deep(10_000)},
            id="deeply-nested-subject",
        ),
        pytest.param(lambda: {**signed_credential(KEY), "issuer": None}, id="issuer-null"),
        pytest.param(
            lambda: {**signed_credential(KEY), "issuer": {"id": "https://a.example", "name": "x"}},
            id="issuer-not-a-did-key",
        ),
        pytest.param(
            lambda: {**signed_credential(KEY), "validFrom": "yesterday"}, id="bad-validFrom"
        ),
        pytest.param(lambda: {**signed_credential(KEY), "@context": _deep(10_000)}, id="deep-ctx"),
    ],
)
@pytest.mark.parametrize("with_trust", [False, True], ids=["no-trust", "trust"])
def test_malformed_input_fails_structure_and_never_raises(make: Any, with_trust: bool) -> None:
    honest = signed_credential(KEY)
    trust = full_trust(honest) if with_trust else None
    report = verify_label(make(), trust=trust, now=NOW)
    assert report.check(CheckName.STRUCTURE).status is CheckStatus.FAILED
    assert report.label is None
    assert not report.verified
    assert report.verdict is Verdict.NOT_GENUINE
    json.dumps(report.to_json())


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_deep_extra_field_in_a_signed_label_fails_the_proof_without_raising(
    cryptosuite: str,
) -> None:
    credential = signed_credential(KEY, cryptosuite=cryptosuite)
    trust = full_trust(credential)
    credential["credentialSubject"]["extra"] = _deep(10_000)
    report = verify_label(credential, trust=trust, now=NOW)
    assert _status(report, CheckName.STRUCTURE) is CheckStatus.PASSED
    assert _status(report, CheckName.PROOF) is CheckStatus.FAILED
    assert "nested deeper" in report.check(CheckName.PROOF).reason
    assert report.verdict is Verdict.NOT_GENUINE


@pytest.mark.parametrize("with_trust", [False, True], ids=["no-trust", "trust"])
def test_issuer_did_key_that_names_no_key_never_raises(with_trust: bool) -> None:
    honest = signed_credential(KEY)
    forged = copy.deepcopy(honest)
    forged["issuer"]["id"] = "did:key:zNOTAKEY"
    trust = full_trust(honest) if with_trust else None
    report = verify_label(forged, trust=trust, now=NOW)
    assert _status(report, CheckName.PROOF) is CheckStatus.FAILED
    assert report.verdict is Verdict.NOT_GENUINE


def test_unsafe_integer_in_a_signed_label_never_raises_with_trust() -> None:
    """2**60 cannot be put in RFC 8785 form; the ledger check computes the digest with it."""
    credential = signed_credential(KEY)
    trust = full_trust(credential)
    credential["credentialSubject"]["extra"] = 2**60
    report = verify_label(credential, trust=trust, now=NOW)
    assert _status(report, CheckName.PROOF) is CheckStatus.FAILED
    assert report.verdict is Verdict.NOT_GENUINE


# --- the report ----------------------------------------------------------------------------


def test_report_json_shape_with_trust(credential: dict[str, Any]) -> None:
    report = verify_label(credential, trust=full_trust(credential), now=NOW)
    data = report.to_json()
    assert set(data) == {"verified", "verdict", "trustChecked", "labelId", "checks"}
    assert data["verified"] is True
    assert data["verdict"] == "genuine"
    assert data["trustChecked"] is True
    assert data["labelId"] == LABEL_ID
    assert [c["check"] for c in data["checks"]] == [n.value for n in CheckName]
    for c in data["checks"]:
        assert set(c) == {"check", "status", "required", "outcome", "message", "params", "reason"}
        assert c["outcome"] == "ok"
        assert c["message"] == f"{c['check']}.ok"
        assert all(isinstance(v, str) for v in c["params"].values())
        assert c["status"] == "passed"
        assert c["required"] is True
        assert isinstance(c["reason"], str)
        assert c["reason"]
    assert json.loads(json.dumps(data)) == data


def test_report_json_required_flags_without_trust(credential: dict[str, Any]) -> None:
    data = verify_label(credential, now=NOW).to_json()
    required = {c["check"] for c in data["checks"] if c["required"]}
    # The issuer check is required even without trust: the signer must be known (issue 7).
    assert required == {"structure", "proof", "issuer_key", "validity"}
    assert data["trustChecked"] is False
    statuses = {c["check"]: c["status"] for c in data["checks"]}
    assert statuses["issuer_key"] == "not_checked"


def test_report_json_for_garbage_has_no_label_id() -> None:
    data = verify_label({"hello": "world"}, now=NOW).to_json()
    assert data["labelId"] is None
    assert data["verdict"] == "not_genuine"
    assert data["verified"] is False


def test_caller_chosen_required_checks(credential: dict[str, Any]) -> None:
    """A caller can require a check that trust-less verification cannot make."""
    report = verify_label(credential, now=NOW, required=BASIC_CHECKS | {CheckName.REVOCATION})
    assert not report.verified
    assert report.verdict is Verdict.SIGNER_NOT_CHECKED
    data = report.to_json()
    assert {c["check"] for c in data["checks"] if c["required"]} == {
        "structure",
        "proof",
        "issuer_key",
        "validity",
        "revocation",
    }


def test_a_failed_optional_check_still_fails_the_report(credential: dict[str, Any]) -> None:
    lists = status_lists_json(signer=KEY, revoked=True)
    report = verify_label(credential, status_lists=lists, now=NOW, required=BASIC_CHECKS)
    assert CheckName.REVOCATION not in report.required
    assert not report.verified


# --- properties ----------------------------------------------------------------------------

_THRESHOLDS = Thresholds(Decimal(45), Decimal(65), Decimal(85), Decimal(110))
_FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FAST
@given(
    value=st.decimals(min_value=0, max_value=200, places=1, allow_nan=False, allow_infinity=False)
)
def test_any_honestly_graded_label_verifies_with_full_trust(value: Decimal) -> None:
    label = sample_label(KEY)
    label = replace(
        label,
        footprint=replace(label.footprint, value=value),
        grade=grade_for(value, _THRESHOLDS),
    )
    credential = sign_document(
        build_label_credential(label), key=KEY, cryptosuite="eddsa-jcs-2022", created=ISSUED_AT
    )
    report = verify_label(credential, trust=full_trust(credential), now=NOW)
    assert report.verified, report.checks


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@_FAST
@given(data=st.data())
def test_any_changed_proof_value_character_fails(data: st.DataObject) -> None:
    credential = signed_credential(KEY)
    proof_value = credential["proof"]["proofValue"]
    position = data.draw(st.integers(min_value=1, max_value=len(proof_value) - 1))
    char = data.draw(st.sampled_from(_BASE58).filter(lambda c: c != proof_value[position]))
    credential["proof"]["proofValue"] = proof_value[:position] + char + proof_value[position + 1 :]
    report = verify_label(credential, now=NOW)
    assert _status(report, CheckName.PROOF) is CheckStatus.FAILED
    assert report.verdict is Verdict.NOT_GENUINE


@_FAST
@given(
    field=st.sampled_from(["value", "declaredUnit", "declaredUnitAmount", "systemBoundary"]),
)
def test_any_changed_footprint_field_fails_the_proof(field: str) -> None:
    credential = signed_credential(KEY)
    footprint = credential["credentialSubject"]["footprint"]
    footprint[field] = {
        "value": "60",
        "declaredUnit": "kg",
        "declaredUnitAmount": "2",
        "systemBoundary": "cradle-to-grave",
    }[field]
    assert _status(verify_label(credential, now=NOW), CheckName.PROOF) is CheckStatus.FAILED

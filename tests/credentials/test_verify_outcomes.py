"""Issue 7: typed outcomes, translatable wording, superseded labels, no unchecked "genuine"."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from credentials.credential import build_label_credential
from credentials.cryptosuites import sign_document
from credentials.errors import TrustError
from credentials.keys import KeyPair
from credentials.messages import ENGLISH, MessageError, render, template_parameters
from credentials.trust import TrustBundle
from credentials.verify import (
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
    NOW,
    body_json,
    key_json,
    ledger_evidence_json,
    rule_json,
    status_lists_json,
    trust_bundle_json,
)

KEY = body_key(1)
SUCCESSOR = "https://registry.example.cn/l/9Z8Y7X6W5V"


def _pseudo(template: str) -> str:
    """A pseudo-locale: every letter outside a {parameter} swapped, parameters kept."""
    parts = re.split(r"(\{[a-zA-Z_]+\})", template)
    return "⟦" + "".join(p if p.startswith("{") else p.swapcase() for p in parts) + "⟧"


PSEUDO = {message: _pseudo(template) for message, template in ENGLISH.items()}
# A real second language for the headline and a few checks; the rest falls back to English.
ZH_HANS = {
    "verdict.genuine": "真实有效",
    "verdict.revoked": "已撤销",
    "verdict.superseded": "已被新标签取代",
    "verdict.signer_not_checked": "签名完整，但签署者未经登记册核实",
    "suspension.superseded": "已被 {superseded_by} 取代",
    "validity.expired": "已于 {valid_until} 过期",
}


def _report(credential: dict[str, Any], bundle: dict[str, Any] | None, **kw: Any) -> Any:
    trust = None if bundle is None else TrustBundle.from_json(bundle)
    return verify_label(credential, trust=trust, now=kw.pop("now", NOW), **kw)


def _superseded_bundle(credential: dict[str, Any], **evidence: Any) -> dict[str, Any]:
    return trust_bundle_json(
        credential,
        statusLists=status_lists_json(signer=KEY, suspended=True),
        ledger={LABEL_ID: {**ledger_evidence_json(credential), **evidence}},
    )


def _forged_with_random_key() -> dict[str, Any]:
    """`carbonlabel keygen`, then `sign --set-issuer` with a real body's name."""
    rogue = KeyPair.generate()
    return sign_document(build_label_credential(sample_label(rogue)), key=rogue, created=ISSUED_AT)


def _validity_forged(credential: dict[str, Any]) -> dict[str, Any]:
    forged = copy.deepcopy(credential)
    forged["validUntil"] = "2039-02-28T23:59:59Z"
    return forged


SCENARIOS: dict[str, Callable[[dict[str, Any]], VerificationReport]] = {
    "genuine": lambda c: _report(c, trust_bundle_json(c)),
    "no-trust": lambda c: _report(c, None),
    "revoked": lambda c: _report(
        c, trust_bundle_json(c, statusLists=status_lists_json(signer=KEY, revoked=True))
    ),
    "suspended": lambda c: _report(
        c, trust_bundle_json(c, statusLists=status_lists_json(signer=KEY, suspended=True))
    ),
    "superseded": lambda c: _report(c, _superseded_bundle(c, supersededBy=SUCCESSOR)),
    "expired": lambda c: _report(c, trust_bundle_json(c), now=datetime(2030, 1, 1, tzinfo=UTC)),
    "not-yet-valid": lambda c: _report(
        c, trust_bundle_json(c), now=datetime(2026, 2, 1, tzinfo=UTC)
    ),
    "forged-validity": lambda c: _report(_validity_forged(c), trust_bundle_json(c)),
    "random-key": lambda c: _report(_forged_with_random_key(), trust_bundle_json(c)),
    "key-retired": lambda c: _report(
        c,
        trust_bundle_json(
            c, bodies=[body_json(key_json(KEY, active_until=datetime(2026, 1, 1, tzinfo=UTC)))]
        ),
    ),
    "rule-unknown": lambda c: _report(c, trust_bundle_json(c, rules=[rule_json(version="9")])),
    "no-lists": lambda c: _report(c, trust_bundle_json(c, statusLists=None)),
    "garbage": lambda c: _report({"hello": "world"}, trust_bundle_json(c)),
}


@pytest.fixture(scope="module")
def credential() -> dict[str, Any]:
    return signed_credential(KEY)


@pytest.fixture(scope="module")
def reports(credential: dict[str, Any]) -> dict[str, VerificationReport]:
    return {name: make(copy.deepcopy(credential)) for name, make in SCENARIOS.items()}


def test_scenarios_reach_the_verdicts_they_name(reports: dict[str, VerificationReport]) -> None:
    assert {name: r.verdict for name, r in reports.items()} == {
        "genuine": Verdict.GENUINE,
        "no-trust": Verdict.SIGNER_NOT_CHECKED,
        "revoked": Verdict.REVOKED,
        "suspended": Verdict.SUSPENDED,
        "superseded": Verdict.SUPERSEDED,
        "expired": Verdict.EXPIRED,
        "not-yet-valid": Verdict.NOT_YET_VALID,
        "forged-validity": Verdict.NOT_GENUINE,
        "random-key": Verdict.NOT_GENUINE,
        "key-retired": Verdict.NOT_GENUINE,
        "rule-unknown": Verdict.NOT_GENUINE,
        "no-lists": Verdict.UNVERIFIED,
        "garbage": Verdict.NOT_GENUINE,
    }
    assert [r.verified for r in reports.values()].count(True) == 1


@pytest.mark.parametrize("catalogue", [PSEUDO, ZH_HANS], ids=["pseudo", "zh-Hans"])
def test_a_report_rendered_in_another_language_keeps_its_verdict_and_outcomes(
    credential: dict[str, Any], catalogue: dict[str, str]
) -> None:
    for name, make in SCENARIOS.items():
        english = make(copy.deepcopy(credential))
        again = make(copy.deepcopy(credential))
        translated = [c.render(catalogue) for c in again.checks]
        assert again.verdict is english.verdict, name
        assert again.verified is english.verified, name
        assert [c.outcome for c in again.checks] == [c.outcome for c in english.checks], name
        if catalogue is PSEUDO:
            for check, text in zip(again.checks, translated, strict=True):
                assert text.startswith("⟦"), (name, check)
                assert text != check.reason
                assert all(v in text for v in check.params.values())
    assert render("verdict.superseded", {}, ZH_HANS) == "已被新标签取代"
    assert render("suspension.superseded", {"superseded_by": SUCCESSOR}, ZH_HANS).endswith("取代")


def test_every_message_used_has_an_english_template_with_its_parameters_supplied(
    reports: dict[str, VerificationReport],
) -> None:
    used = set()
    for report in reports.values():
        used.add(report.verdict_message)
        for check in report.checks:
            used.add(check.message)
            assert check.message in ENGLISH, check
            assert template_parameters(ENGLISH[check.message]) <= set(check.params), check
            assert all(isinstance(v, str) for v in check.params.values())
            assert check.render(PSEUDO)  # every parameter of the translation supplied too
    assert all(f"verdict.{v.value}" in ENGLISH for v in Verdict)
    assert used <= set(ENGLISH)


def test_every_translated_template_uses_only_the_english_parameters() -> None:
    for catalogue in (PSEUDO, ZH_HANS):
        for message, template in catalogue.items():
            assert template_parameters(template) <= template_parameters(ENGLISH[message])


def test_a_missing_parameter_or_an_unknown_id_is_an_error_not_a_placeholder() -> None:
    with pytest.raises(MessageError):
        render("issuer_key.ok", {})
    with pytest.raises(MessageError):
        render("no.such.message", {})


def test_parameters_are_never_interpreted_as_templates() -> None:
    assert render("issuer_key.ok", {"body": "{body.__class__}"}) == (
        "issued by {body.__class__} with a key active at issuance"
    )


def test_each_outcome_implies_one_status(reports: dict[str, VerificationReport]) -> None:
    for report in reports.values():
        for check in report.checks:
            assert check.status is check.outcome.status
    assert Outcome.OK.status is CheckStatus.PASSED
    assert Outcome.SUPERSEDED.status is CheckStatus.FAILED
    assert Outcome.TRUST_NOT_GIVEN.status is CheckStatus.NOT_CHECKED


def test_verdict_is_computed_from_outcomes_not_wording(
    reports: dict[str, VerificationReport],
) -> None:
    """Rewording every message (here: blanking it) changes no verdict."""
    for report in reports.values():
        reworded = replace(
            report, checks=tuple(replace(c, message="x", params={}) for c in report.checks)
        )
        assert reworded.verdict is report.verdict
        assert reworded.verified is report.verified


# --- superseded ----------------------------------------------------------------------------


def test_superseded_label_names_its_successor(credential: dict[str, Any]) -> None:
    report = _report(credential, _superseded_bundle(credential, supersededBy=SUCCESSOR))
    check = report.check(CheckName.SUSPENSION)
    assert check.outcome is Outcome.SUPERSEDED
    assert check.params == {"superseded_by": SUCCESSOR}
    assert report.verdict is Verdict.SUPERSEDED
    assert not report.verified


def test_suspension_bit_without_superseded_by_is_a_suspension(credential: dict[str, Any]) -> None:
    report = _report(credential, _superseded_bundle(credential))
    assert report.check(CheckName.SUSPENSION).outcome is Outcome.SUSPENDED
    assert report.verdict is Verdict.SUSPENDED


def test_superseded_by_without_the_suspension_bit_changes_nothing(
    credential: dict[str, Any],
) -> None:
    bundle = trust_bundle_json(
        credential,
        ledger={LABEL_ID: {**ledger_evidence_json(credential), "supersededBy": SUCCESSOR}},
    )
    assert _report(credential, bundle).verdict is Verdict.GENUINE


def test_revocation_wins_over_supersession(credential: dict[str, Any]) -> None:
    bundle = _superseded_bundle(credential, supersededBy=SUCCESSOR)
    bundle["statusLists"] = status_lists_json(signer=KEY, revoked=True, suspended=True)
    assert _report(credential, bundle).verdict is Verdict.REVOKED


@pytest.mark.parametrize("value", ["", 7, ["x"]])
def test_malformed_superseded_by_is_refused(credential: dict[str, Any], value: Any) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_superseded_bundle(credential, supersededBy=value))


# --- nothing unchecked reads as genuine ----------------------------------------------------


def test_label_forged_with_a_random_key_is_not_verified_without_trust() -> None:
    report = verify_label(_forged_with_random_key(), now=NOW)
    assert report.check(CheckName.PROOF).status is CheckStatus.PASSED
    assert not report.verified
    assert report.verdict is Verdict.SIGNER_NOT_CHECKED


def test_label_forged_with_a_random_key_is_not_genuine_with_trust(
    credential: dict[str, Any],
) -> None:
    report = _report(_forged_with_random_key(), trust_bundle_json(credential))
    assert report.check(CheckName.ISSUER_KEY).outcome is Outcome.ISSUER_NOT_IN_BUNDLE
    assert report.verdict is Verdict.NOT_GENUINE


def test_revoked_label_without_trust_is_never_verified(credential: dict[str, Any]) -> None:
    report = verify_label(credential, now=NOW)  # no list given: the bit cannot be seen
    assert not report.verified
    assert report.verdict is not Verdict.GENUINE


def test_forged_valid_until_shows_no_content_as_ok(credential: dict[str, Any]) -> None:
    report = _report(_validity_forged(credential), trust_bundle_json(credential))
    assert report.check(CheckName.PROOF).outcome is Outcome.PROOF_INVALID
    assert report.contents_untrusted
    validity = report.check(CheckName.VALIDITY)
    assert validity.outcome is Outcome.CONTENTS_UNTRUSTED
    assert "2039" not in validity.reason
    assert [c.status for c in report.checks[2:]] == [CheckStatus.NOT_CHECKED] * 8


def test_checks_are_hashable_values(reports: dict[str, VerificationReport]) -> None:
    checks = [c for r in reports.values() for c in r.checks]
    assert len({*checks}) <= len(checks)
    first = reports["genuine"].checks[0]
    assert hash(first) == hash(replace(first, params=dict(first.params)))

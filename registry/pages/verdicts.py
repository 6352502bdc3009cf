"""A verification report in the reader's language: the verdict first, then every check.

The kit words its reports in English (``credentials.messages.ENGLISH``, message id → a
``str.format`` template). The pages translate each id through Flask-Babel: ``MESSAGES`` maps
every id to the same English template marked for extraction, so the catalogues hold one entry
per message and a translation keeps the template's parameter names (a test checks both). The
verdict is the report's own (computed from outcomes only); nothing here decides by wording, and
a check that was not made is shown as not made, never as passed.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _
from flask_babel.speaklater import LazyString

from credentials import (
    Check,
    CheckName,
    CheckStatus,
    Outcome,
    Verdict,
    VerificationReport,
    render_message,
)

__all__ = [
    "CHECK_NAMES",
    "MESSAGES",
    "STATUS_WORDS",
    "CheckLine",
    "Tone",
    "VerdictView",
    "catalogue",
    "check_text",
    "present_report",
]

# Every message id of the kit, worded exactly as its English template (the msgid), so the
# English page reads as the kit does and a translator sees the parameters to keep.
MESSAGES: Mapping[str, LazyString] = {
    "check.unreadable": _("not checked: the credential could not be read"),
    "check.contents_untrusted": _("not checked: none of the document's contents can be trusted"),
    "check.trust_not_given": _("trust was not checked: no trust bundle given"),
    "check.issuance_time_unknown": _(
        "issuance time unknown: no valid issuer proof with a creation time"
    ),
    "check.issuer_not_registered": _("not checked: the issuer is not a registered body"),
    "check.rule_unknown": _("not checked: rule {rule_id} v{version} of {scheme} is unknown"),
    "structure.ok": _("a well-formed CarbonLabelCredential"),
    "structure.malformed": _("the credential is malformed: {detail}"),
    "proof.ok": _("{cryptosuite} proof by the issuer's key verifies"),
    "proof.invalid": _("the proof does not verify: {detail}"),
    "proof.no_issuer_proof": _("no proof was made with the issuer's key"),
    "issuer_key.ok": _("issued by {body} with a key active at issuance"),
    "issuer_key.not_in_bundle": _(
        "this trust bundle does not cover the issuer {issuer} (key {key}): the registry's "
        "full bundle lists every registered body"
    ),
    "issuer_key.name_mismatch": _("the issuer name is not that of the registered body {body}"),
    "issuer_key.key_not_active": _("{body}'s key was not active at issuance ({issued_at})"),
    "accreditation.ok": _("accredited for {scheme} / {category} at issuance"),
    "accreditation.not_accredited": _("{body} was not accredited for {scheme}/{category}"),
    "rule.ok": _("rule {rule_id} v{version} was in force at issuance"),
    "rule.unknown": _("this trust bundle does not cover rule {rule_id} v{version} of {scheme}"),
    "rule.not_in_force": _("rule version {version} was not in force at issuance"),
    "rule.declared_unit_mismatch": _("the rule's declared unit is {rule_unit}, not the label's"),
    "grade.ok": _("grade {grade} matches the rule's thresholds"),
    "grade.mismatch": _("the rule's thresholds give grade {expected}, the label says {grade}"),
    "validity.ok": _("valid until {valid_until}"),
    "validity.not_yet_valid": _("not valid before {valid_from}"),
    "validity.expired": _("expired on {valid_until}"),
    "ledger.ok": _("entry {index} of a signed checkpoint of {size} entries"),
    "ledger.cosigned": _(
        "entry {index} of a signed checkpoint of {size} entries, co-signed by {count} "
        "witness(es) ({names}), the newest at {cosigned_at}"
    ),
    "ledger.not_cosigned": _(
        "entry {index} of a signed checkpoint of {size} entries, not co-signed by any of the "
        "bundle's witnesses"
    ),
    "ledger.missing": _("no ledger inclusion proof or log key was given"),
    "ledger.invalid": _("ledger evidence does not verify: {detail}"),
    "ledger.size_mismatch": _("the inclusion proof is not for the checkpoint's tree size"),
    "ledger.not_issuance": _("the ledger entry is not a label issuance"),
    "ledger.other_credential": _("the ledger entry records a different credential"),
    "suspension.superseded": _("superseded by {superseded_by}"),
    "document.proofs_ok": _("{count} proof(s) verify"),
    "document.malformed": _("{detail}"),
    "document.validFrom_ok": _("valid from {at}"),
    "document.validUntil_ok": _("valid until {at}"),
    "verdict.genuine": _("genuine and current"),
    "verdict.signer_not_checked": _(
        "the signature is intact, but who signed it was not checked against the register"
    ),
    "verdict.suspended": _("suspended"),
    "verdict.revoked": _("revoked"),
    "verdict.superseded": _("superseded by a newer label"),
    "verdict.expired": _("expired"),
    "verdict.not_yet_valid": _("not yet valid"),
    "verdict.not_genuine": _("not genuine"),
    "verdict.unverified": _("not verified: some checks could not be made"),
    "report.contents_untrusted": _(
        "the document was altered after signing, or is not signed by its issuer: "
        "none of its contents can be trusted"
    ),
    "report.trust_not_checked": _(
        "trust was not checked (no trust bundle): who signed it, their accreditation, the rule, "
        "the grade, the status and the ledger were not checked against the register"
    ),
    "revocation.ok": _("not revoked as of {as_of}"),
    "revocation.revoked": _("revoked"),
    "revocation.no_entry": _("the credential has no revocation status entry"),
    "revocation.list_unavailable": _("the revocation status list was not available"),
    "revocation.list_invalid": _("the revocation status list is unusable: {detail}"),
    "suspension.ok": _("not suspended as of {as_of}"),
    "suspension.suspended": _("suspended"),
    "suspension.no_entry": _("the credential has no suspension status entry"),
    "suspension.list_unavailable": _("the suspension status list was not available"),
    "suspension.list_invalid": _("the suspension status list is unusable: {detail}"),
    # recognition for a region (credentials.recognition)
    "recognition.not_verified": _("not checked for {region}: the label itself did not verify"),
    "recognition.native": _("issued under a scheme of {region}: valid there as it stands"),
    "recognition.recognised": _("recognised in {region} under {scheme}"),
    "recognition.not_recognised": _("not recognised in {region}: a condition of the mapping fails"),
    "recognition.no_mapping": _("not recognised in {region}: no recognition arrangement covers it"),
    "recognition.source.ok": _("rule {rule} version {version}, grade {grade}: covered"),
    "recognition.source.outside": _(
        "rule {rule} version {version}, grade {grade} is outside what the mapping covers "
        "(rules {rules}, versions {versions}, grades {grades})"
    ),
    "recognition.effective.ok": _("the mapping is in effect"),
    "recognition.effective.outside": _(
        "the mapping is not in effect now (from {from} until {until})"
    ),
    "recognition.standard.ok": _("accounting standard {standard} accepted"),
    "recognition.standard.other": _(
        "accounting standard {standard} is not one the mapping accepts ({allowed})"
    ),
    "recognition.boundary.ok": _("system boundary {boundary} accepted"),
    "recognition.boundary.other": _("system boundary {boundary} is not accepted (only {allowed})"),
    "recognition.period_age.ok": _(
        "the reference period ended {days} days ago (at most {max_days})"
    ),
    "recognition.period_age.too_old": _(
        "the reference period ended {days} days ago, more than the {max_days} allowed"
    ),
    "recognition.accreditation.ok": _("the issuer's accreditation covers the category"),
    "recognition.accreditation.outside": _(
        "the issuer's accreditation ({categories}) does not cover {allowed}"
    ),
    "recognition.assurance.ok": _("assurance {assurance} (at least {minimum})"),
    "recognition.assurance.too_low": _("assurance {assurance} is below the {minimum} required"),
    "recognition.assurance.not_stated": _("no assurance level is stated; {minimum} is required"),
    "recognition.issued.ok": _("issued within the mapping's window"),
    "recognition.issued.outside": _(
        "issued {issued}, outside the mapping's window ({from}–{until})"
    ),
    "recognition.validity.ok": _("valid for {days} days (at most {max_days})"),
    "recognition.validity.too_long": _("valid for {days} days, longer than the {max_days} allowed"),
    "recognition.unit.same": _("the declared unit {unit} is the target rule's"),
    "recognition.unit.converted": _(
        "converted from per {unit} to per {target_unit} (× 1/{factor})"
    ),
    "recognition.unit.mismatch": _(
        "declared per {unit}, the target rule per {target_unit}, and the mapping states no "
        "conversion"
    ),
    "recognition.unit.target_unknown": _(
        "the target rule {rule} version {version} is not in the trust bundle"
    ),
    # a status change's when, why and by whom, from its ledger entry
    "revocation.revoked_by_certifier": _(
        "revoked since {since} by the certification body that issued it: {reason}"
    ),
    "revocation.revoked_by_operator": _("revoked since {since} by the registry operator: {reason}"),
    "revocation.revoked_by_regulator": _(
        "revoked since {since} by a regulator of {schemes}: {reason}"
    ),
    "suspension.suspended_by_certifier": _(
        "suspended since {since} by the certification body that issued it: {reason}"
    ),
    "suspension.suspended_by_operator": _(
        "suspended since {since} by the registry operator: {reason}"
    ),
    "suspension.suspended_by_regulator": _(
        "suspended since {since} by a regulator of {schemes}: {reason}"
    ),
}

#: What each check is about, as a heading of its line in the details.
CHECK_NAMES: Mapping[CheckName, LazyString] = {
    CheckName.STRUCTURE: _("Format"),
    CheckName.PROOF: _("Signature"),
    CheckName.ISSUER_KEY: _("Certification body"),
    CheckName.ACCREDITATION: _("Accreditation"),
    CheckName.RULE: _("Rule"),
    CheckName.GRADE: _("Grade"),
    CheckName.REVOCATION: _("Revocation"),
    CheckName.SUSPENSION: _("Suspension"),
    CheckName.VALIDITY: _("Validity"),
    CheckName.LEDGER: _("Public register"),
}

#: A check's status in words: the page never tells it by colour or icon alone.
STATUS_WORDS: Mapping[CheckStatus, LazyString] = {
    CheckStatus.PASSED: _("Passed"),
    CheckStatus.FAILED: _("Failed"),
    CheckStatus.NOT_CHECKED: _("Not checked"),
}

# Parameters that are instants (ISO 8601 in the report), shown as dates in the reader's locale.
_DATE_PARAMS = frozenset({"valid_until", "valid_from", "issued_at", "at"})
# Instants shown with their time of day: cosignatures come minutes apart.
_TIME_PARAMS = frozenset({"cosigned_at"})


class Tone(enum.StrEnum):
    """How the verdict looks (icon and frame); its words always say the same on their own."""

    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"
    UNKNOWN = "unknown"


_TONES: Mapping[Verdict, Tone] = {
    Verdict.GENUINE: Tone.GOOD,
    Verdict.SIGNER_NOT_CHECKED: Tone.UNKNOWN,
    Verdict.SUSPENDED: Tone.WARNING,
    Verdict.SUPERSEDED: Tone.WARNING,
    Verdict.REVOKED: Tone.BAD,
    Verdict.EXPIRED: Tone.WARNING,
    Verdict.NOT_YET_VALID: Tone.WARNING,
    Verdict.NOT_GENUINE: Tone.BAD,
    Verdict.UNVERIFIED: Tone.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One check as a reader sees it: what was checked, the outcome in words, the reason."""

    name: CheckName
    title: str
    status: CheckStatus
    status_word: str
    text: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class VerdictView:
    verdict: Verdict
    tone: Tone
    headline: str
    checks: tuple[CheckLine, ...]

    @property
    def failed(self) -> tuple[CheckLine, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.FAILED)

    @property
    def not_checked(self) -> tuple[CheckLine, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.NOT_CHECKED)

    def line(self, name: CheckName) -> CheckLine:
        return next(c for c in self.checks if c.name is name)


def catalogue() -> dict[str, str]:
    """Every message id → its template in the current locale (for ``messages.render``)."""
    return {message_id: str(template) for message_id, template in MESSAGES.items()}


def _localised(params: Mapping[str, str]) -> dict[str, str]:
    shown = dict(params)
    for name in _DATE_PARAMS & shown.keys():
        try:
            instant = datetime.fromisoformat(shown[name])
        except ValueError:
            continue  # not a date after all: shown as the report has it
        shown[name] = format_date(instant, format="long")
    for name in _TIME_PARAMS & shown.keys():
        with contextlib.suppress(ValueError):  # not a time after all: shown as the report has it
            shown[name] = format_datetime(datetime.fromisoformat(shown[name]), format="long")
    return shown


def check_text(check: Check, words: Mapping[str, str]) -> str:
    """The reason of ``check`` in the current locale, its dates formatted for the reader."""
    return render_message(check.message, _localised(check.params), words)


def present_report(report: VerificationReport) -> VerdictView:
    """The report as the page shows it, in the current locale."""
    words = catalogue()
    lines = tuple(
        CheckLine(
            name=check.name,
            title=str(CHECK_NAMES[check.name]),
            status=check.status,
            status_word=str(STATUS_WORDS[check.status]),
            text=check_text(check, words),
            outcome=check.outcome,
        )
        for check in report.checks
    )
    verdict = report.verdict
    return VerdictView(
        verdict=verdict,
        tone=_TONES[verdict],
        headline=render_message(report.verdict_message, {}, words),
        checks=lines,
    )

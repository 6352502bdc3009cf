"""The verification report: checks with machine outcomes, and the verdict computed from them.

Each check is passed, failed or not checked, with a machine :class:`Outcome` and a message id
with parameters (worded by :mod:`credentials.messages`, translatable). The verdict and
``verified`` are computed from outcomes only, never from wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from credentials.credential import CarbonLabel
from credentials.messages import render

__all__ = [
    "ALL_CHECKS",
    "ALWAYS_REQUIRED",
    "BASIC_CHECKS",
    "Check",
    "CheckName",
    "CheckStatus",
    "Outcome",
    "Verdict",
    "VerificationReport",
]


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"


class CheckName(StrEnum):
    STRUCTURE = "structure"
    PROOF = "proof"
    ISSUER_KEY = "issuer_key"
    ACCREDITATION = "accreditation"
    RULE = "rule"
    GRADE = "grade"
    REVOCATION = "revocation"
    SUSPENSION = "suspension"
    VALIDITY = "validity"
    LEDGER = "ledger"


class Outcome(StrEnum):
    """What a check found, as a machine reads it; each outcome implies one status."""

    OK = "ok"
    # not checked
    TRUST_NOT_GIVEN = "trust_not_given"
    UNREADABLE = "unreadable"
    CONTENTS_UNTRUSTED = "contents_untrusted"
    ISSUANCE_TIME_UNKNOWN = "issuance_time_unknown"
    PREREQUISITE_FAILED = "prerequisite_failed"
    STATUS_UNAVAILABLE = "status_unavailable"
    LEDGER_MISSING = "ledger_missing"
    # failed
    MALFORMED = "malformed"
    PROOF_INVALID = "proof_invalid"
    NO_ISSUER_PROOF = "no_issuer_proof"
    ISSUER_NOT_IN_BUNDLE = "issuer_not_in_bundle"
    ISSUER_NAME_MISMATCH = "issuer_name_mismatch"
    KEY_NOT_ACTIVE = "key_not_active"
    NOT_ACCREDITED = "not_accredited"
    RULE_UNKNOWN = "rule_unknown"
    RULE_NOT_IN_FORCE = "rule_not_in_force"
    DECLARED_UNIT_MISMATCH = "declared_unit_mismatch"
    GRADE_MISMATCH = "grade_mismatch"
    STATUS_ENTRY_MISSING = "status_entry_missing"
    STATUS_LIST_INVALID = "status_list_invalid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    SUPERSEDED = "superseded"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    LEDGER_MISMATCH = "ledger_mismatch"

    @property
    def status(self) -> CheckStatus:
        if self is Outcome.OK:
            return CheckStatus.PASSED
        if self in _NOT_CHECKED:
            return CheckStatus.NOT_CHECKED
        return CheckStatus.FAILED


_NOT_CHECKED = frozenset(
    {
        Outcome.TRUST_NOT_GIVEN,
        Outcome.UNREADABLE,
        Outcome.CONTENTS_UNTRUSTED,
        Outcome.ISSUANCE_TIME_UNKNOWN,
        Outcome.PREREQUISITE_FAILED,
        Outcome.STATUS_UNAVAILABLE,
        Outcome.LEDGER_MISSING,
    }
)


class Verdict(StrEnum):
    GENUINE = "genuine"
    SIGNER_NOT_CHECKED = "signer_not_checked"
    SUSPENDED = "suspended"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_GENUINE = "not_genuine"
    UNVERIFIED = "unverified"


#: The checks that can be made without a trust bundle.
BASIC_CHECKS = frozenset({CheckName.STRUCTURE, CheckName.PROOF, CheckName.VALIDITY})
ALL_CHECKS = frozenset(CheckName)
#: Required whatever the caller asks: a signature proves nothing until its signer is known.
ALWAYS_REQUIRED = frozenset({CheckName.STRUCTURE, CheckName.PROOF, CheckName.ISSUER_KEY})
_AUTHENTICITY = frozenset(
    {
        CheckName.STRUCTURE,
        CheckName.PROOF,
        CheckName.ISSUER_KEY,
        CheckName.ACCREDITATION,
        CheckName.RULE,
        CheckName.GRADE,
        CheckName.LEDGER,
    }
)
# Outcomes that state a fact about the label itself, so they may head the verdict.
_STATE_VERDICTS = (
    (Outcome.REVOKED, Verdict.REVOKED),
    (Outcome.SUPERSEDED, Verdict.SUPERSEDED),
    (Outcome.SUSPENDED, Verdict.SUSPENDED),
    (Outcome.NOT_YET_VALID, Verdict.NOT_YET_VALID),
    (Outcome.EXPIRED, Verdict.EXPIRED),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check: its outcome (machine), and a message id with parameters (human)."""

    name: CheckName
    outcome: Outcome
    message: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:  # checks stay hashable although params is a mapping
        return hash((self.name, self.outcome, self.message, tuple(sorted(self.params.items()))))

    @property
    def status(self) -> CheckStatus:
        return self.outcome.status

    @property
    def reason(self) -> str:
        """The message in English."""
        return render(self.message, self.params)

    def render(self, catalogue: Mapping[str, str] | None = None) -> str:
        return render(self.message, self.params, catalogue)


@dataclass(frozen=True, slots=True)
class VerificationReport:
    checks: tuple[Check, ...]
    required: frozenset[CheckName]
    label: CarbonLabel | None
    trust_checked: bool

    def check(self, name: CheckName) -> Check:
        return next(c for c in self.checks if c.name == name)

    @property
    def verified(self) -> bool:
        if any(c.status is CheckStatus.FAILED for c in self.checks):
            return False
        return all(self.check(n).status is CheckStatus.PASSED for n in self.required)

    @property
    def contents_untrusted(self) -> bool:
        """True when the proof failed: nothing the document says is the issuer's word."""
        return self.check(CheckName.PROOF).status is CheckStatus.FAILED

    @property
    def verdict(self) -> Verdict:
        outcomes = {c.outcome for c in self.checks}
        if any(c.status is CheckStatus.FAILED and c.name in _AUTHENTICITY for c in self.checks):
            return Verdict.NOT_GENUINE
        # Only a status bit that is set says revoked/suspended; an unusable list says nothing.
        for outcome, verdict in _STATE_VERDICTS:
            if outcome in outcomes:
                return verdict
        if self.verified:
            return Verdict.GENUINE
        intact = all(self.check(n).status is CheckStatus.PASSED for n in BASIC_CHECKS)
        if intact and self.check(CheckName.ISSUER_KEY).outcome is Outcome.TRUST_NOT_GIVEN:
            return Verdict.SIGNER_NOT_CHECKED
        return Verdict.UNVERIFIED

    @property
    def verdict_message(self) -> str:
        return f"verdict.{self.verdict.value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "verdict": self.verdict.value,
            "trustChecked": self.trust_checked,
            "labelId": self.label.label_id if self.label else None,
            "checks": [
                {
                    "check": c.name.value,
                    "status": c.status.value,
                    "required": c.name in self.required,
                    "outcome": c.outcome.value,
                    "message": c.message,
                    "params": dict(c.params),
                    "reason": c.reason,
                }
                for c in self.checks
            ],
        }

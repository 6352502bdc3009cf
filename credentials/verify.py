"""One entry point that checks a label credential and says, check by check, what held.

Each check is passed, failed or not checked, with a reason. The report is ``verified`` only if
every *required* check passed and none failed: a check that could not be made never counts as
a pass. Without a trust bundle only structure, proof and dates are required, and the report
says trust was not checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from credentials._internal.timefmt import parse_datetime
from credentials.checkpoint import NoteVerifier, open_checkpoint
from credentials.credential import CarbonLabel, credential_digest, parse_label_credential
from credentials.cryptosuites import VerifiedProof, verify_document
from credentials.errors import CredentialError, StatusListError
from credentials.grading import grade_for
from credentials.jsonld import DocumentLoader
from credentials.keys import public_key_from_did
from credentials.merkle import leaf_hash, verify_inclusion
from credentials.status_list import check_status, issuer_id, parse_status_entries
from credentials.trust import TrustBundle

__all__ = ["Check", "CheckName", "CheckStatus", "Verdict", "VerificationReport", "verify_label"]


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


class Verdict(StrEnum):
    GENUINE = "genuine"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_GENUINE = "not_genuine"
    UNVERIFIED = "unverified"


BASIC_CHECKS = frozenset({CheckName.STRUCTURE, CheckName.PROOF, CheckName.VALIDITY})
ALL_CHECKS = frozenset(CheckName)
_AUTHENTICITY = (
    CheckName.STRUCTURE,
    CheckName.PROOF,
    CheckName.ISSUER_KEY,
    CheckName.ACCREDITATION,
    CheckName.RULE,
    CheckName.GRADE,
    CheckName.LEDGER,
)


_REVOKED = "revoked"
_SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Check:
    name: CheckName
    status: CheckStatus
    reason: str


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
    def verdict(self) -> Verdict:
        failed = {c.name: c.reason for c in self.checks if c.status is CheckStatus.FAILED}
        if any(name in failed for name in _AUTHENTICITY):
            return Verdict.NOT_GENUINE
        # Only a status bit that is set says revoked/suspended; an unusable list says nothing.
        if failed.get(CheckName.REVOCATION) == _REVOKED:
            return Verdict.REVOKED
        if failed.get(CheckName.SUSPENSION) == _SUSPENDED:
            return Verdict.SUSPENDED
        if CheckName.VALIDITY in failed:
            reason = failed[CheckName.VALIDITY]
            return Verdict.NOT_YET_VALID if "not valid before" in reason else Verdict.EXPIRED
        return Verdict.GENUINE if self.verified else Verdict.UNVERIFIED

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
                    "reason": c.reason,
                }
                for c in self.checks
            ],
        }


class _FailedError(Exception):
    """Internal: a check failed with this reason."""


class _SkippedError(Exception):
    """Internal: a check could not be made, with this reason."""


def verify_label(
    credential: Any,
    *,
    trust: TrustBundle | None = None,
    status_lists: Mapping[str, Mapping[str, Any]] | None = None,
    now: datetime | None = None,
    required: frozenset[CheckName] | None = None,
    loader: DocumentLoader | None = None,
) -> VerificationReport:
    """Check ``credential`` against what the caller trusts; never raises on bad input."""
    now = now or datetime.now(UTC)
    ctx = _Context(
        credential,
        trust,
        {**(trust.status_lists if trust else {}), **(status_lists or {})},
        now,
        loader,
    )
    steps: list[tuple[CheckName, Callable[[], str]]] = [
        (CheckName.STRUCTURE, ctx.structure),
        (CheckName.PROOF, ctx.proof),
        (CheckName.ISSUER_KEY, ctx.issuer_key),
        (CheckName.ACCREDITATION, ctx.accreditation),
        (CheckName.RULE, ctx.rule),
        (CheckName.GRADE, ctx.grade),
        (CheckName.REVOCATION, lambda: ctx.status("revocation")),
        (CheckName.SUSPENSION, lambda: ctx.status("suspension")),
        (CheckName.VALIDITY, ctx.validity),
        (CheckName.LEDGER, ctx.ledger),
    ]
    checks = []
    for name, step in steps:
        try:
            checks.append(Check(name, CheckStatus.PASSED, step()))
        except _FailedError as exc:
            checks.append(Check(name, CheckStatus.FAILED, str(exc)))
        except _SkippedError as exc:
            checks.append(Check(name, CheckStatus.NOT_CHECKED, str(exc)))
    if required is None:
        required = ALL_CHECKS if trust is not None else BASIC_CHECKS
    return VerificationReport(tuple(checks), required, ctx.label, trust is not None)


class _Context:
    def __init__(
        self,
        credential: Any,
        trust: TrustBundle | None,
        status_lists: Mapping[str, Mapping[str, Any]],
        now: datetime,
        loader: DocumentLoader | None,
    ) -> None:
        self.credential = credential
        self.trust = trust
        self.status_lists = status_lists
        self.now = now
        self.loader = loader
        self.label: CarbonLabel | None = None
        self.issuer_proof: VerifiedProof | None = None

    def _label(self) -> CarbonLabel:
        if self.label is None:
            raise _SkippedError("the credential could not be read")
        return self.label

    def _trust(self) -> TrustBundle:
        if self.trust is None:
            raise _SkippedError("trust was not checked: no trust bundle given")
        return self.trust

    def _issued_at(self) -> datetime:
        if self.issuer_proof is None or self.issuer_proof.created is None:
            raise _SkippedError("issuance time unknown: no valid issuer proof with a creation time")
        return self.issuer_proof.created

    def structure(self) -> str:
        try:
            self.label = parse_label_credential(self.credential)
        except CredentialError as exc:
            raise _FailedError(str(exc)) from exc
        return "a well-formed CarbonLabelCredential"

    def proof(self) -> str:
        label = self._label()
        try:
            proofs = verify_document(self.credential, now=self.now, loader=self.loader)
        except CredentialError as exc:
            raise _FailedError(str(exc)) from exc
        by_issuer = [p for p in proofs if p.verification_method.split("#")[0] == label.issuer_did]
        if not by_issuer:
            raise _FailedError("no proof was made with the issuer's key")
        self.issuer_proof = by_issuer[0]
        return f"{by_issuer[0].cryptosuite} proof by the issuer's key verifies"

    def issuer_key(self) -> str:
        trust, label = self._trust(), self._label()
        issued_at = self._issued_at()
        key = public_key_from_did(label.issuer_did).multibase
        body = trust.body_with_key(key)
        if body is None:
            raise _FailedError("the issuer is not a registered certification body")
        trusted = body.key(key)
        if label.issuer_name != body.name:
            raise _FailedError(f"the issuer name is not that of the registered body {body.name}")
        if trusted is None or not trusted.active_at(issued_at):
            raise _FailedError(
                f"{body.name}'s key was not active at issuance ({issued_at:%Y-%m-%d})"
            )
        return f"issued by {body.name} with a key active at issuance"

    def _trusted_rule(self) -> Any:
        trust, label = self._trust(), self._label()
        rule = trust.rule(label.rule.scheme, label.rule.rule_id, label.rule.version)
        if rule is None:
            raise _FailedError(
                f"rule {label.rule.rule_id} v{label.rule.version} of {label.rule.scheme} is unknown"
            )
        return rule

    def accreditation(self) -> str:
        trust, label = self._trust(), self._label()
        issued_at = self._issued_at()
        body = trust.body_with_key(public_key_from_did(label.issuer_did).multibase)
        if body is None:
            raise _SkippedError("the issuer is not a registered body")
        try:
            rule = self._trusted_rule()
        except _FailedError as exc:
            raise _SkippedError(str(exc)) from exc
        if not any(a.covers(rule.scheme, rule.category, issued_at) for a in body.accreditations):
            raise _FailedError(f"{body.name} was not accredited for {rule.scheme}/{rule.category}")
        return f"accredited for {rule.scheme} / {rule.category} at issuance"

    def rule(self) -> str:
        label, rule = self._label(), self._trusted_rule()
        issued_at = self._issued_at()
        if not rule.in_force_at(issued_at):
            raise _FailedError(f"rule version {rule.version} was not in force at issuance")
        if rule.declared_unit != label.footprint.declared_unit:
            raise _FailedError(f"the rule's declared unit is {rule.declared_unit}, not the label's")
        return f"rule {rule.rule_id} v{rule.version} was in force at issuance"

    def grade(self) -> str:
        label, rule = self._label(), self._trusted_rule()
        fp = label.footprint
        expected = grade_for(fp.value, rule.thresholds, amount=fp.declared_unit_amount)
        if expected != label.grade:
            raise _FailedError(
                f"the rule's thresholds give grade {expected}, the label says {label.grade}"
            )
        return f"grade {label.grade} matches the rule's thresholds"

    def status(self, purpose: str) -> str:
        label = self._label()
        entries = [e for e in parse_status_entries(self.credential) if e.purpose == purpose]
        if not entries:
            raise _FailedError(f"the credential has no {purpose} status entry")
        entry = entries[0]
        list_credential = self.status_lists.get(entry.list_url)
        if list_credential is None:
            raise _SkippedError(f"the {purpose} status list was not available")
        try:
            if not isinstance(list_credential, Mapping):
                raise StatusListError("it is not a JSON object")
            proofs = verify_document(dict(list_credential), now=self.now, loader=self.loader)
            list_issuer = issuer_id(list_credential.get("issuer", ""))
            self._accept_list_issuer(label, list_issuer, proofs)
            valid_until = list_credential.get("validUntil")
            if valid_until is not None and parse_datetime(valid_until) <= self.now:
                raise StatusListError("the status list has expired")
            bit = check_status(entry, list_credential, expected_issuer=list_issuer)
        except CredentialError as exc:
            raise _FailedError(f"the {purpose} status list is unusable: {exc}") from exc
        if bit:
            raise _FailedError(_REVOKED if purpose == "revocation" else _SUSPENDED)
        return f"not {_REVOKED if purpose == 'revocation' else _SUSPENDED}"

    def _accept_list_issuer(
        self, label: CarbonLabel, list_issuer: str, proofs: tuple[VerifiedProof, ...]
    ) -> None:
        by_issuer = [p for p in proofs if p.verification_method.split("#")[0] == list_issuer]
        if not by_issuer:
            raise StatusListError("it is not signed by its issuer")
        if list_issuer == label.issuer_did and self.trust is None:
            return
        if self.trust is None:
            raise StatusListError("it was issued by another issuer")
        # After key rotation a body signs its lists with its newer key: same body, other did.
        body = self.trust.body_with_key(public_key_from_did(label.issuer_did).multibase)
        list_key = body.key(public_key_from_did(list_issuer).multibase) if body else None
        if list_key is None:
            raise StatusListError("it was issued by another issuer")
        signed_at = by_issuer[0].created or self.now
        if not list_key.active_at(signed_at):
            raise StatusListError("it was signed by a key that was not active at the time")

    def validity(self) -> str:
        label = self._label()
        if self.now < label.valid_from:
            raise _FailedError(f"not valid before {label.valid_from:%Y-%m-%d %H:%M} UTC")
        if self.now >= label.valid_until:
            raise _FailedError(f"expired on {label.valid_until:%Y-%m-%d %H:%M} UTC")
        return f"valid until {label.valid_until:%Y-%m-%d}"

    def ledger(self) -> str:
        trust, label = self._trust(), self._label()
        evidence = trust.ledger.get(label.label_id)
        if evidence is None or trust.log_key is None:
            raise _SkippedError("no ledger inclusion proof or log key was given")
        try:
            verifier = NoteVerifier.from_verifier_key(trust.log_key)
            checkpoint = open_checkpoint(evidence.checkpoint, verifier=verifier)
            if checkpoint.size != evidence.size:
                raise _FailedError("the inclusion proof is not for the checkpoint's tree size")
            verify_inclusion(
                index=evidence.index,
                size=evidence.size,
                leaf_hash=leaf_hash(evidence.entry),
                proof=evidence.proof,
                root=checkpoint.root_hash,
            )
            entry = json.loads(evidence.entry)
            digest = credential_digest(self.credential)
        except (CredentialError, ValueError) as exc:
            raise _FailedError(f"ledger evidence does not verify: {exc}") from exc
        if not isinstance(entry, dict) or entry.get("event") != "label.issued":
            raise _FailedError("the ledger entry is not a label issuance")
        if entry.get("credentialDigest") != digest:
            raise _FailedError("the ledger entry records a different credential")
        return f"entry {evidence.index} of a signed checkpoint of {checkpoint.size} entries"

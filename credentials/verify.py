"""One entry point that checks a label credential and says, check by check, what held.

Each check is passed, failed or not checked, with a machine :class:`Outcome` and a message id
with parameters (worded by :mod:`credentials.messages`, translatable). The verdict and
``verified`` are computed from outcomes only, never from wording. The report is ``verified``
only if every *required* check passed and none failed: a check that could not be made never
counts as a pass, and the issuer check is always required, so a valid signature by a signer
nobody checked against the register is never "verified" (its verdict is
``signer_not_checked``). When the proof fails, every check that reads the document's contents
is not checked: nothing the document says can be trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.checkpoint import (
    Checkpoint,
    NoteVerifier,
    open_checkpoint,
    open_cosigned_checkpoint,
)
from credentials.credential import CarbonLabel, credential_digest, parse_label_credential
from credentials.cryptosuites import VerifiedProof, verify_document
from credentials.errors import CredentialError, StatusListError
from credentials.grading import grade_for
from credentials.jsonld import DocumentLoader
from credentials.keys import public_key_from_did
from credentials.ledger_events import LabelRevoked, LabelSuspended, parse_entry
from credentials.merkle import leaf_hash, verify_inclusion
from credentials.report import (
    ALL_CHECKS,
    ALWAYS_REQUIRED,
    BASIC_CHECKS,
    Check,
    CheckName,
    CheckStatus,
    Outcome,
    Verdict,
    VerificationReport,
)
from credentials.status_list import check_status, issuer_id, parse_status_entries
from credentials.trust import TrustBundle, TrustedRule

__all__ = [
    "ALL_CHECKS",
    "BASIC_CHECKS",
    "Check",
    "CheckName",
    "CheckStatus",
    "Outcome",
    "Verdict",
    "VerificationReport",
    "verify_label",
]


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: Outcome
    message: str
    params: Mapping[str, str] = field(default_factory=dict)


class _CheckError(Exception):
    """Internal: a check ended other than with a pass (failed or not checked)."""

    def __init__(self, outcome: Outcome, message: str, **params: str) -> None:
        super().__init__(message)
        self.result = _Result(outcome, message, params)


def _ok(message: str, **params: str) -> _Result:
    return _Result(Outcome.OK, message, params)


def _signed_checkpoint(note: str, log_key: str) -> Checkpoint:
    """The checkpoint ``note`` states, if the log key signed it."""
    return open_checkpoint(note, verifier=NoteVerifier.from_verifier_key(log_key))


def _prove_inclusion(
    entry: bytes, index: int, proof: tuple[bytes, ...], checkpoint: Checkpoint
) -> None:
    """Raise unless ``entry`` is entry ``index`` of the tree ``checkpoint`` signs."""
    verify_inclusion(
        index=index,
        size=checkpoint.size,
        leaf_hash=leaf_hash(entry),
        proof=proof,
        root=checkpoint.root_hash,
    )


def _cosigners(
    note: str, log_key: str, witnesses: tuple[str, ...]
) -> dict[bytes, tuple[str, datetime]]:
    """Witness public key → (name, cosigned time) for each witness whose cosignature on ``note``
    verifies. Each witness is opened on its own: one bad or forged line then costs only its own
    count (open_note rejects a whole note for a failing line of a key it was given), and an
    unknown witness's line is ignored. Keys are counted, not names (the v1 message omits the
    name, so one key listed twice must not count twice)."""
    log = NoteVerifier.from_verifier_key(log_key)
    found: dict[bytes, tuple[str, datetime]] = {}
    for vkey in witnesses:
        try:
            witness = NoteVerifier.from_verifier_key(vkey)
            opened = open_cosigned_checkpoint(note, verifier=log, witnesses=[witness], quorum=1)
            timestamp = opened.cosignatures[0].timestamp or 0
            # A valid signature over a time no calendar holds (up to 2**63 s) vouches for nothing.
            at = datetime.fromtimestamp(timestamp, UTC)
        except (CredentialError, OverflowError, OSError, ValueError):
            continue
        found.setdefault(witness.public_key.raw, (witness.name, at))
    return found


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
    steps: list[tuple[CheckName, Callable[[], _Result]]] = [
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
            result = step()
        except _CheckError as exc:
            result = exc.result
        checks.append(Check(name, result.outcome, result.message, dict(result.params)))
        if name is CheckName.PROOF and result.outcome is not Outcome.OK:
            ctx.untrusted = result.outcome.status is CheckStatus.FAILED
    if required is None:
        required = ALL_CHECKS if trust is not None else BASIC_CHECKS
    return VerificationReport(
        tuple(checks), required | ALWAYS_REQUIRED, ctx.label, trust is not None
    )


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
        self.untrusted = False

    def _label(self) -> CarbonLabel:
        if self.label is None:
            raise _CheckError(Outcome.UNREADABLE, "check.unreadable")
        if self.untrusted:
            raise _CheckError(Outcome.CONTENTS_UNTRUSTED, "check.contents_untrusted")
        return self.label

    def _trust(self) -> TrustBundle:
        self._label()  # contents first: an untrusted document is not worth a trust lookup
        if self.trust is None:
            raise _CheckError(Outcome.TRUST_NOT_GIVEN, "check.trust_not_given")
        return self.trust

    def _issued_at(self) -> datetime:
        if self.issuer_proof is None or self.issuer_proof.created is None:
            raise _CheckError(Outcome.ISSUANCE_TIME_UNKNOWN, "check.issuance_time_unknown")
        return self.issuer_proof.created

    def structure(self) -> _Result:
        try:
            self.label = parse_label_credential(self.credential)
        except CredentialError as exc:
            raise _CheckError(Outcome.MALFORMED, "structure.malformed", detail=str(exc)) from exc
        return _ok("structure.ok")

    def proof(self) -> _Result:
        label = self._label()
        try:
            proofs = verify_document(self.credential, now=self.now, loader=self.loader)
        except CredentialError as exc:
            raise _CheckError(Outcome.PROOF_INVALID, "proof.invalid", detail=str(exc)) from exc
        by_issuer = [p for p in proofs if p.verification_method.split("#")[0] == label.issuer_did]
        if not by_issuer:
            raise _CheckError(Outcome.NO_ISSUER_PROOF, "proof.no_issuer_proof")
        self.issuer_proof = by_issuer[0]
        return _ok("proof.ok", cryptosuite=by_issuer[0].cryptosuite)

    def issuer_key(self) -> _Result:
        trust, label = self._trust(), self._label()
        issued_at = self._issued_at()
        key = public_key_from_did(label.issuer_did).multibase
        body = trust.body_with_key(key)
        if body is None:
            raise _CheckError(
                Outcome.ISSUER_NOT_IN_BUNDLE,
                "issuer_key.not_in_bundle",
                issuer=label.issuer_name,
                key=key,
            )
        trusted = body.key(key)
        if label.issuer_name != body.name:
            raise _CheckError(
                Outcome.ISSUER_NAME_MISMATCH, "issuer_key.name_mismatch", body=body.name
            )
        if (
            trusted is None
            or not trusted.active_at(issued_at)
            # A body holding its own key signs its labels: the registry's key of it does not.
            or (
                not trusted.held_by_body
                and any(k.held_by_body and k.active_at(issued_at) for k in body.keys)
            )
        ):
            raise _CheckError(
                Outcome.KEY_NOT_ACTIVE,
                "issuer_key.key_not_active",
                body=body.name,
                issued_at=format_datetime(issued_at),
            )
        return _ok("issuer_key.ok", body=body.name)

    def _trusted_rule(self) -> TrustedRule:
        trust, label = self._trust(), self._label()
        ref = label.rule
        rule = trust.rule(ref.scheme, ref.rule_id, ref.version)
        if rule is None:
            raise _CheckError(
                Outcome.RULE_UNKNOWN,
                "rule.unknown",
                rule_id=ref.rule_id,
                version=ref.version,
                scheme=ref.scheme,
            )
        return rule

    def accreditation(self) -> _Result:
        trust, label = self._trust(), self._label()
        issued_at = self._issued_at()
        body = trust.body_with_key(public_key_from_did(label.issuer_did).multibase)
        if body is None:
            raise _CheckError(Outcome.PREREQUISITE_FAILED, "check.issuer_not_registered")
        try:
            rule = self._trusted_rule()
        except _CheckError as exc:
            if exc.result.outcome is not Outcome.RULE_UNKNOWN:
                raise
            raise _CheckError(
                Outcome.PREREQUISITE_FAILED, "check.rule_unknown", **exc.result.params
            ) from exc
        if not any(a.covers(rule.scheme, rule.category, issued_at) for a in body.accreditations):
            raise _CheckError(
                Outcome.NOT_ACCREDITED,
                "accreditation.not_accredited",
                body=body.name,
                scheme=rule.scheme,
                category=rule.category,
            )
        return _ok("accreditation.ok", scheme=rule.scheme, category=rule.category)

    def rule(self) -> _Result:
        label, rule = self._label(), self._trusted_rule()
        issued_at = self._issued_at()
        if not rule.in_force_at(issued_at):
            raise _CheckError(Outcome.RULE_NOT_IN_FORCE, "rule.not_in_force", version=rule.version)
        if rule.declared_unit != label.footprint.declared_unit:
            raise _CheckError(
                Outcome.DECLARED_UNIT_MISMATCH,
                "rule.declared_unit_mismatch",
                rule_unit=rule.declared_unit,
            )
        return _ok("rule.ok", rule_id=rule.rule_id, version=rule.version)

    def grade(self) -> _Result:
        label, rule = self._label(), self._trusted_rule()
        fp = label.footprint
        expected = grade_for(fp.value, rule.thresholds, amount=fp.declared_unit_amount)
        if expected != label.grade:
            raise _CheckError(
                Outcome.GRADE_MISMATCH, "grade.mismatch", expected=expected, grade=label.grade
            )
        return _ok("grade.ok", grade=label.grade)

    def status(self, purpose: str) -> _Result:
        label = self._label()
        entries = [e for e in parse_status_entries(self.credential) if e.purpose == purpose]
        if not entries:
            raise _CheckError(Outcome.STATUS_ENTRY_MISSING, f"{purpose}.no_entry")
        entry = entries[0]
        list_credential = self.status_lists.get(entry.list_url)
        if list_credential is None:
            raise _CheckError(Outcome.STATUS_UNAVAILABLE, f"{purpose}.list_unavailable")
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
            raise _CheckError(
                Outcome.STATUS_LIST_INVALID, f"{purpose}.list_invalid", detail=str(exc)
            ) from exc
        if not bit:
            # As of when the list was signed: the freshness a reader should weigh.
            signed = list_credential.get("validFrom")
            as_of = format_datetime(parse_datetime(signed)) if isinstance(signed, str) else "?"
            return _ok(f"{purpose}.ok", as_of=as_of)
        if purpose == "revocation":
            said = self._status_event(label, LabelRevoked)
            if said is not None:
                raise _CheckError(Outcome.REVOKED, f"revocation.revoked_by_{said[0]}", **said[1])
            raise _CheckError(Outcome.REVOKED, "revocation.revoked")
        evidence = self.trust.ledger.get(label.label_id) if self.trust else None
        if evidence is not None and evidence.superseded_by is not None:
            # The registry flags a replaced label in the suspension list (it is not current);
            # the bundle says why, so the reader is sent to the label that replaced it.
            raise _CheckError(
                Outcome.SUPERSEDED, "suspension.superseded", superseded_by=evidence.superseded_by
            )
        said = self._status_event(label, LabelSuspended)
        if said is not None:
            raise _CheckError(Outcome.SUSPENDED, f"suspension.suspended_by_{said[0]}", **said[1])
        raise _CheckError(Outcome.SUSPENDED, "suspension.suspended")

    def _status_event(
        self, label: CarbonLabel, kind: type[LabelRevoked] | type[LabelSuspended]
    ) -> tuple[str, dict[str, str]] | None:
        """When, why and by whom the newest such change was made, if the bundle carries its
        ledger entry and the entry is proven under the log's signed checkpoint; else ``None``
        (the status bit alone then says revoked or suspended, and nothing more)."""
        trust = self.trust
        evidence = trust.ledger.get(label.label_id) if trust else None
        if trust is None or evidence is None or not evidence.status_events or not trust.log_key:
            return None
        try:
            checkpoint = _signed_checkpoint(evidence.checkpoint, trust.log_key)
        except CredentialError:
            return None
        found: tuple[str, dict[str, str]] | None = None
        for event in evidence.status_events:
            try:
                _prove_inclusion(event.entry, event.index, event.proof, checkpoint)
                record = parse_entry(event.entry)
            except CredentialError:
                continue  # an unproven or unreadable entry says nothing
            change = record.event
            if isinstance(change, kind) and change.label == label.label_id:
                params = {"since": format_datetime(record.time), "reason": change.reason}
                if change.by.schemes:
                    params["schemes"] = ", ".join(change.by.schemes)
                found = (change.by.role.value, params)
        return found

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

    def validity(self) -> _Result:
        label = self._label()
        if self.now < label.valid_from:
            raise _CheckError(
                Outcome.NOT_YET_VALID,
                "validity.not_yet_valid",
                valid_from=format_datetime(label.valid_from),
            )
        if self.now >= label.valid_until:
            raise _CheckError(
                Outcome.EXPIRED, "validity.expired", valid_until=format_datetime(label.valid_until)
            )
        return _ok("validity.ok", valid_until=format_datetime(label.valid_until))

    def ledger(self) -> _Result:
        trust, label = self._trust(), self._label()
        evidence = trust.ledger.get(label.label_id)
        if evidence is None or trust.log_key is None:
            raise _CheckError(Outcome.LEDGER_MISSING, "ledger.missing")
        try:
            checkpoint = _signed_checkpoint(evidence.checkpoint, trust.log_key)
            if checkpoint.size != evidence.size:
                raise _CheckError(Outcome.LEDGER_MISMATCH, "ledger.size_mismatch")
            _prove_inclusion(evidence.entry, evidence.index, evidence.proof, checkpoint)
            entry = json.loads(evidence.entry)
            digest = credential_digest(self.credential)
        except (CredentialError, ValueError) as exc:
            raise _CheckError(Outcome.LEDGER_MISMATCH, "ledger.invalid", detail=str(exc)) from exc
        if not isinstance(entry, dict) or entry.get("event") != "label.issued":
            raise _CheckError(Outcome.LEDGER_MISMATCH, "ledger.not_issuance")
        if entry.get("credentialDigest") != digest:
            raise _CheckError(Outcome.LEDGER_MISMATCH, "ledger.other_credential")
        params = {"index": str(evidence.index), "size": str(checkpoint.size)}
        if not trust.witnesses:
            return _ok("ledger.ok", **params)
        cosigners = _cosigners(evidence.checkpoint, trust.log_key, trust.witnesses)
        if not cosigners:
            return _ok("ledger.not_cosigned", **params)
        return _ok(
            "ledger.cosigned",
            **params,
            count=str(len(cosigners)),
            names=", ".join(sorted(name for name, _ in cosigners.values())),
            cosigned_at=format_datetime(max(at for _, at in cosigners.values())),
        )

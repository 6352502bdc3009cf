"""Verification against the register: a trust bundle built from the database, then the kit.

The bundle is made of the models' own kit values (``CertificationBody.trusted()``,
``RuleVersion.trusted()``, …), the same values issuance asks. The same bundle serves both ways:
the registry verifies online with it, and a buyer downloads it signed with the registry's bundle
key (``credentials.signed_bundle``): the whole register at ``GET /trust-bundle``, or the subset one
label needs at ``GET /api/v1/labels/{id}/trust-bundle`` and inside its PDF certificate, to verify
the label fully offline with ``carbonlabel verify --trust … --registry-key …``. One builder
(:func:`_assemble`) and one signer (:func:`_signed`) make every one of them, so the subset is the
same format as the whole. The registry adds nothing the offline verifier cannot check.

Witnessing (issue 10): every bundle lists the configured witnesses' cosignature keys and its
checkpoints carry the cosignature lines received for them, so the kit counts the valid ones.
A label's evidence is proven (afresh) under the newest checkpoint a configured witness has
co-signed that includes the label and its latest status change, else under the latest one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from credentials import (
    CredentialError,
    LedgerEvidence,
    PublicKey,
    StatusEvidence,
    TrustBundle,
    VerificationReport,
    label_url,
    normalize_label_id,
    public_key_from_did,
    sign_bundle,
    verify_label,
)
from registry.bodies.models import BodyKey, CertificationBody
from registry.clock import current_clock
from registry.config import current_settings
from registry.db import db
from registry.labels.models import Label, LabelStatusEntry, StatusListRecord
from registry.labels.status_lists import get_status_list, list_url
from registry.ledger.models import LedgerCheckpoint, LedgerCosignature, LedgerEntry
from registry.ledger.services import (
    get_log_verifier_key,
    inclusion_proof,
    latest_checkpoint,
)
from registry.ledger.witnessing import configured_witnesses, cosignature_lines
from registry.recognition.services import (
    RecognitionContext,
    current_mappings,
    recognition_context,
)
from registry.schemes.models import RuleVersion, Scheme

__all__ = [
    "BUNDLE_PERIOD",
    "BUNDLE_VALIDITY",
    "label_ledger_evidence",
    "label_trust",
    "registry_trust",
    "signed_label_trust",
    "signed_registry_trust",
    "trust_for",
    "verify_credential",
]


def _cosigned_note(checkpoint: LedgerCheckpoint) -> str:
    """The checkpoint's note with every cosignature line received for it, as
    ``/ledger/checkpoint`` serves it: a verifier counts those of witnesses it knows. With no
    witness configured the bundle names none to count, so the note is left as signed (and
    the bundle as it was before witnessing, at no extra read)."""
    if not current_settings().witnesses:
        return checkpoint.note
    return checkpoint.note + "".join(cosignature_lines(checkpoint.size))


def _evidence_checkpoint(
    latest: LedgerCheckpoint, floor: int, witnesses: list[str]
) -> LedgerCheckpoint:
    """The checkpoint a label's evidence is proven under: the newest one a configured witness
    has co-signed that includes every entry the evidence carries (size ``floor`` or more),
    else the latest. A witness cosigns the latest checkpoint a tick after it is signed, so
    this is usually one tick old; a label or status change newer than every cosigned
    checkpoint gets the latest (not yet co-signed, and the report says so) rather than lose
    its entry. The proofs are always made afresh to the one chosen."""
    if not witnesses:
        return latest
    size = db.session.execute(
        select(func.max(LedgerCosignature.size)).where(
            LedgerCosignature.size >= floor,
            LedgerCosignature.size <= latest.size,
            LedgerCosignature.witness.in_(witnesses),
        )
    ).scalar_one_or_none()
    if size is None or size == latest.size:
        return latest
    found = db.session.execute(
        select(LedgerCheckpoint).where(LedgerCheckpoint.size == size)
    ).scalar_one_or_none()
    return latest if found is None else found


def _ledger_evidence(label: Label, checkpoint: LedgerCheckpoint | None) -> LedgerEvidence | None:
    """The label's entry and its newest status change, each with its inclusion proof under the
    checkpoint :func:`_evidence_checkpoint` picks, if the latest checkpoint covers the label;
    the checkpoint with its cosignature lines.

    A read signs nothing: an entry newer than the latest checkpoint (only possible with a
    checkpoint interval above 0, for at most about two intervals) has no evidence yet, and the
    ledger check then says it was not made.
    """
    latest = checkpoint
    if latest is None or latest.size <= label.ledger_seq:
        return None
    last = db.session.execute(
        select(func.max(LabelStatusEntry.seq)).where(
            LabelStatusEntry.label_id == label.id, LabelStatusEntry.seq < latest.size
        )
    ).scalar_one_or_none()
    floor = max(label.ledger_seq, -1 if last is None else last) + 1
    checkpoint = _evidence_checkpoint(latest, floor, [w.key for w in configured_witnesses()])
    entry = db.session.get_one(LedgerEntry, label.ledger_seq)
    proof = inclusion_proof(label.ledger_seq, checkpoint.size)
    events: tuple[StatusEvidence, ...] = ()
    if last is not None:
        change = db.session.get_one(LedgerEntry, last)
        events = (
            StatusEvidence(
                entry=bytes(change.body),
                index=last,
                proof=tuple(inclusion_proof(last, checkpoint.size).hashes),
            ),
        )
    superseded_by = None
    if label.superseded_by_id is not None:
        # The list bit alone says "suspended"; this says why, so the verdict is "superseded".
        superseded_by = label_url(current_settings().public_base_url, label.superseded_by_id)
    return LedgerEvidence(
        entry=bytes(entry.body),
        index=label.ledger_seq,
        size=checkpoint.size,
        proof=tuple(proof.hashes),
        checkpoint=_cosigned_note(checkpoint),
        superseded_by=superseded_by,
        status_events=events,
    )


def label_ledger_evidence(label: Label) -> LedgerEvidence | None:
    """The label's ledger entry and inclusion proof under the latest checkpoint, if covered."""
    return _ledger_evidence(label, latest_checkpoint())


_NO_RECOGNITION = RecognitionContext(schemes={}, mappings=(), rules=())


def _assemble(
    *,
    bodies: Iterable[CertificationBody],
    rules: Iterable[RuleVersion],
    lists: Iterable[StatusListRecord],
    checkpoint: LedgerCheckpoint | None,
    context: RecognitionContext,
    ledger: Mapping[str, LedgerEvidence] | None = None,
) -> TrustBundle:
    """The one builder of a served bundle, whole or a label's subset: the given bodies, rule
    versions (then the target rule versions the mappings recompute under, each once) and status
    lists as last signed, with the log key and the checkpoint every bundle carries."""
    base_url = current_settings().public_base_url
    trusted = [rv.trusted() for rv in rules]
    return TrustBundle(
        bodies=tuple(body.trusted() for body in bodies),
        rules=(*trusted, *(r for r in context.rules if r not in trusted)),
        status_lists={
            list_url(base_url, r.id): json.loads(r.credential) for r in lists if r.credential
        },
        log_key=get_log_verifier_key(),
        ledger={} if ledger is None else dict(ledger),
        schemes=context.schemes,
        mappings=context.mappings,
        checkpoint=None if checkpoint is None else _cosigned_note(checkpoint),
        witnesses=tuple(w.key for w in configured_witnesses()),
    )


def label_trust(label: Label, *, recognition: bool = True) -> TrustBundle:
    """Everything needed to verify ``label`` offline: its body, its rule version, its two status
    lists, its ledger entry with its latest status event (each proven under the checkpoint), the
    log key and the checkpoint; and (unless ``recognition`` is false: verification alone never
    reads them) what asking whether it is recognised in another region needs: every scheme's
    region, the mappings that can lead from the label's scheme and the target rule versions
    they recompute under."""
    checkpoint = latest_checkpoint()
    evidence = _ledger_evidence(label, checkpoint)
    context = (
        recognition_context(label.rule_version.rule.scheme.code) if recognition else _NO_RECOGNITION
    )
    return _assemble(
        bodies=(label.body,),
        rules=(label.rule_version,),
        lists=(get_status_list(i) for i in (label.revocation_list_id, label.suspension_list_id)),
        checkpoint=checkpoint,
        context=context,
        ledger=None if evidence is None else {label.id: evidence},
    )


def _label_of(credential: Mapping[str, Any]) -> Label | None:
    subject = credential.get("credentialSubject")
    raw_id = subject.get("labelId") if isinstance(subject, Mapping) else None
    try:
        label_id = normalize_label_id(raw_id) if isinstance(raw_id, str) else None
    except CredentialError:
        return None
    return None if label_id is None else db.session.get(Label, label_id)


def _issuer_body(credential: Mapping[str, Any]) -> CertificationBody | None:
    issuer = credential.get("issuer")
    did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    try:
        key: PublicKey = public_key_from_did(did) if isinstance(did, str) else None  # type: ignore[assignment]
    except CredentialError:
        return None
    if key is None:
        return None
    stmt = select(BodyKey).where(BodyKey.public_key_multibase == key.multibase)
    found = db.session.execute(stmt).scalar_one_or_none()
    return None if found is None else db.session.get(CertificationBody, found.body_id)


def trust_for(credential: Any, *, recognition: bool = True) -> TrustBundle:
    """The register's trust bundle for whatever ``credential`` claims to be.

    For a label the register holds, the full bundle (its status lists and ledger evidence
    included). For anything else, only what the register knows of the claimed issuer: such a
    credential can at best pass the checks that do not need the register, and its report says
    which ones were not made.
    """
    if not isinstance(credential, Mapping):
        return TrustBundle()
    label = _label_of(credential)
    if label is not None:
        return label_trust(label, recognition=recognition)
    body = _issuer_body(credential)
    return TrustBundle() if body is None else TrustBundle(bodies=(body.trusted(),))


def verify_credential(credential: Any, *, trust: TrustBundle | None = None) -> VerificationReport:
    """Verify a presented credential against the register, every check required.

    A bundle for a label of the register carries that label's ledger entry, whose digest must
    equal the presented credential's: a credential altered after issuance, or one forged with a
    real label's id, fails the ledger check even if its signature came from a leaked key.
    """
    # Verification alone reads no recognition mapping: a caller that answers for a region
    # builds the full bundle itself (trust_for) and passes it.
    trust = trust_for(credential, recognition=False) if trust is None else trust
    return verify_label(credential, trust=trust, now=current_clock().now())


BUNDLE_PERIOD = timedelta(minutes=10)  # a registry bundle is made anew at most this often
BUNDLE_VALIDITY = timedelta(days=1)  # and is stale a day after it was made


def registry_trust() -> TrustBundle:
    """The whole register as a verifier trusts it: every body with its keys and accreditations,
    every rule version, every scheme's region, the newest revision of every recognition
    mapping, every status list as last signed, the log key and the latest checkpoint."""
    bodies = db.session.execute(select(CertificationBody).order_by(CertificationBody.code))
    versions = db.session.execute(select(RuleVersion).order_by(RuleVersion.id)).scalars()
    lists = db.session.execute(
        select(StatusListRecord)
        .where(StatusListRecord.credential.is_not(None))
        .order_by(StatusListRecord.id)
    ).scalars()
    context = RecognitionContext(
        schemes=dict(db.session.execute(select(Scheme.code, Scheme.region)).tuples().all()),
        mappings=tuple(row.mapping() for row in current_mappings(include_withdrawn=True)),
        rules=(),  # every rule version is in already
    )
    return _assemble(
        bodies=bodies.scalars(),
        rules=versions,
        lists=lists,
        checkpoint=latest_checkpoint(),
        context=context,
    )


def _period_start() -> datetime:
    """Now, down to the start of its ten-minute period: every worker and replica then signs the
    same bytes for the same state."""
    now = current_clock().now().timestamp()
    return datetime.fromtimestamp(now - now % BUNDLE_PERIOD.total_seconds(), tz=UTC)


def _signed(trust: TrustBundle, *, issued: datetime, validity: timedelta) -> dict[str, Any]:
    """``trust`` signed with the registry's bundle key, valid ``validity`` from ``issued``."""
    settings = current_settings()
    return sign_bundle(
        trust,
        settings.bundle_signer(),
        registry=settings.public_base_url,
        issued=issued,
        valid_until=issued + validity,
    )


def signed_registry_trust() -> dict[str, Any]:
    """:func:`registry_trust`, signed with the registry's bundle key, dated to the start of its
    ten-minute period and stale :data:`BUNDLE_VALIDITY` later."""
    return _signed(registry_trust(), issued=_period_start(), validity=BUNDLE_VALIDITY)


def signed_label_trust(
    label: Label, *, issued: datetime | None = None, validity: timedelta = BUNDLE_VALIDITY
) -> dict[str, Any]:
    """:func:`label_trust`, signed exactly as the registry's bundle is: the subset of the same
    format. Dated to the start of the ten-minute period unless ``issued`` is given (the
    certificate dates its own, and keeps it longer)."""
    when = _period_start() if issued is None else issued
    return _signed(label_trust(label), issued=when, validity=validity)

"""Verification against the register: a trust bundle built from the database, then the kit.

The bundle is made of the models' own kit values (``CertificationBody.trusted()``,
``RuleVersion.trusted()``, …), the same values issuance asks. The same bundle serves both ways:
the registry verifies online with it, and a buyer downloads its JSON (the kit's ``to_json``,
which reads back to an equal bundle; ``GET /api/v1/labels/{id}/trust-bundle``) to verify the
label fully offline with ``carbonlabel verify --trust``. The registry adds nothing the offline
verifier cannot check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from credentials import (
    CredentialError,
    LedgerEvidence,
    PublicKey,
    TrustBundle,
    VerificationReport,
    label_url,
    normalize_label_id,
    public_key_from_did,
    verify_label,
)
from registry.bodies.models import BodyKey, CertificationBody
from registry.clock import current_clock
from registry.config import current_settings
from registry.db import db
from registry.labels.models import Label, StatusListRecord
from registry.labels.status_lists import get_status_list, list_url
from registry.ledger.models import LedgerEntry
from registry.ledger.services import (
    get_log_verifier_key,
    inclusion_proof,
    latest_checkpoint,
)
from registry.recognition.services import recognition_context

__all__ = ["label_trust", "label_trust_bundle", "trust_for", "verify_credential"]


def _status_lists(label: Label, base_url: str) -> dict[str, Any]:
    lists: dict[str, Any] = {}
    for list_id in (label.revocation_list_id, label.suspension_list_id):
        record: StatusListRecord = get_status_list(list_id)
        if record.credential is not None:
            lists[list_url(base_url, list_id)] = json.loads(record.credential)
    return lists


def _ledger_evidence(label: Label) -> LedgerEvidence | None:
    """The label's entry and inclusion proof under the latest checkpoint, if that covers it.

    A read signs nothing: an entry newer than the latest checkpoint (only possible with a
    checkpoint interval above 0, for at most about two intervals) has no evidence yet, and the
    ledger check then says it was not made.
    """
    checkpoint = latest_checkpoint()
    if checkpoint is None or checkpoint.size <= label.ledger_seq:
        return None
    entry = db.session.get_one(LedgerEntry, label.ledger_seq)
    proof = inclusion_proof(label.ledger_seq, checkpoint.size)
    superseded_by = None
    if label.superseded_by_id is not None:
        # The list bit alone says "suspended"; this says why, so the verdict is "superseded".
        superseded_by = label_url(current_settings().public_base_url, label.superseded_by_id)
    return LedgerEvidence(
        entry=bytes(entry.body),
        index=label.ledger_seq,
        size=checkpoint.size,
        proof=tuple(proof.hashes),
        checkpoint=checkpoint.note,
        superseded_by=superseded_by,
    )


def label_trust(label: Label) -> TrustBundle:
    """Everything needed to verify ``label`` offline, from the models' own kit values, and to
    ask whether it is recognised in another region: every scheme's region, the mappings in
    force from the label's scheme and the target rule versions they recompute under."""
    evidence = _ledger_evidence(label)
    recognition = recognition_context(label.rule_version.rule.scheme.code)
    return TrustBundle(
        bodies=(label.body.trusted(),),
        rules=(label.rule_version.trusted(), *recognition.rules),
        status_lists=_status_lists(label, current_settings().public_base_url),
        log_key=get_log_verifier_key(),
        ledger={} if evidence is None else {label.id: evidence},
        schemes=recognition.schemes,
        mappings=recognition.mappings,
    )


def label_trust_bundle(label: Label) -> dict[str, Any]:
    """Everything needed to verify ``label`` offline, as trust-bundle JSON."""
    return label_trust(label).to_json()


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


def trust_for(credential: Any) -> TrustBundle:
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
        return label_trust(label)
    body = _issuer_body(credential)
    return TrustBundle() if body is None else TrustBundle(bodies=(body.trusted(),))


def verify_credential(credential: Any, *, trust: TrustBundle | None = None) -> VerificationReport:
    """Verify a presented credential against the register, every check required.

    A bundle for a label of the register carries that label's ledger entry, whose digest must
    equal the presented credential's: a credential altered after issuance, or one forged with a
    real label's id, fails the ledger check even if its signature came from a leaked key.
    """
    trust = trust_for(credential) if trust is None else trust
    return verify_label(credential, trust=trust, now=current_clock().now())

"""Verification against the register: a trust bundle built from the database, then the kit.

The same JSON trust bundle serves both ways: the registry verifies online with it, and a buyer
downloads it (``GET /api/v1/labels/{id}/trust-bundle``) to verify the label fully offline with
``carbonlabel verify --trust``. The registry adds nothing the offline verifier cannot check.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from credentials import (
    CredentialError,
    PublicKey,
    TrustBundle,
    VerificationReport,
    decimal_text,
    label_url,
    normalize_label_id,
    public_key_from_did,
    verify_label,
)
from registry.bodies.models import (
    Accreditation,
    AccreditationStatus,
    BodyKey,
    CertificationBody,
)
from registry.clock import current_clock
from registry.config import current_settings
from registry.db import db
from registry.labels.models import Label, StatusListRecord
from registry.labels.status_lists import get_status_list, list_url
from registry.ledger.models import LedgerEntry
from registry.ledger.services import (
    format_entry_time,
    get_log_verifier_key,
    inclusion_proof,
    latest_checkpoint,
)
from registry.schemes.models import RuleVersion

__all__ = ["label_trust_bundle", "trust_bundle_for", "verify_credential"]


def _time(value: Any) -> str | None:
    return None if value is None else format_entry_time(value)


def _body_json(body: CertificationBody) -> dict[str, Any]:
    return {
        "name": body.name,
        "keys": [
            {
                "publicKeyMultibase": k.public_key_multibase,
                "activeFrom": _time(k.active_from),
                "activeUntil": _time(k.retired_at),
            }
            for k in body.keys
        ],
        "accreditations": [
            {
                "scheme": a.scheme.code,
                "categories": list(a.categories),
                "validFrom": _time(a.valid_from),
                "validUntil": _time(_covered_until(a)),
            }
            for a in body.accreditations
        ],
    }


def _covered_until(accreditation: Accreditation) -> datetime | None:
    """The end of what the accreditation covers: its period, cut short by a suspension or
    withdrawal that is still in effect."""
    end = accreditation.valid_until
    if accreditation.status is not AccreditationStatus.ACTIVE:
        cut = accreditation.status_changed_at
        if cut is not None and (end is None or cut < end):
            end = cut
    return end


def _rule_json(rv: RuleVersion) -> dict[str, Any]:
    return {
        "scheme": rv.rule.scheme.code,
        "ruleId": rv.rule.code,
        "version": rv.version,
        "category": rv.rule.category,
        "declaredUnit": rv.declared_unit,
        "thresholds": dict(zip("ABCD", map(decimal_text, rv.thresholds.as_tuple()), strict=True)),
        "inForceFrom": _time(rv.in_force_from),
        "inForceUntil": _time(rv.in_force_until),
    }


def _status_lists_json(label: Label, base_url: str) -> dict[str, Any]:
    lists: dict[str, Any] = {}
    for list_id in (label.revocation_list_id, label.suspension_list_id):
        record: StatusListRecord = get_status_list(list_id)
        if record.credential is not None:
            lists[list_url(base_url, list_id)] = json.loads(record.credential)
    return lists


def _ledger_json(label: Label) -> dict[str, Any] | None:
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
    evidence = {
        "entry": bytes(entry.body).decode("utf-8"),
        "index": label.ledger_seq,
        "size": checkpoint.size,
        "proof": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
        "checkpoint": checkpoint.note,
    }
    if label.superseded_by_id is not None:
        # The list bit alone says "suspended"; this says why, so the verdict is "superseded".
        base = current_settings().public_base_url
        evidence["supersededBy"] = label_url(base, label.superseded_by_id)
    return evidence


def label_trust_bundle(label: Label) -> dict[str, Any]:
    """Everything needed to verify ``label`` offline, as trust-bundle JSON."""
    base = current_settings().public_base_url
    evidence = _ledger_json(label)
    return {
        "bodies": [_body_json(label.body)],
        "rules": [_rule_json(label.rule_version)],
        "statusLists": _status_lists_json(label, base),
        "logKey": get_log_verifier_key(),
        "ledger": {} if evidence is None else {label.id: evidence},
    }


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


def trust_bundle_for(credential: Any) -> dict[str, Any]:
    """The register's trust bundle for whatever ``credential`` claims to be.

    For a label the register holds, the full bundle (its status lists and ledger evidence
    included). For anything else, only what the register knows of the claimed issuer: such a
    credential can at best pass the checks that do not need the register, and its report says
    which ones were not made.
    """
    if not isinstance(credential, Mapping):
        return {}
    label = _label_of(credential)
    if label is not None:
        return label_trust_bundle(label)
    body = _issuer_body(credential)
    return {"bodies": [_body_json(body)]} if body is not None else {}


def verify_credential(credential: Any) -> VerificationReport:
    """Verify a presented credential against the register, every check required.

    A bundle for a label of the register carries that label's ledger entry, whose digest must
    equal the presented credential's: a credential altered after issuance, or one forged with a
    real label's id, fails the ledger check even if its signature came from a leaked key.
    """
    bundle = TrustBundle.from_json(trust_bundle_for(credential))
    return verify_label(credential, trust=bundle, now=current_clock().now())

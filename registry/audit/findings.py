"""Audit findings over the stored ledger, for ``flask audit run`` and ``/api/v1/audit/findings``.

The findings come from the entries as stored (so they catch rows written around the API), by
the kit's :func:`credentials.find_findings`, plus two the registry alone can make:

- ``tampered_entry``: what :func:`registry.ledger.verification.verify_ledger` finds wrong with
  the stored bytes, leaf hashes, nodes and checkpoints (named by entry where it can be);
- ``state_mismatch``: each row that :func:`registry.ledger.state.verify_state` finds differing
  from the ledger (its comparison, not a second one), with the label's entries as evidence.

GTINs: ``label.issued`` does not carry one. The GTIN used is the one in the label's stored
credential, and only when that credential's digest is the ``credentialDigest`` its issuance
entry states, so the evidence is still the ledger's.

Nothing here writes: a request computes the findings and returns them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from credentials import (
    AuditSettings,
    Finding,
    FindingKind,
    credential_digest,
    find_findings,
    make_finding,
)
from registry.auth.services import Principal
from registry.db import db
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_ledger, verify_state

__all__ = ["AuditReport", "run_audit", "visible_findings"]

_BATCH = 2000
_ENTRY = re.compile(r"^entry (\d+)\b")
_LABEL_ROW = re.compile(r"^label ([0-9A-Z]+):")


@dataclass(frozen=True, slots=True)
class AuditReport:
    entries: int
    findings: tuple[Finding, ...]


def _stored_entries() -> Iterator[bytes]:
    stmt = select(LedgerEntry.body).order_by(LedgerEntry.seq).execution_options(yield_per=_BATCH)
    with db.session.execute(stmt) as result:
        for body in result.scalars():
            yield bytes(body)


def _gtins(digests: dict[str, str]) -> dict[str, str]:
    """Label id -> GTIN, from stored credentials whose digest the ledger states."""
    out: dict[str, str] = {}
    rows = db.session.execute(
        select(Label.id, Label.credential).execution_options(yield_per=_BATCH)
    )
    for label_id, document in rows:
        try:
            credential = json.loads(document)
            gtin = credential["credentialSubject"]["product"].get("gtin")
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # an unreadable credential is a state mismatch, reported below
        if (
            isinstance(gtin, str)
            and label_id in digests
            and credential_digest(credential) == digests[label_id]
        ):
            out[label_id] = gtin
    return out


def run_audit(*, settings: AuditSettings | None = None) -> AuditReport:
    """Every finding over the stored ledger and tables, in a deterministic order."""
    # The GTIN evidence needs the digests the entries state, so the entries are read twice:
    # once for the state, once with the GTINs (both streamed, never held whole).
    _, state = find_findings(_stored_entries(), settings=settings)
    digests = {i: label.credential_digest for i, label in state.labels.items()}
    findings, state = find_findings(_stored_entries(), gtins=_gtins(digests), settings=settings)
    integrity = verify_ledger()
    for problem in integrity.problems:
        match = _ENTRY.match(problem)
        findings.append(
            make_finding(
                FindingKind.TAMPERED_ENTRY,
                f"ledger integrity: {problem}",
                () if match is None else (int(match.group(1)),),
            )
        )
    for mismatch in verify_state().mismatches:
        match = _LABEL_ROW.match(mismatch)
        label = None if match is None else state.labels.get(match.group(1))
        findings.append(
            make_finding(
                FindingKind.STATE_MISMATCH,
                f"stored state differs from the ledger: {mismatch}",
                () if label is None else (label.seq,),
                () if label is None else (label.scheme,),
            )
        )
    findings.sort(key=lambda f: (f.evidence[:1], list(FindingKind).index(f.kind), f.message))
    return AuditReport(integrity.size, tuple(findings))


def visible_findings(
    findings: tuple[Finding, ...], principal: Principal | None, scheme: str | None
) -> list[Finding]:
    """What ``principal`` may see (``None`` is the operator's console), under ``scheme`` if
    given. A regulator sees a finding only if every scheme its evidence is under is one of its
    own: a finding under no scheme (a body's status, the ledger's hashes) is the operator's."""
    out = []
    for finding in findings:
        if scheme is not None and scheme not in finding.schemes:
            continue
        if principal is not None and not all(
            principal.oversees(s) for s in finding.schemes or ("",)
        ):
            continue
        out.append(finding)
    return out

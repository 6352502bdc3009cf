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
    CredentialError,
    Finding,
    FindingKind,
    LedgerState,
    credential_digest,
    entry_schemes,
    find_findings,
    make_finding,
    parse_entry,
)
from registry.auth.services import Principal
from registry.db import db
from registry.errors import ForbiddenError
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_ledger, verify_state

__all__ = ["AuditReport", "require_scheme_access", "run_audit", "visible_findings"]

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


def _gtins(state: LedgerState) -> dict[str, str]:
    """Label id -> GTIN, from stored credentials whose digest the ledger states."""
    digests = {i: label.credential_digest for i, label in state.labels.items()}
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


def _schemes_at(seqs: tuple[int, ...], state: LedgerState) -> tuple[str, ...]:
    """The schemes the stored entries at ``seqs`` state (as stored: a rewritten entry's own
    claim), so a regulator sees a tampered entry under its schemes."""
    if not seqs:
        return ()
    out: set[str] = set()
    rows = db.session.execute(select(LedgerEntry.body).where(LedgerEntry.seq.in_(seqs)))
    for body in rows.scalars():
        try:
            out.update(entry_schemes(parse_entry(bytes(body)), state))
        except CredentialError:
            continue  # an unreadable entry is under no scheme: the operator's finding
    return tuple(sorted(out))


def run_audit(*, settings: AuditSettings | None = None) -> AuditReport:
    """Every finding over the stored ledger and tables, in a deterministic order."""
    findings, state = find_findings(_stored_entries(), gtins=_gtins, settings=settings)
    integrity = verify_ledger()
    for problem in integrity.problems:
        match = _ENTRY.match(problem)
        evidence = () if match is None else (int(match.group(1)),)
        findings.append(
            make_finding(
                FindingKind.TAMPERED_ENTRY,
                f"ledger integrity: {problem}",
                evidence,
                _schemes_at(evidence, state),
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


def require_scheme_access(principal: Principal, scheme: str | None) -> None:
    """Another scheme's findings are a 403 that says which schemes the token oversees."""
    if scheme is not None and not principal.oversees(scheme):
        oversees = ", ".join(sorted(principal.schemes)) or "no scheme"
        raise ForbiddenError(f"This token oversees {oversees}, not {scheme}.")


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

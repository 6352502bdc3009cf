"""Labels of a body that holds its own key: the registry prepares, the body signs, the registry
checks and ledgers.

The preparation is issuance itself (:func:`~registry.labels.issuance.issue_held_label`)
stopped before the signature: every check made, the label id and both status entries drawn,
the credential built with the grade the registry computed. What was drawn, the request as sent
and the unsigned credential are kept in a :class:`LabelPreparation` row, never updated, for
:data:`PREPARATION_LIFETIME`: the drawn status entries are the one thing that must be reserved
(two labels must never share one), and keeping the row is simpler and sounder than a stateless
token that would have to carry and authenticate all of that.

The submission locks the row (so two submissions of one preparation wait for each other), and
runs the stored request through issuance again, on the state as it is now, at the prepared
instant and with the reserved values: the registry rebuilds the credential itself. The body's
document must be that credential apart from its proof (compared in RFC 8785 form, every differing
member named), and its one proof the proof the preparation asked for, verifying under the body's
own key. Then it is stored and ledgered as any label. A preparation whose label exists answers
the same signed credential again (a replay) and refuses any other.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from credentials import (
    CredentialError,
    PublicKey,
    canonicalize_jcs,
    credential_digest,
    verify_document,
)
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.bodies.models import BodyKey
from registry.clock import utcnow
from registry.db import db
from registry.errors import (
    ConflictError,
    NotFoundError,
    PreparationExpiredError,
    SignedCredentialAlteredError,
    SignedProofInvalidError,
    ValidationFailedError,
)
from registry.labels.issuance import IssueResult, LabelRequest, Reservation, issue_held_label
from registry.labels.models import Label, LabelPreparation
from registry.labels.schemas import label_request_schema

__all__ = [
    "PREPARATION_KEPT",
    "PREPARATION_LIFETIME",
    "get_preparation",
    "prepare_label",
    "prune_preparations",
    "submit_signed_label",
]

#: How long a preparation holds its label id and status entries. Short: the credential states
#: the prepared instant as its issuance, so the gap to the ledger entry stays small.
PREPARATION_LIFETIME = timedelta(minutes=15)
#: How long an expired preparation that made no label is kept: a late submission is told it
#: expired (not that it never was) for this long, then ``prune_preparations`` removes it.
PREPARATION_KEPT = timedelta(days=7)
# The members of the proof the preparation asks for; any other (expires, previousProof, …) is
# something the registry did not prepare.
_PROOF_MEMBERS = frozenset(
    {"type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"}
)


def prepare_label(
    principal: Principal, request: LabelRequest, *, sent: dict[str, Any]
) -> LabelPreparation:
    """Check and prepare ``request`` (``sent`` as the client sent it) for the principal's body,
    which signs it itself; nothing is ledgered."""
    held = issue_held_label(principal, request)
    reservation = held.reservation
    preparation = LabelPreparation(
        id=secrets.token_hex(16),
        body_id=principal.body_id,
        key=held.key,
        key_id=held.key.id,
        label_id=reservation.label_id,
        request=sent,
        credential=json.dumps(held.credential, ensure_ascii=False, separators=(",", ":")),
        revocation_list_id=reservation.revocation[0],
        revocation_index=reservation.revocation[1],
        suspension_list_id=reservation.suspension[0],
        suspension_index=reservation.suspension[1],
        prepared_at=reservation.at,
        expires_at=utcnow() + PREPARATION_LIFETIME,
    )
    db.session.add(preparation)
    db.session.flush()
    return preparation


def get_preparation(
    principal: Principal, preparation_id: str, *, lock: bool = False
) -> LabelPreparation:
    """A preparation of the principal's body; another body's is not found."""
    principal.require(Role.CERTIFIER)
    stmt = select(LabelPreparation).where(
        LabelPreparation.id == preparation_id, LabelPreparation.body_id == principal.body_id
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"Your body has no preparation {preparation_id!r}.")
    return found


def submit_signed_label(principal: Principal, preparation_id: str, signed: Any) -> IssueResult:
    """Issue the prepared label with the body's signature; a replay answers the same label."""
    preparation = get_preparation(principal, preparation_id, lock=True)
    if not isinstance(signed, dict):
        raise ValidationFailedError({"credential": ["Send the signed credential, a JSON object."]})
    if isinstance(signed.get("credential"), dict) and "signing" in signed:
        raise ValidationFailedError(
            {"credential": ["This is the preparation: send what carbonlabel sign made of it."]}
        )
    issued = db.session.get(Label, preparation.label_id)
    if issued is not None:
        if issued.credential_digest == credential_digest(signed):
            return IssueResult(issued, created=False)
        raise ConflictError(
            f"Preparation {preparation.id} was already submitted: it issued label {issued.id}. "
            "Prepare again for another label."
        )
    if utcnow() >= preparation.expires_at:
        raise PreparationExpiredError(
            f"Preparation {preparation.id} expired at {preparation.expires_at:%Y-%m-%dT%H:%M:%SZ}; "
            "prepare the credential again."
        )
    prepared: dict[str, Any] = json.loads(preparation.credential)
    altered = _differences(
        {k: v for k, v in prepared.items() if k != "proof"},
        {k: v for k, v in signed.items() if k != "proof"},
    )
    if altered:
        raise SignedCredentialAlteredError(
            "The signed credential is not the prepared one; changed: " + ", ".join(altered) + ".",
            members=altered,
        )
    expected = preparation.proof_options

    def attach(key: BodyKey, unsigned: dict[str, Any]) -> dict[str, Any]:
        if canonicalize_jcs(unsigned) != canonicalize_jcs(prepared):
            # The state moved under the preparation (a rule or the body changed): what the
            # registry would issue now is not what the body signed.
            raise ConflictError(
                "The registry would no longer issue the prepared credential as it is; "
                "prepare again."
            )
        proof = _checked_proof(signed.get("proof"), expected)
        document = {**unsigned, "proof": proof}
        public = PublicKey.from_multibase(key.public_key_multibase)
        try:
            verify_document(document, key_resolver=lambda _method: public)
        except CredentialError as exc:
            raise SignedProofInvalidError(
                f"The proof does not verify under {key.verification_method}: {exc}"
            ) from exc
        return document

    reservation = Reservation(
        label_id=preparation.label_id,
        revocation=(preparation.revocation_list_id, preparation.revocation_index),
        suspension=(preparation.suspension_list_id, preparation.suspension_index),
        at=preparation.prepared_at,
        key_id=preparation.key_id,
    )
    request = label_request_schema.load(preparation.request)
    held = issue_held_label(principal, request, reservation=reservation, signer=attach)
    if held.result is None:
        raise RuntimeError("a submission with a signer is ledgered")
    return held.result


def prune_preparations(*, now: datetime) -> int:
    """Remove the preparations that expired more than :data:`PREPARATION_KEPT` before ``now``
    and made no label; how many. Their label ids and status entries are not drawn again (the
    lists' draws only move on), so nothing else changes."""
    done = db.session.execute(
        delete(LabelPreparation)
        .where(
            LabelPreparation.expires_at < now - PREPARATION_KEPT,
            ~exists().where(Label.id == LabelPreparation.label_id),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def _checked_proof(proof: Any, expected: dict[str, str]) -> dict[str, Any]:
    """The one proof, with exactly the members and values the preparation asked for."""
    if not isinstance(proof, dict):
        raise SignedProofInvalidError(
            "The signed credential must carry one proof (an object), made with the options "
            "the preparation gives under signing."
        )
    unknown = sorted(set(proof) - _PROOF_MEMBERS)
    if unknown:
        raise SignedProofInvalidError(
            "The proof has members the preparation did not ask for: " + ", ".join(unknown) + "."
        )
    wrong = [name for name, value in expected.items() if proof.get(name) != value]
    if wrong:
        raise SignedProofInvalidError(
            "The proof is not made as the preparation asks: "
            + "; ".join(f"{name} must be {expected[name]!r}" for name in wrong)
            + "."
        )
    return proof


def _differences(prepared: Any, signed: Any, path: str = "") -> list[str]:
    """The paths (``credentialSubject.grade``, ``credentialStatus[0]``) where ``signed``
    differs from ``prepared``, compared member by member in RFC 8785 form."""
    if isinstance(prepared, dict) and isinstance(signed, dict):
        found: list[str] = []
        for name in sorted(set(prepared) | set(signed)):
            where = f"{path}.{name}" if path else name
            if name not in prepared or name not in signed:
                found.append(where)
            else:
                found += _differences(prepared[name], signed[name], where)
        return found
    if isinstance(prepared, list) and isinstance(signed, list) and len(prepared) == len(signed):
        return [
            diff
            for n, (a, b) in enumerate(zip(prepared, signed, strict=True))
            for diff in _differences(a, b, f"{path}[{n}]")
        ]
    try:
        same = canonicalize_jcs(prepared) == canonicalize_jcs(signed)
    except CredentialError:
        same = False
    return [] if same else [path or "(the document)"]

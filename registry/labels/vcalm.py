"""A verification report in the shape W3C VCALM's verifyCredential answers with.

``{verified, credential?, problemDetails[], results{proof[], credentialStatus[], validFrom,
validUntil}}``, plus our own ``verdict`` and ordered ``report`` alongside. Problem types are
the ones the VC specifications define where one fits (VC Data Model 2.0 §7.2, Data Integrity
§4.7, Bitstring Status List §3.5); the rest are the registry's, one per check outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credentials import CheckName, CheckStatus, Outcome, VerificationReport
from registry.errors import problem_type

__all__ = ["PROBLEM_TYPES", "VERIFICATION_PROBLEM_SLUGS", "vcalm_result"]

_VC = "https://www.w3.org/TR/vc-data-model#"
_DI = "https://w3id.org/security#"
_STATUS = "https://www.w3.org/ns/credentials/status-list#"

#: Outcomes with a problem type of the VC specifications.
PROBLEM_TYPES: Mapping[Outcome, str] = {
    Outcome.UNREADABLE: _VC + "PARSING_ERROR",
    Outcome.MALFORMED: _VC + "MALFORMED_VALUE_ERROR",
    Outcome.PROOF_INVALID: _DI + "PROOF_VERIFICATION_ERROR",
    Outcome.NO_ISSUER_PROOF: _DI + "PROOF_VERIFICATION_ERROR",
    Outcome.STATUS_UNAVAILABLE: _STATUS + "STATUS_RETRIEVAL_ERROR",
    Outcome.STATUS_LIST_INVALID: _STATUS + "STATUS_VERIFICATION_ERROR",
}
#: The registry's own problem types for the other failed outcomes (each has a page).
VERIFICATION_PROBLEM_SLUGS: Mapping[Outcome, str] = {
    outcome: outcome.value.replace("_", "-")
    for outcome in Outcome
    if outcome is not Outcome.OK and outcome not in PROBLEM_TYPES
}
_SET_BITS = frozenset({Outcome.REVOKED, Outcome.SUSPENDED, Outcome.SUPERSEDED})


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _problem_type(outcome: Outcome) -> str:
    return PROBLEM_TYPES.get(outcome) or problem_type(VERIFICATION_PROBLEM_SLUGS[outcome])


def vcalm_result(
    report: VerificationReport,
    credential: Mapping[str, Any],
    *,
    results: bool = True,
    problems: bool = True,
    echo: bool = False,
) -> dict[str, Any]:
    """The VCALM answer for ``report`` on ``credential``; ``results``, ``problems`` and
    ``echo`` are the options returnResults, returnProblemDetails and returnCredential."""
    answer: dict[str, Any] = {"verified": report.verified}
    if echo:
        answer["credential"] = credential
    if problems:
        answer["problemDetails"] = [
            {
                "type": _problem_type(check.outcome),
                "title": check.outcome.value.upper(),
                "detail": f"{check.name.value}: {check.reason}",
                "check": check.name.value,
                "status": check.status.value,
                "outcome": check.outcome.value,
                "message": check.message,
                "params": dict(check.params),
            }
            for check in report.checks
            if check.status is not CheckStatus.PASSED
        ]
    if results:
        answer["results"] = _results(report, credential)
    answer["verdict"] = report.verdict.value
    answer["report"] = report.to_json()
    return answer


def _results(report: VerificationReport, credential: Mapping[str, Any]) -> dict[str, Any]:
    proof_ok = report.check(CheckName.PROOF).status is CheckStatus.PASSED
    found: dict[str, Any] = {
        "proof": [{"verified": proof_ok, "input": p} for p in _items(credential.get("proof"))],
        "credentialStatus": [],
    }
    for entry in _items(credential.get("credentialStatus")):
        purpose = entry.get("statusPurpose") if isinstance(entry, Mapping) else None
        name = {"revocation": CheckName.REVOCATION, "suspension": CheckName.SUSPENSION}.get(
            purpose if isinstance(purpose, str) else ""
        )
        check = None if name is None else report.check(name)
        item: dict[str, Any] = {
            "verified": check is not None and check.status is CheckStatus.PASSED,
            "input": entry,
        }
        if check is not None and (check.outcome in _SET_BITS or check.outcome is Outcome.OK):
            item["value"] = 1 if check.outcome in _SET_BITS else 0
        found["credentialStatus"].append(item)
    validity = report.check(CheckName.VALIDITY)
    for member, wrong in (("validFrom", Outcome.NOT_YET_VALID), ("validUntil", Outcome.EXPIRED)):
        value = credential.get(member)
        if isinstance(value, str):
            # Each bound on its own: an expired credential's validFrom still holds.
            holds = (
                proof_ok
                and validity.outcome is not wrong
                and (
                    validity.status is CheckStatus.PASSED
                    or validity.outcome in (Outcome.NOT_YET_VALID, Outcome.EXPIRED)
                )
            )
            found[member] = {"verified": holds, "input": value}
    return found

"""Human wording of a verification report: message ids, their parameters, English templates.

A report never carries prose it decides by. Each check holds a machine outcome (what the
verdict is computed from) and a message id with string parameters (what a person reads).
Message ids are ``<check>.<what>`` or, for wording shared by several checks, ``check.<what>``
and ``verdict.<verdict>``/``report.<note>`` for the headline. Ids are stable: a page
translates them (the registry through Flask-Babel) by passing its own catalogue to
:func:`render`; a catalogue maps every id to a :meth:`str.format` template over the same
parameter names. Parameters are plain strings; dates are ISO 8601 (``2029-02-28T23:59:59Z``)
so a page can reformat them for its locale. ``detail`` parameters carry the kit's English
diagnostic for developers and may be left out of a translation.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from credentials.errors import CredentialError

__all__ = ["ENGLISH", "MessageError", "render", "template_parameters"]


class MessageError(CredentialError):
    """A message id has no template, or a template names a parameter that was not supplied."""


_PURPOSES: Final = {"revocation": "revoked", "suspension": "suspended"}

_ENGLISH: dict[str, str] = {
    # wording shared by checks that could not be made
    "check.unreadable": "not checked: the credential could not be read",
    "check.contents_untrusted": "not checked: none of the document's contents can be trusted",
    "check.trust_not_given": "trust was not checked: no trust bundle given",
    "check.issuance_time_unknown": (
        "issuance time unknown: no valid issuer proof with a creation time"
    ),
    "check.issuer_not_registered": "not checked: the issuer is not a registered body",
    "check.rule_unknown": "not checked: rule {rule_id} v{version} of {scheme} is unknown",
    "structure.ok": "a well-formed CarbonLabelCredential",
    "structure.malformed": "the credential is malformed: {detail}",
    "proof.ok": "{cryptosuite} proof by the issuer's key verifies",
    "proof.invalid": "the proof does not verify: {detail}",
    "proof.no_issuer_proof": "no proof was made with the issuer's key",
    "issuer_key.ok": "issued by {body} with a key active at issuance",
    "issuer_key.not_in_bundle": (
        "this trust bundle does not cover the issuer {issuer} (key {key}): the registry's "
        "full bundle lists every registered body"
    ),
    "issuer_key.name_mismatch": "the issuer name is not that of the registered body {body}",
    "issuer_key.key_not_active": "{body}'s key was not active at issuance ({issued_at})",
    "accreditation.ok": "accredited for {scheme} / {category} at issuance",
    "accreditation.not_accredited": "{body} was not accredited for {scheme}/{category}",
    "rule.ok": "rule {rule_id} v{version} was in force at issuance",
    "rule.unknown": "this trust bundle does not cover rule {rule_id} v{version} of {scheme}",
    "rule.not_in_force": "rule version {version} was not in force at issuance",
    "rule.declared_unit_mismatch": "the rule's declared unit is {rule_unit}, not the label's",
    "grade.ok": "grade {grade} matches the rule's thresholds",
    "grade.mismatch": "the rule's thresholds give grade {expected}, the label says {grade}",
    "validity.ok": "valid until {valid_until}",
    "validity.not_yet_valid": "not valid before {valid_from}",
    "validity.expired": "expired on {valid_until}",
    "ledger.ok": "entry {index} of a signed checkpoint of {size} entries",
    "ledger.cosigned": (
        "entry {index} of a signed checkpoint of {size} entries, co-signed by {count} "
        "witness(es) ({names}), the newest at {cosigned_at}"
    ),
    "ledger.not_cosigned": (
        "entry {index} of a signed checkpoint of {size} entries, not co-signed by any of the "
        "bundle's witnesses"
    ),
    "ledger.missing": "no ledger inclusion proof or log key was given",
    "ledger.invalid": "ledger evidence does not verify: {detail}",
    "ledger.size_mismatch": "the inclusion proof is not for the checkpoint's tree size",
    "ledger.not_issuance": "the ledger entry is not a label issuance",
    "ledger.other_credential": "the ledger entry records a different credential",
    "suspension.superseded": "superseded by {superseded_by}",
    # a Data Integrity document that is not a label (``carbonlabel verify``)
    "document.proofs_ok": "{count} proof(s) verify",
    "document.malformed": "{detail}",
    "document.validFrom_ok": "valid from {at}",
    "document.validUntil_ok": "valid until {at}",
    # the headline
    "verdict.genuine": "genuine and current",
    "verdict.signer_not_checked": (
        "the signature is intact, but who signed it was not checked against the register"
    ),
    "verdict.suspended": "suspended",
    "verdict.revoked": "revoked",
    "verdict.superseded": "superseded by a newer label",
    "verdict.expired": "expired",
    "verdict.not_yet_valid": "not yet valid",
    "verdict.not_genuine": "not genuine",
    "verdict.unverified": "not verified: some checks could not be made",
    "report.contents_untrusted": (
        "the document was altered after signing, or is not signed by its issuer: "
        "none of its contents can be trusted"
    ),
    "report.trust_not_checked": (
        "trust was not checked (no trust bundle): who signed it, their accreditation, the rule, "
        "the grade, the status and the ledger were not checked against the register"
    ),
}
# recognition for a region (credentials.recognition): the answer, then each condition
_ENGLISH |= {
    "recognition.not_verified": "not checked for {region}: the label itself did not verify",
    "recognition.native": "issued under a scheme of {region}: valid there as it stands",
    "recognition.recognised": "recognised in {region} under {scheme}",
    "recognition.not_recognised": "not recognised in {region}: a condition of the mapping fails",
    "recognition.no_mapping": "not recognised in {region}: no recognition arrangement covers it",
    "recognition.source.ok": "rule {rule} version {version}, grade {grade}: covered",
    "recognition.source.outside": (
        "rule {rule} version {version}, grade {grade} is outside what the mapping covers "
        "(rules {rules}, versions {versions}, grades {grades})"
    ),
    "recognition.effective.ok": "the mapping is in effect",
    "recognition.effective.outside": "the mapping is not in effect now (from {from} until {until})",
    "recognition.standard.ok": "accounting standard {standard} accepted",
    "recognition.standard.other": (
        "accounting standard {standard} is not one the mapping accepts ({allowed})"
    ),
    "recognition.boundary.ok": "system boundary {boundary} accepted",
    "recognition.boundary.other": "system boundary {boundary} is not accepted (only {allowed})",
    "recognition.period_age.ok": "the reference period ended {days} days ago (at most {max_days})",
    "recognition.period_age.too_old": (
        "the reference period ended {days} days ago, more than the {max_days} allowed"
    ),
    "recognition.accreditation.ok": "the issuer's accreditation covers the category",
    "recognition.accreditation.outside": (
        "the issuer's accreditation ({categories}) does not cover {allowed}"
    ),
    "recognition.assurance.ok": "assurance {assurance} (at least {minimum})",
    "recognition.assurance.too_low": "assurance {assurance} is below the {minimum} required",
    "recognition.assurance.not_stated": "no assurance level is stated; {minimum} is required",
    "recognition.issued.ok": "issued within the mapping's window",
    "recognition.issued.outside": "issued {issued}, outside the mapping's window ({from}–{until})",
    "recognition.validity.ok": "valid for {days} days (at most {max_days})",
    "recognition.validity.too_long": "valid for {days} days, longer than the {max_days} allowed",
    "recognition.unit.same": "the declared unit {unit} is the target rule's",
    "recognition.unit.converted": "converted from per {unit} to per {target_unit} (× 1/{factor})",
    "recognition.unit.mismatch": (
        "declared per {unit}, the target rule per {target_unit}, and the mapping states no "
        "conversion"
    ),
    "recognition.unit.target_unknown": (
        "the target rule {rule} version {version} is not in the trust bundle"
    ),
}
# when, why and by whom, from the change's own ledger entry (the bundle's status events)
_BY = {
    "certifier": "by the certification body that issued it",
    "operator": "by the registry operator",
    "regulator": "by a regulator of {schemes}",
}
for _purpose, _state in _PURPOSES.items():
    _ENGLISH |= {
        f"{_purpose}.{_state}_by_{_role}": f"{_state} since {{since}} {_who}: {{reason}}"
        for _role, _who in _BY.items()
    }
for _purpose, _state in _PURPOSES.items():
    _ENGLISH |= {
        f"{_purpose}.ok": f"not {_state} as of {{as_of}}",
        f"{_purpose}.{_state}": _state,
        f"{_purpose}.no_entry": f"the credential has no {_purpose} status entry",
        f"{_purpose}.list_unavailable": f"the {_purpose} status list was not available",
        f"{_purpose}.list_invalid": f"the {_purpose} status list is unusable: {{detail}}",
    }

#: Message id → English template: the kit's own wording and the key set a translation covers.
ENGLISH: Final[Mapping[str, str]] = MappingProxyType(_ENGLISH)


def template_parameters(template: str) -> frozenset[str]:
    """The parameter names a :meth:`str.format` template refers to."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def render(
    message: str, params: Mapping[str, str], catalogue: Mapping[str, str] | None = None
) -> str:
    """``message`` worded from ``catalogue`` (English by default), falling back to English.

    Raise :class:`MessageError` for an id no catalogue knows or a parameter not supplied:
    a missing word must be found by a test, not shown to a reader as ``{body}``.
    """
    template = (catalogue or ENGLISH).get(message) or ENGLISH.get(message)
    if template is None:
        raise MessageError(f"no template for message {message!r}")
    missing = template_parameters(template) - set(params)
    if missing:
        raise MessageError(f"message {message!r} needs {', '.join(sorted(missing))}")
    # format_map with only the named fields: a parameter value is never itself interpreted.
    return template.format_map({name: params[name] for name in template_parameters(template)})

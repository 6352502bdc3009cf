"""W3C VC-API request shapes, translated to the registry's own (and validated by its schemas).

An issue request carries an unsecured CarbonLabelCredential whose subject states the product,
the footprint and the rule; the registry owns everything else (id, issuer, validFrom, grade,
status entries, proof), so a request that sets those is refused rather than silently
overridden. A status request names the credential and a purpose with the new boolean status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credentials import CARBON_LABEL_V1, CREDENTIALS_V2, CredentialError, normalize_label_id
from registry.errors import ValidationFailedError
from registry.labels.issuance import LabelRequest
from registry.labels.schemas import label_request_schema
from registry.labels.services import StatusAction

__all__ = ["issue_request_from_vc_api", "status_action_from_vc_api"]

_SERVER_OWNED = ("id", "issuer", "validFrom", "credentialStatus", "proof", "relatedResource")
_ALLOWED = {"@context", "type", "credentialSubject", "validUntil", *_SERVER_OWNED}


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationFailedError({where: ["Must be a JSON object."]})
    return value


def _pick(source: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    return {ours: source[theirs] for theirs, ours in mapping.items() if theirs in source}


def issue_request_from_vc_api(body: Any) -> tuple[LabelRequest, dict[str, Any]]:
    """The label request in a VC-API ``/credentials/issue`` body, and its native JSON form."""
    request = _obj(body, "body")
    unknown = set(request) - {"credential", "options"}
    if unknown:
        raise ValidationFailedError({key: ["Unknown field."] for key in sorted(unknown)})
    credential = _obj(request.get("credential"), "credential")
    errors: dict[str, list[str]] = {}
    if credential.get("@context") != [CREDENTIALS_V2, CARBON_LABEL_V1]:
        errors["credential.@context"] = [f"Must be [{CREDENTIALS_V2!r}, {CARBON_LABEL_V1!r}]."]
    types = credential.get("type")
    if not isinstance(types, list) or "CarbonLabelCredential" not in types:
        errors["credential.type"] = ["Must include VerifiableCredential, CarbonLabelCredential."]
    for key in credential:
        if key in _SERVER_OWNED:
            errors[f"credential.{key}"] = ["Set by the registry; leave it out."]
        elif key not in _ALLOWED:
            errors[f"credential.{key}"] = ["Unknown field."]
    if errors:
        raise ValidationFailedError(errors)
    subject = _obj(credential.get("credentialSubject"), "credential.credentialSubject")
    extra = set(subject) - {"type", "product", "footprint", "rule", "grade", "supersedes"}
    if extra:
        raise ValidationFailedError(
            {f"credentialSubject.{key}": ["Unknown or registry-owned field."] for key in extra}
        )
    product = _obj(subject.get("product", {}), "credentialSubject.product")
    footprint = _obj(subject.get("footprint", {}), "credentialSubject.footprint")
    period = _obj(footprint.get("referencePeriod", {}), "footprint.referencePeriod")
    rule = _obj(subject.get("rule", {}), "credentialSubject.rule")
    manufacturer = product.get("manufacturer")
    native: dict[str, Any] = {
        "product": {
            **_pick(product, {"name": "name", "model": "model", "gtin": "gtin"}),
            **_pick(product, {"identifier": "identifiers"}),
            **(
                {"manufacturer": manufacturer.get("name")}
                if isinstance(manufacturer, Mapping)
                else {}
            ),
        },
        "footprint": {
            **_pick(
                footprint,
                {
                    "value": "value",
                    "declaredUnit": "declared_unit",
                    "declaredUnitAmount": "declared_unit_amount",
                    "systemBoundary": "system_boundary",
                },
            ),
            "reference_period": _pick(period, {"startDate": "start", "endDate": "end"}),
        },
        "rule": _pick(rule, {"scheme": "scheme", "ruleId": "rule", "ruleVersion": "version"}),
        **_pick(subject, {"grade": "grade"}),
        **_pick(credential, {"validUntil": "valid_until"}),
    }
    supersedes = subject.get("supersedes")
    if isinstance(supersedes, str):
        # The credential names what it supersedes by URL; the native API by label id.
        try:
            native["supersedes"] = normalize_label_id(supersedes.rstrip("/").rsplit("/", 1)[-1])
        except CredentialError:
            raise ValidationFailedError(
                {"credentialSubject.supersedes": ["Must be the URL of a label of this registry."]}
            ) from None
    loaded: LabelRequest = label_request_schema.load(native)
    return loaded, native


def status_action_from_vc_api(body: Any) -> tuple[str, StatusAction]:
    """The label and the action a VC-API ``/credentials/status`` body asks for."""
    request = _obj(body, "body")
    unknown = set(request) - {"credentialId", "credentialStatus", "status", "reason"}
    if unknown:
        raise ValidationFailedError({key: ["Unknown field."] for key in sorted(unknown)})
    credential_id = request.get("credentialId")
    status = request.get("status")
    entry = _obj(request.get("credentialStatus"), "credentialStatus")
    purpose = entry.get("statusPurpose")
    errors: dict[str, list[str]] = {}
    if not isinstance(credential_id, str) or not credential_id:
        errors["credentialId"] = ["The credential's id (its label URL) or the label id."]
    if not isinstance(status, bool):
        errors["status"] = ["Must be true (set) or false (clear)."]
    if purpose not in ("revocation", "suspension"):
        errors["credentialStatus.statusPurpose"] = ["Must be revocation or suspension."]
    if errors:
        raise ValidationFailedError(errors)
    if purpose == "revocation":
        if not status:
            raise ValidationFailedError(
                {"status": ["Revocation is final; a revocation status cannot be cleared."]}
            )
        action = StatusAction.REVOKE
    else:
        action = StatusAction.SUSPEND if status else StatusAction.REINSTATE
    return str(credential_id).rstrip("/").rsplit("/", 1)[-1], action

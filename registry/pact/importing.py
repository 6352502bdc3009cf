"""PACT ProductFootprint -> label request: the one inbound mapping (PACT in).

A certifier posts a footprint it verified (PACT Technical Specifications 3.0, or 2.x) with what
PACT does not carry: the rule version to grade under and, optionally, the system boundary,
the assurance level, the end of validity, the label it supersedes and the grade it expects.
:func:`label_request_from_pact` turns that into the :class:`LabelRequest` every door issues
through (``issue_label``); the footprint's ``id``, ``specVersion`` and (2.x) ``version`` ride
along as its :class:`PactSource`, signed in the credential and ledgered in ``label.issued``.

What maps (v2.x names in brackets): ``productNameCompany`` -> product name, ``companyName`` ->
manufacturer, ``productIds`` -> the GTIN (the first ``urn:gtin:`` with a valid check digit)
and the other product ids (every other URN, kept verbatim: a ``urn:gtin:`` whose check digit
is wrong is not taken for a GTIN the resolver would serve), ``pcf.declaredUnitOfMeasurement``
[``declaredUnit``] and ``pcf.declaredUnitAmount`` [``unitaryProductAmount``] -> the amount in
the rule version's declared unit (which must be the same PACT unit), ``pcfExcludingBiogenicUptake``
[``pCfExcludingBiogenic``] -> the footprint value, ``referencePeriodStart``/``End`` (PACT's
end is exclusive: an end at midnight is the day before) -> the reference period, the boundary
(``boundaryProcessesDescription`` when it names cradle-to-gate or cradle-to-grave, else the
request's ``system_boundary``), ``crossSectoralStandards`` [``crossSectoralStandardsUsed``]
(one must be the rule version's standard), the 2.x ``assurance.level``, and
``validityPeriodEnd`` (the label's end of validity unless the request states one).

Whatever cannot be mapped is refused with a 422 whose ``errors`` name the PACT member under
``footprint`` (``{"footprint": {"pcf": {"declaredUnitOfMeasurement": [...]}}}``), and so are the
registry's own refusals of a mapped value (:func:`registry.pact.refusals.pact_refusal`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from marshmallow import ValidationError

from credentials import (
    Assurance,
    Boundary,
    CredentialError,
    Grade,
    PactSource,
    Product,
    check_gtin,
    check_iri,
)
from registry.errors import ValidationFailedError
from registry.labels.issuance import MAX_VALIDITY, LabelRequest
from registry.labels.schemas import ProductSchema
from registry.pact.mapping import UNITS, cross_sectoral_standards
from registry.pact.versions import PACT_UNITS, V2_STANDARDS, PactNames, names_of
from registry.schemes.models import RuleVersion
from registry.schemes.services import find_rule_version

__all__ = [
    "MESSAGES",
    "PactLabelParams",
    "label_request_from_pact",
    "label_requests_from_pact",
]


_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_INSTANT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$",
    re.IGNORECASE,
)
_BOUNDARY = re.compile(r"cradle[\s_-]*to[\s_-]*(gate|grave)", re.IGNORECASE)
_MAX_TEXT = 500
_MAX_IDS = 20
#: The refusals people meet most, as templates (``str.format``): the portal shows them in the
#: reader's language, matching them by these (registry/portal/messages.py).
MESSAGES = {
    "missing": "Missing: a PACT footprint states {member}.",
    "decimal": 'Must be a decimal string such as "1.25" (PACT\'s Decimal), not {value}.',
    "instant": "Must be an RFC 3339 date-time, not {value}.",
    "unit": "{unit} is not a PACT declared unit.",
    "boundary": "Names neither cradle-to-gate nor cradle-to-grave (or both); state "
    "system_boundary beside the footprint.",
}


@dataclass(frozen=True, slots=True)
class PactLabelParams:
    """A from-PACT request as its schema loaded it: the footprint (raw JSON) and the rest."""

    footprint: Any
    scheme: str
    rule: str
    rule_version: str
    system_boundary: Boundary | None = None
    valid_until: datetime | None = None
    asserted_grade: Grade | None = None
    supersedes: str | None = None
    assurance: Assurance | None = None


class _UnmappableError(Exception):
    """One PACT member that cannot be mapped: its path under the footprint, and why."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = tuple(path)
        self.message = message


def _errors(path: Sequence[str | int], message: str) -> dict[str, Any]:
    """Marshmallow's nesting: ``{"footprint": {"pcf": {"x": [message]}}}``."""
    node: Any = [message]
    for part in reversed(path):
        node = {part: node}
    return node  # type: ignore[no-any-return]


def _member(obj: Mapping[str, Any], path: tuple[str | int, ...], key: str) -> Any:
    if key not in obj or obj[key] is None:
        raise _UnmappableError((*path, key), MESSAGES["missing"].format(member=key))
    return obj[key]


def _decimal(obj: Mapping[str, Any], path: tuple[str | int, ...], key: str) -> Decimal:
    value = _member(obj, path, key)
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise _UnmappableError((*path, key), MESSAGES["decimal"].format(value=repr(value)))
    return Decimal(value)


def _instant(obj: Mapping[str, Any], path: tuple[str | int, ...], key: str) -> datetime:
    value = _member(obj, path, key)
    if not isinstance(value, str) or not _INSTANT.match(value):
        raise _UnmappableError((*path, key), MESSAGES["instant"].format(value=repr(value)))
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise _UnmappableError((*path, key), f"{value!r} is not a date and time.") from None


def _last_day(end: datetime) -> date:
    """The last day a PACT period covers: its end is exclusive, so midnight is the day before."""
    return (end - timedelta(days=1)).date() if end.time() == time.min else end.date()


def _names(footprint: Mapping[str, Any]) -> PactNames:
    spec = _member(footprint, ("footprint",), "specVersion")
    names = names_of(spec)
    if names is not None:
        return names
    raise _UnmappableError(
        ("footprint", "specVersion"),
        f"PACT 3.0.x or 2.x footprints are mapped, not specVersion {spec!r}.",
    )


def _source(footprint: Mapping[str, Any], names: PactNames) -> PactSource:
    at = ("footprint",)
    pf_id = _member(footprint, at, "id")
    if not isinstance(pf_id, str) or not _UUID.match(pf_id):
        raise _UnmappableError((*at, "id"), "A PACT footprint id is a UUID.")
    version: int | None = None
    if names.major == 2:
        raw = _member(footprint, at, "version")
        if type(raw) is not int or not 0 <= raw < 2**31:
            raise _UnmappableError((*at, "version"), "A PACT 2.x version is an integer, 0 or more.")
        version = raw
    return PactSource(pf_id.lower(), footprint["specVersion"], version)


def _product(footprint: Mapping[str, Any]) -> Product:
    at = ("footprint",)
    ids = _member(footprint, at, "productIds")
    if not isinstance(ids, list) or not ids:
        raise _UnmappableError((*at, "productIds"), "Must be a non-empty list of URNs.")
    if len(ids) > _MAX_IDS + 1:
        raise _UnmappableError(
            (*at, "productIds"), f"A label keeps at most {_MAX_IDS + 1} product ids."
        )
    gtin: str | None = None
    others: list[str] = []
    for n, urn in enumerate(ids):
        if not isinstance(urn, str) or not urn.lower().startswith("urn:"):
            raise _UnmappableError((*at, "productIds", n), "Must be a URN (urn:…).")
        try:
            check_iri(urn)
        except CredentialError as exc:
            raise _UnmappableError((*at, "productIds", n), f"Not an IRI: {exc}.") from None
        if len(urn) > _MAX_TEXT:
            raise _UnmappableError((*at, "productIds", n), f"At most {_MAX_TEXT} characters.")
        digits = urn[len("urn:gtin:") :] if urn.lower().startswith("urn:gtin:") else None
        if gtin is None and digits is not None:
            try:
                gtin = check_gtin(digits)
                continue
            except CredentialError:
                pass  # kept verbatim below: a product id, not a GTIN the resolver serves
        others.append(urn)
    # The label request's own product rules (lengths, characters, id counts), named in PACT.
    product = {
        "name": _member(footprint, at, "productNameCompany"),
        "manufacturer": _member(footprint, at, "companyName"),
        "gtin": gtin,
        "identifiers": list(dict.fromkeys(others)),
    }
    try:
        loaded = _product_schema.load(product)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"name": exc.messages}
        key = sorted(messages)[0]
        member = _PRODUCT_MEMBERS.get(key, "productIds")
        raise _UnmappableError((*at, member), " ".join(_flat(messages[key]))) from None
    return Product(
        name=loaded["name"],
        manufacturer=loaded["manufacturer"],
        gtin=loaded["gtin"],
        identifiers=tuple(loaded["identifiers"]),
    )


_PRODUCT_MEMBERS: Final = {"name": "productNameCompany", "manufacturer": "companyName"}
_product_schema = ProductSchema(only=("name", "manufacturer", "gtin", "identifiers"))


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    return [m for value in messages for m in _flat(value)]


def _boundary(pcf: Mapping[str, Any], stated: Boundary | None) -> Boundary:
    at = ("footprint", "pcf", "boundaryProcessesDescription")
    description = pcf.get("boundaryProcessesDescription")
    named = (
        {f"cradle-to-{m.lower()}" for m in _BOUNDARY.findall(description)}
        if isinstance(description, str)
        else set()
    )
    if stated is not None:
        if named and stated not in named:
            raise _UnmappableError(at, f"Describes {' and '.join(sorted(named))}, not {stated}.")
        return stated
    if len(named) == 1:
        return named.pop()  # type: ignore[return-value]
    raise _UnmappableError(at, MESSAGES["boundary"])


def _unit_and_amount(
    pcf: Mapping[str, Any], names: PactNames, declared_unit: str, rule: str
) -> Decimal:
    """The amount in the rule version's declared unit; refused unless it is the same PACT unit."""
    at = ("footprint", "pcf")
    unit = _member(pcf, at, names.unit)
    if unit not in PACT_UNITS:
        raise _UnmappableError((*at, names.unit), MESSAGES["unit"].format(unit=repr(unit)))
    ours = UNITS.get(declared_unit)
    if ours is None:
        raise _UnmappableError(
            (*at, names.unit),
            f"Rule {rule} declares per {declared_unit}, which PACT has no unit for.",
        )
    if ours.name != unit:
        raise _UnmappableError(
            (*at, names.unit),
            f"Rule {rule} declares per {declared_unit} (PACT: {ours.name}), not {unit}.",
        )
    amount = _decimal(pcf, at, names.amount)
    if amount <= 0:
        raise _UnmappableError((*at, names.amount), "Must be greater than zero.")
    return amount / ours.factor


def _standards(pcf: Mapping[str, Any], names: PactNames, standard: str, rule: str) -> None:
    """One of the footprint's cross-sectoral standards must be the rule version's."""
    key = next((k for k in names.standards if k in pcf), names.standards[0])
    at = ("footprint", "pcf", key)
    stated = _member(pcf, at[:-1], key)
    if not isinstance(stated, list) or not stated or not all(isinstance(s, str) for s in stated):
        raise _UnmappableError(at, "Must be a non-empty list of standards.")
    codes = {V2_STANDARDS.get(s, s) for s in stated}
    wanted = cross_sectoral_standards(standard)
    if not codes & set(wanted):
        raise _UnmappableError(
            at,
            f"Rule {rule} follows {standard} ({', '.join(wanted)}); the footprint follows "
            f"{', '.join(stated)}.",
        )


def _assurance(
    pcf: Mapping[str, Any], names: PactNames, stated: Assurance | None
) -> Assurance | None:
    """The 2.x ``assurance.level`` (3.0's ``verification`` states none): the request's wins if
    the footprint states none, and must agree if it does."""
    block = pcf.get("assurance") if names.major == 2 else None
    if block is None:
        return stated
    at = ("footprint", "pcf", "assurance")
    if not isinstance(block, dict):
        raise _UnmappableError(at, "Must be an object.")
    level = block.get("level") if block.get("assurance") is True else None
    if level is not None and level not in ("limited", "reasonable"):
        raise _UnmappableError((*at, "level"), "Must be limited or reasonable.")
    if stated is not None and level is not None and stated != level:
        raise _UnmappableError((*at, "level"), f"States {level} assurance, not {stated}.")
    return stated or level


def _foreign(footprint: Mapping[str, Any], pcf: Mapping[str, Any], names: PactNames) -> None:
    """Refuse a member of the other major version: the footprint is not what it says it is."""
    spec = footprint["specVersion"]
    for path, keys in (
        (("footprint",), names.foreign & footprint.keys()),
        (("footprint", "pcf"), names.foreign_pcf & pcf.keys()),
    ):
        if keys:
            first = sorted(keys)[0]
            raise _UnmappableError(
                (*path, first),
                f"Not a member of a PACT {spec} footprint (it is of PACT "
                f"{'2.x' if names.major == 3 else '3.0'}): {', '.join(sorted(keys))}.",
            )


def label_request_from_pact(params: PactLabelParams, *, now: datetime) -> LabelRequest:
    """The label request a PACT footprint is, graded under ``params``' rule version; a
    :class:`ValidationFailedError` naming the PACT member for what cannot be mapped."""
    try:
        return _map(params, now, {})
    except _UnmappableError as refused:
        raise ValidationFailedError(
            _errors(refused.path, refused.message),
            detail=f"{'.'.join(str(p) for p in refused.path)}: {refused.message}",
        ) from None


def label_requests_from_pact(
    params: Sequence[PactLabelParams], *, now: datetime
) -> list[LabelRequest]:
    """A batch's label requests; every item that cannot be mapped is refused at once, under
    ``errors.labels.<index>`` (from zero) with the PACT member named."""
    requests: list[LabelRequest] = []
    refused: dict[int, Any] = {}
    versions: _RuleVersions = {}  # a batch names one rule version, or a few: read each once
    for index, item in enumerate(params):
        try:
            requests.append(_map(item, now, versions))
        except _UnmappableError as exc:
            refused[index] = _errors(exc.path, exc.message)
    if refused:
        parts = [
            f"labels[{i}]: " + ".".join(str(p) for p in _first_path(e)) for i, e in refused.items()
        ]
        raise ValidationFailedError(
            {"labels": refused},
            detail=f"{len(refused)} of the {len(params)} footprints cannot be mapped, so no "
            f"label was issued: {'; '.join(parts)}.",
        )
    return requests


def _first_path(errors: Mapping[Any, Any]) -> list[Any]:
    path: list[Any] = []
    node: Any = errors
    while isinstance(node, Mapping) and node:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return path


_RuleVersions = dict[tuple[str, str, str], RuleVersion]


def _map(params: PactLabelParams, now: datetime, versions: _RuleVersions) -> LabelRequest:
    footprint = params.footprint
    if not isinstance(footprint, dict):
        raise _UnmappableError(("footprint",), "Must be a PACT ProductFootprint (an object).")
    names = _names(footprint)
    source = _source(footprint, names)
    pcf = _member(footprint, ("footprint",), "pcf")
    if not isinstance(pcf, dict):
        raise _UnmappableError(("footprint", "pcf"), "Must be a PACT CarbonFootprint (an object).")
    _foreign(footprint, pcf, names)
    status = footprint.get("status")
    if status != "Active":
        raise _UnmappableError(
            ("footprint", "status"), f"Only an Active footprint is certified, not {status!r}."
        )
    product = _product(footprint)
    named = (params.scheme, params.rule, params.rule_version)
    rv = versions.get(named)
    if rv is None:
        rv = versions[named] = find_rule_version(*named, at=now)
    rule = f"{rv.rule.code} v{rv.version}"
    amount = _unit_and_amount(pcf, names, rv.declared_unit, rule)
    value = _decimal(pcf, ("footprint", "pcf"), names.value)
    start = _instant(pcf, ("footprint", "pcf"), "referencePeriodStart")
    end = _instant(pcf, ("footprint", "pcf"), "referencePeriodEnd")
    if end <= start:
        raise _UnmappableError(
            ("footprint", "pcf", "referencePeriodEnd"), "Must be after the start."
        )
    _standards(pcf, names, rv.standard, rule)
    valid_until = params.valid_until
    if valid_until is None and footprint.get("validityPeriodEnd") is not None:
        pf_end = _instant(footprint, ("footprint",), "validityPeriodEnd")
        if pf_end <= now:
            raise _UnmappableError(
                ("footprint", "validityPeriodEnd"),
                "The footprint's validity has ended; state valid_until to certify it anyway.",
            )
        valid_until = min(pf_end, now + MAX_VALIDITY)
    return LabelRequest(
        product=product,
        footprint=value,
        declared_unit_amount=amount,
        declared_unit=rv.declared_unit,
        system_boundary=_boundary(pcf, params.system_boundary),
        period_start=start.date(),
        period_end=_last_day(end),
        scheme=params.scheme,
        rule=params.rule,
        rule_version=params.rule_version,
        valid_until=valid_until,
        asserted_grade=params.asserted_grade,
        supersedes=params.supersedes,
        assurance=_assurance(pcf, names, params.assurance),
        pact=source,
    )

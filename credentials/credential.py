"""The CarbonLabelCredential: build one from typed values, and read one back strictly.

Reading is strict on purpose: a verifier must not display a field it did not check. Footprints
are decimal strings (a JSON number would pass through binary floating point), every id is an
absolute IRI, and the contexts must be exactly the VC 2.0 base context then ours.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar, cast

from credentials._internal.jcs import canonical_json
from credentials._internal.rdf_template import register_proof_config_shape, register_shape
from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.errors import CredentialError, CredentialFormatError, MalformedInputError
from credentials.grading import GRADES, Grade
from credentials.jsonld import CARBON_LABEL_PACT_V1, CARBON_LABEL_V1, CREDENTIALS_V2
from credentials.lexical import (
    check_gtin,
    check_iri,
    decimal_text,
    normalize_label_id,
    parse_date,
    parse_decimal,
    parse_status_index,
)

__all__ = [
    "ASSURANCE_LEVELS",
    "CREDENTIAL_CONTEXT",
    "CREDENTIAL_TYPE",
    "PACT_CREDENTIAL_CONTEXT",
    "Assurance",
    "CarbonLabel",
    "Footprint",
    "PactSource",
    "Product",
    "RuleRef",
    "StatusRef",
    "build_label_credential",
    "credential_digest",
    "label_url",
    "parse_label_credential",
]

CREDENTIAL_CONTEXT = (CREDENTIALS_V2, CARBON_LABEL_V1)
#: The contexts of a label issued from a PACT ProductFootprint: ours, then the PACT terms.
PACT_CREDENTIAL_CONTEXT = (*CREDENTIAL_CONTEXT, CARBON_LABEL_PACT_V1)
CREDENTIAL_TYPE = "CarbonLabelCredential"
_T = TypeVar("_T")
Boundary = Literal["cradle-to-gate", "cradle-to-grave"]
BOUNDARIES: tuple[Boundary, ...] = ("cradle-to-gate", "cradle-to-grave")
# The assurance a verification engagement gave the footprint (ISO 14064-3 / ISO 14065).
Assurance = Literal["limited", "reasonable"]
#: Assurance levels of a footprint's verification, weakest first.
ASSURANCE_LEVELS: tuple[Assurance, ...] = ("limited", "reasonable")


def label_url(base_url: str, label_id: str) -> str:
    return f"{base_url.rstrip('/')}/l/{normalize_label_id(label_id)}"


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    manufacturer: str
    model: str | None = None
    gtin: str | None = None
    identifiers: tuple[str, ...] = ()  # product ids as absolute IRIs, e.g. URNs


@dataclass(frozen=True, slots=True)
class Footprint:
    value: Decimal
    declared_unit: str
    system_boundary: Boundary
    period_start: date
    period_end: date
    declared_unit_amount: Decimal = Decimal(1)
    unit: str = "kgCO2e"


@dataclass(frozen=True, slots=True)
class RuleRef:
    rule_id: str
    version: str
    scheme: str


@dataclass(frozen=True, slots=True)
class StatusRef:
    purpose: Literal["revocation", "suspension"]
    list_url: str
    index: int

    @property
    def entry_id(self) -> str:
        return f"{self.list_url}#{self.index}"


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SPEC_VERSION = re.compile(r"^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9]{8})?$")
_PF_VERSION = re.compile(r"^(0|[1-9][0-9]{0,9})$")


@dataclass(frozen=True, slots=True)
class PactSource:
    """The PACT ProductFootprint a label was issued from: its ``id`` (a UUID, lower case), the
    ``specVersion`` it was written in, and its ``version`` (PACT 2.x; 3.0 has none)."""

    footprint_id: str
    spec_version: str
    version: int | None = None

    def __post_init__(self) -> None:
        if not _UUID.match(self.footprint_id):
            raise CredentialFormatError("a PACT footprint id is a lower-case UUID")
        if not _SPEC_VERSION.match(self.spec_version):
            raise CredentialFormatError("a PACT specVersion is major.minor.patch")
        if self.version is not None and not 0 <= self.version < 2**31:
            raise CredentialFormatError("a PACT footprint version is a non-negative int32")

    def to_json(self) -> dict[str, str]:
        """The credential's ``pactSource`` node (the version as a decimal string)."""
        node = {
            "type": "PactFootprintSource",
            "pfId": self.footprint_id,
            "pfSpecVersion": self.spec_version,
        }
        if self.version is not None:
            node["pfVersion"] = str(self.version)
        return node

    @classmethod
    def from_json(cls, value: Any) -> PactSource:
        node = _obj(value, "pactSource")
        if set(node) - {"type", "pfId", "pfSpecVersion", "pfVersion"}:
            raise CredentialFormatError("pactSource has members the PACT context does not define")
        if node.get("type") != "PactFootprintSource":
            raise CredentialFormatError("pactSource.type must be PactFootprintSource")
        version = node.get("pfVersion")
        if version is not None and not (isinstance(version, str) and _PF_VERSION.match(version)):
            raise CredentialFormatError("pactSource.pfVersion must be a decimal integer string")
        return cls(
            footprint_id=_req(node, "pfId", "pactSource"),
            spec_version=_req(node, "pfSpecVersion", "pactSource"),
            version=None if version is None else int(version),
        )


@dataclass(frozen=True, slots=True)
class CarbonLabel:
    """Everything a label credential states, as typed values."""

    label_id: str
    url: str
    issuer_did: str
    issuer_name: str
    valid_from: datetime
    valid_until: datetime
    product: Product
    footprint: Footprint
    grade: Grade
    rule: RuleRef
    status: tuple[StatusRef, ...] = field(default=())
    supersedes: str | None = None
    # Labels issued before the registry recorded it state none (and recognition says so).
    assurance: Assurance | None = None
    # Issued from a PACT ProductFootprint: which one (stated under the PACT context).
    pact: PactSource | None = None

    def status_for(self, purpose: str) -> StatusRef | None:
        return next((s for s in self.status if s.purpose == purpose), None)


def build_label_credential(label: CarbonLabel) -> dict[str, Any]:
    """The unsigned credential for ``label`` (validated by reading it back)."""
    product: dict[str, Any] = {"type": "Product", "name": label.product.name}
    if label.product.model:
        product["model"] = label.product.model
    if label.product.gtin:
        product["gtin"] = label.product.gtin
    if label.product.identifiers:
        product["identifier"] = list(label.product.identifiers)
    product["manufacturer"] = {"type": "Organization", "name": label.product.manufacturer}
    fp = label.footprint
    subject: dict[str, Any] = {
        "type": "CarbonLabel",
        "labelId": label.label_id,
        "product": product,
        "footprint": {
            "type": "CarbonFootprint",
            "value": decimal_text(fp.value),
            "unit": fp.unit,
            "declaredUnit": fp.declared_unit,
            "declaredUnitAmount": decimal_text(fp.declared_unit_amount),
            "systemBoundary": fp.system_boundary,
            "referencePeriod": {
                "type": "ReferencePeriod",
                "startDate": fp.period_start.isoformat(),
                "endDate": fp.period_end.isoformat(),
            },
        },
        "grade": label.grade,
        "rule": {
            "type": "ProductRule",
            "ruleId": label.rule.rule_id,
            "ruleVersion": label.rule.version,
            "scheme": label.rule.scheme,
        },
    }
    if label.supersedes:
        subject["supersedes"] = label.supersedes
    if label.assurance is not None:
        subject["assurance"] = label.assurance
    if label.pact is not None:
        subject["pactSource"] = label.pact.to_json()
    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT if label.pact is None else PACT_CREDENTIAL_CONTEXT),
        "id": label.url,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": {"id": label.issuer_did, "name": label.issuer_name},
        "validFrom": format_datetime(label.valid_from),
        "validUntil": format_datetime(label.valid_until),
        "credentialSubject": subject,
        "credentialStatus": [
            {
                "id": s.entry_id,
                "type": "BitstringStatusListEntry",
                "statusPurpose": s.purpose,
                "statusListIndex": str(s.index),
                "statusListCredential": s.list_url,
            }
            for s in label.status
        ],
    }
    parse_label_credential(credential)
    # What the kit builds is what it may template: a verifier never compiles a shape itself.
    register_shape(credential)
    return credential


def credential_digest(credential: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the RFC 8785 form: how ledger entries name a signed credential."""
    return "sha256:" + hashlib.sha256(canonical_json(credential)).hexdigest()


# --- reading ---------------------------------------------------------------------------------


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CredentialFormatError(f"{name} must be an object")
    return value


def _text(obj: dict[str, Any], key: str, name: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CredentialFormatError(f"{name}.{key} must be a non-empty string")
    if len(value) > 500:
        raise CredentialFormatError(f"{name}.{key} is longer than 500 characters")
    return value


def _req(obj: dict[str, Any], key: str, name: str) -> str:
    return cast(str, _text(obj, key, name))


def _read(rule: Callable[[Any], _T], value: Any, name: str) -> _T:
    """``value`` by its lexical rule; a refusal names the credential member."""
    try:
        return rule(value)
    except CredentialError as exc:
        raise CredentialFormatError(f"{name}: {exc}") from None


def _types(obj: dict[str, Any]) -> list[Any]:
    t = obj.get("type")
    return t if isinstance(t, list) else [t]


def parse_label_credential(credential: Any) -> CarbonLabel:
    """Read a CarbonLabelCredential (signed or not); raise :class:`CredentialFormatError`."""
    doc = _obj(credential, "credential")
    context = doc.get("@context")
    if context not in (list(CREDENTIAL_CONTEXT), list(PACT_CREDENTIAL_CONTEXT)):
        raise CredentialFormatError(
            f"@context must be exactly [{CREDENTIALS_V2!r}, {CARBON_LABEL_V1!r}], or those "
            f"then {CARBON_LABEL_PACT_V1!r} for a label issued from a PACT footprint"
        )
    types = _types(doc)
    if "VerifiableCredential" not in types or CREDENTIAL_TYPE not in types:
        raise CredentialFormatError(f"type must include VerifiableCredential and {CREDENTIAL_TYPE}")
    url = _read(check_iri, doc.get("id"), "id")
    issuer = _obj(doc.get("issuer"), "issuer")
    issuer_did = _read(check_iri, issuer.get("id"), "issuer.id")
    if not issuer_did.startswith("did:key:"):
        raise CredentialFormatError("issuer.id must be a did:key")
    try:
        valid_from = parse_datetime(doc.get("validFrom"), field="validFrom")
        valid_until = parse_datetime(doc.get("validUntil"), field="validUntil")
    except MalformedInputError as exc:
        raise CredentialFormatError(str(exc)) from exc
    if valid_until <= valid_from:
        raise CredentialFormatError("validUntil must be after validFrom")

    subject = _obj(doc.get("credentialSubject"), "credentialSubject")
    label_id = normalize_label_id(_req(subject, "labelId", "credentialSubject"))
    if label_id != subject["labelId"] or not url.upper().endswith("/L/" + label_id):
        raise CredentialFormatError("credential id must be the label's URL ending in /l/{labelId}")
    grade = subject.get("grade")
    if grade not in GRADES:
        raise CredentialFormatError("grade must be one of A, B, C, D, E")

    p = _obj(subject.get("product"), "product")
    identifiers = p.get("identifier", [])
    if not isinstance(identifiers, list):
        raise CredentialFormatError("product.identifier must be an array of IRIs")
    gtin = _text(p, "gtin", "product", optional=True)
    if gtin is not None:
        _read(check_gtin, gtin, "product.gtin")
    product = Product(
        name=_req(p, "name", "product"),
        manufacturer=_req(_obj(p.get("manufacturer"), "manufacturer"), "name", "manufacturer"),
        model=_text(p, "model", "product", optional=True),
        gtin=gtin,
        identifiers=tuple(_read(check_iri, i, "product.identifier[]") for i in identifiers),
    )

    f = _obj(subject.get("footprint"), "footprint")
    period = _obj(f.get("referencePeriod"), "footprint.referencePeriod")
    boundary = f.get("systemBoundary")
    if boundary not in BOUNDARIES:
        raise CredentialFormatError("footprint.systemBoundary must be cradle-to-gate or -grave")
    if f.get("unit") != "kgCO2e":
        raise CredentialFormatError("footprint.unit must be kgCO2e")
    footprint = Footprint(
        value=_read(parse_decimal, f.get("value"), "footprint.value"),
        declared_unit=_req(f, "declaredUnit", "footprint"),
        declared_unit_amount=_read(
            parse_decimal, f.get("declaredUnitAmount"), "declaredUnitAmount"
        ),
        system_boundary=cast(Boundary, boundary),
        period_start=_read(parse_date, period.get("startDate"), "referencePeriod.startDate"),
        period_end=_read(parse_date, period.get("endDate"), "referencePeriod.endDate"),
    )
    if footprint.declared_unit_amount <= 0:
        raise CredentialFormatError("footprint.declaredUnitAmount must be positive")
    if footprint.period_end < footprint.period_start:
        raise CredentialFormatError("referencePeriod ends before it starts")

    r = _obj(subject.get("rule"), "rule")
    rule = RuleRef(
        rule_id=_req(r, "ruleId", "rule"),
        version=_req(r, "ruleVersion", "rule"),
        scheme=_req(r, "scheme", "rule"),
    )
    supersedes = subject.get("supersedes")
    assurance = subject.get("assurance")
    if assurance is not None and assurance not in ASSURANCE_LEVELS:
        raise CredentialFormatError("assurance must be limited or reasonable")
    # The PACT context is there exactly when the label states its source: never an unused one.
    pact = subject.get("pactSource")
    if (pact is None) != (context == list(CREDENTIAL_CONTEXT)):
        raise CredentialFormatError(
            f"credentialSubject.pactSource is stated exactly when {CARBON_LABEL_PACT_V1!r} is "
            "in @context"
        )
    return CarbonLabel(
        label_id=label_id,
        url=url,
        issuer_did=issuer_did,
        issuer_name=_req(issuer, "name", "issuer"),
        valid_from=valid_from,
        valid_until=valid_until,
        product=product,
        footprint=footprint,
        grade=cast(Grade, grade),
        rule=rule,
        status=_status_refs(doc.get("credentialStatus")),
        supersedes=None if supersedes is None else _read(check_iri, supersedes, "supersedes"),
        assurance=cast("Assurance | None", assurance),
        pact=None if pact is None else PactSource.from_json(pact),
    )


def _status_refs(value: Any) -> tuple[StatusRef, ...]:
    entries = value if isinstance(value, list) else [value]
    refs: list[StatusRef] = []
    for entry in entries:
        e = _obj(entry, "credentialStatus[]")
        if e.get("type") != "BitstringStatusListEntry":
            raise CredentialFormatError("credentialStatus entries must be BitstringStatusListEntry")
        purpose = e.get("statusPurpose")
        if purpose not in ("revocation", "suspension"):
            raise CredentialFormatError("statusPurpose must be revocation or suspension")
        index = _read(parse_status_index, e.get("statusListIndex"), "statusListIndex")
        ref = StatusRef(
            purpose=purpose,
            list_url=_read(check_iri, e.get("statusListCredential"), "statusListCredential"),
            index=index,
        )
        if e.get("id") != ref.entry_id:
            raise CredentialFormatError(
                "a status entry's id must be {statusListCredential}#{index}"
            )
        refs.append(ref)
    if sorted(r.purpose for r in refs) != ["revocation", "suspension"]:
        raise CredentialFormatError("a label needs one revocation and one suspension status entry")
    return tuple(refs)


def _register_kit_shapes() -> None:
    """The label shapes (each optional member present or absent) and their proof configuration.

    A process that only verifies (the offline CLI, a worker that never issued) still takes the
    fast path for what the registry issues. Values are placeholders: only the shape counts.
    """
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    base = "https://registry.invalid"
    sample = CarbonLabel(
        label_id="0000000000",
        url=f"{base}/l/0000000000",
        issuer_did=did,
        issuer_name="-",
        valid_from=datetime(2000, 1, 1, tzinfo=UTC),
        valid_until=datetime(2001, 1, 1, tzinfo=UTC),
        product=Product(name="-", manufacturer="-"),
        footprint=Footprint(
            value=Decimal(1),
            declared_unit="-",
            system_boundary="cradle-to-gate",
            period_start=date(2000, 1, 1),
            period_end=date(2000, 1, 1),
        ),
        grade="A",
        rule=RuleRef(rule_id="-", version="-", scheme="-"),
        status=(
            StatusRef("revocation", f"{base}/status-lists/r", 0),
            StatusRef("suspension", f"{base}/status-lists/s", 0),
        ),
    )
    # A literal slot: one level's sample covers every level (the shape keeps no string value).
    assurances: tuple[Assurance | None, ...] = (None, "limited")
    # A PACT source with a version (2.x) and without (3.0); an imported label has no model.
    uuid = "00000000-0000-0000-0000-000000000000"
    sources = (None, PactSource(uuid, "3.0.0"), PactSource(uuid, "2.3.0", 1))
    for model, gtin, identifiers, supersedes, assurance, pact in itertools.product(
        (None, "-"),
        (None, "00000000"),
        ((), ("urn:x:0",)),
        (None, f"{base}/l/0000000001"),
        assurances,
        sources,
    ):
        if model is not None and pact is not None:
            continue
        product = replace(sample.product, model=model, gtin=gtin, identifiers=identifiers)
        build_label_credential(
            replace(sample, product=product, supersedes=supersedes, assurance=assurance, pact=pact)
        )
    register_proof_config_shape(CREDENTIAL_CONTEXT)
    register_proof_config_shape(PACT_CREDENTIAL_CONTEXT)


_register_kit_shapes()

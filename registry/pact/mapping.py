"""Label -> PACT v3 ProductFootprint: the one outbound mapping.

What the label certifies maps one to one: the product (name, model, GTIN and other URNs,
manufacturer as the data owner), the footprint per declared unit (``pcfExcludingBiogenicUptake``,
a decimal string), the declared unit and amount, the reference period, the system boundary,
the rule's standard (``crossSectoralStandards``) and the rule itself
(``productOrSectorSpecificRules``), the certification body's verification, the label's
validity as the footprint's validity period, and the scheme's region as its geography.

PACT v3 also requires members a label does not certify (``pcfIncludingBiogenicUptake``,
``fossilGhgEmissions``, ``fossilCarbonContent``, ``ipccCharacterizationFactors``,
``exemptedEmissionsPercent``, and the product mass for units that are not a mass). They are
filled by the fixed convention in :data:`UNCERTIFIED` and the footprint's ``comment`` says so
in plain words, and the ``carbon-label`` extension lists the members the label's signature
covers (``certified``): a consumer must not read the conventional values as verified data.

Which labels are served, and how (see ``STATUS``): active labels as ``Active``; superseded
ones as ``Deprecated``, and the label that superseded them lists them in ``precedingPfIds``
(PACT: the *newer* footprint names its past versions). Suspended and revoked labels are not
served at all: PACT's ``Deprecated`` means "replaced by a newer version", which a withdrawn
certification is not, and serving it under either status would hand a buyer's tool a
footprint the register no longer vouches for. A label whose declared unit has no PACT
equivalent (e.g. kWp, a rated power) is not served either: PACT has no way to state it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote, urlsplit

from credentials import PactSource
from registry.labels.models import Label, LabelStatus
from registry.pact.ids import footprint_id

__all__ = [
    "EXTENSION_SCHEMA_PATH",
    "EXTENSION_VERSION",
    "PACT_SPEC_VERSION",
    "SERVED_STATUSES",
    "SOURCE_EXTENSION_SCHEMA_PATH",
    "STATUS",
    "UNCERTIFIED",
    "UNITS",
    "PactUnit",
    "company_urn",
    "openapi_pointer",
    "pact_source",
    "product_footprint",
    "served",
]

PACT_SPEC_VERSION: Final = "3.0.0"
EXTENSION_VERSION: Final = "1.0.0"
EXTENSION_SCHEMA_PATH: Final = f"/pact/extensions/carbon-label/{EXTENSION_VERSION}/schema.json"
# Only on a label issued from a PACT footprint (PACT in): which footprint, in its own terms.
SOURCE_EXTENSION_VERSION: Final = "1.0.0"
SOURCE_EXTENSION_SCHEMA_PATH: Final = (
    f"/pact/extensions/carbon-label-source/{SOURCE_EXTENSION_VERSION}/schema.json"
)

STATUS: Final[dict[LabelStatus, str]] = {
    LabelStatus.ACTIVE: "Active",
    LabelStatus.SUPERSEDED: "Deprecated",
}
SERVED_STATUSES: Final = tuple(STATUS)


@dataclass(frozen=True, slots=True)
class PactUnit:
    """A rule's declared unit in PACT terms: PACT's unit, the factor from ours to it, and the
    mass in kg of one of our units (None: not a mass, PACT's mass is then "0")."""

    name: str
    factor: Decimal = Decimal(1)
    kg: Decimal | None = None


# Our declared units (as rule versions state them) -> PACT's declaredUnitOfMeasurement.
UNITS: Final[dict[str, PactUnit]] = {
    "kg": PactUnit("kilogram", kg=Decimal(1)),
    "t": PactUnit("kilogram", Decimal(1000), kg=Decimal(1000)),
    "kWh": PactUnit("kilowatt hour"),
    "MJ": PactUnit("megajoule"),
    "L": PactUnit("liter"),
    "m2": PactUnit("square meter"),
    "m3": PactUnit("cubic meter"),
    "tkm": PactUnit("ton kilometer"),
    "h": PactUnit("hour"),
    "piece": PactUnit("piece"),
    "garment": PactUnit("piece"),
}

# Required by PACT v3, not certified by a label; see the module docstring.
UNCERTIFIED: Final[dict[str, Any]] = {
    "ipccCharacterizationFactors": ["AR6"],
    "exemptedEmissionsPercent": "0",
    "fossilCarbonContent": "0",
}

_COMMENT = (
    "Carbon label {label} of the {scheme} programme, graded {grade} under rule {rule} "
    "version {version}. The certified value is pcfExcludingBiogenicUptake per declared unit; "
    "the label does not certify a split into fossil, biogenic or land-use emissions, so "
    "pcfIncludingBiogenicUptake and fossilGhgEmissions repeat the certified total (zero if it "
    "is negative), and fossilCarbonContent, exemptedEmissionsPercent, "
    "ipccCharacterizationFactors{mass} are conventional values, not verified data. Verify the "
    "label against the register: {url}"
)

_STANDARDS: Final = (
    (re.compile(r"ISO\s*14067", re.IGNORECASE), "ISO14067"),
    (re.compile(r"ISO\s*14083", re.IGNORECASE), "ISO14083"),
    (re.compile(r"ISO\s*1404[04]", re.IGNORECASE), "ISO14040-44"),
    (re.compile(r"GHG\s*Protocol|GHGP", re.IGNORECASE), "GHGP-Product"),
    (re.compile(r"PAS\s*2050", re.IGNORECASE), "PAS2050"),
    (re.compile(r"\bPEF\b"), "PEF"),
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def pact_source(label: Label) -> PactSource | None:
    """The PACT footprint the label was issued from, as its signed credential states it."""
    if '"pactSource"' not in label.credential:  # most labels: no parse
        return None
    subject = json.loads(label.credential)["credentialSubject"]
    return PactSource.from_json(subject["pactSource"])


def served(label: Label) -> bool:
    """Whether the registry serves this label as a ProductFootprint at all."""
    return label.status in STATUS and label.rule_version.declared_unit in UNITS


def _decimal(value: Decimal) -> str:
    """A PACT decimal string: digits, an optional fraction, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f") if value else "0"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_start(day: date) -> str:
    return _instant(datetime.combine(day, time.min, tzinfo=UTC))


def _day_end(day: date) -> str:
    # The label's period is inclusive of its last day; PACT's end is an instant.
    return _instant(datetime.combine(day, time(23, 59, 59), tzinfo=UTC))


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def company_urn(base_url: str, manufacturer: str) -> str:
    """The data owner's URN: the manufacturer as the label names it, under this registry."""
    return f"urn:pact:{_host(base_url)}:manufacturer:{quote(manufacturer, safe='')}"


def label_urn(base_url: str, label_id: str) -> str:
    return f"urn:pact:{_host(base_url)}:carbon-label:{label_id}"


def classification_urn(category: str) -> str:
    return f"urn:pact:productclassification:carbon-label:{quote(category, safe='')}"


def product_ids(label: Label, base_url: str) -> list[str]:
    ids: list[str] = []
    if label.gtin:
        ids.append(f"urn:gtin:{label.gtin}")
    ids.extend(i for i in label.identifiers if i.lower().startswith("urn:"))
    ids.append(label_urn(base_url, label.id))
    return list(dict.fromkeys(ids))


def geography(region: str) -> dict[str, str]:
    """The scheme's region (ISO 3166-1 or -2) as PACT's country or subdivision; else Global."""
    if _SUBDIVISION.match(region):
        return {"geographyCountrySubdivision": region}
    if _COUNTRY.match(region):
        return {"geographyCountry": region}
    return {}


def cross_sectoral_standards(standard: str) -> list[str]:
    found = [code for pattern, code in _STANDARDS if pattern.search(standard)]
    return list(dict.fromkeys(found)) or [standard]


def product_footprint(
    label: Label, *, base_url: str, preceding: list[str] | None = None
) -> dict[str, Any]:
    """The ProductFootprint a served label is, for the registry at ``base_url``.

    ``preceding`` are the ids of the labels this one (transitively) superseded.
    """
    version = label.rule_version
    rule = version.rule
    scheme = rule.scheme
    unit = UNITS[version.declared_unit]
    amount = label.declared_unit_amount * unit.factor
    total = _decimal(label.footprint)
    label_url = f"{base_url}/l/{label.id}"
    mass = "0" if unit.kg is None else _decimal(label.declared_unit_amount * unit.kg)
    name = label.product_name
    description = f"{name} ({label.product_model})" if label.product_model else name
    verification: dict[str, Any] = {
        "coverage": "product level",
        "providerName": label.body.name,
        "completedAt": _instant(label.issued_at),
        "standardName": version.standard,
    }
    if label.assurance:
        verification["comments"] = f"{label.assurance} assurance"
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": unit.name,
        "declaredUnitAmount": _decimal(amount),
        "productMassPerDeclaredUnit": mass,
        "referencePeriodStart": _day_start(label.period_start),
        "referencePeriodEnd": _day_end(label.period_end),
        **geography(scheme.region),
        "boundaryProcessesDescription": label.system_boundary,
        "pcfExcludingBiogenicUptake": total,
        "pcfIncludingBiogenicUptake": total,
        "fossilGhgEmissions": total if label.footprint > 0 else "0",
        **UNCERTIFIED,
        "crossSectoralStandards": cross_sectoral_standards(version.standard),
        "productOrSectorSpecificRules": [
            {
                "operator": "Other",
                "otherOperatorName": scheme.owner,
                "ruleNames": [f"{rule.code} {version.version}"],
            }
        ],
        "verification": verification,
    }
    footprint: dict[str, Any] = {
        "id": footprint_id(label.id),
        "specVersion": PACT_SPEC_VERSION,
        "created": _instant(label.issued_at),
        "status": STATUS[label.status],
        "validityPeriodStart": _instant(label.valid_from),
        "validityPeriodEnd": _instant(label.valid_until),
        "companyName": label.manufacturer,
        "companyIds": [company_urn(base_url, label.manufacturer)],
        "productDescription": description,
        "productIds": product_ids(label, base_url),
        "productClassifications": [classification_urn(rule.category)],
        "productNameCompany": name,
        "comment": _COMMENT.format(
            label=label.id,
            scheme=scheme.code,
            grade=label.grade,
            rule=rule.code,
            version=version.version,
            mass="" if unit.kg is not None else ", productMassPerDeclaredUnit",
            url=label_url,
        ),
        "pcf": pcf,
        "extensions": [
            {
                "specVersion": "2.0.0",
                "dataSchema": base_url + EXTENSION_SCHEMA_PATH,
                "data": {
                    "labelId": label.id,
                    "labelUrl": label_url,
                    "grade": label.grade,
                    "credentialUrl": f"{label_url}/credential.json",
                    "credentialDigest": label.credential_digest,
                    "ledgerIndex": label.ledger_seq,
                    "registryStatus": label.status.value,
                    "certified": CERTIFIED,
                },
            }
        ],
    }
    preceding_ids = [footprint_id(i) for i in preceding or ()]
    source = pact_source(label)
    if source is not None:
        # PACT names a footprint's past versions in precedingPfIds, by id only: the source
        # footprint is the one this certified footprint restates. Its specVersion and version
        # (which 3.0 members cannot carry) go in an extension of their own, so every other
        # footprint, and the carbon-label extension's schema, stay as they were.
        preceding_ids.append(source.footprint_id)
        data: dict[str, Any] = {"id": source.footprint_id, "specVersion": source.spec_version}
        if source.version is not None:
            data["version"] = source.version
        footprint["extensions"].append(
            {
                "specVersion": "2.0.0",
                "dataSchema": base_url + SOURCE_EXTENSION_SCHEMA_PATH,
                "data": data,
            }
        )
    if preceding_ids:
        footprint["precedingPfIds"] = list(dict.fromkeys(preceding_ids))
    return footprint


# The members whose values the label's signed credential states (directly or, for the
# declared unit and mass, by an exact conversion of its unit).
CERTIFIED: Final = [
    "productIds",
    "productNameCompany",
    "companyName",
    "validityPeriodStart",
    "validityPeriodEnd",
    "pcf.declaredUnitOfMeasurement",
    "pcf.declaredUnitAmount",
    "pcf.referencePeriodStart",
    "pcf.referencePeriodEnd",
    "pcf.boundaryProcessesDescription",
    "pcf.pcfExcludingBiogenicUptake",
    "pcf.crossSectoralStandards",
    "pcf.productOrSectorSpecificRules",
    "pcf.verification",
]


def openapi_pointer(base_url: str) -> dict[str, Any]:
    """What the registry's OpenAPI document says of the PACT routes: PACT's own document
    describes them (their error bodies are PACT's, not problem+json), so it points there."""
    return {
        "specification": "https://docs.carbon-transparency.org/ref/data-exchange-protocol/3.0.0/",
        "specVersion": PACT_SPEC_VERSION,
        "paths": ["/auth/token", "/3/footprints", "/3/footprints/{id}", "/3/events"],
        "extensionSchema": base_url + EXTENSION_SCHEMA_PATH,
    }

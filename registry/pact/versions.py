"""PACT's two major versions as the inbound mapping reads them: 3.0 and 2.x member names, the
members only one of them has, its declared units and 2.x's standard names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["PACT_UNITS", "V2", "V2_STANDARDS", "V3", "PactNames", "names_of"]


@dataclass(frozen=True, slots=True)
class PactNames:
    """The members of one PACT major version that the mapping reads, by their names there."""

    major: int
    unit: str
    amount: str
    value: str
    standards: tuple[str, ...]
    # Members of the *other* major version: a footprint naming one is not of its specVersion.
    foreign: frozenset[str]
    foreign_pcf: frozenset[str]


_V2_ONLY = frozenset({"version", "updated", "statusComment", "productCategoryCpc"})
_V2_ONLY_PCF = frozenset(
    {
        "declaredUnit",
        "unitaryProductAmount",
        "pCfExcludingBiogenic",
        "pCfIncludingBiogenic",
        "characterizationFactors",
        "ipccCharacterizationFactorsSources",
        "crossSectoralStandardsUsed",
        "biogenicAccountingMethodology",
        "biogenicCarbonWithdrawal",
        "dLucGhgEmissions",
        "iLucGhgEmissions",
        "landManagementGhgEmissions",
        "otherBiogenicGhgEmissions",
        "uncertaintyAssessmentDescription",
        "assurance",
    }
)
_V3_ONLY_PCF = frozenset(
    {
        "declaredUnitOfMeasurement",
        "declaredUnitAmount",
        "pcfExcludingBiogenicUptake",
        "pcfIncludingBiogenicUptake",
        "biogenicCO2Uptake",
        "biogenicNonCO2Emissions",
        "landUseChangeGhgEmissions",
        "landCarbonLeakage",
        "landManagementFossilGhgEmissions",
        "landManagementBiogenicCO2Emissions",
        "landManagementBiogenicCO2Removals",
        "landAreaOccupation",
        "outboundLogisticsGhgEmissions",
        "recycledCarbonContent",
        "verification",
        "ccsTechnologicalCO2Capture",
        "ccsTechnologicalCO2CaptureIncluded",
        "ccuCalculationApproach",
        "ccuCarbonContent",
        "ccuCreditCertification",
        "technologicalCO2CaptureOrigin",
        "technologicalCO2Removals",
    }
)
V3: Final = PactNames(
    3,
    "declaredUnitOfMeasurement",
    "declaredUnitAmount",
    "pcfExcludingBiogenicUptake",
    ("crossSectoralStandards",),
    _V2_ONLY,
    _V2_ONLY_PCF,
)
V2: Final = PactNames(
    2,
    "declaredUnit",
    "unitaryProductAmount",
    "pCfExcludingBiogenic",
    ("crossSectoralStandards", "crossSectoralStandardsUsed"),  # 2.3 has both
    frozenset(),
    _V3_ONLY_PCF,
)

# PACT's declared units (3.0 adds "piece", "hour" and "megabit second" to 2.x's seven).
PACT_UNITS: Final = frozenset(
    {
        "liter",
        "kilogram",
        "cubic meter",
        "kilowatt hour",
        "megajoule",
        "ton kilometer",
        "square meter",
        "piece",
        "hour",
        "megabit second",
    }
)
# 2.x names its standards in words; 3.0 by code (the codes mapping.py exports).
V2_STANDARDS: Final = {
    "GHG Protocol Product standard": "GHGP-Product",
    "ISO Standard 14067": "ISO14067",
    "ISO Standard 14044": "ISO14040-44",
}
_SPEC_V3 = re.compile(r"^3\.0\.[0-9]{1,4}(-[0-9]{8})?$")
_SPEC_V2 = re.compile(r"^2\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9]{8})?$")


def names_of(spec_version: object) -> PactNames | None:
    """The names of a footprint of this ``specVersion`` (3.0.x or 2.x), else ``None``."""
    if isinstance(spec_version, str) and _SPEC_V3.match(spec_version):
        return V3
    if isinstance(spec_version, str) and _SPEC_V2.match(spec_version):
        return V2
    return None

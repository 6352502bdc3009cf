"""The demo data set: realistic in shape and figures, fictitious in every name.

Every organisation (scheme owner, certification body, accreditation body, manufacturer) carries a
fictitious marker in each language, and every product name ends with ``(demo)``. GTINs use the
GS1 prefix 952, which GS1 reserves for demonstrations and examples. Figures are plausible
cradle-to-gate (or, for garments in Hong Kong, cradle-to-grave) footprints, not measurements.

Labels are issued "now" by the registry's clock, so each is issued under its rule's current
version; the older versions are published with a period of force that has ended.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from credentials import (
    Assurance,
    Conditions,
    Grade,
    MappingSource,
    MappingTarget,
    RecognitionMapping,
    VersionRange,
    gtin_check_digit,
)

__all__ = [
    "BODIES",
    "CATEGORY_NAMES",
    "FICTITIOUS_MARKERS",
    "KEY_ROTATION",
    "LABELS",
    "MAPPINGS",
    "PRODUCT_MARKER",
    "REGULATOR_SCHEMES",
    "RULES",
    "SCHEMES",
    "STATUS_CHANGES",
    "AccreditationSpec",
    "BodySpec",
    "LabelSpec",
    "RuleSpec",
    "SchemeSpec",
    "StatusChangeSpec",
    "VersionSpec",
    "demo_gtin",
]

FICTITIOUS_MARKERS = ("(fictitious)", "（虚构）", "（虛構）", "(fictício)")
PRODUCT_MARKER = "(demo)"
# The regulator token oversees these schemes.
REGULATOR_SCHEMES = ("CN-GD", "HK")

Boundary = Literal["cradle-to-gate", "cradle-to-grave"]


@dataclass(frozen=True, slots=True)
class SchemeSpec:
    code: str
    region: str
    names: dict[str, str]
    owner: str


@dataclass(frozen=True, slots=True)
class VersionSpec:
    version: str
    in_force_from: date
    in_force_until: date | None
    thresholds: tuple[str, str, str, str]  # A, B, C, D upper bounds, kgCO2e per declared unit


@dataclass(frozen=True, slots=True)
class RuleSpec:
    scheme: str
    code: str
    category: str
    declared_unit: str
    standard: str
    boundary: Boundary
    versions: tuple[VersionSpec, ...]  # oldest first; the last one is in force

    @property
    def current(self) -> VersionSpec:
        return self.versions[-1]


@dataclass(frozen=True, slots=True)
class AccreditationSpec:
    scheme: str
    categories: tuple[str, ...]
    accreditation_body: str
    reference: str
    valid_from: date
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class BodySpec:
    code: str
    name: str
    names: dict[str, str]
    region: str
    accreditations: tuple[AccreditationSpec, ...]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    key: str  # the data set's own handle; the registry draws the label id
    body: str
    rule: str  # a RuleSpec code; the label is issued under its current version
    product: str
    model: str
    manufacturer: str
    gtin: int  # serial under the demo prefix, see demo_gtin
    footprint: str  # kgCO2e for `amount` declared units
    grade: Grade  # asserted, so the registry confirms the data set's arithmetic
    amount: str = "1"
    period: tuple[date, date] = (date(2025, 1, 1), date(2025, 12, 31))
    supersedes: str | None = None
    assurance: Assurance | None = None  # unset: the label states none, as older ones do


@dataclass(frozen=True, slots=True)
class StatusChangeSpec:
    label: str
    action: Literal["suspend", "reinstate", "revoke"]
    by: Literal["body", "operator"]
    reason: str


def demo_gtin(serial: int) -> str:
    """A GTIN-13 under GS1's demonstration prefix 952, with its check digit."""
    body = f"952{serial:09d}"
    return body + gtin_check_digit(body)


def _names(en: str, hans: str, hant: str, pt: str, *, macao: bool = False) -> dict[str, str]:
    names = {"en": en, "zh-Hans": hans, "zh-Hant": hant, "pt": pt}
    if macao:
        names["pt-MO"] = pt
    return names


SCHEMES = (
    SchemeSpec(
        "CN-GD",
        "CN-GD",
        _names(
            "Guangdong Product Carbon Label (fictitious)",
            "广东省产品碳标识（虚构）",
            "廣東省產品碳標識（虛構）",
            "Rótulo de Carbono de Produtos de Guangdong (fictício)",
        ),
        "Guangdong Low-Carbon Label Office (fictitious)",
    ),
    SchemeSpec(
        "CN-JS",
        "CN-JS",
        _names(
            "Jiangsu Carbon Footprint Label (fictitious)",
            "江苏省碳足迹标识（虚构）",
            "江蘇省碳足跡標識（虛構）",
            "Rótulo de Pegada de Carbono de Jiangsu (fictício)",
        ),
        "Jiangsu Product Carbon Footprint Centre (fictitious)",
    ),
    SchemeSpec(
        "CN-SH",
        "CN-SH",
        _names(
            "Shanghai Low-Carbon Product Label (fictitious)",
            "上海市低碳产品标识（虚构）",
            "上海市低碳產品標識（虛構）",
            "Rótulo de Produtos de Baixo Carbono de Xangai (fictício)",
        ),
        "Shanghai Carbon Label Secretariat (fictitious)",
    ),
    SchemeSpec(
        "HK",
        "HK",
        _names(
            "Hong Kong Carbon Label (fictitious)",
            "香港碳标签（虚构）",
            "香港碳標籤（虛構）",
            "Rótulo de Carbono de Hong Kong (fictício)",
        ),
        "Hong Kong Green Label Council (fictitious)",
    ),
    SchemeSpec(
        "EU-PEF",
        "EU",
        _names(
            "EU-style Product Environmental Footprint Label (fictitious)",
            "欧盟式产品环境足迹标识（虚构）",
            "歐盟式產品環境足跡標識（虛構）",
            "Rótulo de Pegada Ambiental de Produtos de estilo UE (fictício)",
        ),
        "European Footprint Label Board (fictitious)",
    ),
    SchemeSpec(
        "MO",
        "MO",
        _names(
            "Macao Carbon Label (fictitious)",
            "澳门碳标签（虚构）",
            "澳門碳標籤（虛構）",
            "Rótulo de Carbono de Macau (fictício)",
            macao=True,
        ),
        "Macao Low-Carbon Products Board (fictitious)",
    ),
)

# Rule names per category: en, zh-Hans, zh-Hant, pt. Rules are demo rules, not real PCRs.
CATEGORY_NAMES = {
    "battery": (
        "Lithium-ion batteries (demo rule)",
        "锂离子电池（演示规则）",
        "鋰離子電池（示範規則）",
        "Baterias de iões de lítio (regra de demonstração)",
    ),
    "pv-module": (
        "Photovoltaic modules (demo rule)",
        "光伏组件（演示规则）",
        "光伏組件（示範規則）",
        "Módulos fotovoltaicos (regra de demonstração)",
    ),
    "steel": (
        "Steel products (demo rule)",
        "钢铁产品（演示规则）",
        "鋼鐵產品（示範規則）",
        "Produtos de aço (regra de demonstração)",
    ),
    "textile": (
        "Textiles and garments (demo rule)",
        "纺织品及服装（演示规则）",
        "紡織品及服裝（示範規則）",
        "Têxteis e vestuário (regra de demonstração)",
    ),
    "tea": (
        "Tea (demo rule)",
        "茶叶（演示规则）",
        "茶葉（示範規則）",
        "Chá (regra de demonstração)",
    ),
}

ISO = "ISO 14067:2018"
PV_STD = f"{ISO}; IEC 61215 module scope"
STEEL_STD = f"{ISO}; ISO 20915:2018"


def _v(version: str, start: date, end: date | None, a: str, b: str, c: str, d: str) -> VersionSpec:
    return VersionSpec(version, start, end, (a, b, c, d))


_OLD_END = date(2025, 7, 1)  # older versions stopped being in force here
# Every demo rule version grades its rule's one boundary, for periods ended at most three years
# before issuance (what the programmes this data imitates ask, roughly).
MAX_PERIOD_AGE_MONTHS = 36

RULES = (
    RuleSpec(
        "CN-GD", "CN-GD-PCR-LIB", "battery", "kWh", ISO, "cradle-to-gate",
        (
            _v("1.0", date(2023, 3, 1), _OLD_END, "50", "72", "95", "125"),
            _v("2.0", _OLD_END, None, "45", "65", "85", "110"),
        ),
    ),
    RuleSpec(
        "CN-GD", "CN-GD-PCR-PV", "pv-module", "m2", PV_STD, "cradle-to-gate",
        (_v("1.0", date(2024, 1, 1), None, "80", "100", "125", "155"),),
    ),
    RuleSpec(
        "CN-GD", "CN-GD-PCR-TEA", "tea", "kg", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 4, 1), None, "3", "5", "8", "12"),),
    ),
    RuleSpec(
        "CN-JS", "CN-JS-PCR-PV", "pv-module", "kWp", PV_STD, "cradle-to-gate",
        (
            _v("1.0", date(2023, 6, 1), _OLD_END, "400", "500", "620", "780"),
            _v("1.1", _OLD_END, None, "350", "450", "560", "700"),
        ),
    ),
    RuleSpec(
        "CN-JS", "CN-JS-PCR-STEEL", "steel", "t", STEEL_STD, "cradle-to-gate",
        (_v("1.0", date(2024, 1, 1), None, "600", "1200", "1800", "2200"),),
    ),
    RuleSpec(
        "CN-JS", "CN-JS-PCR-TEX", "textile", "kg", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 1, 1), None, "12", "18", "26", "36"),),
    ),
    RuleSpec(
        "CN-SH", "CN-SH-PCR-LIB", "battery", "kWh", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 7, 1), None, "45", "65", "85", "110"),),
    ),
    RuleSpec(
        "CN-SH", "CN-SH-PCR-STEEL", "steel", "t", STEEL_STD, "cradle-to-gate",
        (
            _v("2023", date(2023, 1, 1), _OLD_END, "650", "1250", "1900", "2400"),
            _v("2025", _OLD_END, None, "550", "1100", "1700", "2100"),
        ),
    ),
    RuleSpec(
        "HK", "HK-PCR-TEX", "textile", "garment", ISO, "cradle-to-grave",
        (
            _v("1.0", date(2023, 9, 1), _OLD_END, "5", "8", "13", "19"),
            _v("2.0", _OLD_END, None, "4", "7", "11", "16"),
        ),
    ),
    RuleSpec(
        "HK", "HK-PCR-TEA", "tea", "kg", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 3, 1), None, "3", "5", "8", "12"),),
    ),
    RuleSpec(
        "MO", "MO-PCR-TEX", "textile", "kg", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 5, 1), None, "12", "18", "26", "36"),),
    ),
    RuleSpec(
        "MO", "MO-PCR-TEA", "tea", "kg", ISO, "cradle-to-gate",
        (_v("1.0", date(2024, 5, 1), None, "3", "5", "8", "12"),),
    ),
)  # fmt: skip

CNAS = "CNAS (fictitious)"
HKAS = "HKAS (fictitious)"

BODIES = (
    BodySpec(
        "lingnan-pcc",
        "Lingnan Product Carbon Certification Co., Ltd. (fictitious)",
        {
            "en": "Lingnan Product Carbon Certification Co., Ltd. (fictitious)",
            "zh-Hans": "岭南产品碳认证有限公司（虚构）",
            "zh-Hant": "嶺南產品碳認證有限公司（虛構）",
        },
        "CN-GD",
        (
            AccreditationSpec(
                "CN-GD", ("battery", "pv-module", "tea"), CNAS, "CNAS C0417-P (demo)",
                date(2024, 2, 1),
            ),
            AccreditationSpec("HK", ("tea",), HKAS, "HKAS 218-PC (demo)", date(2024, 6, 1)),
            # Lapsed: kept to show an accreditation's period; nothing is issued under it.
            AccreditationSpec(
                "CN-SH", ("battery",), CNAS, "CNAS C0417-S (demo)",
                date(2023, 1, 1), date(2025, 6, 30),
            ),
        ),
    ),
    BodySpec(
        "wuyue-gcc",
        "Wuyue Green Product Certification Centre (fictitious)",
        {
            "en": "Wuyue Green Product Certification Centre (fictitious)",
            "zh-Hans": "吴越绿色产品认证中心（虚构）",
            "zh-Hant": "吳越綠色產品認證中心（虛構）",
        },
        "CN-JS",
        (
            AccreditationSpec(
                "CN-JS", ("pv-module", "steel", "textile"), CNAS, "CNAS C0932-P (demo)",
                date(2023, 11, 15),
            ),
            AccreditationSpec(
                "CN-SH", ("battery", "steel"), CNAS, "CNAS C0932-S (demo)", date(2024, 5, 20)
            ),
        ),
    ),
    BodySpec(
        "harbour-ca",
        "Victoria Harbour Carbon Assurance Ltd. (fictitious)",
        {
            "en": "Victoria Harbour Carbon Assurance Ltd. (fictitious)",
            "zh-Hans": "维港碳核证有限公司（虚构）",
            "zh-Hant": "維港碳核證有限公司（虛構）",
            "pt": "Victoria Harbour Garantia de Carbono Lda. (fictício)",
        },
        "HK",
        (
            AccreditationSpec(
                "HK", ("tea", "textile"), HKAS, "HKAS 305-PC (demo)", date(2023, 9, 1)
            ),
            AccreditationSpec(
                "MO", ("tea", "textile"), HKAS, "HKAS 305-MO (demo)", date(2024, 4, 1)
            ),
        ),
    ),
)  # fmt: skip

_M = {
    "pearl": "Pearl River Energy Storage Co., Ltd. (fictitious)",
    "xijiang": "Xijiang New Energy Technology Co., Ltd. (fictitious)",
    "nanling": "Nanling Photovoltaic Co., Ltd. (fictitious)",
    "yingde": "Yingde Hills Tea Cooperative (fictitious)",
    "phoenix": "Phoenix Peak Dancong Tea Co. (fictitious)",
    "taihu": "Taihu Solar Materials Co., Ltd. (fictitious)",
    "yangtze": "Yangtze Special Steel Co., Ltd. (fictitious)",
    "canal": "Grand Canal Textile Mills Co., Ltd. (fictitious)",
    "huangpu": "Huangpu Cell Technology Co., Ltd. (fictitious)",
    "wusong": "Wusong Steel Works Co., Ltd. (fictitious)",
    "kowloon": "Kowloon Garment Co., Ltd. (fictitious)",
    "lantau": "Lantau Tea Blenders Ltd. (fictitious)",
    "taipa": "Taipa Knitwear Lda. (fictitious)",
    "coloane": "Coloane Tea House Lda. (fictitious)",
}

_TEA_SEASON = (date(2025, 3, 1), date(2025, 10, 31))
_L = LabelSpec

LABELS = (
    # Lingnan, Guangdong batteries (kWh): A ≤ 45, B ≤ 65, C ≤ 85, D ≤ 110.
    _L("gd-lib-1", "lingnan-pcc", "CN-GD-PCR-LIB", "LFP energy-storage module 51.2 V 280 Ah (demo)",
       "PR-ESM-280", _M["pearl"], 1001, "41.8", "A",
       assurance="reasonable"),
    _L("gd-lib-2", "lingnan-pcc", "CN-GD-PCR-LIB", "LFP home battery 10 kWh (demo)",
       "PR-HB10", _M["pearl"], 1002, "583.5", "B", amount="10",
       assurance="limited"),
    _L("gd-lib-3", "lingnan-pcc", "CN-GD-PCR-LIB", "NMC 811 traction battery pack 75 kWh (demo)",
       "XJ-P75", _M["xijiang"], 1003, "5842.5", "C", amount="75"),
    _L("gd-lib-4", "lingnan-pcc", "CN-GD-PCR-LIB", "LFP e-bike battery 48 V 20 Ah (demo)",
       "XJ-EB4820", _M["xijiang"], 1004, "96.3", "D"),
    _L("gd-lib-5", "lingnan-pcc", "CN-GD-PCR-LIB", "LCO power-bank cell pack 20 Ah (demo)",
       "XJ-PB20", _M["xijiang"], 1005, "124.0", "E"),
    _L("gd-lib-6", "lingnan-pcc", "CN-GD-PCR-LIB", "LFP rack battery 100 kWh (demo)",
       "PR-RK100", _M["pearl"], 1006, "6610", "C", amount="100"),
    # Guangdong PV modules (m²): A ≤ 80, B ≤ 100, C ≤ 125, D ≤ 155.
    _L("gd-pv-1", "lingnan-pcc", "CN-GD-PCR-PV", "Mono PERC module 550 W, 2.58 m² (demo)",
       "NL-M550", _M["nanling"], 1101, "92.4", "B",
       assurance="reasonable"),
    _L("gd-pv-2", "lingnan-pcc", "CN-GD-PCR-PV", "TOPCon bifacial module 580 W, 2.58 m² (demo)",
       "NL-T580B", _M["nanling"], 1102, "76.5", "A",
       assurance="limited"),
    _L("gd-pv-3", "lingnan-pcc", "CN-GD-PCR-PV", "Polycrystalline module 330 W, 1.94 m² (demo)",
       "NL-P330", _M["nanling"], 1103, "138.7", "D"),
    # Guangdong tea (kg): A ≤ 3, B ≤ 5, C ≤ 8, D ≤ 12.
    _L("gd-tea-1", "lingnan-pcc", "CN-GD-PCR-TEA", "Yingde black tea, 250 g tin (demo)",
       "YD-BT250", _M["yingde"], 1201, "1.05", "B", amount="0.25", period=_TEA_SEASON,
       assurance="reasonable"),
    _L("gd-tea-2", "lingnan-pcc", "CN-GD-PCR-TEA", "Phoenix Dancong oolong, 500 g (demo)",
       "PP-DC500", _M["phoenix"], 1202, "3.4", "C", amount="0.5", period=_TEA_SEASON,
       assurance="limited"),
    _L("gd-tea-3", "lingnan-pcc", "CN-GD-PCR-TEA", "Lianshan green tea, 1 kg (demo)",
       "YD-GT1000", _M["yingde"], 1203, "2.6", "A", period=_TEA_SEASON),
    # Hong Kong tea (kg), same bounds.
    _L("hk-tea-1", "lingnan-pcc", "HK-PCR-TEA", "Aged Pu'er tea cake, 357 g (demo)",
       "LT-PE357", _M["lantau"], 1301, "3.1", "D", amount="0.357", period=_TEA_SEASON),
    _L("hk-tea-2", "harbour-ca", "HK-PCR-TEA", "Hong Kong-style milk tea blend, 1 kg (demo)",
       "LT-MT1000", _M["lantau"], 1302, "13.5", "E", period=_TEA_SEASON),
    _L("hk-tea-3", "harbour-ca", "HK-PCR-TEA", "Jasmine green tea, 100 g (demo)",
       "LT-JS100", _M["lantau"], 1303, "0.49", "B", amount="0.1", period=_TEA_SEASON),
    # Wuyue, Jiangsu PV modules (kWp): A ≤ 350, B ≤ 450, C ≤ 560, D ≤ 700.
    _L("js-pv-1", "wuyue-gcc", "CN-JS-PCR-PV", "Heterojunction module 700 W (demo)",
       "TH-HJT700", _M["taihu"], 2101, "222.6", "A", amount="0.7"),
    _L("js-pv-2", "wuyue-gcc", "CN-JS-PCR-PV", "TOPCon module 620 W (demo)",
       "TH-T620", _M["taihu"], 2102, "249.2", "B", amount="0.62"),
    _L("js-pv-3", "wuyue-gcc", "CN-JS-PCR-PV", "Mono PERC module 545 W (demo)",
       "TH-M545", _M["taihu"], 2103, "280.7", "C", amount="0.545"),
    # Jiangsu steel (t): A ≤ 600, B ≤ 1200, C ≤ 1800, D ≤ 2200.
    _L("js-st-1", "wuyue-gcc", "CN-JS-PCR-STEEL", "EAF rebar HRB400E, 1 t (demo)",
       "YZ-HRB400E", _M["yangtze"], 2201, "486", "A",
       assurance="limited"),
    _L("js-st-2", "wuyue-gcc", "CN-JS-PCR-STEEL", "Hot-rolled coil Q235B, 1 t (demo)",
       "YZ-HRC-Q235B", _M["yangtze"], 2202, "2085", "D"),
    _L("js-st-3", "wuyue-gcc", "CN-JS-PCR-STEEL", "Cold-rolled electrical steel 50W470, 1 t (demo)",
       "YZ-CRNO-50W470", _M["yangtze"], 2203, "2390", "E"),
    _L("js-st-4", "wuyue-gcc", "CN-JS-PCR-STEEL", "Stainless sheet 304 2B, 1 t (demo)",
       "YZ-SS304-2B", _M["yangtze"], 2204, "1650", "C"),
    # Jiangsu textiles (kg): A ≤ 12, B ≤ 18, C ≤ 26, D ≤ 36.
    _L("js-tx-1", "wuyue-gcc", "CN-JS-PCR-TEX", "Organic cotton jersey fabric, 1 kg (demo)",
       "GC-OCJ180", _M["canal"], 2301, "10.9", "A"),
    _L("js-tx-2", "wuyue-gcc", "CN-JS-PCR-TEX", "Polyester-cotton shirting, 1 kg (demo)",
       "GC-PC6535", _M["canal"], 2302, "19.7", "C"),
    _L("js-tx-3", "wuyue-gcc", "CN-JS-PCR-TEX", "Silk crepe de chine, 1 kg (demo)",
       "GC-SCDC16", _M["canal"], 2303, "38.5", "E"),
    # Shanghai batteries (kWh): A ≤ 45, B ≤ 65, C ≤ 85, D ≤ 110.
    _L("sh-lib-1", "wuyue-gcc", "CN-SH-PCR-LIB", "LFP prismatic cell 3.2 V 314 Ah (demo)",
       "HP-LF314", _M["huangpu"], 3101, "47.8", "B", amount="1.0048"),
    _L("sh-lib-2", "wuyue-gcc", "CN-SH-PCR-LIB", "NMC pouch cell 3.7 V 60 Ah (demo)",
       "HP-NP60", _M["huangpu"], 3102, "19.58", "D", amount="0.222"),
    # Shanghai steel (t): A ≤ 550, B ≤ 1100, C ≤ 1700, D ≤ 2100.
    _L("sh-st-1", "wuyue-gcc", "CN-SH-PCR-STEEL", "Heavy plate, hydrogen-DRI pilot, 1 t (demo)",
       "WS-HP-H2", _M["wusong"], 3201, "540", "A"),
    _L("sh-st-2", "wuyue-gcc", "CN-SH-PCR-STEEL", "Hot-dip galvanised sheet DX51D, 1 t (demo)",
       "WS-GI-DX51D", _M["wusong"], 3202, "1980", "D"),
    # Victoria Harbour, Hong Kong garments (per garment, cradle-to-grave):
    # A ≤ 4, B ≤ 7, C ≤ 11, D ≤ 16.
    _L("hk-tx-1", "harbour-ca", "HK-PCR-TEX", "Cotton T-shirt, size M (demo)",
       "KG-TS-M", _M["kowloon"], 4101, "3.6", "A",
       assurance="reasonable"),
    _L("hk-tx-2", "harbour-ca", "HK-PCR-TEX", "Recycled-PET polo shirt, size M (demo)",
       "KG-PL-M", _M["kowloon"], 4102, "5.2", "B"),
    _L("hk-tx-3", "harbour-ca", "HK-PCR-TEX", "Denim jeans, W32 L32 (demo)",
       "KG-DJ-3232", _M["kowloon"], 4103, "14.8", "D"),
    _L("hk-tx-4", "harbour-ca", "HK-PCR-TEX", "Down jacket, size L (demo)",
       "KG-DJK-L", _M["kowloon"], 4104, "21.0", "E"),
    # Macao textiles (kg): A ≤ 12, B ≤ 18, C ≤ 26, D ≤ 36.
    _L("mo-tx-1", "harbour-ca", "MO-PCR-TEX", "Merino wool sweater, 0.45 kg (demo)",
       "TP-MW045", _M["taipa"], 5101, "14.04", "D", amount="0.45"),
    _L("mo-tx-2", "harbour-ca", "MO-PCR-TEX", "Cotton piqué fabric, 1 kg (demo)",
       "TP-CPQ220", _M["taipa"], 5102, "16.4", "B"),
    # Macao tea (kg): A ≤ 3, B ≤ 5, C ≤ 8, D ≤ 12.
    _L("mo-tea-1", "harbour-ca", "MO-PCR-TEA", "Chrysanthemum Pu'er blend, 200 g (demo)",
       "CL-CP200", _M["coloane"], 5201, "1.46", "C", amount="0.2", period=_TEA_SEASON),
    # Corrections: each supersedes an earlier label of the same body.
    _L("gd-lib-6b", "lingnan-pcc", "CN-GD-PCR-LIB", "LFP rack battery 100 kWh (demo)",
       "PR-RK100", _M["pearl"], 1006, "6390", "B", amount="100", supersedes="gd-lib-6",
       assurance="reasonable"),
    _L("sh-st-2b", "wuyue-gcc", "CN-SH-PCR-STEEL", "Hot-dip galvanised sheet DX51D, 1 t (demo)",
       "WS-GI-DX51D", _M["wusong"], 3202, "2140", "E", supersedes="sh-st-2"),
)  # fmt: skip

# Victoria Harbour's key is rotated just before it issues this label: the labels signed with the
# retired key stay verifiable.
KEY_ROTATION = ("harbour-ca", "hk-tx-1")

_S = StatusChangeSpec

STATUS_CHANGES = (
    _S("gd-lib-4", "suspend", "body", "Surveillance audit pending: the cell supplier changed."),
    _S("gd-lib-5", "revoke", "body", "Product discontinued; certificate cancelled on request."),
    _S("js-pv-2", "suspend", "body", "Annual surveillance audit overdue."),
    _S("js-pv-2", "reinstate", "body", "Surveillance audit completed without findings."),
    _S("js-st-3", "suspend", "body", "Supplier electricity data under review."),
    _S("js-st-4", "suspend", "body", "Scrap share not evidenced at the surveillance audit."),
    _S("js-st-4", "revoke", "body", "Footprint understated: the scrap share was not evidenced."),
    _S("hk-tea-2", "revoke", "body", "Verification omitted the packaging stage."),
    _S("hk-tx-4", "suspend", "operator", "Registry operator: a complaint is under investigation."),
)  # fmt: skip


def _agreement(title: str) -> str:
    """The SHA-256 a mapping states of its agreement document (here: of a fictitious title)."""
    return hashlib.sha256(title.encode("utf-8")).hexdigest()


_EFFECTIVE = datetime(2025, 1, 1, tzinfo=UTC)
_GD_HK = "Guangdong–Hong Kong carbon label mutual recognition arrangement (fictitious)"
_JS_SH = "Jiangsu–Shanghai carbon label mutual recognition arrangement (fictitious)"

# Recognition between the demo's programmes: one label gets different answers per region. A
# CN-GD tea label is native in CN-GD, recomputed under the Hong Kong rule in HK, not recognised
# in Macao (HK's mapping is not transitive) and not in the EU-style scheme (cradle-to-gate;
# it also asks for reasonable assurance, which some GD labels state, some not).
MAPPINGS = (
    RecognitionMapping(
        mapping_id="GD-HK-TEA",
        revision=1,
        source=MappingSource("CN-GD", frozenset({"CN-GD-PCR-TEA"}), VersionRange("1.0", "1.99")),
        target=MappingTarget("HK", "HK", "HK-PCR-TEA", "1.0"),
        mode="recompute",
        effective_from=_EFFECTIVE,
        approved_by="Hong Kong Green Label Council (fictitious)",
        agreement_sha256=_agreement(_GD_HK),
        conditions=Conditions(standards=frozenset({"ISO 14067"}), categories=frozenset({"tea"})),
    ),
    RecognitionMapping(
        mapping_id="HK-GD-TEA",
        revision=1,
        source=MappingSource("HK", frozenset({"HK-PCR-TEA"}), VersionRange("1.0", "1.99")),
        target=MappingTarget("CN-GD", "CN-GD", "CN-GD-PCR-TEA", "1.0"),
        mode="recompute",
        effective_from=_EFFECTIVE,
        approved_by="Guangdong Low-Carbon Label Office (fictitious)",
        agreement_sha256=_agreement(_GD_HK),
        conditions=Conditions(standards=frozenset({"ISO 14067"})),
    ),
    RecognitionMapping(
        mapping_id="HK-MO-TEX",
        revision=1,
        source=MappingSource("HK", frozenset({"HK-PCR-TEX"}), VersionRange("2.0", None)),
        target=MappingTarget("MO", "MO", "MO-PCR-TEX", "1.0"),
        mode="table",
        table={"A": "A", "B": "A", "C": "B", "D": "C", "E": "E"},
        effective_from=_EFFECTIVE,
        approved_by="Macao Low-Carbon Products Board (fictitious)",
        agreement_sha256=_agreement("Hong Kong–Macao textile label table (fictitious)"),
    ),
    RecognitionMapping(
        mapping_id="JS-SH-STEEL",
        revision=1,
        source=MappingSource("CN-JS", frozenset({"CN-JS-PCR-STEEL"})),
        target=MappingTarget("CN-SH", "CN-SH", "CN-SH-PCR-STEEL", "2025"),
        mode="recompute",
        effective_from=_EFFECTIVE,
        approved_by="Shanghai Carbon Label Secretariat (fictitious)",
        agreement_sha256=_agreement(_JS_SH),
        conditions=Conditions(max_period_age_days=3 * 365),
    ),
    RecognitionMapping(
        mapping_id="SH-JS-STEEL",
        revision=1,
        source=MappingSource("CN-SH", frozenset({"CN-SH-PCR-STEEL"}), VersionRange("2025", None)),
        target=MappingTarget("CN-JS", "CN-JS", "CN-JS-PCR-STEEL", "1.0"),
        mode="recompute",
        effective_from=_EFFECTIVE,
        approved_by="Jiangsu Product Carbon Footprint Centre (fictitious)",
        agreement_sha256=_agreement(_JS_SH),
        conditions=Conditions(max_period_age_days=3 * 365),
    ),
    RecognitionMapping(
        mapping_id="GD-EU",
        revision=1,
        source=MappingSource(
            "CN-GD", frozenset({"CN-GD-PCR-LIB", "CN-GD-PCR-PV", "CN-GD-PCR-TEA"})
        ),
        target=MappingTarget("EU-PEF", "EU"),
        mode="value-only",
        effective_from=_EFFECTIVE,
        approved_by="European Footprint Label Board (fictitious)",
        agreement_sha256=_agreement("Guangdong–EU-style footprint acceptance (fictitious)"),
        conditions=Conditions(
            boundaries=frozenset({"cradle-to-grave"}),
            max_period_age_days=2 * 365,
            min_assurance="reasonable",
        ),
    ),
)

"""Label artwork: QR payload rule, real QR decoding (zxing-cpp), and the label SVG."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from credentials.artwork import label_svg, qr_payload, qr_png, qr_svg, qr_version
from credentials.errors import CredentialError, MalformedInputError

SVG = "{http://www.w3.org/2000/svg}"
URL = "https://registry.example.cn/l/7K3M9QH2XD"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (this module's own output, not untrusted data)


def _decode(png: bytes) -> Any:
    image = Image.open(io.BytesIO(png))
    (barcode,) = zxingcpp.read_barcodes(image)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.valid
    return barcode


def _png_matrix(png: bytes, scale: int) -> list[list[bool]]:
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.width // scale
    assert image.width == image.height == size * scale
    half = scale // 2
    return [
        [image.getpixel((x * scale + half, y * scale + half)) == 0 for x in range(size)]
        for y in range(size)
    ]


def _path_matrix(d: str, size: int) -> list[list[bool]]:
    assert re.fullmatch(f"(?:{RUN.pattern})+", d)
    matrix = [[False] * size for _ in range(size)]
    for x, y, width, back in RUN.findall(d):
        assert width == back
        for dx in range(int(width)):
            matrix[int(y)][int(x) + dx] = True
    return matrix


def _label(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "grade": "B",
        "footprint_value": Decimal("61.2"),
        "declared_unit": "kWh",
        "rule_id": "EL-GRID-CN",
        "rule_version": "2025.1",
        "scheme": "CN-PCF",
        "label_url": URL,
        "product_name": "Grid electricity, Macau",
        "label_id": "7K3M9QH2XD",
        "issuer_name": "Pearl River Carbon Certification (fictitious)",
        "valid_until": date(2029, 6, 30),
    }
    fields.update(overrides)
    return label_svg(**fields)


# --- payload ------------------------------------------------------------------------------------


def test_payload_upper_cases_a_label_url_into_alphanumeric() -> None:
    assert qr_payload(URL) == "HTTPS://REGISTRY.EXAMPLE.CN/L/7K3M9QH2XD"
    assert qr_payload("http://Registry.Example:8080/base/l/7k3m9qh2xd") == (
        "HTTP://REGISTRY.EXAMPLE:8080/BASE/L/7K3M9QH2XD"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://registry.example.cn/l/7K3M9QH2XD?utm=box",
        "https://registry_1.example/l/7K3M9QH2XD",
        "https://registry.example/l/7K3M9QH2XD#top",
    ],
)
def test_payload_outside_alphanumeric_stays_as_given_in_byte_mode(url: str) -> None:
    assert qr_payload(url) == url
    assert _decode(qr_png(url, scale=2)).text == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/l/7K3M9QH2XD",
        "registry.example/l/7K3M9QH2XD",
        "ftp://registry.example/l/7K3M9QH2XD",
        "javascript:alert(1)",
        "https://",
        "https://:443/l/7K3M9QH2XD",
        "https://registry.example:99999/l/7K3M9QH2XD",
        "https://[::1/l/7K3M9QH2XD",
        "https://registry.example/l/7K3M 9QH2XD",
        "https://registry.example/l/7K3M9QH2XD\n",
        "https://régistre.example/l/7K3M9QH2XD",
        "https://registry.example@evil.example/l/7K3M9QH2XD",
        "https://registry.example/" + "x" * 2000,
        None,
        b"https://registry.example/l/7K3M9QH2XD",
    ],
)
def test_bad_url_is_malformed_input(url: Any) -> None:
    with pytest.raises(MalformedInputError):
        qr_payload(url)


@pytest.mark.parametrize(
    "kwargs", [{"error_correction": "X"}, {"error_correction": "m"}, {"scale": 0}, {"scale": 1000}]
)
def test_bad_png_options_are_malformed_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(MalformedInputError):
        qr_png(URL, **kwargs)


def test_svg_module_size_must_be_a_positive_int() -> None:
    with pytest.raises(MalformedInputError):
        qr_svg(URL, module_size=True)


# --- real decoding ------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "version"), [("L", 2), ("M", 3), ("Q", 3), ("H", 4)])
def test_typical_url_decodes_to_the_payload_at_a_small_version(level: str, version: int) -> None:
    barcode = _decode(qr_png(URL, error_correction=level, scale=3))
    assert barcode.text == qr_payload(URL)
    assert barcode.ec_level == level
    assert barcode.extra["Version"] == str(version) == str(qr_version(URL, error_correction=level))


def test_typical_url_is_version_3_with_29_modules() -> None:
    assert qr_version(URL) == 3
    png = qr_png(URL, scale=8)
    assert Image.open(io.BytesIO(png)).size == ((29 + 8) * 8, (29 + 8) * 8)


def test_symbol_uses_alphanumeric_mode() -> None:
    # 48 characters: version 3-M holds 61 alphanumeric characters but only 42 bytes, so a decoded
    # version 3 proves the encoder used alphanumeric mode.
    url = "https://registry.example.cn/carbons/l/7K3M9QH2XD"
    assert len(url) == 48
    barcode = _decode(qr_png(url, scale=3))
    assert barcode.text == url.upper()
    assert barcode.extra["Version"] == "3"


@settings(max_examples=20, deadline=None)
@given(label_id=st.text(alphabet=CROCKFORD, min_size=10, max_size=10))
def test_any_label_url_round_trips_through_a_small_symbol(label_id: str) -> None:
    url = f"https://registry.example.cn/l/{label_id}"
    assert _decode(qr_png(url, scale=2)).text == f"HTTPS://REGISTRY.EXAMPLE.CN/L/{label_id}"
    assert qr_version(url) <= 3


def test_png_is_deterministic_and_needs_no_pil_to_build() -> None:
    png = qr_png(URL)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == qr_png(URL)


# --- standalone SVG -----------------------------------------------------------------------------


def test_svg_has_the_same_module_matrix_as_the_png() -> None:
    svg = qr_svg(URL, module_size=5)
    root = _parse(svg)
    size = (29 + 8) * 5
    assert root.get("width") == root.get("height") == str(size)
    assert root.get("viewBox") == "0 0 37 37"
    assert root.get("role") == "img"
    assert root.get("aria-label") == f"QR code: {URL}"
    assert root.findtext(f"{SVG}title") == f"QR code: {URL}"
    (path,) = root.iter(f"{SVG}path")
    svg_matrix = _path_matrix(path.get("d", ""), 37)
    png_matrix = _png_matrix(qr_png(URL, scale=4), 4)
    assert svg_matrix == png_matrix
    quiet = [*svg_matrix[:4], *svg_matrix[-4:], *(row[:4] + row[-4:] for row in svg_matrix)]
    assert not any(any(row) for row in quiet)


# --- label artwork ------------------------------------------------------------------------------


def test_label_parses_and_is_accessible() -> None:
    root = _parse(_label())
    assert root.get("role") == "img"
    assert root.get("lang") == "en"
    title = root.findtext(f"{SVG}title") or ""
    desc = root.findtext(f"{SVG}desc") or ""
    assert "Grid electricity, Macau" in title
    assert "grade B" in title
    assert "Grade B" in desc
    assert "61.2 kg CO₂e / kWh" in desc
    assert "EL-GRID-CN v2025.1" in desc
    assert "Certified by Pearl River Carbon Certification (fictitious)" in desc
    assert "Valid until 2029-06-30" in desc


def test_label_shows_grade_footprint_rule_scheme_and_id() -> None:
    svg = _label()
    root = _parse(svg)
    texts = {el.get("class"): el.text for el in root.iter(f"{SVG}text") if el.get("class")}
    assert texts["footprint"] == "61.2 kg CO₂e / kWh"
    assert texts["rule"] == "Rule EL-GRID-CN v2025.1"
    assert texts["scheme"] == "Scheme CN-PCF"
    assert texts["issuer"] == "Certified by Pearl River Carbon Certification (fictitious)"
    assert texts["validity"] == "Valid until 2029-06-30 · Label 7K3M9QH2XD"
    # The short code stands under the QR code, for a reader whose scan fails.
    assert texts["short-code"] == "7K3M9QH2XD"
    (short,) = (t for t in root.iter(f"{SVG}text") if t.get("class") == "short-code")
    (qr,) = (g for g in root.iter(f"{SVG}g") if g.get("class") == "qr")
    box = next(iter(qr))
    qr_bottom = int(box.get("y", "0")) + int(box.get("height", "0"))
    qr_centre = int(box.get("x", "0")) + int(box.get("height", "0")) // 2
    assert int(short.get("y", "0")) > qr_bottom
    assert int(short.get("x", "0")) == qr_centre
    assert not [g for g in root.iter(f"{SVG}g") if g.get("class") == "state-mark"]
    (selected,) = (g for g in root.iter(f"{SVG}g") if g.get("class") == "grade-selected")
    assert selected.get("data-grade") == "B"
    assert [t.text for t in selected.iter(f"{SVG}text")] == ["B"]
    letters = sorted(t.text or "" for t in root.iter(f"{SVG}text") if len(t.text or "") == 1)
    assert letters == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("61.2"), "61.2"),
        (Decimal("0.100"), "0.100"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.05"), "-0.05"),
        (Decimal("123456789012.000000000001"), "123456789012.000000000001"),
    ],
)
def test_footprint_decimal_is_rendered_exactly(value: Decimal, shown: str) -> None:
    assert f">{shown} kg CO₂e / kWh<" in _label(footprint_value=value)


@pytest.mark.parametrize(
    ("lang", "state", "word"),
    [
        ("en", "suspended", "SUSPENDED"),
        ("en", "revoked", "REVOKED"),
        ("en", "superseded", "SUPERSEDED"),
        ("en", "expired", "EXPIRED"),
        ("zh-Hans", "revoked", "已撤销"),
        ("zh-Hant", "suspended", "已暫停"),
        ("pt-MO", "superseded", "SUBSTITUÍDO"),
    ],
)
def test_a_label_that_is_not_current_is_crossed_by_its_state(
    lang: str, state: str, word: str
) -> None:
    root = _parse(_label(state=state, lang=lang))
    (mark,) = (g for g in root.iter(f"{SVG}g") if g.get("class") == "state-mark")
    assert mark.get("data-state") == state
    texts = {t.get("class"): t.text for t in mark.iter(f"{SVG}text")}
    assert texts["state"] == word
    assert texts["state-note"]
    # Drawn last, so it lies over the grade and the QR code, and said first to screen readers.
    assert list(root)[-1] is mark
    assert (root.findtext(f"{SVG}title") or "").startswith(f"{word}: ")
    assert (root.findtext(f"{SVG}desc") or "").startswith(f"{word}. ")


@pytest.mark.parametrize("state", ["active", "current", "", "SUSPENDED", 3])
def test_an_unknown_state_is_refused(state: Any) -> None:
    with pytest.raises(MalformedInputError):
        _label(state=state)


def test_the_certifier_name_and_validity_end_are_printed_in_each_language() -> None:
    for lang, certified, until in (
        ("zh-Hans", "认证机构", "有效期至 2029-06-30"),
        ("zh-Hant", "認證機構", "有效期至 2029-06-30"),
        ("pt-MO", "Certificado por", "Válido até 2029-06-30"),
    ):
        root = _parse(_label(lang=lang))
        texts = {el.get("class"): el.text or "" for el in root.iter(f"{SVG}text")}
        assert texts["issuer"].startswith(certified)
        assert texts["validity"].startswith(until)


def test_a_very_long_certifier_name_is_shortened_not_refused() -> None:
    root = _parse(_label(issuer_name="Certification " * 30))
    (issuer,) = (t for t in root.iter(f"{SVG}text") if t.get("class") == "issuer")
    assert (issuer.text or "").endswith("…")


@pytest.mark.parametrize(
    "value", [61.2, 61, "61.2", Decimal("NaN"), Decimal("Infinity"), Decimal("1E+40")]
)
def test_footprint_that_is_not_a_printable_decimal_is_refused(value: Any) -> None:
    with pytest.raises(MalformedInputError):
        _label(footprint_value=value)


def test_product_name_is_escaped() -> None:
    name = "<script>alert(\"x\")</script> & 'Co' ]]>"
    svg = _label(product_name=name)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = _parse(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert name in (root.findtext(f"{SVG}title") or "")
    (product,) = (t for t in root.iter(f"{SVG}text") if t.get("class") == "product")
    assert product.text == name


def test_long_product_name_is_shortened_on_the_artwork_but_whole_in_the_title() -> None:
    name = "Ordinary Portland cement CEM I 52.5 R, bulk, from the Example plant " * 2
    root = _parse(_label(product_name=name))
    (product,) = (t for t in root.iter(f"{SVG}text") if t.get("class") == "product")
    assert (product.text or "").endswith("…")
    assert int(product.get("font-size", "0")) >= 10
    assert name in (root.findtext(f"{SVG}title") or "")


@pytest.mark.parametrize(
    "name",
    ["bad\x00byte", "bell\x07", "bidi \u202e spoof", "", "   ", "x" * 501, "\uffff", 42],
)
def test_unprintable_product_name_is_refused(name: Any) -> None:
    with pytest.raises(MalformedInputError):
        _label(product_name=name)


def test_footprint_line_too_long_to_print_is_refused() -> None:
    with pytest.raises(MalformedInputError, match="too long to print"):
        # The longest footprint the registry stores (the artwork took 36 digits before the point).
        _label(footprint_value=Decimal("9" * 18 + "." + "9" * 12), declared_unit="单" * 40)


def test_marker_position_is_monotone_from_a_to_e() -> None:
    positions = []
    for grade in "ABCDE":
        root = _parse(_label(grade=grade))
        (marker,) = (p for p in root.iter(f"{SVG}path") if p.get("class") == "grade-marker")
        assert marker.get("data-grade") == grade
        match = re.fullmatch(r"translate\((\d+) 0\)", marker.get("transform", ""))
        assert match
        positions.append(int(match.group(1)))
    assert positions == sorted(set(positions))


@pytest.mark.parametrize("grade", ["F", "a", "", "AB", " A", None, 1])
def test_grade_outside_a_to_e_is_refused(grade: Any) -> None:
    with pytest.raises(MalformedInputError):
        _label(grade=grade)


def test_label_embeds_the_qr_as_vector_paths() -> None:
    root = _parse(_label())
    assert not list(root.iter(f"{SVG}image"))
    (group,) = (g for g in root.iter(f"{SVG}g") if g.get("class") == "qr")
    (embedded,) = group.iter(f"{SVG}path")
    (standalone,) = _parse(qr_svg(URL)).iter(f"{SVG}path")
    assert embedded.get("d") == standalone.get("d")


def test_label_is_deterministic() -> None:
    assert _label().encode() == _label().encode()
    assert _label(lang="zh-Hans").encode() == _label(lang="zh-Hans").encode()


@pytest.mark.parametrize(
    ("lang", "resolved", "heading"),
    [
        ("en", "en", "Carbon footprint"),
        ("zh-Hans", "zh-Hans", "碳足迹"),
        ("zh-CN", "zh-Hans", "碳足迹"),
        ("zh-Hant", "zh-Hant", "碳足跡"),
        ("zh-MO", "zh-Hant", "碳足跡"),
        ("zh_Hant_TW", "zh-Hant", "碳足跡"),
        ("pt-MO", "pt-MO", "Pegada de carbono"),
        ("pt", "pt-MO", "Pegada de carbono"),
    ],
)
def test_captions_are_localized(lang: str, resolved: str, heading: str) -> None:
    root = _parse(_label(lang=lang))
    assert root.get("lang") == resolved
    assert heading in [t.text for t in root.iter(f"{SVG}text")]
    assert heading in (root.findtext(f"{SVG}desc") or "")


@pytest.mark.parametrize("lang", ["fr", "xx-YY", "", "zz"])
def test_unknown_lang_falls_back_to_english(lang: str) -> None:
    assert _label(lang=lang) == _label(lang="en")


@pytest.mark.parametrize(
    "overrides",
    [
        {"label_id": "7K3M9QH2X"},
        {"label_id": "7K3M9QH2XU"},  # U is not Crockford base32
        {"label_id": "7K3M9QH2Xſ"},  # long s upper-cases to S
        {"label_id": "AAAAAAAAAA"},  # does not match the URL
        {"label_url": "https://registry.example.cn/l/7K3M9QH2XD/extra"},
        {"label_url": "ftp://registry.example.cn/l/7K3M9QH2XD"},
        {"rule_id": ""},
        {"scheme": "s\x1b[31m"},
    ],
)
def test_inconsistent_or_malformed_label_fields_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(CredentialError):
        _label(**overrides)


def test_lower_case_label_id_is_accepted_and_shown_upper_case() -> None:
    svg = _label(label_id="7k3m9qh2xd", label_url="https://registry.example.cn/l/7k3m9qh2xd")
    assert ">Valid until 2029-06-30 · Label 7K3M9QH2XD<" in svg
    assert ">7K3M9QH2XD<" in svg  # under the QR code


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant", "pt-MO"])
@pytest.mark.parametrize("unit", ["k" * 32, "千" * 32], ids=["latin-unit", "wide-unit"])
def test_the_longest_values_a_registry_accepts_are_drawn_in_every_language(
    lang: str, unit: str
) -> None:
    """What the registry's schemas allow (footprint 18+12 digits, rule id 64, version 32,
    declared unit 32, scheme 32, product name 500) must print: a label that cannot be drawn
    would answer 500 for ever."""
    svg = _label(
        footprint_value=Decimal("999999999999999999.999999999999"),
        declared_unit=unit,
        rule_id="R" * 64,
        rule_version="V" * 32,
        scheme="S" * 32,
        product_name="\U0001f50b" * 500,
        lang=lang,
    )
    assert "R" * 64 in svg

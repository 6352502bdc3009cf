"""Label artwork over HTTP: QR codes decoded for real (zxing-cpp) and the printable label SVG."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image

from tests.registry.factories import BASE_URL, LabelWorld, label_request
from tests.registry.labels.support import app, issue, label_app, problem, world

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module

SVG = "{http://www.w3.org/2000/svg}"
RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def _decode_png(png: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return str(barcode.text)


def test_the_png_qr_decodes_to_the_labels_url_in_upper_case(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id'].lower()}/qr.png?scale=6")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert _decode_png(response.data) == f"{BASE_URL}/l/{label['id']}".upper()


def _rasterise_svg(svg: bytes, scale: int = 6) -> Image.Image:
    """Paint the SVG's module runs (``M x y h w v1 h-w z``) into a bitmap zxing can read."""
    root = ET.fromstring(svg)  # noqa: S314 - the registry's own output
    size = int(root.attrib["viewBox"].split()[2])
    image = Image.new("L", (size * scale, size * scale), 255)
    runs = [m.groups() for p in root.iter(f"{SVG}path") for m in RUN.finditer(p.attrib["d"])]
    assert runs, "no module runs in the QR SVG"
    for x, y, width, _ in runs:
        left, top = int(x) * scale, int(y) * scale
        image.paste(0, (left, top, left + int(width) * scale, top + scale))
    return image


def test_the_svg_qr_decodes_to_the_labels_url(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id']}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    (barcode,) = zxingcpp.read_barcodes(_rasterise_svg(response.data))
    assert barcode.text == f"{BASE_URL}/l/{label['id']}".upper()


@pytest.mark.parametrize(
    ("lang", "caption"),
    [("en", "Carbon"), ("zh-Hans", "碳"), ("zh-Hant", "碳"), ("pt-MO", "carbono")],
)
def test_the_printable_label_shows_grade_and_footprint_in_the_language_asked(
    client: FlaskClient, world: LabelWorld, lang: str, caption: str
) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id']}/label.svg?lang={lang}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    ET.fromstring(text)  # noqa: S314 - well-formed XML
    assert caption.lower() in text.lower()
    assert label["footprint"]["value"] in text
    assert label["id"] in text


def test_html_in_a_product_name_is_escaped_in_the_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    request = label_request()
    request["product"]["name"] = '<script>alert("x")</script> LFP module (demo)'
    label = issue(client, world.certifier, request)
    text = client.get(f"/api/v1/labels/{label['id']}/label.svg").get_data(as_text=True)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_unknown_labels_languages_and_scales_are_refused(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    problem(client.get("/api/v1/labels/0000000000/qr.png"), 404, "not-found")
    problem(client.get(f"/api/v1/labels/{label['id']}/label.svg?lang=fr"), 422, "validation-failed")
    for scale in ("1", "33", "x", "-4"):
        response = client.get(f"/api/v1/labels/{label['id']}/qr.png?scale={scale}")
        problem(response, 422, "validation-failed")

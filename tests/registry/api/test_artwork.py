"""Label artwork over HTTP: QR codes decoded for real (zxing-cpp) and the printable label SVG."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from registry.clock import FixedClock
from tests.registry.factories import BASE_URL, LabelWorld, label_request
from tests.registry.labels.support import app, change_status, issue, label_app, problem, world

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
    for lang in ("<b>", "zh CN", "x" * 60, "zh--CN"):
        response = client.get(
            f"/api/v1/labels/{label['id']}/label.svg", query_string={"lang": lang}
        )
        problem(response, 422, "validation-failed")
    for scale in ("1", "33", "x", "-4"):
        response = client.get(f"/api/v1/labels/{label['id']}/qr.png?scale={scale}")
        problem(response, 422, "validation-failed")


def _svg_state(response: TestResponse) -> str | None:
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - the registry's own output
    marks = [g for g in root.iter(f"{SVG}g") if g.get("class") == "state-mark"]
    return marks[0].get("data-state") if marks else None


def test_the_artwork_of_a_suspended_or_revoked_label_says_so_and_is_revalidated(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    url = f"/api/v1/labels/{label['id']}/label.svg"
    current = client.get(url)
    assert _svg_state(current) is None
    assert current.headers["Cache-Control"] == "public, no-cache"  # never "immutable"
    etag = current.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    suspended = client.get(url, headers={"If-None-Match": etag})
    assert suspended.status_code == 200  # the old ETag no longer matches
    assert _svg_state(suspended) == "suspended"
    assert "SUSPENDED" in suspended.get_data(as_text=True)

    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    revoked = client.get(url, query_string={"lang": "zh-CN"})
    assert _svg_state(revoked) == "revoked"
    assert "已撤销" in revoked.get_data(as_text=True)
    # The QR code itself never changes: it still opens the page that says revoked.
    assert (
        "immutable" in client.get(f"/api/v1/labels/{label['id']}/qr.svg").headers["Cache-Control"]
    )


def test_a_superseded_labels_artwork_is_marked_superseded(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    request = label_request()
    request["supersedes"] = old["id"]
    issue(client, world.certifier, request)
    response = client.get(f"/api/v1/labels/{old['id']}/label.svg")
    assert _svg_state(response) == "superseded"


def test_an_expired_labels_artwork_is_marked_expired(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    label = issue(client, world.certifier)
    clock.set(
        datetime.fromisoformat(label["valid_until"].replace("Z", "+00:00")) + timedelta(seconds=1)
    )
    response = client.get(f"/api/v1/labels/{label['id']}/label.svg")
    assert _svg_state(response) == "expired"


@pytest.mark.parametrize(
    ("lang", "accept", "served", "caption"),
    [
        ("zh-CN", None, "zh-Hans", "碳足迹"),
        ("zh-TW", None, "zh-Hant", "碳足跡"),
        ("zh-HK", None, "zh-Hant", "碳足跡"),
        ("pt", None, "pt-MO", "Pegada de carbono"),
        ("pt-PT", None, "pt-MO", "Pegada de carbono"),
        ("en-GB", "zh-CN", "en", "Carbon footprint"),
        (None, "zh-HK,zh;q=0.8", "zh-Hant", "碳足跡"),
        (None, "pt-BR", "pt-MO", "Pegada de carbono"),
        ("fr", "zh-CN", "zh-Hans", "碳足迹"),  # no French captions: Accept-Language decides
        (None, None, "en", "Carbon footprint"),
    ],
)
def test_lang_takes_ordinary_tags_and_falls_back_to_accept_language(
    client: FlaskClient,
    world: LabelWorld,
    lang: str | None,
    accept: str | None,
    served: str,
    caption: str,
) -> None:
    label = issue(client, world.certifier)
    response = client.get(
        f"/api/v1/labels/{label['id']}/label.svg",
        query_string={} if lang is None else {"lang": lang},
        headers={} if accept is None else {"Accept-Language": accept},
    )
    assert response.status_code == 200
    assert response.headers["Content-Language"] == served
    assert "Accept-Language" in response.headers["Vary"]
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 - the registry's own output
    assert root.get("lang") == served
    assert caption in response.get_data(as_text=True)


def test_the_label_names_its_certifier_validity_end_and_code_and_sets_co2e(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    svg = client.get(f"/api/v1/labels/{label['id']}/label.svg").get_data(as_text=True)
    root = ET.fromstring(svg)  # noqa: S314 - the registry's own output
    texts = {t.get("class"): t.text or "" for t in root.iter(f"{SVG}text") if t.get("class")}
    assert texts["short-code"] == label["id"]
    assert texts["issuer"] == f"Certified by {label['body']['name']}"
    assert texts["validity"].startswith(f"Valid until {label['valid_until'][:10]}")
    assert "kg CO₂e" in texts["footprint"]

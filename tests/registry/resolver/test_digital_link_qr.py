"""A label's QR code may carry the product's GS1 Digital Link URI: decoded with zxing-cpp and
followed through the resolver to the label page, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from collections import Counter
from urllib.parse import urlsplit

import zxingcpp
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from pypdf import PdfReader

from credentials import qr_svg
from tests.registry.factories import BASE_URL, LabelWorld, label_request
from tests.registry.labels.support import auth, issue, problem, snapshot
from tests.registry.resolver.support import gtin, issue_for


def _decode(png: bytes) -> str:
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.valid
    return str(barcode.text)


def _follow(client: FlaskClient, url: str) -> str:
    """GET the decoded URL on the test registry (its host is the configured public one)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}".lower() == BASE_URL.lower()
    response = client.get(parts.path, headers={"Accept": "text/html"})
    if response.status_code == 307:
        return _follow(client, response.headers["Location"])
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_a_digital_link_qr_code_opens_the_label_page(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("690123450401")  # a GTIN-13: the QR carries its GTIN-14 form
    label = issue_for(client, world.certifier, code)
    png = client.get(f"/api/v1/labels/{label['id']}/qr.png?target=digital-link&scale=4")
    assert png.status_code == 200
    text = _decode(png.get_data())
    # Upper case (alphanumeric mode, the smallest symbol), the canonical 14-digit GTIN.
    assert text == f"{BASE_URL.upper()}/01/0{code}"
    page = _follow(client, text)
    assert label["id"] in page
    # The short label URL stays the default, and opens the same page.
    short = _decode(client.get(f"/api/v1/labels/{label['id']}/qr.png").get_data())
    assert short == f"{BASE_URL.upper()}/L/{label['id']}"
    assert label["id"] in _follow(client, short)


def test_the_digital_link_qr_is_no_larger_than_the_label_urls(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue_for(client, world.certifier, gtin("0690123450402"))
    size = re.compile(r'viewBox="0 0 (\d+) \1"')
    svgs = {
        target: client.get(f"/api/v1/labels/{label['id']}/qr.svg?target={target}")
        for target in ("label", "digital-link")
    }
    digital = svgs["digital-link"].get_data(as_text=True)
    assert digital == qr_svg(f"{BASE_URL}/01/{gtin('0690123450402')}")
    sides = {t: int(size.search(r.get_data(as_text=True)).group(1)) for t, r in svgs.items()}  # type: ignore[union-attr]
    assert sides["digital-link"] <= sides["label"] + 4  # at most one QR version larger


_MODULES = re.compile(r'<path fill="#000000" d="([^"]+)"')


def _qr_modules(svg: str) -> str:
    """The dark modules of the (first) QR symbol drawn in ``svg``."""
    found = _MODULES.search(svg[svg.index('class="qr"') :] if 'class="qr"' in svg else svg)
    assert found is not None
    return found.group(1)


def test_the_printable_label_carries_the_digital_link_when_asked(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450403")
    label = issue_for(client, world.certifier, code)
    base = f"/api/v1/labels/{label['id']}/label.svg?lang=zh-Hant"
    plain, linked = client.get(base), client.get(f"{base}&target=digital-link")
    assert plain.status_code == linked.status_code == 200
    # The same symbol the QR endpoints draw for each URL, and the label id still printed.
    assert _qr_modules(linked.get_data(as_text=True)) == _qr_modules(
        qr_svg(f"{BASE_URL}/01/{code}")
    )
    assert _qr_modules(plain.get_data(as_text=True)) == _qr_modules(
        qr_svg(f"{BASE_URL}/l/{label['id']}")
    )
    assert label["id"] in linked.get_data(as_text=True)


def test_a_label_without_a_gtin_has_no_digital_link(client: FlaskClient, world: LabelWorld) -> None:
    request = label_request()
    del request["product"]["gtin"]
    label = issue(client, world.certifier, request)
    for path in ("qr.svg", "qr.png", "label.svg"):
        response = client.get(f"/api/v1/labels/{label['id']}/{path}?target=digital-link")
        body = problem(response, 422, "validation-failed")
        assert "GTIN" in body["errors"]["target"][0]
    problem(client.get(f"/api/v1/labels/{label['id']}/qr.svg?target=gs1"), 422, "validation-failed")


# --- the QR target chosen at issuance ---------------------------------------------------------


def test_a_label_issued_with_a_digital_link_qr_carries_it_everywhere(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("690123450410")  # a GTIN-13
    label = issue_for(client, world.certifier, code, qr="digital-link")
    assert label["qr"] == "digital-link"
    assert client.get(f"/api/v1/labels/{label['id']}").get_json()["qr"] == "digital-link"
    # No target: the QR encodes the issuer's choice, as the resolver writes the URI.
    text = _decode(client.get(f"/api/v1/labels/{label['id']}/qr.png?scale=4").get_data())
    assert text == f"{BASE_URL.upper()}/01/0{code}"
    # Following it: a 307 to the label's page, and the page reads genuine and current.
    first = client.get(urlsplit(text).path, headers={"Accept": "text/html"})
    assert first.status_code == 307
    assert first.headers["Location"].lower().endswith(f"/l/{label['id']}".lower())
    page = _follow(client, text)
    found = re.search(r'data-verdict="([a-z_]+)"', page)
    assert found is not None
    assert found.group(1) == "genuine"
    svg = client.get(f"/api/v1/labels/{label['id']}/qr.svg").get_data(as_text=True)
    assert svg == qr_svg(f"{BASE_URL}/01/0{code}")
    artwork = client.get(f"/api/v1/labels/{label['id']}/label.svg?lang=en")
    assert _qr_modules(artwork.get_data(as_text=True)) == _qr_modules(
        qr_svg(f"{BASE_URL}/01/0{code}")
    )
    # target= still overrides the choice, for one download (and its ETag says which).
    short = client.get(f"/api/v1/labels/{label['id']}/qr.png?target=label").get_data()
    assert _decode(short) == f"{BASE_URL.upper()}/L/{label['id']}"
    plain = client.get(f"/api/v1/labels/{label['id']}/label.svg?lang=en&target=label")
    assert _qr_modules(plain.get_data(as_text=True)) == _qr_modules(
        qr_svg(f"{BASE_URL}/l/{label['id']}")
    )
    assert plain.headers["ETag"] != artwork.headers["ETag"]


def test_the_label_url_stays_the_default_qr(client: FlaskClient, world: LabelWorld) -> None:
    label = issue_for(client, world.certifier, gtin("690123450411"))
    assert label["qr"] == "label"
    text = _decode(client.get(f"/api/v1/labels/{label['id']}/qr.png").get_data())
    assert text == f"{BASE_URL.upper()}/L/{label['id']}"
    explicit = issue_for(client, world.certifier, gtin("690123450412"), qr="label")
    assert explicit["qr"] == "label"


def test_a_digital_link_qr_without_a_gtin_is_refused_naming_the_field(
    client: FlaskClient, world: LabelWorld
) -> None:
    before = snapshot()
    request = label_request(qr="digital-link")
    del request["product"]["gtin"]
    response = client.post("/api/v1/labels", json=request, headers=auth(world.certifier))
    body = problem(response, 422, "validation-failed")
    assert list(body["errors"]) == ["qr"]
    assert "GTIN" in body["errors"]["qr"][0]
    # An unknown target is refused at the field too; neither wrote anything.
    request = label_request(qr="gs1")
    response = client.post("/api/v1/labels", json=request, headers=auth(world.certifier))
    assert list(problem(response, 422, "validation-failed")["errors"]) == ["qr"]
    assert snapshot() == before


def _pdf_qr_text(pdf: bytes) -> str:
    """Decode the QR code the certificate draws (one filled square per dark module): the
    squares are painted onto an image, which zxing-cpp then reads as a camera would."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    squares = [
        tuple(float(v) for v in operands)
        for operands, operator in page.get_contents().operations  # type: ignore[union-attr]
        if operator == b"re" and abs(float(operands[2]) - float(operands[3])) < 1e-6
    ]
    cell = Counter(round(w, 4) for _, _, w, _ in squares).most_common(1)[0][0]
    modules = [(x, y) for x, y, w, _ in squares if round(w, 4) == cell]
    left, bottom = min(x for x, _ in modules), min(y for _, y in modules)
    side = round((max(x for x, _ in modules) - left) / cell) + 1
    px = 8
    quiet = 4
    image = Image.new("L", ((side + 2 * quiet) * px,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for x, y in modules:
        column, row = round((x - left) / cell), side - 1 - round((y - bottom) / cell)
        x0, y0 = (column + quiet) * px, (row + quiet) * px
        draw.rectangle((x0, y0, x0 + px - 1, y0 + px - 1), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return _decode(buffer.getvalue())


def test_the_certificate_carries_the_qr_chosen_at_issuance(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("690123450413")
    linked = issue_for(client, world.certifier, code, qr="digital-link")
    plain = issue_for(client, world.certifier, gtin("690123450414"))
    pdf = client.get(f"/l/{linked['id']}/certificate.pdf")
    assert pdf.status_code == 200
    assert _pdf_qr_text(pdf.data) == f"{BASE_URL.upper()}/01/0{code}"
    plain_pdf = client.get(f"/l/{plain['id']}/certificate.pdf").data
    assert _pdf_qr_text(plain_pdf) == f"{BASE_URL.upper()}/L/{plain['id']}"

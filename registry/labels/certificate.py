"""The printable certificate of a label (PDF), in the reader's language, verifiable offline.

Drawn with reportlab; the signed credential, the label's subset of the registry's trust bundle
(signed with the bundle key) and its ledger evidence are then embedded as files with pypdf
(``credentials.certificate`` names them and reads them back). The facts a verifier checks
against the credential are printed in the kit's fixed form (``printed_facts``), in a Latin
font whose text a PDF reader extracts exactly; names are printed as entered, in a CJK font
where they need one.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from credentials import (
    CREDENTIAL_FILE,
    EVIDENCE_FILE,
    TRUST_FILE,
    label_url,
    parse_label_credential,
    printed_facts,
    qr_modules,
)
from registry.clock import current_clock
from registry.config import current_settings
from registry.i18n import current_language
from registry.labels.artwork import label_qr_url
from registry.labels.models import Label
from registry.labels.verification import label_ledger_evidence, signed_label_trust
from registry.pages.label_view import assurance_text

__all__ = ["CERTIFICATE_BUNDLE_VALIDITY", "certificate_pdf"]

# A certificate travels by e-mail: its embedded bundle stays in date for a week, after which
# the verifier says it is stale and where to fetch a fresh one.
CERTIFICATE_BUNDLE_VALIDITY = timedelta(days=7)
_LATIN = "Helvetica"
_LATIN_BOLD = "Helvetica-Bold"
_CJK = {"zh-Hant": "MSung-Light"}  # Traditional forms; every other language: STSong-Light
_MARGIN = 18 * mm


def _cjk_font() -> str:
    name = _CJK.get(current_language().tag, "STSong-Light")
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def _font_for(text: str) -> str:
    return _LATIN if all(ord(c) < 256 for c in text) else _cjk_font()


def _line(canvas: Canvas, x: float, y: float, text: str, size: float = 11) -> None:
    canvas.setFont(_font_for(text), size)
    canvas.drawString(x, y, text)


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    modules = qr_modules(url)
    quiet = 4
    count = len(modules) + 2 * quiet
    cell = size / count
    canvas.setFillColorRGB(0, 0, 0)
    for row, cells in enumerate(modules):
        for column, dark in enumerate(cells):
            if dark:
                canvas.rect(
                    x + (column + quiet) * cell,
                    y + size - (row + quiet + 1) * cell,
                    cell,
                    cell,
                    stroke=0,
                    fill=1,
                )


def _draw(label: Label, credential: dict[str, object], key: str, made: datetime) -> bytes:
    parsed = parse_label_credential(credential)
    url = label_url(current_settings().public_base_url, label.id)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle(f"{_('Carbon label certificate')} {label.id}")
    width, height = A4
    y = height - _MARGIN
    canvas.setFont(_font_for(_("Carbon label certificate")), 20)
    canvas.drawString(_MARGIN, y - 6 * mm, _("Carbon label certificate"))
    y -= 18 * mm
    _line(canvas, _MARGIN, y, label.product_name, 14)
    y -= 7 * mm
    maker = label.manufacturer + (f" · {label.product_model}" if label.product_model else "")
    _line(canvas, _MARGIN, y, maker)
    y -= 12 * mm
    canvas.setFont(_LATIN_BOLD, 48)
    canvas.drawString(_MARGIN, y - 12 * mm, label.grade)
    _line(
        canvas,
        _MARGIN + 20 * mm,
        y - 4 * mm,
        _("Grade on the A–E scale (A is the lowest footprint)"),
    )
    y -= 26 * mm
    rows = [
        (_("Certification body"), label.body.name),
        (_("Scheme"), label.rule_version.rule.scheme.code),
        (_("Status when this certificate was made"), _status(label)),
        (_("Made"), f"{made:%Y-%m-%d %H:%M} UTC"),
    ]
    assurance = assurance_text(label.assurance)
    if assurance is not None:
        rows.insert(2, (_("Verification assurance"), assurance))
    for caption, value in rows:
        _line(canvas, _MARGIN, y, f"{caption}:", 10)
        _line(canvas, _MARGIN + 62 * mm, y, value, 10)
        y -= 6 * mm
    y -= 4 * mm
    canvas.setFont(_LATIN_BOLD, 11)
    canvas.drawString(_MARGIN, y, "As signed")  # the fixed form below is checked, in English
    y -= 6 * mm
    for fact in printed_facts(parsed):
        canvas.setFont(_LATIN, 11)
        canvas.drawString(_MARGIN, y, fact)
        y -= 6 * mm
    # The QR encodes what the issuer chose (label URL or Digital Link); the short URL is printed.
    _qr(canvas, label_qr_url(label), width - _MARGIN - 45 * mm, height - _MARGIN - 60 * mm, 45 * mm)
    _line(canvas, width - _MARGIN - 45 * mm, height - _MARGIN - 65 * mm, url, 7)
    y -= 6 * mm
    notes = [
        _("Scan the code, or open the address, to see whether the label is genuine and current."),
        _("This file carries its signed credential and the register's evidence; check it offline:"),
    ]
    for note in notes:
        _line(canvas, _MARGIN, y, note, 9)
        y -= 5 * mm
    canvas.setFont("Courier", 8)
    canvas.drawString(_MARGIN, y, f"carbonlabel verify certificate.pdf --registry-key {key}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _status(label: Label) -> str:
    words = {
        "active": _("active"),
        "suspended": _("suspended"),
        "revoked": _("revoked"),
        "superseded": _("superseded"),
    }
    return str(words.get(label.status.value, label.status.value))


def certificate_pdf(label: Label) -> bytes:
    """The label's certificate in the current language, with its verification files inside."""
    key = current_settings().bundle_signer().public_key.multibase
    now = current_clock().now().astimezone(UTC).replace(microsecond=0)
    credential = json.loads(label.credential)
    # The same signed subset as the label's trust-bundle route, dated now and kept longer:
    # a certificate sent by e-mail is read days later.
    bundle = signed_label_trust(label, issued=now, validity=CERTIFICATE_BUNDLE_VALIDITY)
    evidence = label_ledger_evidence(label)
    drawn = _draw(label, credential, key, now)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(drawn)))
    files = {CREDENTIAL_FILE: credential, TRUST_FILE: bundle}
    if evidence is not None:
        files[EVIDENCE_FILE] = evidence.to_json()
    for name, content in files.items():
        writer.add_attachment(name, json.dumps(content, ensure_ascii=False).encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""Printable label artwork: the QR code of a label's public URL and the label SVG.

The QR encodes the label URL upper-cased (``HTTPS://HOST/L/7K3M9QH2XD``): the registry matches
``/l/{ID}`` case-insensitively, and upper case fits QR alphanumeric mode, which keeps the symbol
small (version 3 at error correction M for a typical URL). A URL that still has characters outside
that charset once upper-cased (a query string, ``_``, ``?``…) is encoded as given, in byte mode.

Everything here is deterministic: identical input gives identical bytes.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any, Final
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
from qrcode.image.pure import PyPNGImage
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from credentials.errors import LexicalError, MalformedInputError
from credentials.lexical import check_decimal, normalize_label_id
from credentials.text import TextError, check_text

__all__ = [
    "LABEL_STATES",
    "label_svg",
    "qr_modules",
    "qr_payload",
    "qr_png",
    "qr_svg",
    "qr_version",
]

_ALPHANUMERIC: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_EC_LEVELS: Final = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_QUIET_ZONE: Final = 4
_MAX_URL: Final = 1024
_MAX_SCALE: Final = 64
_MAX_TEXT: Final = 200
_MAX_PRODUCT_NAME: Final = 500  # drawn shortened (with an ellipsis) if it does not fit
_MIN_FONT: Final = 7
_GRADES: Final = ("A", "B", "C", "D", "E")
_GRADE_COLOURS: Final = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")


# --- QR code ------------------------------------------------------------------------------------


def _checked_url(url: object) -> str:
    if not isinstance(url, str) or not url or len(url) > _MAX_URL:
        raise MalformedInputError(f"a label URL is a string of 1 to {_MAX_URL} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise MalformedInputError("a label URL is printable ASCII (punycode the host)")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise MalformedInputError("malformed label URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise MalformedInputError("a label URL is an absolute http(s) URL")
    if "@" in parts.netloc:
        raise MalformedInputError("a label URL has no user information")
    return url


def _payload_and_mode(url: str) -> tuple[str, int]:
    upper = _checked_url(url).upper()
    if set(upper) <= _ALPHANUMERIC:
        return upper, MODE_ALPHA_NUM
    return url, MODE_8BIT_BYTE


def qr_payload(url: str) -> str:
    """The exact text the QR code of ``url`` encodes (upper-cased if that fits alphanumeric)."""
    return _payload_and_mode(url)[0]


def _make_qr(url: str, error_correction: str, box_size: int = 1) -> Any:
    level = _EC_LEVELS.get(error_correction) if isinstance(error_correction, str) else None
    if level is None:
        raise MalformedInputError("error_correction is one of 'L', 'M', 'Q', 'H'")
    if type(box_size) is not int or not 1 <= box_size <= _MAX_SCALE:
        raise MalformedInputError(f"the module size is an integer from 1 to {_MAX_SCALE}")
    payload, mode = _payload_and_mode(url)
    qr = qrcode.QRCode(error_correction=level, box_size=box_size, border=_QUIET_ZONE)
    qr.add_data(QRData(payload, mode=mode))
    qr.make(fit=True)  # 1024 bytes fit every level (version 40-H holds 1273)
    return qr


def _modules(qr: Any) -> list[list[bool]]:
    return [[bool(cell) for cell in row] for row in qr.modules]


def _path_data(modules: list[list[bool]]) -> str:
    """One SVG path: a rectangle per horizontal run of dark modules, offset by the quiet zone."""
    runs: list[str] = []
    for y, row in enumerate(modules):
        x, width = 0, len(row)
        while x < width:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < width and row[x]:
                x += 1
            length = x - start
            runs.append(f"M{start + _QUIET_ZONE} {y + _QUIET_ZONE}h{length}v1h-{length}z")
    return "".join(runs)


def _qr_body(modules: list[list[bool]]) -> tuple[int, str]:
    size = len(modules) + 2 * _QUIET_ZONE
    body = (
        f'<rect width="{size}" height="{size}" fill="#ffffff"/>'
        f'<path fill="#000000" d="{_path_data(modules)}"/>'
    )
    return size, body


def qr_modules(url: str, *, error_correction: str = "M") -> list[list[bool]]:
    """The QR symbol for ``url`` as rows of dark (True) modules, without the quiet zone: for
    drawing it in another medium (a PDF) exactly as the SVG and PNG draw it."""
    return _modules(_make_qr(url, error_correction))


def qr_version(url: str, *, error_correction: str = "M") -> int:
    """The QR version (1–40) of the symbol for ``url``; 3 at M for a typical label URL."""
    return int(_make_qr(url, error_correction).version)


def qr_svg(url: str, *, error_correction: str = "M", module_size: int = 4) -> str:
    """A standalone SVG of the QR code for ``url``, with a 4-module quiet zone."""
    qr = _make_qr(url, error_correction, module_size)
    size, body = _qr_body(_modules(qr))
    pixels = size * module_size
    label = escape(f"QR code: {url}", quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{pixels}" height="{pixels}" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges" role="img" '
        f'aria-label="{label}"><title>{label}</title>{body}</svg>\n'
    )


def qr_png(url: str, *, error_correction: str = "M", scale: int = 8) -> bytes:
    """A 1-bit greyscale PNG of the QR code for ``url`` (``scale`` pixels per module)."""
    qr = _make_qr(url, error_correction, scale)
    buffer = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()


# --- Label artwork ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Captions:
    lang: str
    font: str
    heading: str
    rule: str
    scheme: str
    label: str
    scan: str
    title: str  # {product} {grade}
    desc: str  # {grade} {footprint} {rule} {scheme} {label_id}
    certified_by: str  # {issuer}
    valid_until: str  # {date}
    states: dict[str, str]  # suspended, revoked, superseded: the banner's word
    not_valid: str  # under the banner: what a reader should do instead


_LATIN_FONT: Final = "'Noto Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif"
_CAPTIONS: Final = {
    "en": _Captions(
        "en",
        _LATIN_FONT,
        "Carbon footprint",
        "Rule",
        "Scheme",
        "Label",
        "Scan to verify",
        "Carbon label for {product}: grade {grade}",
        "Grade {grade} on a scale from A (lowest footprint) to E (highest). "
        "Carbon footprint: {footprint}. Rule {rule}, scheme {scheme}. Label {label_id}.",
        "Certified by {issuer}",
        "Valid until {date}",
        {
            "suspended": "SUSPENDED",
            "revoked": "REVOKED",
            "superseded": "SUPERSEDED",
            "expired": "EXPIRED",
        },
        "Not valid: scan to see its current state",
    ),
    "zh-Hans": _Captions(
        "zh-Hans",
        "'Noto Sans SC', 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif",
        "碳足迹",
        "规则",
        "认证方案",
        "标签",
        "扫码验证",
        "{product} 碳标签：等级 {grade}",
        "碳足迹等级 {grade}（A 最低，E 最高）。碳足迹：{footprint}。"
        "规则 {rule}，认证方案 {scheme}。标签 {label_id}。",
        "认证机构 {issuer}",
        "有效期至 {date}",
        {"suspended": "已暂停", "revoked": "已撤销", "superseded": "已被取代", "expired": "已过期"},
        "本标签无效：请扫码查看当前状态",
    ),
    "zh-Hant": _Captions(
        "zh-Hant",
        "'Noto Sans TC', 'Noto Sans CJK TC', 'PingFang TC', 'Microsoft JhengHei', sans-serif",
        "碳足跡",
        "規則",
        "認證方案",
        "標籤",
        "掃碼驗證",
        "{product} 碳標籤：等級 {grade}",
        "碳足跡等級 {grade}（A 最低，E 最高）。碳足跡：{footprint}。"
        "規則 {rule}，認證方案 {scheme}。標籤 {label_id}。",
        "認證機構 {issuer}",
        "有效期至 {date}",
        {"suspended": "已暫停", "revoked": "已撤銷", "superseded": "已被取代", "expired": "已過期"},
        "本標籤無效：請掃碼查看目前狀態",
    ),
    "pt-MO": _Captions(
        "pt-MO",
        _LATIN_FONT,
        "Pegada de carbono",
        "Regra",
        "Esquema",
        "Rótulo",
        "Leia para verificar",
        "Rótulo de carbono de {product}: classe {grade}",
        "Classe {grade} numa escala de A (menor pegada) a E (maior). "
        "Pegada de carbono: {footprint}. Regra {rule}, esquema {scheme}. Rótulo {label_id}.",
        "Certificado por {issuer}",
        "Válido até {date}",
        {
            "suspended": "SUSPENSO",
            "revoked": "REVOGADO",
            "superseded": "SUBSTITUÍDO",
            "expired": "EXPIRADO",
        },
        "Sem validade: leia o código para ver o estado atual",
    ),
}


def _captions(lang: str) -> _Captions:
    """Resolve a BCP 47 tag to the captions we have; anything unknown falls back to English."""
    subtags = lang.strip().lower().replace("_", "-").split("-") if isinstance(lang, str) else []
    if subtags and subtags[0] == "zh":
        rest = set(subtags[1:])
        if "hans" not in rest and rest & {"hant", "tw", "hk", "mo"}:
            return _CAPTIONS["zh-Hant"]
        return _CAPTIONS["zh-Hans"]
    if subtags and subtags[0] == "pt":
        return _CAPTIONS["pt-MO"]
    return _CAPTIONS["en"]


def _text(value: object, name: str, max_len: int = _MAX_TEXT) -> str:
    """``value`` under the kit's one text rule (:func:`credentials.text.check_text`), in NFC."""
    try:
        return check_text(value, max_length=max_len)
    except TextError as exc:
        raise MalformedInputError(f"{name} {exc}") from None


def _decimal_text(value: object) -> str:
    """The exact decimal as given, in positional notation (never through float), within the
    registry's storage limit: the label prints what a label can state."""
    try:
        return format(check_decimal(value), "f")
    except LexicalError as exc:
        raise MalformedInputError(f"the footprint value: {exc}") from None


def _em(text: str, bold: bool) -> float:
    """Estimated advance of ``text`` in em: wide (CJK) glyphs 1 em, others about 0.62/0.7 em."""
    narrow = 0.7 if bold else 0.62
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else narrow for c in text)


def _fitted_text(
    text: str,
    *,
    x: int,
    y: int,
    size: int,
    max_width: int,
    bold: bool = False,
    truncate: bool = True,
    min_size: int = _MIN_FONT,
    attrs: str = "",
) -> str:
    """A ``<text>`` that fits ``max_width``: a smaller font first, then an ellipsis if allowed.

    Sizes are computed, not left to ``textLength`` (which many renderers and RIPs ignore).
    """
    size = max(min_size, min(size, int(max_width / _em(text, bold))))
    if _em(text, bold) * size > max_width:
        if not truncate:
            raise MalformedInputError(f"{text!r} is too long to print on the label")
        while len(text) > 1 and _em(text + "…", bold) * size > max_width:
            text = text[:-1]
        text = text.rstrip() + "…"
    weight = ' font-weight="700"' if bold else ""
    return f'<text x="{x}" y="{y}" font-size="{size}"{weight}{attrs}>{escape(text)}</text>'


def _scale(grade_index: int) -> list[str]:
    """The A–E bars; the grade's bar is enlarged and outlined, with a marker beneath it."""
    parts: list[str] = ['<g class="grade-scale" text-anchor="middle">']
    for index, (letter, colour) in enumerate(zip(_GRADES, _GRADE_COLOURS, strict=True)):
        x = 16 + index * 58
        if index == grade_index:
            continue
        parts.append(
            f'<rect x="{x}" y="72" width="52" height="40" rx="4" fill="{colour}"/>'
            f'<text x="{x + 26}" y="99" font-size="20" font-weight="700" fill="#111111">'
            f"{letter}</text>"
        )
    x = 16 + grade_index * 58
    letter = _GRADES[grade_index]
    parts.append(
        f'<g class="grade-selected" data-grade="{letter}">'
        f'<rect x="{x - 3}" y="62" width="58" height="60" rx="5" '
        f'fill="{_GRADE_COLOURS[grade_index]}" stroke="#111111" stroke-width="3"/>'
        f'<text x="{x + 26}" y="103" font-size="32" font-weight="700" fill="#111111">'
        f"{letter}</text>"
        f'<path class="grade-marker" data-grade="{letter}" transform="translate({x + 26} 0)" '
        f'd="M0 128l-9 13h18z" fill="#111111"/></g></g>'
    )
    return parts


LABEL_STATES: Final = ("suspended", "revoked", "superseded", "expired")
_UNIT_TYPESET: Final = {"kgCO2e": "kg CO₂e", "gCO2e": "g CO₂e", "tCO2e": "t CO₂e"}


def _typeset_unit(unit: str) -> str:
    """``kgCO2e`` as print sets it: a space after the mass unit and a subscript two."""
    return _UNIT_TYPESET.get(unit, unit.replace("CO2", "CO₂"))


def _state_banner(state: str, banner: str, note: str) -> list[str]:
    """A veil over the label and a red band across it naming the state, in the caption's
    language; the grade stays legible under the veil, so it reads as "this grade, withdrawn"."""
    return [
        f'<g class="state-mark" data-state="{state}" clip-path="url(#label-edge)">',
        '<clipPath id="label-edge"><rect x="2" y="2" width="476" height="256" rx="9"/></clipPath>',
        '<rect x="1" y="1" width="478" height="258" rx="10" fill="#ffffff" fill-opacity="0.55"/>',
        '<g transform="rotate(-14 240 130)">',
        '<rect x="-20" y="92" width="520" height="72" fill="#b00020"/>',
        _fitted_text(
            banner,
            x=240,
            y=134,
            size=34,
            max_width=440,
            bold=True,
            truncate=False,
            attrs=' text-anchor="middle" fill="#ffffff" class="state"',
        ),
        _fitted_text(
            note,
            x=240,
            y=155,
            size=13,
            max_width=440,
            attrs=' text-anchor="middle" fill="#ffffff" class="state-note"',
        ),
        "</g></g>",
    ]


def label_svg(
    *,
    grade: str,
    footprint_value: Decimal,
    footprint_unit: str = "kgCO2e",
    declared_unit: str,
    rule_id: str,
    rule_version: str,
    scheme: str,
    label_url: str,
    product_name: str,
    label_id: str,
    issuer_name: str,
    valid_until: date,
    lang: str = "en",
    qr_url: str | None = None,
    state: str | None = None,
) -> str:
    """The printable carbon label (96 mm × 52 mm SVG) with its grade, footprint and QR code.

    The QR code encodes ``label_url``, or ``qr_url`` if given (a GS1 Digital Link URI of the
    product, which a resolver redirects to the label's page). Under the QR code the label's
    short code is printed, and the certifier and the end of validity are spelled out, for when
    scanning fails. A ``state`` of ``suspended``, ``revoked``, ``superseded`` or ``expired``
    crosses the whole label with a banner saying so: artwork of a label that is not current
    cannot pass for a current one.
    """
    if not isinstance(grade, str) or grade not in _GRADES:
        raise MalformedInputError("the grade is one of A, B, C, D, E")
    if state is not None and state not in LABEL_STATES:
        raise MalformedInputError(f"the state is one of {', '.join(LABEL_STATES)}, or none")
    if not isinstance(valid_until, date):
        raise MalformedInputError("valid_until is a date")
    value = _decimal_text(footprint_value)
    unit = _typeset_unit(_text(footprint_unit, "footprint_unit", 24))
    per = _text(declared_unit, "declared_unit", 40)
    rule = f"{_text(rule_id, 'rule_id', 64)} v{_text(rule_version, 'rule_version', 32)}"
    scheme = _text(scheme, "scheme", 80)
    product = _text(product_name, "product_name", _MAX_PRODUCT_NAME)
    issuer = _text(issuer_name, "issuer_name", _MAX_PRODUCT_NAME)
    until = (valid_until.date() if isinstance(valid_until, datetime) else valid_until).isoformat()
    label_id = normalize_label_id(label_id)
    qr = _make_qr(label_url if qr_url is None else qr_url, "M")
    if not urlsplit(label_url).path.upper().endswith(f"/L/{label_id}"):
        raise MalformedInputError("the label URL does not end in /l/{label id}")

    c = _captions(lang)
    footprint = f"{value} {unit} / {per}"
    banner = None if state is None else c.states[state]
    title = c.title.format(product=product, grade=grade)
    desc = c.desc.format(
        grade=grade, footprint=footprint, rule=rule, scheme=scheme, label_id=label_id
    )
    certified = c.certified_by.format(issuer=issuer)
    validity = c.valid_until.format(date=until)
    if banner is not None:
        title = f"{banner}: {title}"
        desc = f"{banner}. {c.not_valid}. {desc}"
    desc = f"{desc} {certified}. {validity}."
    qr_size, qr_body = _qr_body(_modules(qr))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="96mm" height="52mm" '
        f'viewBox="0 0 480 260" role="img" lang="{c.lang}" xml:lang="{c.lang}" '
        f'font-family="{escape(c.font, quote=False)}" fill="#111111">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(desc)}</desc>",
        '<rect x="1" y="1" width="478" height="258" rx="10" fill="#ffffff" '
        'stroke="#111111" stroke-width="2"/>',
        _fitted_text(c.heading, x=16, y=34, size=20, max_width=300, bold=True),
        _fitted_text(
            product, x=16, y=54, size=13, max_width=300, min_size=10, attrs=' class="product"'
        ),
        *_scale(_GRADES.index(grade)),
        f'<g class="qr"><svg x="330" y="14" width="136" height="136" '
        f'viewBox="0 0 {qr_size} {qr_size}" shape-rendering="crispEdges">{qr_body}</svg></g>',
        # The short code under the QR code: what a reader types at the registry when a scan
        # fails (the code box of every page takes it).
        _fitted_text(
            label_id,
            x=398,
            y=166,
            size=15,
            max_width=136,
            bold=True,
            truncate=False,
            attrs=' text-anchor="middle" class="short-code" letter-spacing="1"',
        ),
    ]
    bottom = (
        (footprint, 194, 24, True, "footprint"),
        (f"{c.rule} {rule}", 210, 11, False, "rule"),
        (f"{c.scheme} {scheme}", 223, 11, False, "scheme"),
        (certified, 236, 11, False, "issuer"),
        (f"{validity} · {c.label} {label_id}", 249, 11, False, "validity"),
    )
    for text, y, size, bold, css in bottom:
        parts.append(
            _fitted_text(
                text,
                x=16,
                y=y,
                size=size,
                max_width=448,
                bold=bold,
                # A long certifier name is shortened rather than refused; every other line
                # states a code or a figure, which must be printed whole.
                truncate=css == "issuer",
                # The longest codes a registry accepts (a 64-character rule id, a 32-character
                # version) fit at 6 units, in every caption language; ordinary ones never get
                # that small.
                min_size=_MIN_FONT - 1 if css == "rule" else _MIN_FONT,
                attrs=f' class="{css}"',
            )
        )
    if banner is not None:
        parts += _state_banner(state or "", banner, c.not_valid)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

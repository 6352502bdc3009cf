"""Printable artwork of a label: its QR code (SVG or PNG) and the carbon label itself (SVG).

The QR code encodes the label's public URL in upper case (alphanumeric mode, the smallest
symbol), or, if the certifier asks for it (``target="digital-link"``), the product's GS1
Digital Link URI ``HTTPS://HOST/01/{GTIN-14}``, also alphanumeric, which the registry's
resolver redirects to the same label page while a retail scanner reads the GTIN from it. The
label shows the grade, footprint, rule and scheme as the credential states them, with captions
in the language asked for.
"""

from __future__ import annotations

from typing import Final

from credentials import gtin14, label_svg, label_url, qr_png, qr_svg
from registry.config import current_settings
from registry.errors import ValidationFailedError
from registry.labels.models import Label

__all__ = [
    "LABEL_LANGUAGES",
    "QR_TARGETS",
    "label_artwork_svg",
    "label_qr_png",
    "label_qr_svg",
    "label_qr_url",
]

LABEL_LANGUAGES = ("en", "zh-Hans", "zh-Hant", "pt-MO")
QR_TARGETS: Final = ("label", "digital-link")
_SCALES = range(2, 33)


def label_qr_url(label: Label, *, target: str = "label") -> str:
    """What the label's QR code encodes: its public URL, or its product's Digital Link URI."""
    base = current_settings().public_base_url
    if target == "label":
        return label_url(base, label.id)
    if target != "digital-link":
        raise ValidationFailedError({"target": [f"Must be one of {', '.join(QR_TARGETS)}."]})
    if label.gtin is None:
        raise ValidationFailedError(
            {"target": ["The label has no GTIN, so it has no GS1 Digital Link URI."]}
        )
    # The resolver's URI form (registry.resolver.uri), kept to the GTIN-14 the syntax requires.
    return f"{base.rstrip('/')}/01/{gtin14(label.gtin)}"


def label_qr_svg(label: Label, *, target: str = "label") -> str:
    return qr_svg(label_qr_url(label, target=target))


def label_qr_png(label: Label, *, scale: int = 8, target: str = "label") -> bytes:
    if scale not in _SCALES:
        raise ValidationFailedError({"scale": ["Must be 2 to 32 pixels per module."]})
    return qr_png(label_qr_url(label, target=target), scale=scale)


def label_artwork_svg(label: Label, *, lang: str = "en", target: str = "label") -> str:
    if lang not in LABEL_LANGUAGES:
        raise ValidationFailedError({"lang": [f"Must be one of {', '.join(LABEL_LANGUAGES)}."]})
    rv = label.rule_version
    return label_svg(
        grade=label.grade,
        footprint_value=label.footprint,
        declared_unit=rv.declared_unit,
        rule_id=rv.rule.code,
        rule_version=rv.version,
        scheme=rv.rule.scheme.code,
        label_url=label_qr_url(label),
        product_name=label.product_name,
        label_id=label.id,
        lang=lang,
        qr_url=None if target == "label" else label_qr_url(label, target=target),
    )

"""Printable artwork of a label: its QR code (SVG or PNG) and the carbon label itself (SVG).

The QR code encodes the label's public URL in upper case (alphanumeric mode, the smallest
symbol). The label shows the grade, footprint, rule and scheme as the credential states them,
with captions in the language asked for.
"""

from __future__ import annotations

from credentials import label_svg, label_url, qr_png, qr_svg
from registry.config import current_settings
from registry.errors import ValidationFailedError
from registry.labels.models import Label

__all__ = ["LABEL_LANGUAGES", "label_artwork_svg", "label_qr_png", "label_qr_svg"]

LABEL_LANGUAGES = ("en", "zh-Hans", "zh-Hant", "pt-MO")
_SCALES = range(2, 33)


def _url(label: Label) -> str:
    return label_url(current_settings().public_base_url, label.id)


def label_qr_svg(label: Label) -> str:
    return qr_svg(_url(label))


def label_qr_png(label: Label, *, scale: int = 8) -> bytes:
    if scale not in _SCALES:
        raise ValidationFailedError({"scale": ["Must be 2 to 32 pixels per module."]})
    return qr_png(_url(label), scale=scale)


def label_artwork_svg(label: Label, *, lang: str = "en") -> str:
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
        label_url=_url(label),
        product_name=label.product_name,
        label_id=label.id,
        lang=lang,
    )

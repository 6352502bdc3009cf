"""Printable artwork of a label: its QR code (SVG or PNG) and the carbon label itself (SVG).

The QR code encodes the label's public URL in upper case (alphanumeric mode, the smallest
symbol), or, if the certifier chose it at issuance (``Label.qr_target``) or asks for it
(``target="digital-link"``), the product's GS1 Digital Link URI ``HTTPS://HOST/01/{GTIN-14}``,
also alphanumeric, which the registry's resolver redirects to the same label page while a
retail scanner reads the GTIN from it. The
label shows the grade, footprint, rule and scheme as the credential states them, with captions
in the language asked for.
"""

from __future__ import annotations

from typing import Final

from credentials import gtin14, label_svg, label_url, qr_png, qr_svg
from registry.clock import utcnow
from registry.config import current_settings
from registry.errors import ValidationFailedError
from registry.i18n import language_for, negotiate
from registry.labels.models import Label, LabelStatus, QrTarget

__all__ = [
    "ARTWORK_REVISION",
    "LABEL_LANGUAGES",
    "QR_TARGETS",
    "artwork_state",
    "caption_language",
    "label_artwork_svg",
    "label_qr_png",
    "label_qr_svg",
    "label_qr_url",
]

LABEL_LANGUAGES = ("en", "zh-Hans", "zh-Hant", "pt-MO")
# Part of the artwork's ETag: raise it when the drawing changes, so caches fetch the new one.
ARTWORK_REVISION: Final = "2"
QR_TARGETS: Final = tuple(target.value for target in QrTarget)
_SCALES = range(2, 33)


def label_qr_url(label: Label, *, target: str | None = None) -> str:
    """What the label's QR code encodes: its public URL, or its product's Digital Link URI;
    without a ``target``, the one chosen at issuance."""
    base = current_settings().public_base_url
    if target is None:
        target = label.qr_target.value
    if target == QrTarget.LABEL:
        return label_url(base, label.id)
    if target != QrTarget.DIGITAL_LINK:
        raise ValidationFailedError({"target": [f"Must be one of {', '.join(QR_TARGETS)}."]})
    if label.gtin is None:
        raise ValidationFailedError(
            {"target": ["The label has no GTIN, so it has no GS1 Digital Link URI."]}
        )
    # The resolver's URI form (registry.resolver.uri), kept to the GTIN-14 the syntax requires.
    return f"{base.rstrip('/')}/01/{gtin14(label.gtin)}"


def label_qr_svg(label: Label, *, target: str | None = None) -> str:
    return qr_svg(label_qr_url(label, target=target))


def label_qr_png(label: Label, *, scale: int = 8, target: str | None = None) -> bytes:
    if scale not in _SCALES:
        raise ValidationFailedError({"scale": ["Must be 2 to 32 pixels per module."]})
    return qr_png(label_qr_url(label, target=target), scale=scale)


def caption_language(tag: str | None, accept_language: str | None) -> str:
    """The label language for a ``lang`` tag (any ordinary one: zh-CN, zh-TW, pt, pt-PT…),
    else for the request's ``Accept-Language``, as the pages read it."""
    chosen = language_for(tag) if tag else None
    return (chosen or negotiate(accept_language)).tag


def artwork_state(label: Label) -> str | None:
    """What the artwork's banner says: the label's status unless active, else ``expired``
    once its validity has ended, else nothing."""
    if label.status is not LabelStatus.ACTIVE:
        return label.status.value
    return "expired" if utcnow() >= label.valid_until else None


def label_artwork_svg(label: Label, *, lang: str = "en", target: str | None = None) -> str:
    """The printable label in ``lang`` (one of :data:`LABEL_LANGUAGES`; the API resolves the
    reader's tag to one), marked across if the label is not current; its QR code encodes
    ``target``, by default the label's own choice."""
    if lang not in LABEL_LANGUAGES:
        raise ValidationFailedError({"lang": [f"Must be one of {', '.join(LABEL_LANGUAGES)}."]})
    rv = label.rule_version
    short, qr = label_qr_url(label, target=QrTarget.LABEL), label_qr_url(label, target=target)
    return label_svg(
        grade=label.grade,
        footprint_value=label.footprint,
        declared_unit=rv.declared_unit,
        rule_id=rv.rule.code,
        rule_version=rv.version,
        scheme=rv.rule.scheme.code,
        label_url=short,
        product_name=label.product_name,
        label_id=label.id,
        issuer_name=label.body.name,
        valid_until=label.valid_until.date(),
        lang=lang,
        qr_url=None if qr == short else qr,
        state=artwork_state(label),
    )

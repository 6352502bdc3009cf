"""What a GTIN's label links to, as an RFC 9264 linkset of GS1 link types.

Every linkset validates against GS1's linkset schema (GS1-Conformant Resolver 1.2): link
relation types are written as full URIs of the GS1 Web Vocabulary, each link has an ``href``
and a ``title``, and the context object has an ``anchor`` and an ``itemDescription``. The
schema allows ``hreflang`` values of the forms ``ll`` and ``ll-CC`` only, so the label page's
languages are listed as ``en``, ``zh`` (it serves both Chinese scripts, chosen by
Accept-Language) and ``pt-MO``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from credentials import label_url
from registry.labels.models import Label
from registry.pact.ids import footprint_path
from registry.pact.mapping import served as pact_served
from registry.resolver.uri import DigitalLink, digital_link_url

__all__ = [
    "GS1_VOCABULARY",
    "LINK_TYPES",
    "Link",
    "label_links",
    "link_type_term",
    "link_type_uri",
    "linkset",
    "pact_footprint_url",
    "resolver_description",
]

GS1_VOCABULARY: Final = "https://ref.gs1.org/voc/"
# Older Digital Link documents (and GS1's own examples) use this namespace for the same terms.
_LEGACY_VOCABULARY: Final = "https://gs1.org/voc/"
PAGE_LANGUAGES: Final = ["en", "zh", "pt-MO"]
CERTIFICATION: Final = "certificationInfo"
SUSTAINABILITY: Final = "sustainabilityInfo"
DEFAULT: Final = "defaultLink"
LINK_TYPES: Final = (CERTIFICATION, SUSTAINABILITY, DEFAULT)


@dataclass(frozen=True, slots=True)
class Link:
    link_type: str  # a term of the GS1 Web Vocabulary, e.g. "certificationInfo"
    href: str
    title: str
    media_type: str
    hreflang: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        member: dict[str, Any] = {"href": self.href, "title": self.title, "type": self.media_type}
        if self.hreflang:
            member["hreflang"] = list(self.hreflang)
        return member


def pact_footprint_url(base_url: str, label_id: str) -> str:
    """The PACT v3 ``ProductFootprint`` URL of a label (its id is :mod:`registry.pact.ids`')."""
    return base_url.rstrip("/") + footprint_path(label_id)


def label_links(base_url: str, label: Label) -> tuple[Link, ...]:
    """The links of a label, the default link last (exactly one)."""
    page = label_url(base_url, label.id)
    languages = tuple(PAGE_LANGUAGES)
    return (
        Link(CERTIFICATION, page, "Carbon label verification", "text/html", languages),
        Link(
            CERTIFICATION,
            f"{page}/credential.json",
            "Signed carbon-label credential",
            "application/vc+ld+json",
        ),
        Link(SUSTAINABILITY, page, "Product carbon footprint", "text/html", languages),
        # Only where the PACT host serves it (a suspended label, a unit PACT has no code for:
        # not), so the linkset never names a link that answers 404.
        *(
            (
                Link(
                    SUSTAINABILITY,
                    pact_footprint_url(base_url, label.id),
                    "PACT product footprint",
                    "application/json",
                ),
            )
            if pact_served(label)
            else ()
        ),
        Link(DEFAULT, page, "Carbon label verification", "text/html", languages),
    )


def link_type_uri(term: str) -> str:
    return GS1_VOCABULARY + term


def link_type_term(value: str) -> str | None:
    """The vocabulary term a ``linkType`` value names (``gs1:x``, or the full URI in either
    namespace), or None if it names no GS1 link type."""
    for prefix in ("gs1:", GS1_VOCABULARY, _LEGACY_VOCABULARY):
        if value.startswith(prefix) and value[len(prefix) :]:
            return value[len(prefix) :]
    return None


def linkset(base_url: str, link: DigitalLink, label: Label) -> dict[str, Any]:
    """The RFC 9264 linkset (``application/linkset+json``) of ``link`` resolved to ``label``."""
    context: dict[str, Any] = {
        "anchor": digital_link_url(base_url, link),
        "itemDescription": label.product_name,
    }
    for item in label_links(base_url, label):
        context.setdefault(link_type_uri(item.link_type), []).append(item.to_json())
    return {"linkset": [context]}


def resolver_description(base_url: str, name: str) -> dict[str, Any]:
    """The resolver description file served at ``/.well-known/gs1resolver``."""
    return {
        "name": name,
        "resolverRoot": base_url.rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1_VOCABULARY, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
    }

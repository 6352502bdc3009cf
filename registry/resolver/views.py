"""The GS1 Digital Link resolver at the site root: ``/01/{GTIN}[/10/{lot}][/21/{serial}]`` and
``/.well-known/gs1resolver`` (GS1-Conformant Resolver 1.2).

A request without ``linkType`` is redirected (307) to the default link, the label page; the
``Link`` header names the linkset. ``?linkType=linkset`` (or ``all``), or an ``Accept`` that
prefers ``application/linkset+json`` to HTML, answers the linkset itself; ``?linkType=gs1:x``
redirects to the first link of that type, or 404 if the label has none. Several equally good
labels answer 300 (see :mod:`registry.resolver.services`). Every answer, errors included,
allows any origin and exposes ``Link``.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from credentials import label_url
from registry.clock import current_clock
from registry.config import current_settings
from registry.errors import NotFoundError
from registry.i18n import current_language
from registry.labels.models import Label
from registry.resolver.linkset import (
    DEFAULT,
    label_links,
    link_type_term,
    linkset,
    resolver_description,
)
from registry.resolver.services import Resolution, resolve_gtin
from registry.resolver.uri import (
    DigitalLink,
    DigitalLinkSyntaxError,
    digital_link_url,
    parse_digital_link,
)

__all__ = ["bp"]

bp = Blueprint("resolver", __name__)

LINKSET_JSON: Final = "application/linkset+json"
LINKSET_CONTEXT: Final = "https://ref.gs1.org/standards/resolver/1.2.0/linkset-context"
_METHODS: Final = ["GET", "HEAD", "OPTIONS"]
_CACHE_CONTROL: Final = "public, no-cache"  # a revocation changes the answer at once


class LinkTypeUnavailableError(NotFoundError):
    """The label has no link of the ``linkType`` asked for."""


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Link, Content-Language"
    return response


def _preflight() -> Response:
    response = current_app.response_class(status=204)
    response.headers["Allow"] = ", ".join(_METHODS)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(_METHODS)
    response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _wants_linkset() -> bool:
    """An ``Accept`` that names the linkset type and prefers it to HTML (``*/*`` does not)."""
    accept = request.accept_mimetypes
    if not any(value == LINKSET_JSON for value, _ in accept):
        return False
    return accept.best_match(("text/html", LINKSET_JSON)) == LINKSET_JSON


def _base() -> str:
    return current_settings().public_base_url


def _link_header(base: str, link: DigitalLink) -> str:
    anchor = digital_link_url(base, link)
    return f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET_JSON}"'


def _redirect(base: str, link: DigitalLink, target: str, *, short_form: bool) -> Response:
    response = current_app.response_class(status=307)
    response.headers["Location"] = target
    links = [_link_header(base, link)]
    if short_form:  # asked with a GTIN-8, -12 or -13: name the canonical GTIN-14 URI
        links.append(f'<{digital_link_url(base, link)}>; rel="owl:sameAs"')
    response.headers["Link"] = ", ".join(links)
    response.headers["Cache-Control"] = _CACHE_CONTROL
    response.headers["Vary"] = "Accept"
    return response


def _linkset_response(base: str, link: DigitalLink, label: Label) -> Response:
    response = jsonify(linkset(base, link, label))
    response.mimetype = LINKSET_JSON
    response.headers["Link"] = ", ".join(
        [
            _link_header(base, link),
            f'<{LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; '
            'type="application/ld+json"',
        ]
    )
    response.headers["Cache-Control"] = _CACHE_CONTROL
    response.headers["Vary"] = "Accept"
    return response


def _choice(base: str, label: Label) -> dict[str, Any]:
    rv = label.rule_version
    return {
        "label": label.id,
        "href": label_url(base, label.id),
        "body": label.body.name,
        "scheme": rv.rule.scheme.code,
        "rule": rv.rule.code,
        "grade": label.grade,
        "status": label.status.value,
        "issued": label.issued_at.isoformat().replace("+00:00", "Z"),
    }


def _multiple_choices(base: str, resolution: Resolution) -> Response:
    choices = [_choice(base, label) for label in resolution.labels]
    html = ("text/html", "application/xhtml+xml")
    if any(value in html and q > 0 for value, q in request.accept_mimetypes):
        body = render_template("resolver/choices.html", gtin=resolution.gtin, choices=choices)
        response = current_app.response_class(body, mimetype="text/html")
        response.headers["Content-Language"] = current_language().tag
    else:
        response = jsonify({"gtin": resolution.gtin, "choices": choices})
    response.status_code = 300
    response.headers["Link"] = ", ".join(f'<{c["href"]}>; rel="alternate"' for c in choices)
    response.headers["Cache-Control"] = _CACHE_CONTROL
    response.headers["Vary"] = "Accept, Accept-Language, Cookie"
    return response


def _qualifiers(gtin: str) -> list[str]:
    """The path segments after ``/01/{gtin}``, each decoded on its own: the router decodes the
    whole path first, which would split a lot whose ``/`` came as ``%2F``."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else quote(request.path)
    segments = path.split("/")
    try:  # the first "01" segment followed by the GTIN, after any mount prefix
        start = next(
            i
            for i in range(len(segments) - 1)
            if [unquote(s) for s in segments[i : i + 2]] == ["01", gtin]
        )
    except StopIteration:
        return request.path.split("/")[3:]  # a server that rewrote the path: as routed
    return [unquote(segment, errors="strict") for segment in segments[start + 2 :]]


def _resolve(gtin: str) -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    try:
        qualifiers = _qualifiers(gtin)
    except UnicodeDecodeError:
        raise DigitalLinkSyntaxError("The path is not percent-encoded UTF-8.") from None
    link = parse_digital_link(gtin, qualifiers)
    resolution = resolve_gtin(link.gtin, now=current_clock().now())
    label = resolution.single
    base = _base()
    if label is None:
        return _multiple_choices(base, resolution)
    link_type = request.args.get("linkType", "")
    if link_type in ("linkset", "all") or (not link_type and _wants_linkset()):
        return _linkset_response(base, link, label)
    term = link_type_term(link_type) if link_type else DEFAULT
    targets = [item.href for item in label_links(base, label) if item.link_type == term]
    if not targets:
        raise LinkTypeUnavailableError(f"The label has no link of type {link_type[:100]!r}.")
    return _redirect(base, link, targets[0], short_form=gtin != link.gtin)


@bp.route("/01/<gtin>", methods=_METHODS)
def resolve(gtin: str) -> ResponseReturnValue:
    """Resolve a GS1 Digital Link URI of a trade item to its carbon label.
    ---
    get:
      summary: Resolve a GS1 Digital Link of a GTIN to its current carbon label
      tags: [gs1]
      description: >
        The GTIN (8, 12, 13 or 14 digits, check digit validated) is normalised to 14 digits.
        Without `linkType`, a 307 redirect to the current label's page, with a `Link` header
        to the linkset. `linkType=linkset` (or `Accept: application/linkset+json`) returns the
        RFC 9264 linkset; `linkType=gs1:certificationInfo`, `gs1:sustainabilityInfo` or
        `gs1:defaultLink` redirects to that link. A current label is neither revoked nor
        superseded and inside its validity period; an active one is preferred to a suspended
        one; of one body under one scheme the newest issuance wins; labels of different
        bodies or schemes answer 300 with the choices. Errors are problem details for clients
        that do not ask for HTML.
      parameters:
        - in: path
          name: gtin
          required: true
          schema: {type: string, pattern: '^([0-9]{8}|[0-9]{12,14})$'}
        - in: query
          name: linkType
          description: >
            `linkset` (or `all`) answers the linkset; a GS1 link type (`gs1:certificationInfo`,
            `gs1:sustainabilityInfo`, `gs1:defaultLink`, or its full `https://ref.gs1.org/voc/`
            URI) redirects to the label's first link of that type; 404 if it has none, or for
            any other value. Without it, a redirect to the label page (the linkset if `Accept`
            prefers `application/linkset+json` to HTML).
          schema: {type: string, examples: [linkset, 'gs1:certificationInfo']}
      responses:
        307:
          description: Redirect to the label page or to the link type asked for
          headers:
            Location:
              description: The label page, or the link of the type asked for
              schema: {type: string, format: uri}
            Link:
              description: >
                The linkset of this URI (`rel="linkset"`); for a GTIN-8, -12 or -13 also the
                canonical GTIN-14 URI (`rel="owl:sameAs"`)
              schema: {type: string}
          content:
            text/html:
              schema: {type: string, maxLength: 0, description: 'No body: follow Location'}
        200:
          description: The linkset
          content:
            application/linkset+json:
              schema: {type: object, description: 'An RFC 9264 linkset of GS1 link types'}
              example:
                linkset:
                  - anchor: https://registry.example/01/06901234567892
                    itemDescription: LFP battery module 51.2 V 100 Ah
                    https://ref.gs1.org/voc/certificationInfo:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Carbon label verification
                        type: text/html
                        hreflang: [en, zh, pt-MO]
                      - href: https://registry.example/l/7Q2M9XK4TZ/credential.json
                        title: Signed carbon-label credential
                        type: application/vc+ld+json
                    https://ref.gs1.org/voc/sustainabilityInfo:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Product carbon footprint
                        type: text/html
                        hreflang: [en, zh, pt-MO]
                    https://ref.gs1.org/voc/defaultLink:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Carbon label verification
                        type: text/html
                        hreflang: [en, zh, pt-MO]
        300:
          description: Several current labels match equally; choose one
          content:
            application/json:
              schema: {type: object, description: 'The GTIN-14 and one choice per label'}
              example:
                gtin: '06901234567892'
                choices:
                  - label: 7Q2M9XK4TZ
                    href: https://registry.example/l/7Q2M9XK4TZ
                    body: Acme Certification
                    scheme: CN-GD
                    rule: PCR-LIB
                    grade: B
                    status: active
                    issued: '2026-03-01T08:00:00Z'
                  - label: 3H8K2W6P1N
                    href: https://registry.example/l/3H8K2W6P1N
                    body: HK Quality Assurance
                    scheme: HK-CL
                    rule: HK-CL-BATTERY
                    grade: A
                    status: active
                    issued: '2026-02-10T08:00:00Z'
            text/html:
              schema:
                type: string
                description: A page listing the choices (when Accept names HTML)
        400: {$ref: '#/components/responses/BadRequest'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return _resolve(gtin)


@bp.route("/01/<gtin>/<path:qualifiers>", methods=_METHODS)
def resolve_qualified(gtin: str, qualifiers: str) -> ResponseReturnValue:
    """Resolve a GS1 Digital Link URI of a lot or serial of a trade item.
    ---
    get:
      summary: Resolve a GS1 Digital Link with a lot and/or serial qualifier
      tags: [gs1]
      description: As `/01/{gtin}`; the linkset's anchor is the qualified URI.
      parameters:
        - in: path
          name: gtin
          required: true
          schema: {type: string, pattern: '^([0-9]{8}|[0-9]{12,14})$'}
        - in: path
          name: qualifiers
          required: true
          description: >
            `10/{lot}`, `21/{serial}` or `10/{lot}/21/{serial}` (1 to 20 characters of GS1
            character set 82 each, percent-encoded). They are checked but do not select a
            label: labels are per product.
          schema: {type: string}
          example: 10/LOT-2026-03/21/SN0001
        - in: query
          name: linkType
          description: >
            `linkset` (or `all`) answers the linkset; a GS1 link type (`gs1:certificationInfo`,
            `gs1:sustainabilityInfo`, `gs1:defaultLink`, or its full `https://ref.gs1.org/voc/`
            URI) redirects to the label's first link of that type; 404 if it has none, or for
            any other value. Without it, a redirect to the label page (the linkset if `Accept`
            prefers `application/linkset+json` to HTML).
          schema: {type: string, examples: [linkset, 'gs1:certificationInfo']}
      responses:
        307:
          description: Redirect to the label page or to the link type asked for
          headers:
            Location:
              description: The label page, or the link of the type asked for
              schema: {type: string, format: uri}
            Link:
              description: >
                The linkset of this URI (`rel="linkset"`); for a GTIN-8, -12 or -13 also the
                canonical GTIN-14 URI (`rel="owl:sameAs"`)
              schema: {type: string}
          content:
            text/html:
              schema: {type: string, maxLength: 0, description: 'No body: follow Location'}
        200:
          description: The linkset (its anchor is the qualified URI)
          content:
            application/linkset+json:
              schema: {type: object, description: 'An RFC 9264 linkset of GS1 link types'}
              example:
                linkset:
                  - anchor: https://registry.example/01/06901234567892/10/LOT-2026-03/21/SN0001
                    itemDescription: LFP battery module 51.2 V 100 Ah
                    https://ref.gs1.org/voc/certificationInfo:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Carbon label verification
                        type: text/html
                        hreflang: [en, zh, pt-MO]
                      - href: https://registry.example/l/7Q2M9XK4TZ/credential.json
                        title: Signed carbon-label credential
                        type: application/vc+ld+json
                    https://ref.gs1.org/voc/sustainabilityInfo:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Product carbon footprint
                        type: text/html
                        hreflang: [en, zh, pt-MO]
                    https://ref.gs1.org/voc/defaultLink:
                      - href: https://registry.example/l/7Q2M9XK4TZ
                        title: Carbon label verification
                        type: text/html
                        hreflang: [en, zh, pt-MO]
        300:
          description: Several current labels match equally; choose one
          content:
            application/json:
              schema: {type: object, description: 'The GTIN-14 and one choice per label'}
              example:
                gtin: '06901234567892'
                choices:
                  - label: 7Q2M9XK4TZ
                    href: https://registry.example/l/7Q2M9XK4TZ
                    body: Acme Certification
                    scheme: CN-GD
                    rule: PCR-LIB
                    grade: B
                    status: active
                    issued: '2026-03-01T08:00:00Z'
                  - label: 3H8K2W6P1N
                    href: https://registry.example/l/3H8K2W6P1N
                    body: HK Quality Assurance
                    scheme: HK-CL
                    rule: HK-CL-BATTERY
                    grade: A
                    status: active
                    issued: '2026-02-10T08:00:00Z'
            text/html:
              schema:
                type: string
                description: A page listing the choices (when Accept names HTML)
        400: {$ref: '#/components/responses/BadRequest'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    del qualifiers  # read undecoded from the request, segment by segment
    return _resolve(gtin)


@bp.route("/.well-known/gs1resolver", methods=_METHODS)
def resolver_description_view() -> ResponseReturnValue:
    """The GS1 resolver description file.
    ---
    get:
      summary: GS1-Conformant Resolver description
      description: >
        Name, root, the primary key supported (`01`, GTIN) and the link type namespace
        (`https://ref.gs1.org/voc/`, prefix `gs1:`), as GS1-Conformant Resolver 1.2 describes.
      tags: [gs1]
      responses:
        200:
          description: The description
          content:
            application/json:
              schema: {type: object, description: 'A GS1-Conformant Resolver description file'}
              example:
                name: Carbon-label registry
                resolverRoot: https://registry.example
                supportedPrimaryKeys: ['01']
                supportedLinkType: [{namespace: 'https://ref.gs1.org/voc/', prefix: 'gs1:'}]
                linkTypeDefaultCanBeLinkset: false
    """
    if request.method == "OPTIONS":
        return _preflight()
    response = jsonify(resolver_description(_base(), "Carbon-label registry"))
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response

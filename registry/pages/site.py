"""The pages around the label page: home, schemes, rules and certification bodies.

Each handler reads through the services the JSON API uses, turns what it found into small
frozen view values (names in the reader's language, thresholds as grade bands, whether a
version or key is in force now) and renders them. GETs run in the request boundary's read-only
transaction, so nothing here can write.

Every page is served with an ETag over the HTML itself: that is exactly "the data shown in this
language, with this template", so a new rule version, a body's status change, the clock moving a
version out of force or a deploy that changes a template all give a new tag, and nothing else
does. ``Cache-Control: no-cache`` lets a browser or CDN keep the page but ask each time; the
answer to a matching ``If-None-Match`` is a body-less 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.numbers import format_decimal
from flask import abort, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, gettext
from werkzeug.wrappers import Response

from registry.bodies.models import (
    Accreditation,
    AccreditationStatus,
    BodyKey,
    CertificationBody,
)
from registry.bodies.services import get_body_by_id
from registry.clock import utcnow
from registry.errors import NotFoundError
from registry.i18n import current_language, language_for
from registry.pages import bp
from registry.pages.label_view import boundary_text
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.schemes.services import get_rule, get_scheme, list_rule_versions, list_schemes
from registry.schemes.services import with_rules as load_rules

__all__ = [
    "GRADES",
    "Band",
    "LocalText",
    "body_page",
    "conditional_page",
    "format_amount",
    "home",
    "localized",
    "rule_page",
    "scheme_page",
]

GRADES = ("A", "B", "C", "D", "E")
# How much of a key its heading shows (the full did:key is right below): enough to tell
# a body's keys apart at a glance without a 56-character line on a phone.
KEY_HEAD, KEY_TAIL = 12, 6


@dataclass(frozen=True, slots=True)
class LocalText:
    """A name in the best language available, and that language's tag (for ``lang=``)."""

    text: str
    lang: str


def localized(names: Mapping[str, str], fallback: str) -> LocalText:
    """The name for the reader's language: the exact tag, then any tag that reads as the same
    language (the demo's ``pt`` for pt-MO, a ``zh-HK`` for zh-Hant), then English, then any
    (the first by tag, so the choice is stable), then ``fallback`` (the code, which belongs to
    no language, so it takes the page's)."""
    here = current_language()
    usable = {tag: text for tag, text in names.items() if isinstance(text, str) and text.strip()}
    for tag, text in usable.items():
        if tag.lower() == here.tag.lower():
            return LocalText(text, tag)
    for tag, text in sorted(usable.items()):
        if language_for(tag) == here:
            return LocalText(text, tag)
    for tag, text in sorted(usable.items()):
        if tag.lower() == "en" or tag.lower().startswith("en-"):
            return LocalText(text, tag)
    if usable:
        tag = min(usable)
        return LocalText(usable[tag], tag)
    return LocalText(fallback, here.tag)


def format_amount(value: Decimal) -> str:
    """A decimal in the reader's locale, every significant digit kept: a threshold of 110.5
    must not read as 110 or 111 (Babel's default pattern stops at three decimals)."""
    normal = value.normalize()
    return format_decimal(normal, locale=get_locale(), decimal_quantization=False)


def conditional_page(html: str) -> Response:
    """The page with its validators; a 304 when the reader already holds this very page."""
    response = Response(html, mimetype="text/html")
    response.set_etag(hashlib.sha256(html.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"
    # The language comes from the cookie, else Accept-Language: a shared cache must key on both.
    response.vary.update(("Accept-Language", "Cookie"))
    return response.make_conditional(request)


def _date(value: datetime | None) -> str | None:
    return None if value is None else format_date(value, format="long")


# --- Home --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemeLink:
    code: str
    name: LocalText
    region: str


def _scheme_link(scheme: Scheme) -> SchemeLink:
    return SchemeLink(scheme.code, localized(scheme.names, scheme.code), scheme.region)


@bp.get("/")
def home() -> Response:
    """What a carbon label is, how to read its grade, a box for a code, and the schemes."""
    schemes = [_scheme_link(scheme) for scheme in list_schemes()]
    return conditional_page(render_template("pages/home.html", schemes=schemes))


# --- Schemes and rules -------------------------------------------------------------------------


def _find_scheme(code: str) -> Scheme:
    """The scheme, its code matched exactly or else in upper case (codes are written so: a
    reader typing ``cn-gd`` means CN-GD); anything else is the translated 404 page."""
    for candidate in dict.fromkeys((code, code.upper())):
        try:
            return get_scheme(candidate)
        except NotFoundError:
            continue
    abort(404)


def _find_rule(scheme: Scheme, code: str) -> Rule:
    for candidate in dict.fromkeys((code, code.upper())):
        try:
            return get_rule(scheme.code, candidate)
        except NotFoundError:
            continue
    abort(404)


@dataclass(frozen=True, slots=True)
class RuleLink:
    code: str
    name: LocalText
    category: str


@bp.get("/schemes/<code:code>")
def scheme_page(code: str) -> Response:
    """A scheme: its name in the reader's language, region, owner, and its rules."""
    scheme = _find_scheme(code)
    if scheme.code != code:  # one address per page, so caches and links agree
        return redirect(url_for(".scheme_page", code=scheme.code), code=301)
    rules = [
        RuleLink(rule.code, localized(rule.names, rule.code), rule.category)
        for rule in load_rules(scheme).rules
    ]
    html = render_template(
        "pages/scheme.html", scheme=scheme, name=localized(scheme.names, scheme.code), rules=rules
    )
    return conditional_page(html)


@dataclass(frozen=True, slots=True)
class Band:
    """One grade of a version: footprints above ``low`` (exclusive) up to ``high`` (inclusive);
    ``None`` where the scale is open (A starts at zero, E has no upper bound)."""

    grade: str
    low: str | None
    high: str | None

    @property
    def text(self) -> str:
        if self.low is None:
            text = gettext("up to %(high)s", high=self.high)
        elif self.high is None:
            text = gettext("more than %(low)s", low=self.low)
        else:
            text = gettext("more than %(low)s, up to %(high)s", low=self.low, high=self.high)
        return str(text)


def bands(version: RuleVersion) -> tuple[Band, ...]:
    """The five grades as the rule states them: A ≤ a < B ≤ b < C ≤ c < D ≤ d < E."""
    t = version.thresholds
    bounds = [format_amount(bound) for bound in (t.a, t.b, t.c, t.d)]
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    return tuple(Band(g, lo, hi) for g, lo, hi in zip(GRADES, lows, highs, strict=True))


@dataclass(frozen=True, slots=True)
class VersionView:
    version: str
    declared_unit: str
    standard: str
    in_force_from: str
    in_force_until: str | None
    state: str  # "current", "past" or "future": the page words and marks each
    bands: tuple[Band, ...]
    boundaries: tuple[str, ...]  # in words, as the label page words them
    max_period_age_months: int | None
    allows_net_negative: bool


def _version_view(version: RuleVersion, now: datetime) -> VersionView:
    # The same test issuance and verification apply, so "current" here means issuable now.
    if version.trusted().in_force_at(now):
        state = "current"
    elif version.in_force_from > now:
        state = "future"
    else:
        state = "past"
    return VersionView(
        version=version.version,
        declared_unit=version.declared_unit,
        standard=version.standard,
        in_force_from=format_date(version.in_force_from, format="long"),
        in_force_until=_date(version.in_force_until),
        state=state,
        bands=bands(version),
        boundaries=tuple(boundary_text(b) for b in version.system_boundaries),
        max_period_age_months=version.max_period_age_months,
        allows_net_negative=version.allows_net_negative,
    )


@bp.get("/schemes/<code:code>/rules/<code:rule_code>")
def rule_page(code: str, rule_code: str) -> Response:
    """A rule: declared unit, standard, category, and every version's thresholds and period."""
    scheme = _find_scheme(code)
    rule = _find_rule(scheme, rule_code)
    if (scheme.code, rule.code) != (code, rule_code):
        return redirect(url_for(".rule_page", code=scheme.code, rule_code=rule.code), code=301)
    now = utcnow()
    # Latest period first (publication order may differ: a correction to an old period can
    # come late): the reader most likely holds a label graded under a recent version.
    published = sorted(list_rule_versions(rule), key=lambda v: (v.in_force_from, v.id))
    versions = [_version_view(v, now) for v in reversed(published)]
    html = render_template(
        "pages/rule.html",
        scheme=_scheme_link(scheme),
        rule=rule,
        name=localized(rule.names, rule.code),
        versions=versions,
    )
    return conditional_page(html)


# --- Certification bodies ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccreditationView:
    scheme: SchemeLink
    categories: Sequence[str]
    accreditation_body: str
    reference: str
    valid_from: str
    valid_until: str | None
    status: AccreditationStatus
    status_changed: str | None


@dataclass(frozen=True, slots=True)
class KeyView:
    did: str
    short: str
    active_from: str
    retired: str | None
    active: bool


def _accreditation_view(accreditation: Accreditation) -> AccreditationView:
    # When it stopped covering anything (see ``covered_until``), not when it was granted.
    stopped = None
    if accreditation.status is not AccreditationStatus.ACTIVE:
        stopped = _date(accreditation.status_changed_at)
    return AccreditationView(
        scheme=_scheme_link(accreditation.scheme),
        categories=tuple(accreditation.categories),
        accreditation_body=accreditation.accreditation_body,
        reference=accreditation.reference,
        valid_from=format_date(accreditation.valid_from, format="long"),
        valid_until=_date(accreditation.valid_until),
        status=accreditation.status,
        status_changed=stopped,
    )


def _key_view(key: BodyKey, now: datetime) -> KeyView:
    multibase = key.public_key_multibase
    short = multibase
    if len(multibase) > KEY_HEAD + KEY_TAIL + 1:
        short = f"{multibase[:KEY_HEAD]}…{multibase[-KEY_TAIL:]}"
    return KeyView(
        did=key.did,
        short=short,
        active_from=format_date(key.active_from, format="long"),
        retired=_date(key.retired_at),
        # "In use" is what signing_key allows: active as a verifier judges it, and not retired
        # (a verifier's bound is the retirement rounded up, but from it on nothing is signed).
        active=key.retired_at is None and key.trusted().active_at(now),
    )


@bp.get("/bodies/<id:body_id>")
def body_page(body_id: int) -> Response:
    """A certification body: its name as registered, status, accreditations and keys."""
    try:
        body: CertificationBody = get_body_by_id(body_id)
    except NotFoundError:
        abort(404)
    now = utcnow()
    html = render_template(
        "pages/body.html",
        body=body,
        accreditations=[_accreditation_view(a) for a in body.accreditations],
        keys=[_key_view(k, now) for k in body.keys],
    )
    return conditional_page(html)

"""The four languages of the public pages: which one a reader gets, and how they switch.

A reader's explicit choice (the ``lang`` cookie, set by the plain links on every page) wins;
otherwise ``Accept-Language`` decides by the rule the pages promise: zh-CN/zh-SG (and plain
``zh``) read Simplified Chinese, zh-HK/zh-TW/zh-MO read Traditional Chinese, any Portuguese
reads Portuguese (Macao), everything else English. Catalogues live in
``registry/translations/<locale>/LC_MESSAGES/messages.po``; the ``.mo`` files beside them are
compiled by the install (``setup.py``), never edited by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, get_locale, refresh

__all__ = [
    "COOKIE",
    "DEFAULT",
    "LANGUAGES",
    "TRANSLATIONS",
    "Language",
    "current_language",
    "init_i18n",
    "language_for",
    "negotiate",
]

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Language:
    tag: str  # BCP 47, for <html lang>, hreflang and the cookie
    locale: str  # Babel's identifier, for catalogues and formatting
    name: str  # in its own language: what a reader looks for in the switcher


LANGUAGES: tuple[Language, ...] = (
    Language("zh-Hans", "zh_Hans", "简体中文"),
    Language("zh-Hant", "zh_Hant", "繁體中文"),
    Language("en", "en", "English"),
    Language("pt-MO", "pt_MO", "Português"),
)
DEFAULT = LANGUAGES[2]
_BY_TAG = {language.tag.lower(): language for language in LANGUAGES}
_BY_LOCALE = {language.locale: language for language in LANGUAGES}
_HANT_REGIONS = frozenset({"hk", "tw", "mo"})


def language_for(tag: str) -> Language | None:
    """The language a single Accept-Language range (or cookie value) asks for, if any."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    if not parts or not parts[0]:
        return None
    exact = _BY_TAG.get("-".join(parts))
    if exact is not None:
        return exact
    head, rest = parts[0], set(parts[1:])
    if head == "zh":
        if "hant" in rest or rest & _HANT_REGIONS:
            return _BY_TAG["zh-hant"]
        return _BY_TAG["zh-hans"]
    if head == "pt":
        return _BY_TAG["pt-mo"]
    if head == "en":
        return DEFAULT
    return None


def negotiate(accept_language: str | None, cookie: str | None = None) -> Language:
    """The reader's language: the cookie if it names one of ours, else the best-weighted range
    of ``Accept-Language`` that maps to one, else English."""
    if cookie:
        chosen = language_for(cookie)
        if chosen is not None:
            return chosen
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            ranges.append((-quality, position, tag))
    for _, _, tag in sorted(ranges):
        chosen = language_for(tag)
        if chosen is not None:
            return chosen
    return DEFAULT


def _select_locale() -> str:
    return negotiate(request.headers.get("Accept-Language"), request.cookies.get(COOKIE)).locale


def current_language() -> Language:
    """The language of the page being rendered."""
    return _BY_LOCALE.get(str(get_locale()), DEFAULT)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT.locale)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    Babel(app, locale_selector=_select_locale)
    # Flask-Babel caches the locale on ``g``, which lives as long as the app context; a request
    # inside an outer app context (a CLI command, a test) would otherwise keep the last one.
    app.before_request(refresh)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=current_language)

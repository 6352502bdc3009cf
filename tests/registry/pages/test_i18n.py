"""Which language a reader gets, how they switch, and that every catalogue is complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from registry.i18n import COOKIE, LANGUAGES, TRANSLATIONS, language_for, negotiate
from registry.pages import safe_next


@pytest.mark.parametrize(
    ("header", "tag"),
    [
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-Hans-CN", "zh-Hans"),
        ("zh-HK,zh;q=0.9,en;q=0.8", "zh-Hant"),
        ("zh-TW", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("pt-BR", "pt-MO"),
        ("pt", "pt-MO"),
        ("pt-PT;q=0.5, zh-MO;q=0.9", "zh-Hant"),
        ("fr-FR, de;q=0.9", "en"),
        ("fr-FR, pt;q=0.1", "pt-MO"),
        ("en-GB", "en"),
        ("", "en"),
        ("*", "en"),
        ("zh-CN;q=0, en;q=0.5", "en"),
        ("zh-CN;q=abc, pt-MO", "pt-MO"),
        (";;;,,,", "en"),
    ],
)
def test_accept_language_maps_to_the_four_languages(header: str, tag: str) -> None:
    assert negotiate(header).tag == tag


def test_the_cookie_wins_over_accept_language_unless_it_names_no_language_of_ours() -> None:
    assert negotiate("zh-CN", "pt-MO").tag == "pt-MO"
    assert negotiate("zh-CN", "klingon").tag == "zh-Hans"
    assert language_for("") is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/l/ABC?x=1", "/l/ABC?x=1"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\nb", "/"),
    ],
)
def test_going_back_after_switching_never_leaves_the_site(
    target: str | None, expected: str
) -> None:
    assert safe_next(target) == expected


def test_switching_language_is_a_plain_link_and_is_remembered(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-Hans">' in page.text
    assert "查验碳标签" in page.text
    assert 'href="/lang/pt-MO?next=/"' in page.text
    switched = client.get("/lang/pt-MO?next=/", headers={"Accept-Language": "zh-CN"})
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/"
    assert f"{COOKIE}=pt-MO" in switched.headers["Set-Cookie"]
    again = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="pt-MO">' in again.text
    assert "Verificar um rótulo de carbono" in again.text


def test_pages_carry_the_strict_security_headers(client: FlaskClient) -> None:
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src" not in policy  # default-src 'none' forbids every script
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"]
    assert "<script" not in page.text


def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _catalogues() -> list[str]:
    return [language.locale for language in LANGUAGES if language.locale != "en"]


@pytest.mark.parametrize("locale", _catalogues())
def test_every_message_is_translated_and_none_is_fuzzy(locale: str) -> None:
    template = _read_po(TRANSLATIONS / "messages.pot")
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    catalogue = _read_po(path, locale)
    wanted = {message.id for message in template if message.id}
    present = {message.id for message in catalogue if message.id}
    assert wanted <= present, f"{locale}: not in the catalogue: {sorted(wanted - present)!r}"
    untranslated = [
        message.id
        for message in catalogue
        if message.id
        and (not message.string or (isinstance(message.string, tuple) and not all(message.string)))
    ]
    fuzzy = [message.id for message in catalogue if message.id and message.fuzzy]
    assert not untranslated, f"{locale}: untranslated {untranslated!r}"
    assert not fuzzy, f"{locale}: fuzzy {fuzzy!r}"


@pytest.mark.parametrize("locale", _catalogues())
def test_the_installed_mo_is_the_po_compiled(locale: str) -> None:
    """The install compiles ``.mo`` from ``.po`` (setup.py); a stale one would show old text."""
    po_path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} missing: reinstall (pip install -e .) to compile it"
    with po_path.open("rb") as source:
        po = {m.id: m.string for m in read_po(source, locale=locale) if m.id and not m.fuzzy}
    with mo_path.open("rb") as source:
        mo = {m.id: m.string for m in read_mo(source) if m.id}
    assert mo == po


def test_the_template_holds_every_message_of_the_code() -> None:
    """``messages.pot`` is extracted from the code; a message added without re-extracting it
    would never reach the translators."""
    from babel.messages.extract import extract_from_dir

    root = TRANSLATIONS.parent.parent
    method_map = [("registry/**.py", "python"), ("templates/**.html", "jinja2")]
    found = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(root), method_map=method_map)
    }
    template = _read_po(TRANSLATIONS / "messages.pot")
    known = {message.id if isinstance(message.id, str) else message.id[0] for message in template}
    assert found <= known, f"extract again: missing {sorted(found - known)!r}"

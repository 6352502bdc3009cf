"""Portal pages follow the public pages' rules: four languages, strict headers, no caching."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from registry.i18n import LANGUAGES
from registry.portal.models import PersonRole
from tests.registry.portal.support import make_person, sign_in_client

pytestmark = pytest.mark.usefixtures("world")
HEADERS = {"zh-Hans": "zh-CN", "zh-Hant": "zh-HK", "en": "en-GB", "pt-MO": "pt-MO"}


def translated(app: Flask, msgid: str, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(gettext(msgid))


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.tag)
def test_portal_pages_speak_the_readers_language(
    app: Flask, client: FlaskClient, language: object
) -> None:
    tag, locale = language.tag, language.locale  # type: ignore[attr-defined]
    headers = {"Accept-Language": HEADERS[tag]}
    page = client.get("/portal/sign-in", headers=headers)
    text = page.get_data(as_text=True)
    assert f'<html lang="{tag}">' in text
    assert translated(app, "E-mail address", locale) in text
    if tag != "en":
        assert translated(app, "E-mail address", locale) != "E-mail address"
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, person)
    home = client.get("/portal/", headers=headers).get_data(as_text=True)
    assert translated(app, "Sign out everywhere", locale) in home
    assert translated(app, "Signatory", locale) in home


def test_portal_pages_carry_strict_headers_and_are_never_cached(client: FlaskClient) -> None:
    response = client.get("/portal/sign-in")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_portal_lifetimes_come_from_the_environment(tmp_path: object) -> None:
    from datetime import timedelta

    from registry import create_app
    from registry.config import ConfigError, Settings
    from registry.portal.policy import POLICY_KEY
    from tests.registry.factories import make_settings

    environ = {
        "REGISTRY_ENV": "development",
        "REGISTRY_INSTANCE_PATH": str(tmp_path),
        "REGISTRY_PORTAL_IDLE_TIMEOUT": "600",
        "REGISTRY_PORTAL_INVITATION_TTL": "3600",
    }
    settings = Settings.from_env(environ)
    assert (settings.portal_idle_timeout, settings.portal_invitation_ttl) == (600, 3600)
    assert settings.portal_absolute_timeout == 12 * 3600
    app = create_app(
        make_settings(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, portal_idle_timeout=600.0)
    )
    assert app.extensions[POLICY_KEY].idle_timeout == timedelta(minutes=10)
    with pytest.raises(ConfigError, match="REGISTRY_PORTAL"):
        Settings.from_env({**environ, "REGISTRY_PORTAL_IDLE_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="REGISTRY_PORTAL"):
        Settings.from_env({**environ, "REGISTRY_PORTAL_ABSOLUTE_TIMEOUT": "60"})

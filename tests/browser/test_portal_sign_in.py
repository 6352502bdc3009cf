"""The portal in a real browser against gunicorn: invitation → password → TOTP enrolment →
sign out → sign in with a code → sign out; an expired session goes to sign-in; every portal
page passes axe-core with no serious violation, in each language for the public ones."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page

from registry.db import transaction
from registry.portal.models import PersonRole
from registry.portal.policy import PortalPolicy
from registry.portal.secrets import totp_at, totp_step
from registry.portal.services import accept_invitation, invite_person
from tests.browser.conftest import (
    ACCEPT_LANGUAGES,
    AXE_TAGS,
    Axe,
    format_violations,
)
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser
PASSWORD = "seven tired walruses singing"


def invite(app: Flask, role: PersonRole = PersonRole.OPERATOR) -> tuple[str, str]:
    """A new person's address and invitation path, made as `flask people invite` does."""
    email = f"portal-{secrets.token_hex(4)}@registry.example"
    with app.app_context(), transaction():
        _, secret = invite_person(email=email, role=role)
    return email, f"/portal/invitation/{secret}"


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    """Sign in with the password on the portal's page, to the portal's home (no second factor
    enrolled yet)."""
    page.goto(server.base_url + "/portal/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(server.base_url + "/portal/")


def no_serious_violation(page: Page, axe_script: Path) -> None:
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core on {page.url}:\n{format_violations(bad)}"


def server_now(server: LiveServer) -> datetime:
    """The server's clock: the system clock plus the offset the browser tests may have set."""
    try:
        offset = float(server.clock_file.read_text(encoding="ascii").strip() or 0)
    except FileNotFoundError:
        offset = 0.0
    return datetime.now(UTC) + timedelta(seconds=offset)


def test_invitation_password_totp_sign_out_and_sign_in_with_a_code(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    email, link = invite(catalogue_app)
    page = context.new_page()
    assert page.goto(server.base_url + link).status == 200
    no_serious_violation(page, axe_script)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/sign-in?done=password")
    assert page.locator(".notice").is_visible()
    no_serious_violation(page, axe_script)

    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(server.base_url + "/portal/")
    assert email in page.inner_text("main")
    no_serious_violation(page, axe_script)

    page.click("a[href='/portal/totp']")
    no_serious_violation(page, axe_script)
    page.click("main form button[type=submit]")
    page.wait_for_selector("#totp-secret")
    assert page.locator("img[src^='data:image/png;base64,']").is_visible()
    no_serious_violation(page, axe_script)
    text = page.inner_text("#totp-secret").strip()
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    step = totp_step(server_now(server))
    page.fill("#code", totp_at(secret, step))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".recovery")
    assert page.locator(".recovery li").count() == 10
    no_serious_violation(page, axe_script)

    for path in ("/portal/tokens", "/portal/password", "/portal/access"):
        assert page.goto(server.base_url + path).status == 200
        no_serious_violation(page, axe_script)
    assert "totp-enrolled" in page.inner_text("main")

    page.goto(server.base_url + "/portal/")
    page.click("form[action='/portal/sign-out'] button")
    page.wait_for_url("**/portal/sign-in")
    assert page.goto(server.base_url + "/portal/").url.startswith(
        server.base_url + "/portal/sign-in"
    )

    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/portal/second-factor(\?.*)?$"))
    no_serious_violation(page, axe_script)
    # The enrolment's code again, within its 30 seconds: a replay, refused.
    page.fill("#code", totp_at(secret, step))
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    page.fill("#code", totp_at(secret, step + 1))  # the next step: inside the accepted window
    page.click("main button[type=submit]")
    page.wait_for_url(server.base_url + "/portal/")
    page.click("form[action='/portal/sign-out'] button")
    page.wait_for_url("**/portal/sign-in")


def test_an_expired_session_is_sent_to_sign_in(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext
) -> None:
    email, link = invite(catalogue_app)
    with catalogue_app.app_context(), transaction():
        accept_invitation(link.rsplit("/", 1)[1], PASSWORD)
    page = context.new_page()
    sign_in(page, server, email)
    before = (server_now(server) - datetime.now(UTC)).total_seconds()
    try:
        idle = PortalPolicy().idle_timeout + timedelta(minutes=1)
        server.set_clock_offset(before + idle.total_seconds())
        response = page.goto(server.base_url + "/portal/tokens")
        assert response is not None
        assert page.url == server.base_url + "/portal/sign-in?next=/portal/tokens"
        assert page.locator("#password").is_visible()
    finally:
        server.set_clock_offset(before)


@pytest.mark.parametrize("accept_language", ACCEPT_LANGUAGES)
def test_the_sign_in_page_passes_axe_in_each_language(
    server: LiveServer, axe: Axe, accept_language: str
) -> None:
    axe.check(server.base_url + "/portal/sign-in", accept_language=accept_language)

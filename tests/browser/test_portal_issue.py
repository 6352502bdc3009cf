"""Issuing by form in a real browser against gunicorn: a signatory fills the form, sees the
preview grade, confirms, and gets the QR code, which decodes (zxing-cpp) to a label the public
page calls genuine; an auditor prepares and a signatory issues; an auditor's own issue is
refused (403); a bad footprint is shown next to its field. axe-core checks every page."""

from __future__ import annotations

import http.client
import re
import secrets
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import func, select

from registry.db import db, transaction
from registry.labels.models import Label
from registry.portal.models import PersonRole
from registry.portal.services import accept_invitation, invite_person
from tests.browser.conftest import ELEMENT_TIMEOUT_MS, PHONE
from tests.browser.flow import BODY, RULE, decode_qr
from tests.browser.server import LiveServer
from tests.browser.test_portal_sign_in import PASSWORD, no_serious_violation
from tests.browser.test_portal_sign_in import sign_in as sign_in_with_password

pytestmark = pytest.mark.browser
RULE_OPTION = f"{RULE.scheme}|{RULE.code}|{RULE.current.version}"


def person(app: Flask, role: PersonRole) -> str:
    """A person of the demo body who has set a password; returns the address."""
    email = f"issue-{secrets.token_hex(4)}@registry.example"
    with app.app_context(), transaction():
        _, secret = invite_person(email=email, role=role, body_code=BODY)
        accept_invitation(secret, PASSWORD)
    return email


def sign_in(ctx: BrowserContext, server: LiveServer, email: str) -> Page:
    page = ctx.new_page()
    sign_in_with_password(page, server, email)
    return page


def fill(page: Page, *, footprint: str, name: str) -> None:
    page.fill("#product_name", name)
    page.fill("#product_model", "BT-FORM")
    page.fill("#manufacturer", "Pearl River Energy Storage Co., Ltd. (fictitious)")
    page.select_option("#rule", RULE_OPTION)
    page.fill("#footprint", footprint)
    page.select_option("#system_boundary", RULE.boundary)
    page.fill("#period_start", "2025-01-01")
    page.fill("#period_end", "2025-12-31")
    page.select_option("#assurance", "reasonable")


def test_a_signatory_fills_previews_confirms_and_the_label_verifies(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    page = sign_in(context, server, person(catalogue_app, PersonRole.SIGNATORY))
    page.click("a[href='/portal/issue/']")
    no_serious_violation(page, axe_script)
    assert page.locator("#rule option").count() > 1

    fill(page, footprint="sixty-one", name="Form-issued module (demo)")
    page.click("main form button[type=submit]")
    error = page.locator("#footprint-error")
    assert error.is_visible()
    assert "footprint-error" in (page.get_attribute("#footprint", "aria-describedby") or "")
    no_serious_violation(page, axe_script)

    page.fill("#footprint", "61.2")  # B under the rule in force (45 < 61.2 ≤ 65)
    page.click("main form button[type=submit]")
    assert page.inner_text("#preview-grade").strip() == "B"
    no_serious_violation(page, axe_script)

    page.click("form[action$='/issue'] button")
    page.wait_for_url(re.compile(r".*/portal/issue/labels/[0-9A-Z]+$"))
    assert page.inner_text("#issued-grade").strip() == "B"
    assert page.locator("#label-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    no_serious_violation(page, axe_script)
    label_id = page.url.rsplit("/", 1)[1]

    png_url = page.get_attribute("#qr-png", "href")
    assert png_url is not None
    response = context.request.get(server.base_url + png_url)
    assert response.status == 200
    scanned = decode_qr(response.body())
    assert scanned == f"{server.base_url}/L/{label_id}".upper()

    page.click("#verify-link")
    page.wait_for_url(f"**/l/{label_id}")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "genuine"


def test_an_auditor_prepares_and_a_signatory_issues(
    server: LiveServer,
    catalogue_app: Flask,
    browser: Browser,
    context: BrowserContext,
    axe_script: Path,
) -> None:
    page = sign_in(context, server, person(catalogue_app, PersonRole.AUDITOR))
    page.goto(server.base_url + "/portal/issue/")
    fill(page, footprint="41.8", name="Audited module (demo)")
    page.click("main form button[type=submit]")
    assert page.inner_text("#preview-grade").strip() == "A"
    assert page.locator("form[action$='/issue']").count() == 0
    no_serious_violation(page, axe_script)

    # The auditor's own request to issue, with a valid CSRF token: refused.
    page.goto(server.base_url + "/portal/issue/drafts")
    no_serious_violation(page, axe_script)
    action = page.locator("form[action$='/review']").last.get_attribute("action")
    assert action is not None
    token = page.locator("input[name=csrf_token]").last.get_attribute("value")
    refused = context.request.post(
        server.base_url + action.replace("/review", "/issue"), form={"csrf_token": token or ""}
    )
    assert refused.status == 403

    other = browser.new_context(
        bypass_csp=True, viewport=PHONE, extra_http_headers={"Accept-Language": "en-GB"}
    )
    try:
        other.set_default_timeout(ELEMENT_TIMEOUT_MS)
        signatory = sign_in(other, server, person(catalogue_app, PersonRole.SIGNATORY))
        signatory.goto(server.base_url + "/portal/issue/drafts")
        signatory.click(f"form[action='{action}'] button")
        assert signatory.inner_text("#preview-grade").strip() == "A"
        no_serious_violation(signatory, axe_script)
        signatory.click("form[action$='/issue'] button")
        signatory.wait_for_url(re.compile(r".*/portal/issue/labels/[0-9A-Z]+$"))
        assert signatory.inner_text("#issued-grade").strip() == "A"
    finally:
        other.close()


def test_two_confirmations_at_once_issue_one_label(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext
) -> None:
    """Two POSTs of one draft's confirmation race on gunicorn's workers: one label is made and
    both answers lead to it."""
    page = sign_in(context, server, person(catalogue_app, PersonRole.SIGNATORY))
    page.goto(server.base_url + "/portal/issue/")
    name = f"Raced module {secrets.token_hex(3)} (demo)"
    fill(page, footprint="77.5", name=name)
    page.click("main form button[type=submit]")
    form = page.locator("form[action$='/issue']")
    action = form.get_attribute("action")
    token = form.locator("input[name=csrf_token]").get_attribute("value")
    assert action is not None
    assert token is not None
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    headers = {
        "Cookie": cookies,
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept-Language": "en-GB",
    }
    start = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def confirm() -> None:
        port = int(server.base_url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            start.wait()
            conn.request("POST", action, body=urlencode({"csrf_token": token}), headers=headers)
            response = conn.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Location") or ""))
        finally:
            conn.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert len(answers) == 2
    assert {status for status, _ in answers} == {303}
    assert len({location for _, location in answers}) == 1
    with catalogue_app.app_context():
        made = db.session.scalar(
            select(func.count()).select_from(Label).where(Label.product_name == name)
        )
        db.session.remove()
    assert made == 1

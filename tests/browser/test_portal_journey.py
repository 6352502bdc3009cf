"""One person's whole way through the portal, in a real browser against gunicorn:

the operator's `flask people invite` prints a link → the signatory sets a password → signs in →
enrols TOTP → signs out and in again with password and code → issues a label by form → its QR
code decodes to the label's public page, which calls it genuine → suspends it (the public
verdict follows) → reinstates it → supersedes it with a corrected footprint (the old label's
public page says so) → signs out, and the portal is closed again. axe-core checks each page.
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page

from registry.portal.secrets import totp_at, totp_step
from tests.browser.flow import BODY, decode_qr
from tests.browser.server import LiveServer
from tests.browser.test_portal_issue import fill
from tests.browser.test_portal_sign_in import no_serious_violation, server_now

pytestmark = pytest.mark.browser
PASSWORD = "twelve patient cranes folding"


def invite_by_cli(app: Flask, email: str) -> str:
    """The path of the one-time link `flask --app wsgi people invite` prints."""
    result = app.test_cli_runner().invoke(
        args=["people", "invite", "--email", email, "--body", BODY, "--role", "signatory"]
    )
    assert result.exit_code == 0, result.output
    found = re.search(r"https?://[^\s]+(/portal/invitation/[^\s]+)", result.output)
    assert found is not None, result.output
    return found.group(1)


def sign_in_with_password(page: Page, server: LiveServer, email: str) -> None:
    page.goto(server.base_url + "/portal/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def change_status(page: Page, action: str, reason: str) -> None:
    page.click(f"#action-{action}")
    page.fill("#reason", reason)
    page.click("#continue")
    page.wait_for_selector("#confirm-text")
    page.click("#confirm")
    page.wait_for_url(re.compile(rf".*/portal/labels/[0-9A-Z]+\?done={action}$"))


def public_verdict(page: Page, server: LiveServer, label_id: str) -> str | None:
    public = page.context.new_page()
    public.goto(f"{server.base_url}/l/{label_id}")
    verdict = public.get_attribute("[data-verdict]", "data-verdict")
    public.close()
    return verdict


def test_invitation_to_sign_out_through_issuing_suspending_and_correcting(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    email = f"journey-{secrets.token_hex(4)}@lingnan.example"
    link = invite_by_cli(catalogue_app, email)
    page = context.new_page()

    # The invitation: a password, then sign in with it.
    assert page.goto(server.base_url + link).status == 200
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/sign-in?done=password")
    sign_in_with_password(page, server, email)
    page.wait_for_url(server.base_url + "/portal/")

    # The second factor: enrol, with the code of the secret shown beside the QR code.
    page.click("a[href='/portal/totp']")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#totp-secret")
    text = page.inner_text("#totp-secret").strip()
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    step = totp_step(server_now(server))
    page.fill("#code", totp_at(secret, step))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".recovery")
    page.goto(server.base_url + "/portal/")
    page.click("form[action='/portal/sign-out'] button")
    page.wait_for_url("**/portal/sign-in")
    sign_in_with_password(page, server, email)
    page.wait_for_url(re.compile(r".*/portal/second-factor(\?.*)?$"))
    page.fill("#code", totp_at(secret, step + 1))
    page.click("main button[type=submit]")
    page.wait_for_url(server.base_url + "/portal/")

    # Issue by form: preview, confirm, the QR code.
    page.click("a[href='/portal/issue/']")
    fill(page, footprint="61.2", name=f"Journey module {secrets.token_hex(3)} (demo)")
    page.click("main form button[type=submit]")
    assert page.inner_text("#preview-grade").strip() == "B"
    page.click("form[action$='/issue'] button")
    page.wait_for_url(re.compile(r".*/portal/issue/labels/[0-9A-Z]+$"))
    label_id = page.url.rsplit("/", 1)[1]
    png = context.request.get(f"{server.base_url}/api/v1/labels/{label_id}/qr.png")
    scanned = decode_qr(png.body())
    assert scanned == f"{server.base_url}/L/{label_id}".upper()
    scan = context.new_page()
    scan.goto(scanned)  # what a phone opens: the upper-case QR URL lands on the label's page
    assert scan.get_attribute("[data-verdict]", "data-verdict") == "genuine"
    scan.close()

    # Suspend, and the public verdict follows; reinstate, and it is genuine again.
    page.goto(f"{server.base_url}/portal/labels/{label_id}")
    change_status(page, "suspend", "Surveillance audit: data error (journey test)")
    assert public_verdict(page, server, label_id) == "suspended"
    change_status(page, "reinstate", "Corrected data accepted (journey test)")
    assert public_verdict(page, server, label_id) == "genuine"

    # Supersede with a corrected footprint: the form starts from what the label states.
    page.click("#action-supersede")
    page.wait_for_selector("#supersedes-notice")
    no_serious_violation(page, axe_script)
    assert page.input_value("#manufacturer") == "Pearl River Energy Storage Co., Ltd. (fictitious)"
    assert page.input_value("#footprint") == "61.2"
    page.fill("#footprint", "44.0")  # A under the rule in force (≤ 45)
    page.click("main form button[type=submit]")
    assert page.inner_text("#preview-grade").strip() == "A"
    assert label_id in page.inner_text("#summary-supersedes")
    no_serious_violation(page, axe_script)
    page.click("form[action$='/issue'] button")
    page.wait_for_url(re.compile(r".*/portal/issue/labels/[0-9A-Z]+$"))
    successor = page.url.rsplit("/", 1)[1]
    assert successor != label_id
    assert label_id in page.inner_text("#issued-supersedes")
    assert public_verdict(page, server, label_id) == "superseded"
    assert public_verdict(page, server, successor) == "genuine"
    page.goto(f"{server.base_url}/portal/labels/{label_id}")
    assert successor in page.inner_text("#superseded-by")
    no_serious_violation(page, axe_script)

    # Sign out: the portal is closed again.
    page.goto(server.base_url + "/portal/")
    page.click("form[action='/portal/sign-out'] button")
    page.wait_for_url("**/portal/sign-in")
    assert page.goto(f"{server.base_url}/portal/labels/{label_id}").url.startswith(
        server.base_url + "/portal/sign-in"
    )

"""The portal's label pages in a real browser against gunicorn: a signatory signs in, lists
and searches the body's labels, opens one, sees its QR code, suspends it (reason, then the
confirmation) and reinstates it, then signs out; an auditor sees no buttons and is refused;
a person of another body gets 404; a regulator's pages. axe-core on every page."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext

from registry.db import transaction
from registry.portal.models import PersonRole
from registry.portal.services import accept_invitation, invite_person
from tests.browser.conftest import PHONE
from tests.browser.flow import BODY, _payload, decode_qr
from tests.browser.server import LiveServer
from tests.browser.test_portal_sign_in import PASSWORD, no_serious_violation, sign_in

pytestmark = pytest.mark.browser
OTHER_BODY = "wuyue-gcc"


def person(
    app: Flask, role: PersonRole, *, body: str | None = None, schemes: tuple[str, ...] = ()
) -> str:
    """A person who has set their password, as the invitation page would; their address."""
    email = f"labels-{secrets.token_hex(4)}@registry.example"
    with app.app_context(), transaction():
        _, secret = invite_person(email=email, role=role, body_code=body, schemes=schemes)
        accept_invitation(secret, PASSWORD)
    return email


def issue_label(server: LiveServer, name: str) -> str:
    body = _payload(7000 + secrets.randbelow(999), "41.8")
    body["product"]["name"] = name
    token = server.demo.certifier_tokens[BODY]
    label_id: str = server.json("POST", "/api/v1/labels", body, token=token, expect=201)["id"]
    return label_id


def test_a_signatory_finds_a_label_suspends_and_reinstates_it(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    name = f"Portal browser pack {secrets.token_hex(3)}"
    label_id = issue_label(server, name)
    page = context.new_page()
    sign_in(page, server, person(catalogue_app, PersonRole.SIGNATORY, body=BODY))

    page.click("a[href='/portal/labels/']")
    page.wait_for_selector("#total")
    no_serious_violation(page, axe_script)
    page.fill("#product", name.upper())
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/portal/labels/?*product=*")
    assert page.locator("table.record tbody tr").count() == 1
    no_serious_violation(page, axe_script)

    page.click(f"a[href='/portal/labels/{label_id}']")
    page.wait_for_selector("#qr")
    qr = page.locator("#qr")
    assert qr.is_visible()
    page.wait_for_function("document.getElementById('qr').complete")
    public_url = page.locator("#public-url").inner_text()
    assert public_url.endswith(f"/l/{label_id}")
    # What a phone's scanner reads off the page: the label's own public address.
    assert decode_qr(qr.screenshot()).lower() == public_url.lower()
    assert "Issued" in page.inner_text("#history")
    no_serious_violation(page, axe_script)

    reason = "Surveillance audit found a data error (browser test)"
    page.click("#action-suspend")
    page.wait_for_selector("#reason")
    no_serious_violation(page, axe_script)
    page.click("#continue")  # no reason: refused next to the field
    page.wait_for_selector("#reason-error")
    no_serious_violation(page, axe_script)
    page.fill("#reason", reason)
    page.click("#continue")
    page.wait_for_selector("#confirm-text")
    assert reason in page.inner_text("#confirm-reason")
    no_serious_violation(page, axe_script)
    page.click("#confirm")
    page.wait_for_url(f"**/portal/labels/{label_id}?done=suspend")
    assert "Suspended" in page.inner_text("#status")
    assert reason in page.inner_text("#history")
    no_serious_violation(page, axe_script)
    # The public page a shopper scans now says so too.
    assert (
        page.request.get(f"{server.base_url}/api/v1/labels/{label_id}").json()["status"]
        == "suspended"
    )

    page.click("#action-reinstate")
    page.fill("#reason", "Corrected data accepted (browser test)")
    page.click("#continue")
    page.wait_for_selector("#confirm-text")
    page.click("#confirm")
    page.wait_for_url(f"**/portal/labels/{label_id}?done=reinstate")
    assert "Active" in page.inner_text("#status")
    assert page.locator("#history tbody tr").count() == 3

    page.goto(server.base_url + "/portal/")
    page.click("form[action='/portal/sign-out'] button")
    page.wait_for_url("**/portal/sign-in")
    assert page.goto(server.base_url + f"/portal/labels/{label_id}").url.startswith(
        server.base_url + "/portal/sign-in"
    )


def test_an_auditor_cannot_suspend_and_another_body_gets_404(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    label_id = issue_label(server, f"Portal auditor pack {secrets.token_hex(3)}")
    page = context.new_page()
    sign_in(page, server, person(catalogue_app, PersonRole.AUDITOR, body=BODY))
    assert page.goto(server.base_url + f"/portal/labels/{label_id}").status == 200
    assert page.locator("#qr").is_visible()
    # No status change for an auditor; a correction it may prepare (a signatory issues it).
    assert page.locator("[id^=action-]:not(#action-supersede)").count() == 0
    assert page.locator("#action-supersede").count() == 1
    no_serious_violation(page, axe_script)
    refused = page.goto(server.base_url + f"/portal/labels/{label_id}/suspend")
    assert refused is not None
    assert refused.status == 403
    no_serious_violation(page, axe_script)

    other = context.browser.new_context(viewport=PHONE, locale="en-GB", bypass_csp=True)
    try:
        stranger = other.new_page()
        sign_in(stranger, server, person(catalogue_app, PersonRole.SIGNATORY, body=OTHER_BODY))
        for path in ("", "/suspend", "/revoke"):
            answer = stranger.goto(server.base_url + f"/portal/labels/{label_id}{path}")
            assert answer is not None
            assert answer.status == 404, path
        no_serious_violation(stranger, axe_script)
    finally:
        other.close()


def test_a_regulator_sees_the_bodies_and_labels_under_its_schemes(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    label_id = issue_label(server, f"Portal regulator pack {secrets.token_hex(3)}")
    page = context.new_page()
    sign_in(page, server, person(catalogue_app, PersonRole.REGULATOR, schemes=("CN-GD",)))
    page.click("a[href='/portal/oversight/']")
    page.wait_for_selector("#accreditations")
    assert "lingnan-pcc" in page.inner_text("#accreditations")
    no_serious_violation(page, axe_script)
    page.click("a[href='/portal/labels/?scheme=CN-GD']")
    page.wait_for_selector("#total")
    no_serious_violation(page, axe_script)
    assert page.goto(server.base_url + f"/portal/labels/{label_id}").status == 200
    assert page.locator("#action-suspend").is_visible()
    no_serious_violation(page, axe_script)

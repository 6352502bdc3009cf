"""The label page as a phone opens it from a label's QR code, in each of the four languages.

Each flow label (``flow.py``) is issued through the API; its QR PNG is fetched over HTTP and
decoded with zxing-cpp, and the decoded URL is what Chromium opens (390×844, Accept-Language of
zh-CN, zh-HK, en-GB or pt-MO). The verdict's words are compared with the compiled catalogue's
translation of the kit's English message (``verdict.<verdict>``), never with a string here.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize

from credentials import Verdict
from credentials.messages import ENGLISH
from registry.i18n import COOKIE
from tests.browser.conftest import ACCEPT_LANGUAGES, Axe, OpenPage, Translate, language
from tests.browser.flow import FlowLabel
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

VERDICTS = [
    Verdict.GENUINE,
    Verdict.REVOKED,
    Verdict.SUSPENDED,
    Verdict.SUPERSEDED,
    Verdict.EXPIRED,
]
NARROW: ViewportSize = {"width": 360, "height": 800}


def _text(page: Page, selector: str) -> str:
    # The DOM's text, not innerText: the stylesheet capitalises the headline's first letter.
    return " ".join((page.locator(selector).text_content() or "").split())


def expected_verdict(verdict: Verdict, tag: str, translate: Translate) -> str:
    return translate(ENGLISH[f"verdict.{verdict.value}"], language(tag))


def assert_label_page(page: Page, label: FlowLabel, tag: str, translate: Translate) -> None:
    assert page.locator("html").get_attribute("lang") == tag
    verdict = page.locator("[data-verdict]")
    assert verdict.count() == 1, "the page states exactly one verdict"
    assert verdict.get_attribute("data-verdict") == label.verdict.value
    # The headline, inside the verdict, is the verdict in words (registry.pages.verdicts).
    headline = _text(page, "[data-verdict] .headline")
    assert headline == expected_verdict(label.verdict, tag, translate)
    grade = page.locator("[data-grade]").first
    assert grade.get_attribute("data-grade") == label.grade
    hrefs = [a.get_attribute("href") or "" for a in page.locator("a[href]").all()]
    report = f"/l/{label.label_id}/report".lower()
    assert any(h.lower().endswith(report) for h in hrefs), f"no link to the report in {hrefs}"
    artwork = f"/api/v1/labels/{label.label_id}/".lower()
    assert any(artwork in h.lower() for h in hrefs), f"no link to the artwork in {hrefs}"


def test_flow_labels_have_their_grades(
    server: LiveServer, flow_labels: dict[Verdict, FlowLabel]
) -> None:
    """The registry graded each flow label as the rule's thresholds say (the page must too)."""
    for label in flow_labels.values():
        record = server.json("GET", f"/api/v1/labels/{label.label_id}")
        assert record["grade"] == label.grade
        # The QR code holds the public URL of the label page (upper-cased for a denser code).
        assert label.qr_url.lower() == f"{server.base_url}/l/{label.label_id}".lower()


@pytest.mark.parametrize("accept", list(ACCEPT_LANGUAGES))
@pytest.mark.parametrize("verdict", VERDICTS, ids=[v.value for v in VERDICTS])
def test_label_page_from_qr(
    server: LiveServer,
    flow_labels: dict[Verdict, FlowLabel],
    open_page: OpenPage,
    translate: Translate,
    axe: Axe,
    artifacts: Path,
    verdict: Verdict,
    accept: str,
) -> None:
    label = flow_labels[verdict]
    tag = ACCEPT_LANGUAGES[accept]
    page = open_page(label.qr_url, accept)
    assert_label_page(page, label, tag, translate)
    shot = artifacts / f"{server.backend}-{verdict.value}-{tag}"
    page.screenshot(path=f"{shot}.png", full_page=True)
    axe.check(label.qr_url, accept_language=accept)
    # The narrowest common phone: nothing may need a horizontal scroll (checked last, so a
    # too-wide page still had its other checks and leaves a screenshot of the overflow).
    page.set_viewport_size(NARROW)
    page.screenshot(path=f"{shot}-360px.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{width} px wide at {NARROW['width']} px"


@pytest.mark.parametrize("verdict", VERDICTS, ids=[v.value for v in VERDICTS])
def test_label_page_without_javascript(
    flow_labels: dict[Verdict, FlowLabel],
    open_page: OpenPage,
    translate: Translate,
    verdict: Verdict,
) -> None:
    """The page needs no script: with JavaScript off it says the same."""
    page = open_page(flow_labels[verdict].qr_url, "zh-HK", java_script_enabled=False)
    assert_label_page(page, flow_labels[verdict], "zh-Hant", translate)


def test_language_switch_is_remembered(
    flow_labels: dict[Verdict, FlowLabel], open_page: OpenPage, translate: Translate
) -> None:
    label = flow_labels[Verdict.GENUINE]
    page = open_page(label.qr_url, "en-GB")
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.locator('a[hreflang="pt-MO"]').first.click()
    assert_label_page(page, label, "pt-MO", translate)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get(COOKIE) == "pt-MO"
    # A new load of the label, the browser still sending en-GB: the choice wins.
    page.goto(label.qr_url)
    assert_label_page(page, label, "pt-MO", translate)
    with page.expect_navigation():
        page.locator('a[hreflang="zh-Hans"]').first.click()
    page.reload()
    assert_label_page(page, label, "zh-Hans", translate)


def test_csp_forbids_scripts(flow_labels: dict[Verdict, FlowLabel], open_page: OpenPage) -> None:
    """The real policy is enforced: a script injected into the page does not run."""
    label = flow_labels[Verdict.GENUINE]
    page = open_page(label.qr_url, "en-GB")
    response = page.goto(label.qr_url)  # again, to read the response's headers
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert re.search(r"default-src 'none'", policy), policy
    assert "script-src" not in policy, "no script source is allowed"
    assert page.locator("script").count() == 0, "the page ships no script"
    # Playwright raises when the browser refuses the tag; either way it must not have run.
    with contextlib.suppress(PlaywrightError):
        page.add_script_tag(content="document.documentElement.dataset.injected = 'ran'")
    assert page.locator("html").get_attribute("data-injected") is None

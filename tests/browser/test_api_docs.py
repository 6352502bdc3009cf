"""``/api/docs`` in a real browser: Swagger UI, from our own origin, renders every operation.

The page's policy allows scripts from this origin only; a renderer that needed an inline script,
``eval`` or another host would be blocked and render nothing, and its CSP report would show in
the console, which the test collects.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Request

from tests.browser.conftest import ACCEPT_LANGUAGES, OpenPage, Translate, language
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

RENDER_TIMEOUT_MS = 60_000


def test_docs_page_renders_every_operation_from_this_origin(
    server: LiveServer, open_page: OpenPage
) -> None:
    document = server.json("GET", "/api/v1/openapi.json")
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    console: list[str] = []
    foreign: list[str] = []
    page = open_page(f"{server.base_url}/api/docs", "en", status=200)

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(message.text)

    def watch(request: Request) -> None:
        if not request.url.startswith((server.base_url, "data:")):
            foreign.append(request.url)

    page.on("console", note)
    page.on("request", watch)
    page.reload()
    policy = page.context.request.get(f"{server.base_url}/api/docs").headers[
        "content-security-policy"
    ]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    # Parsing the 1.7 MB renderer and the document takes seconds on a loaded machine.
    page.locator(".opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    rendered = set()
    for block in page.locator(".opblock").all():
        method = block.locator(".opblock-summary-method").inner_text().strip().upper()
        path = block.locator(".opblock-summary-path").get_attribute("data-path")
        rendered.add((method, path))
    assert rendered == operations
    assert page.locator(".info .title").inner_text().startswith("Carbon-label registry API")
    # Opening one operation shows its example answer, taken from the document.
    label = page.locator(".opblock-get").filter(
        has=page.locator('[data-path="/api/v1/labels/{label_id}"]')
    )
    label.locator(".opblock-summary").click()
    label.locator(".responses-wrapper").wait_for()
    assert "7Q2M9XK4TZ" in label.inner_text()
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not [m for m in console if "Content Security Policy" in m], console


@pytest.mark.parametrize(("accept_language", "tag"), sorted(ACCEPT_LANGUAGES.items()))
def test_docs_page_frame_is_in_the_readers_language(
    server: LiveServer, open_page: OpenPage, translate: Translate, accept_language: str, tag: str
) -> None:
    """The page around the renderer speaks the reader's language; the document stays English,
    and says so (``lang="en"`` on the rendered part)."""
    page = open_page(f"{server.base_url}/api/docs", accept_language)
    assert page.locator("html").get_attribute("lang") == tag
    heading = page.locator("main h1").first
    assert heading.inner_text() == translate("API documentation", language(tag))
    assert page.locator("#api-docs").get_attribute("lang") == "en"
    page.locator("#api-docs .opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

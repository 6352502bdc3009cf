"""``/api/docs`` in a real browser: Swagger UI, from our own origin, renders every operation.

The page's policy allows scripts from this origin only; a renderer that needed an inline script,
``eval`` or another host would be blocked and render nothing, and its CSP report would show in
the console, which the test collects.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Request

from tests.browser.conftest import OpenPage
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser


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
    page.locator(".opblock").first.wait_for()
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

"""The problem pages in a real browser, in each language: the list and the problem with the
longest explanation fit a 360 px screen and pass axe-core's WCAG 2.x A/AA rules."""

from __future__ import annotations

import pytest

from registry.pages.problems import problem_pages
from tests.browser.conftest import ACCEPT_LANGUAGES, Axe, OpenPage
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser


def _longest() -> str:
    pages = problem_pages()
    return max(pages, key=lambda slug: len(str(pages[slug].explanation)))


@pytest.mark.parametrize("accept", list(ACCEPT_LANGUAGES))
@pytest.mark.parametrize("path", ["/problems/", "/problems/{longest}"])
def test_problem_page(
    server: LiveServer, open_page: OpenPage, axe: Axe, path: str, accept: str
) -> None:
    url = server.base_url + path.format(longest=_longest())
    page = open_page(url, accept, viewport={"width": 360, "height": 800})
    assert page.locator("html").get_attribute("lang") == ACCEPT_LANGUAGES[accept]
    assert page.locator("main h1").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{url} is {width} px wide at 360 px"
    axe.check(url, accept_language=accept)

"""The pages around the label page, in each language: home, a scheme, a rule, a body, 404.

Each must answer with the right status and ``<html lang>``, fit a 360 px screen without a
horizontal scroll, and pass axe-core's WCAG 2.x A/AA rules with no serious or critical finding.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from credentials import new_label_id
from registry.bodies.models import CertificationBody
from registry.db import db
from tests.browser.conftest import ACCEPT_LANGUAGES, Axe, OpenPage
from tests.browser.server import LiveServer

pytestmark = pytest.mark.browser

SCHEME, RULE, BODY = "CN-GD", "CN-GD-PCR-LIB", "lingnan-pcc"


@pytest.fixture(scope="session")
def site_paths(catalogue_app: Flask) -> dict[str, tuple[str, int]]:
    """Page name → (path, expected status)."""
    with catalogue_app.app_context():
        body_id = db.session.execute(
            select(CertificationBody.id).where(CertificationBody.code == BODY)
        ).scalar_one()
        db.session.remove()
    return {
        "home": ("/", 200),
        "scheme": (f"/schemes/{SCHEME}", 200),
        "rule": (f"/schemes/{SCHEME}/rules/{RULE}", 200),
        "body": (f"/bodies/{body_id}", 200),
        "not-found": ("/no-such-page", 404),
        "unknown-label": (f"/l/{new_label_id()}", 404),
    }


PAGES = ["home", "scheme", "rule", "body", "not-found", "unknown-label"]


@pytest.mark.parametrize("accept", list(ACCEPT_LANGUAGES))
@pytest.mark.parametrize("name", PAGES)
def test_site_page(
    server: LiveServer,
    site_paths: dict[str, tuple[str, int]],
    open_page: OpenPage,
    axe: Axe,
    name: str,
    accept: str,
) -> None:
    path, status = site_paths[name]
    url = server.base_url + path
    page = open_page(url, accept, status=status, viewport={"width": 360, "height": 800})
    assert page.locator("html").get_attribute("lang") == ACCEPT_LANGUAGES[accept]
    assert page.locator("main h1").count() == 1, f"{path}: one main heading"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width} px wide at 360 px"
    axe.check(url, accept_language=accept)

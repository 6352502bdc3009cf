"""Browser fixtures: a real registry per database backend, headless Chromium, axe-core.

Chromium is the Debian package at ``/usr/bin/chromium``; axe-core is the npm package pinned in
``package-lock.json`` beside this file, installed with ``npm ci`` on first use. Outside CI a
missing Chromium, node or npm skips these tests; under CI (``CI`` set) it is a failure.
PostgreSQL gets a fresh database per session, dropped at the end, as in ``tests/registry``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from psycopg import sql

from credentials import Verdict
from registry import create_app
from registry.db import db
from registry.i18n import LANGUAGES, Language
from tests.browser.flow import FlowLabel, issue_flow_labels
from tests.browser.server import LiveServer, live_server
from tests.conftest import npm_pins_installed
from tests.registry.conftest import PG_ADMIN, require_postgres

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NPM_TIMEOUT = 600
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# What a phone in each place sends, and the page language it must get (registry.i18n's rule).
ACCEPT_LANGUAGES = {"zh-CN": "zh-Hans", "zh-HK": "zh-Hant", "en-GB": "en", "pt-MO": "pt-MO"}
ELEMENT_TIMEOUT_MS = 5000
PHONE: ViewportSize = {"width": 390, "height": 844}


def missing(message: str) -> None:
    """Skip outside CI; fail under CI, where a green run must mean the browser tests ran."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)")
    pytest.skip(message)


# --- axe-core --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """``axe.min.js`` of the pinned axe-core, installed with ``npm ci`` if need be."""
    if not npm_pins_installed(HERE):
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            missing("node and npm are not on PATH: the accessibility checks need axe-core")
        result = subprocess.run(  # noqa: S603
            [str(npm), "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {HERE}:\n{result.stdout}\n{result.stderr}")
        assert npm_pins_installed(HERE), "npm ci did not install the pinned versions"
    return HERE / "node_modules" / "axe-core" / "axe.min.js"


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            lines.append(f"    at {' '.join(node['target'])}: {node['failureSummary']}")
            lines.append(f"       {node['html'][:300]}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Axe:
    """Runs axe-core on a page opened in a context that bypasses CSP (for the injection)."""

    browser: Browser
    script: Path

    def check(self, url: str, *, accept_language: str, viewport: ViewportSize = PHONE) -> None:
        # Our CSP forbids every script, the injected one included, so only this context
        # bypasses it; the pages' own CSP is checked separately (test_csp_forbids_scripts).
        context = self.browser.new_context(
            bypass_csp=True,
            viewport=viewport,
            locale=accept_language,
            extra_http_headers={"Accept-Language": accept_language},
        )
        try:
            page = context.new_page()
            page.goto(url)
            page.add_script_tag(path=str(self.script))
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
            )
        finally:
            context.close()
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, (
            f"axe-core found {len(bad)} serious or critical WCAG violation(s) on {url} "
            f"(Accept-Language {accept_language}):\n{format_violations(bad)}"
        )


# --- Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} is missing: install the Debian package chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe(browser: Browser, axe_script: Path) -> Axe:
    return Axe(browser, axe_script)


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """Open a URL in a fresh phone-sized context with one Accept-Language, expecting
    ``status``; every context is closed after the test."""
    contexts = []

    def open_(url: str, accept_language: str, *, status: int = 200, **options: Any) -> Page:
        settings: dict[str, Any] = {
            "viewport": PHONE,
            "locale": accept_language,
            "extra_http_headers": {"Accept-Language": accept_language},
            **options,
        }
        context = browser.new_context(**settings)
        # Our pages answer in milliseconds: a missing element should fail fast, not in 30 s.
        context.set_default_timeout(ELEMENT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        response = page.goto(url)
        assert response is not None
        assert response.status == status, f"GET {url}: {response.status}, not {status}"
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A phone-sized English context for flows over several pages (the portal's), which lets
    axe-core in (our CSP forbids every script) and accepts downloads."""
    ctx = browser.new_context(
        bypass_csp=True,
        viewport=PHONE,
        locale="en-GB",
        extra_http_headers={"Accept-Language": "en-GB"},
        accept_downloads=True,
    )
    ctx.set_default_timeout(ELEMENT_TIMEOUT_MS)
    yield ctx
    ctx.close()


# --- the registry ----------------------------------------------------------------------------


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """gunicorn over a fresh database with the demo loaded, one per backend."""
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"browser-{backend}")
    if backend == "sqlite":
        with live_server(backend, f"sqlite:///{workdir / 'registry.sqlite3'}", workdir) as s:
            yield s
        return
    require_postgres(PG_ADMIN)
    name = f"registry_test_{secrets.token_hex(6)}"
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    url = "postgresql://{}@{}:{}/{}".format(
        info.get("user", "postgres"), info.get("host"), info.get("port", 5432), name
    )
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with live_server(backend, url, workdir) as s:
            yield s
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def flow_labels(server: LiveServer) -> dict[Verdict, FlowLabel]:
    return issue_flow_labels(server)


@pytest.fixture(scope="session")
def catalogue_app(server: LiveServer) -> Iterator[Flask]:
    """An app with the server's settings, to read the compiled catalogues as the server does
    (and the server's database, for what a test must look up)."""
    app = create_app(server.settings)
    yield app
    with app.app_context():
        db.engine.dispose()  # before the PostgreSQL database is dropped


Translate = Callable[[str, Language], str]


@pytest.fixture(scope="session")
def translate(catalogue_app: Flask) -> Translate:
    """``msgid`` in ``language``, from the compiled catalogue (never a string in the test)."""

    def translate_(msgid: str, language: Language) -> str:
        with catalogue_app.test_request_context(), force_locale(language.locale):
            return str(gettext(msgid))

    return translate_


def language(tag: str) -> Language:
    return next(lang for lang in LANGUAGES if lang.tag == tag)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

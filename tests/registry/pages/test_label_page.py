"""The label page ``/l/{ID}``: verdicts, languages, negotiation, caching and its error pages.

Every test runs on SQLite and PostgreSQL, on the label tests' registry (two bodies with keys,
a battery rule, tokens), issuing and changing labels through the API as a certifier would.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import TestResponse

from registry.clock import FixedClock
from registry.db import db
from registry.labels.models import Label
from registry.pages.label import LabelPageCache
from tests.registry.factories import BUNDLE_SIGNER, LabelWorld, label_request
from tests.registry.labels.support import app, auth, change_status, issue, label_app, world

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures, for this module

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def page(
    client: FlaskClient, label_id: str, language: str = "en", *, etag: str | None = None
) -> TestResponse:
    headers = {**HTML, "Accept-Language": language}
    if etag is not None:
        headers["If-None-Match"] = etag
    return client.get(f"/l/{label_id}", headers=headers)


def verdict_of(response: TestResponse) -> str:
    found = re.search(r'data-verdict="([a-z_]+)"', response.text)
    assert found, response.text[:500]
    return found.group(1)


class _Outline(HTMLParser):
    """Headings and landmarks of a page, to check its structure."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.tags: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for name, value in attrs:
            if (
                name in ("src", "href", "action")
                and value
                and re.match(r"(?i)\s*(https?:)?//", value)
            ):
                self.external.append(value)


def outline(text: str) -> _Outline:
    parser = _Outline()
    parser.feed(text)
    return parser


# --- what the page says -----------------------------------------------------------------------


def test_a_genuine_label_reads_genuine_first_with_grade_footprint_and_evidence(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    response = page(client, label["id"].lower())
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = response.text
    assert verdict_of(response) == "genuine"
    assert 'data-grade="B"' in text
    # The verdict comes before anything else the page says about the label.
    assert text.index("data-verdict") < text.index('data-grade="B"')
    assert "genuine and current" in text
    assert "61.2 kgCO2e per 1 kWh" in text
    assert "LFP battery module 51.2 V 100 Ah" in text
    assert "06901234567892" in text
    assert "PRE-LFP-5120" in text
    assert "Guangdong carbon label (fictitious)" in text
    assert 'href="/schemes/CN-GD/rules/PCR-LIB"' in text
    assert re.search(r'href="/bodies/\d+"', text)
    assert f'href="/l/{label["id"]}/report"' in text
    assert f'href="/api/v1/labels/{label["id"]}/trust-bundle"' in text
    assert f'href="/api/v1/labels/{label["id"]}/qr.png"' in text
    assert f'href="/ledger/proof/inclusion?index={label["ledger_index"]}&amp;size=' in text
    assert (
        f"carbonlabel verify {label['id']}.json --trust {label['id']}-trust.json"
        f" --registry-key {BUNDLE_SIGNER.public_key.multibase}"
    ) in text
    assert "≤ 45" in text
    assert "&gt; 110" in text
    assert text.count('aria-current="true"') == 2  # the language switcher and the grade
    # Every check is listed, each passed, in words.
    assert text.count('data-status="passed"') == 10


def test_the_qr_codes_upper_case_url_opens_the_same_page(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    upper = client.get(f"/L/{label['id']}", headers=HTML)
    lower = page(client, label["id"].lower())
    assert upper.status_code == lower.status_code == 200
    assert upper.headers["ETag"] == lower.headers["ETag"]
    assert f'<link rel="canonical" href="/l/{label["id"]}">' in upper.text


@pytest.mark.parametrize(
    ("language", "verdict"),
    [
        ("zh-CN", "真实有效"),
        ("zh-HK", "真實有效"),
        ("pt-MO", "autêntico e em vigor"),
        ("en-GB", "genuine and current"),
    ],
)
def test_each_language_reads_the_verdict_in_its_own_words(
    client: FlaskClient, world: LabelWorld, language: str, verdict: str
) -> None:
    label = issue(client, world.certifier)
    response = page(client, label["id"], language)
    assert f'<span class="headline">{verdict}</span>' in response.text
    assert response.headers["Content-Language"] in ("zh-Hans", "zh-Hant", "pt-MO", "en")


def test_numbers_and_dates_follow_the_readers_locale(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier, label_request("61.25"))
    text = page(client, label["id"], "pt-MO").text
    assert "61,25 kgCO2e por 1 kWh" in text  # every digit kept, decimal comma
    assert "Guangdong carbon label (fictitious)" in text  # no Portuguese name: English
    assert "广东碳标签（虚构）" in page(client, label["id"], "zh-CN").text
    assert "2025年1月1日" in page(client, label["id"], "zh-CN").text


def test_a_suspended_label_says_since_when_and_why(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    reason = "Factory audit pending"
    assert (
        change_status(client, world.certifier, label["id"], "suspend", reason=reason).status_code
        == 200
    )
    response = page(client, label["id"])
    assert verdict_of(response) == "suspended"
    assert f"<q>{reason}</q>" in response.text
    assert "The certification body suspended this label on " in response.text
    assert 'data-check="suspension" data-status="failed"' in response.text


def test_a_revoked_label_says_when_and_why(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    response = page(client, label["id"], "zh-CN")
    assert verdict_of(response) == "revoked"
    assert '<span class="headline">已撤销</span>' in response.text
    assert "<q>Annual surveillance audit found a data error</q>" in response.text


def test_a_superseded_label_links_to_the_label_that_replaces_it(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    before = page(client, old["id"]).headers["ETag"]
    new = issue(client, world.certifier, label_request("58.4", supersedes=old["id"]))
    response = page(client, old["id"])
    assert verdict_of(response) == "superseded"
    assert f'<a href="/l/{new["id"]}">' in response.text
    assert response.headers["ETag"] != before
    replacing = page(client, new["id"])
    assert verdict_of(replacing) == "genuine"
    assert f'<a href="/l/{old["id"]}">{old["id"]}</a>' in replacing.text


def test_an_expired_label_says_so_without_waiting(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    label = issue(client, world.certifier)
    current = page(client, label["id"])
    clock.set(datetime.fromisoformat(label["valid_until"]) + timedelta(days=1))
    response = page(client, label["id"], etag=current.headers["ETag"])
    assert response.status_code == 200
    assert verdict_of(response) == "expired"
    assert "This label expired on " in response.text
    assert 'data-check="validity" data-status="failed"' in response.text


def test_a_label_whose_stored_credential_was_altered_is_not_genuine(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    altered = db.session.get_one(Label, label["id"]).credential.replace('"61.2"', '"21.2"')
    db.session.execute(update(Label).where(Label.id == label["id"]).values(credential=altered))
    db.session.flush()
    response = page(client, label["id"])
    assert verdict_of(response) == "not_genuine"
    assert 'data-check="proof" data-status="failed"' in response.text
    assert "Checks that failed:" in response.text
    assert "genuine and current" not in response.text


def test_html_in_a_product_name_renders_inert(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier, label_request(name=HOSTILE))
    text = page(client, label["id"]).text
    assert "<script" not in text
    assert "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in text


# --- one URL, two representations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("application/vc+ld+json", "application/vc+ld+json"),
        ("application/ld+json", "application/ld+json"),
        ("application/json", "application/json"),
        ("text/html;q=0.5, application/json", "application/json"),
        ("application/ld+json;q=0.4, application/vc+ld+json;q=0.9", "application/vc+ld+json"),
        ("text/html, application/json;q=0.9", "text/html"),
        ("*/*", "text/html"),
        ("", "text/html"),
    ],
)
def test_content_negotiation_serves_the_credential_or_the_page(
    client: FlaskClient, world: LabelWorld, accept: str, mimetype: str
) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/l/{label['id']}", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Vary"] == "Accept, Accept-Language, Cookie"
    if mimetype != "text/html":
        stored = db.session.get_one(Label, label["id"]).credential.encode()
        assert response.data == stored
        assert client.get(f"/l/{label['id']}/credential.json").data == stored
        assert response.get_json(force=True) == label["credential"]


# --- caching ------------------------------------------------------------------------------------


def test_a_matching_if_none_match_gets_304_without_rendering(
    client: FlaskClient, world: LabelWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = issue(client, world.certifier)
    first = page(client, label["id"])
    assert first.headers["Cache-Control"] == "public, no-cache"
    etag = first.headers["ETag"]

    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("rendered for a conditional request that matched")

    monkeypatch.setattr("registry.pages.label._render", refuse)
    again = page(client, label["id"], etag=etag)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    cached = page(client, label["id"])  # served from the page cache, not rendered again
    assert cached.data == first.data
    weakened = page(client, label["id"], etag=f"W/{etag}")  # as a compressing proxy sends it
    assert weakened.status_code == 304


def test_the_page_cache_is_bounded_in_bytes() -> None:
    cache = LabelPageCache(page_bytes=100, reports=1)
    cache.keep_page("e1", "A", b"x" * 60)
    cache.keep_page("e2", "B", b"y" * 60)
    assert cache.page("e1", "A") is None  # evicted to stay within the budget
    assert cache.page("e2", "B") == b"y" * 60


def test_a_revocation_shows_on_the_very_next_request(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    genuine = page(client, label["id"])
    assert verdict_of(genuine) == "genuine"
    e1 = genuine.headers["ETag"]
    assert change_status(client, world.certifier, label["id"], "revoke").status_code == 200
    after = page(client, label["id"], etag=e1)
    assert after.status_code == 200
    assert verdict_of(after) == "revoked"
    assert after.headers["ETag"] != e1


def test_the_etag_changes_with_suspension_reinstatement_language_and_new_checkpoints(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    seen = [page(client, label["id"]).headers["ETag"]]
    seen.append(page(client, label["id"], "zh-CN").headers["ETag"])
    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    seen.append(page(client, label["id"]).headers["ETag"])
    assert change_status(client, world.certifier, label["id"], "reinstate").status_code == 200
    reinstated = page(client, label["id"])
    assert verdict_of(reinstated) == "genuine"
    seen.append(reinstated.headers["ETag"])
    issue(client, world.certifier)  # another entry, a newer checkpoint
    seen.append(page(client, label["id"]).headers["ETag"])
    assert len(set(seen)) == len(seen)


# --- the shape of the page ----------------------------------------------------------------------


def test_the_page_is_small_accessible_and_self_contained(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier, label_request(name="Battery " * 60))
    response = page(client, label["id"], "pt-MO")
    assert len(response.data) < 30 * 1024
    parsed = outline(response.text)
    assert parsed.headings.count(1) == 1
    assert parsed.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(parsed.headings, parsed.headings[1:], strict=False))
    assert {"header", "nav", "main", "footer"} <= parsed.tags
    assert "script" not in parsed.tags
    assert parsed.external == []
    assert "<title" in response.text.split("</svg>")[0]  # the verdict icon has a text alternative
    assert ' style="' not in response.text  # the CSP allows our stylesheet only


def test_the_page_carries_the_strict_security_headers(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    for response in (page(client, label["id"]), client.get("/l/XYZ", headers=HTML)):
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- error pages --------------------------------------------------------------------------------


def test_a_malformed_code_gets_a_400_page_in_the_readers_language(client: FlaskClient) -> None:
    response = client.get("/l/not-a-code!", headers={**HTML, "Accept-Language": "zh-CN"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert '<html lang="zh-Hans">' in response.text
    assert "请求有误" in response.text
    assert "标签编号由 10 个字母和数字组成" in response.text
    assert '<form class="code-box" method="get" action="/l"' in response.text
    assert "Traceback" not in response.text


def test_an_unknown_code_gets_a_helpful_404_page(client: FlaskClient) -> None:
    response = client.get("/l/0000000000", headers={**HTML, "Accept-Language": "pt-PT"})
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert "Não encontrado" in response.text
    assert "Não existe nenhum rótulo com o código 0000000000 no registo." in response.text
    assert 'name="code" value="0000000000"' in response.text


def _typed_by_hand(label_id: str) -> str:
    """The code as a person might copy it from print: lower case, O for 0, I or l for 1."""
    return label_id.lower().replace("0", "o").replace("1", "I", 1).replace("1", "l")


def test_a_code_typed_with_crockfords_aliases_opens_the_label(
    client: FlaskClient, world: LabelWorld
) -> None:
    # Label ids are random; about half hold a 0 or a 1. Thirty tries leave a chance of about
    # 3e-9 that none does, and the assertion below says so rather than passing vacuously.
    for _ in range(30):
        label = issue(client, world.certifier)
        if set(label["id"]) & {"0", "1"}:
            break
    typed = _typed_by_hand(label["id"])
    assert typed.upper() != label["id"], "no issued label id held a 0 or a 1"
    response = page(client, typed)
    assert response.status_code == 200
    assert verdict_of(response) == "genuine"
    assert f'<link rel="canonical" href="/l/{label["id"]}">' in response.text
    api = client.get(f"/api/v1/labels/{typed}", headers=auth(world.certifier))
    assert api.status_code == 200
    assert api.get_json()["id"] == label["id"]
    box = client.get(f"/l?code={typed}")
    assert box.status_code == 303
    assert box.headers["Location"].endswith(f"/l/{label['id']}")


def test_an_unknown_code_with_aliases_is_named_in_its_canonical_form(client: FlaskClient) -> None:
    response = client.get("/l/OOOOOIIIII", headers={**HTML, "Accept-Language": "en"})
    assert response.status_code == 404
    assert "0000011111" in response.text


def test_the_code_box_redirects_to_the_label_or_explains_the_code(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    found = client.get(f"/l?code=+{label['id'].lower()}+")
    assert found.status_code == 303
    assert found.headers["Location"] == f"/l/{label['id']}"
    assert client.get("/l?code=hello", headers=HTML).status_code == 400
    hostile = client.get("/l", query_string={"code": '"><script>alert(1)</script>'}, headers=HTML)
    assert hostile.status_code == 400
    assert "<script>" not in hostile.text
    assert 'value="&#34;&gt;&lt;script&gt;' in hostile.text
    assert client.get("/l", headers=HTML).status_code == 400


def test_problem_json_for_the_api_is_unchanged(client: FlaskClient) -> None:
    response = client.get("/api/v1/labels/0000000000", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Not found"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-directory/registry.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1",
    ],
)
def test_a_broken_database_gets_a_503_page_not_a_stack_trace(
    url: str, tmp_path: Any, app: Flask
) -> None:
    from tests.registry.conftest import build_app

    broken = build_app(url, tmp_path, upgrade=False)
    with broken.app_context():
        response = broken.test_client().get(
            "/l/7K3M9QH2XD", headers={**HTML, "Accept-Language": "zh-HK"}
        )
        db.engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "服務暫時無法使用" in response.text
    assert "Traceback" not in response.text
    assert "sqlalchemy" not in response.text.lower()

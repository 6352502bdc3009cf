"""Every problem type the registry emits opens a page that explains it, in four languages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from markupsafe import escape

from registry.errors import PROBLEM_TYPES, RegistryError, problem_type
from registry.i18n import LANGUAGES, Language
from registry.labels.vcalm import VERIFICATION_PROBLEM_SLUGS
from registry.pages.problems import problem_pages
from tests.registry.factories import PROBLEM_BASE
from tests.registry.pages.test_site_pages import LANGUAGE_IDS, assert_page, get


def _in(language: Language, text: object) -> str:
    with force_locale(language.locale):
        return str(escape(str(text)))


def test_every_error_class_is_a_registered_problem_type() -> None:
    """A class that names its own slug is registered when defined: walk the class tree."""
    seen: dict[str, type[RegistryError]] = {}
    stack: list[type[RegistryError]] = [RegistryError]
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        seen.setdefault(cls.slug, cls)
    assert set(seen) == set(PROBLEM_TYPES)
    assert set(VERIFICATION_PROBLEM_SLUGS.values()) <= set(problem_pages())


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_every_problem_type_has_a_page_in_every_language(
    app: Flask, client: FlaskClient, language: Language
) -> None:
    pages = problem_pages()
    assert len(pages) >= len(PROBLEM_TYPES) + 10
    with app.test_request_context():
        urls = {slug: problem_type(slug) for slug in pages}
    for slug, page in pages.items():
        assert urls[slug] == PROBLEM_BASE + slug
        response = get(client, urlsplit(urls[slug]).path, language)
        html = assert_page(response, language)
        title, explanation = _in(language, page.title), _in(language, page.explanation)
        assert f"<h1>{title}</h1>" in html, slug
        assert explanation in html, slug
        assert f"<code>{slug}</code>" in html
        if language.tag != "en":  # translated, not the English text shown as a fallback
            english = LANGUAGES[[lang.tag for lang in LANGUAGES].index("en")]
            assert explanation != _in(english, page.explanation), (slug, language.tag)
            assert title != _in(english, page.title) or slug == "idempotency-key-reused"


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_the_list_links_every_problem_type(client: FlaskClient, language: Language) -> None:
    html = assert_page(get(client, "/problems/", language), language)
    for slug in problem_pages():
        assert f'href="/problems/{slug}"' in html


def test_an_unknown_problem_type_is_a_page_not_found(client: FlaskClient) -> None:
    response = client.get("/problems/no-such-problem")
    assert (response.status_code, response.mimetype) == (404, "text/html")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "slug"),
    [
        ("get", "/api/v1/labels/ZZZZZZZZZZ", {}, 404, "not-found"),
        ("get", "/api/v1/labels", {}, 401, "unauthenticated"),
        ("put", "/api/v1/labels", {}, 405, "method-not-allowed"),
        ("get", "/ledger/entries?start=abc&end=2", {}, 422, "validation-failed"),
        ("get", "/ledger/proof/inclusion", {}, 422, None),
    ],
)
def test_an_answers_type_opens_its_page(
    client: FlaskClient,
    method: str,
    path: str,
    kwargs: dict[str, str],
    status: int,
    slug: str | None,
) -> None:
    response = getattr(client, method)(path, **kwargs)
    body = response.get_json(force=True)
    assert response.status_code == status
    assert body["type"].startswith(PROBLEM_BASE)
    if slug is not None:
        assert body["type"] == PROBLEM_BASE + slug
    page = client.get(urlsplit(body["type"]).path)
    assert page.status_code == 200
    assert f"<code>{body['type'].removeprefix(PROBLEM_BASE)}</code>" in page.text

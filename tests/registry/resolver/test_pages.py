"""What a person whose phone opened a Digital Link reads, in their language, when it does not
lead to one label (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.registry.factories import LabelWorld
from tests.registry.resolver.support import gtin, issue_for

# Accept-Language → (html lang, a word of the 300 page's heading, of the 404 explanation)
LANGUAGES = {
    "en": ("en", "Several carbon labels", "No current carbon label"),
    "zh-CN": ("zh-Hans", "多个碳标签", "现行碳标签"),
    "zh-HK": ("zh-Hant", "多個碳標籤", "現行碳標籤"),
    "pt-MO": ("pt-MO", "Vários rótulos", "em vigor"),
}


def _page(client: FlaskClient, path: str, language: str) -> tuple[int, str]:
    response = client.get(path, headers={"Accept": "text/html", "Accept-Language": language})
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_choices_and_not_found_pages_are_in_the_readers_language(
    client: FlaskClient, world: LabelWorld, language: str
) -> None:
    tag, several, missing = LANGUAGES[language]
    code = gtin("0690123450501")
    mine = issue_for(client, world.certifier, code)
    theirs = issue_for(client, world.other_certifier, code)
    status, html = _page(client, f"/01/{code}", language)
    assert status == 300
    assert f'<html lang="{tag}">' in html
    assert several in html
    assert code in html
    for label in (mine, theirs):
        assert f'/l/{label["id"]}"' in html
    status, html = _page(client, f"/01/{gtin('0690123450599')}", language)
    assert status == 404
    assert f'<html lang="{tag}">' in html
    assert missing in html

"""The pages around the label page: home, scheme, rule and certification body, in four languages."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy.orm import Session, scoped_session
from werkzeug.test import TestResponse

from registry.auth.services import OPERATOR_CONSOLE
from registry.bodies.models import BodyStatus
from registry.bodies.services import get_body, register_body, rotate_body_key, set_body_status
from registry.clock import FixedClock, utcnow
from registry.i18n import LANGUAGES, Language
from registry.ledger.services import tree_size
from registry.pages import SECURITY_HEADERS
from registry.schemes.services import create_rule, create_scheme, publish_rule_version
from tests.registry.factories import LABEL_BODY, build_label_world

LANGUAGE_IDS = [language.tag for language in LANGUAGES]


@pytest.fixture
def world(db_session: scoped_session[Session], clock: FixedClock) -> None:
    """The label tests' registry: CN-GD (names in en and zh-Hans) with PCR-LIB versions 0.9
    (past), 1.0 (current) and 2.0 (future); HK; bodies lingnan and pearl with keys."""
    build_label_world()


def get(client: FlaskClient, path: str, language: Language, **headers: str) -> TestResponse:
    return client.get(path, headers={"Accept-Language": language.tag, **headers})


def translated(language: Language, msgid: str, **values: str) -> str:
    """``msgid`` as the page renders it in ``language`` (autoescaped, as in the template)."""
    with force_locale(language.locale):
        return str(escape(gettext(msgid, **values)))


def assert_page(response: TestResponse, language: Language) -> str:
    """A well-formed public page of ours in ``language``; its HTML."""
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/html"
    html = response.text
    assert f'<html lang="{language.tag}">' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1
    # The CSP allows no script and no inline style: either would be dead or a bug.
    assert "<script" not in html
    assert " style=" not in html
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Cache-Control"] == "no-cache"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert response.get_etag()[0]
    return html


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_home_explains_labels_shows_the_scale_and_offers_a_code_box(
    client: FlaskClient, world: None, language: Language
) -> None:
    html = assert_page(get(client, "/", language), language)
    for msgid in ("Check a carbon label", "What is a carbon label?", "How to read the grade"):
        assert translated(language, msgid) in html
    for grade in "ABCDE":  # every grade in words, not only as a coloured letter
        assert f'<span class="site-letter" aria-hidden="true">{grade}</span>' in html
    assert translated(language, "Grade A: the lowest footprint") in html
    assert translated(language, "Grade E: the highest footprint") in html
    assert '<form class="site-lookup" action="/l" method="get">' in html
    assert '<label for="code">' in html
    assert re.search(r'<input type="text" id="code" name="code"', html)
    assert 'href="/schemes/CN-GD"' in html
    assert 'href="/schemes/HK"' in html


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_scheme_page_names_the_scheme_in_the_readers_language_and_links_its_rules(
    client: FlaskClient, world: None, language: Language
) -> None:
    html = assert_page(get(client, "/schemes/CN-GD", language), language)
    for msgid in ("Scheme", "Region", "Owner", "Rules"):
        assert translated(language, msgid) in html
    if language.tag == "zh-Hans":
        assert "<h1>广东碳标签（虚构）</h1>" in html
    elif language.tag == "en":
        assert "<h1>Guangdong carbon label (fictitious)</h1>" in html
    else:  # no name in this language: English, marked as English for screen readers
        assert '<h1><span lang="en">Guangdong carbon label (fictitious)</span></h1>' in html
    assert "Guangdong Ecology Department (fictitious)" in html
    assert 'href="/schemes/CN-GD/rules/PCR-LIB"' in html
    assert 'href="/schemes/CN-GD/rules/PCR-PV"' in html
    assert "HK-LIB" not in html


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-Hans", "澳门碳标签"),
        ("zh-Hant", "澳門碳標籤"),
        ("en", "Macao Carbon Label"),
        ("pt-MO", "Rótulo de Carbono de Macau"),  # stored under "pt": the same language
    ],
)
def test_a_name_is_taken_from_the_closest_language_the_scheme_states(
    client: FlaskClient, db_session: scoped_session[Session], tag: str, expected: str
) -> None:
    create_scheme(
        actor=OPERATOR_CONSOLE,
        code="MO",
        region="MO",
        names={
            "en": "Macao Carbon Label",
            "zh-Hans": "澳门碳标签",
            "zh-Hant": "澳門碳標籤",
            "pt": "Rótulo de Carbono de Macau",
        },
        owner="Macao board (fictitious)",
    )
    language = next(lang for lang in LANGUAGES if lang.tag == tag)
    html = assert_page(get(client, "/schemes/MO", language), language)
    assert expected in html
    home = assert_page(get(client, "/", language), language)
    assert expected in home


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_rule_page_shows_every_versions_thresholds_and_period_and_marks_the_current_one(
    client: FlaskClient, world: None, language: Language
) -> None:
    # A fourth version with a fractional bound: it must read in the locale, every digit kept.
    now = utcnow()
    publish_rule_version(
        actor=OPERATOR_CONSOLE,
        scheme_code="CN-GD",
        rule_code="PCR-LIB",
        version="3.0",
        declared_unit="kWh",
        standard="ISO 14067:2018",
        in_force_from=now + timedelta(days=400),
        in_force_until=None,
        thresholds=(Decimal("40.25"), Decimal(60), Decimal(80), Decimal("1234.5")),
    )
    html = assert_page(get(client, "/schemes/CN-GD/rules/PCR-LIB", language), language)
    for msgid in ("Rule", "Versions", "Declared unit", "Standard", "Category"):
        assert translated(language, msgid) in html
    for version in ("0.9", "1.0", "2.0", "3.0"):
        heading = translated(language, "Version %(version)s", version=version)
        assert f'<h3 id="version-{version}">{heading}' in html  # a label page links here
    assert html.count(f'site-state-ok">{translated(language, "In force now")}<') == 1
    assert html.count(f'site-state-warn">{translated(language, "Not yet in force")}<') == 2
    assert html.count(f'site-state-muted">{translated(language, "No longer in force")}<') == 1
    current = html.index(translated(language, "Version %(version)s", version="1.0"))
    assert html.index(f">{translated(language, 'In force now')}<") > current
    # The bands of every version, with the unit, and in the reader's number format.
    caption = translated(language, "Grade limits, in kg CO₂e per %(unit)s", unit="kWh")
    assert html.count(caption) == 4
    assert html.count('<th scope="row">') == 20
    assert html.count('<th scope="col">') == 8
    first = translated(language, "up to %(high)s", high="45")
    last = translated(language, "more than %(low)s", low="110")
    assert html.count(f"<td>{first}</td>") == 3
    assert html.count(f"<td>{last}</td>") == 3
    top = format_decimal(Decimal("1234.5"), locale=language.locale, decimal_quantization=False)
    assert f"<td>{translated(language, 'more than %(low)s', low=top)}</td>" in html
    low = format_decimal(Decimal("40.25"), locale=language.locale, decimal_quantization=False)
    assert f"<td>{translated(language, 'up to %(high)s', high=low)}</td>" in html
    assert "ISO 14067:2018" in html
    assert 'href="/schemes/CN-GD"' in html


@pytest.mark.parametrize("language", LANGUAGES, ids=LANGUAGE_IDS)
def test_body_page_shows_status_accreditations_and_keys(
    client: FlaskClient, world: None, language: Language
) -> None:
    body = get_body(LABEL_BODY)
    html = assert_page(get(client, f"/bodies/{body.id}", language), language)
    for msgid in ("Certification body", "Accreditations", "Signing keys", "Product categories"):
        assert translated(language, msgid) in html
    assert "<h1>Lingnan Product Carbon Certification Co. (fictitious)</h1>" in html
    active = f'<span class="site-state site-state-ok">{translated(language, "Active")}</span>'
    assert html.count(active) == 2  # the body, its accreditation
    assert f'<span class="site-state site-state-ok">{translated(language, "In use")}</span>' in html
    assert "CNAS-LINGNAN-001" in html
    assert "battery" in html
    assert 'href="/schemes/CN-GD"' in html
    key = body.keys[0]
    assert f'<code class="site-key">did:key:{key.public_key_multibase}</code>' in html
    assert f"<code>{key.public_key_multibase[:12]}…" in html


def test_unknown_or_overlong_addresses_are_404(client: FlaskClient, world: None) -> None:
    for path in (
        "/schemes/NOPE",
        "/schemes/" + "A" * 65,
        "/schemes/CN-GD/rules/NOPE",
        "/schemes/HK/rules/PCR-LIB",  # a rule of another scheme
        "/schemes/CN-GD/rules/" + "R" * 65,
        "/bodies/999999",
        "/bodies/99999999999999999999",
        "/bodies/-1",
        "/bodies/lingnan",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html", path


def test_codes_match_in_any_case_and_redirect_to_the_one_address(
    client: FlaskClient, world: None
) -> None:
    response = client.get("/schemes/cn-gd")
    assert response.status_code == 301
    assert response.headers["Location"] == "/schemes/CN-GD"
    response = client.get("/schemes/cn-gd/rules/pcr-lib")
    assert response.status_code == 301
    assert response.headers["Location"] == "/schemes/CN-GD/rules/PCR-LIB"


def test_matching_etag_is_304_and_a_new_rule_version_changes_it(
    client: FlaskClient, world: None
) -> None:
    path = "/schemes/CN-GD/rules/PCR-LIB"
    first = client.get(path)
    etag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Content-Security-Policy"]
    # Another language is another page, so another tag.
    assert client.get(path, headers={"Accept-Language": "zh-CN"}).headers["ETag"] != etag

    publish_rule_version(
        actor=OPERATOR_CONSOLE,
        scheme_code="CN-GD",
        rule_code="PCR-LIB",
        version="2.1",
        declared_unit="kWh",
        standard="ISO 14067:2018",
        in_force_from=utcnow() + timedelta(days=60),
        in_force_until=None,
        thresholds=(Decimal(40), Decimal(60), Decimal(80), Decimal(100)),
    )
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "2.1" in changed.text


def test_a_body_status_change_changes_the_etag(client: FlaskClient, world: None) -> None:
    path = f"/bodies/{get_body(LABEL_BODY).id}"
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    set_body_status(
        LABEL_BODY, BodyStatus.SUSPENDED, reason="Audit overdue (test)", actor=OPERATOR_CONSOLE
    )
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Suspended" in changed.text


def test_the_clock_moving_a_version_out_of_force_changes_the_page(
    client: FlaskClient, world: None, clock: FixedClock
) -> None:
    path = "/schemes/CN-GD/rules/PCR-LIB"
    before = client.get(path)
    clock.advance(timedelta(days=31))  # 2.0 comes into force; 1.0 has no end, stays in force
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.text.count('site-state-ok">In force now<') == 2


def test_markup_in_a_body_name_is_shown_as_text(
    client: FlaskClient, db_session: scoped_session[Session]
) -> None:
    body = register_body(
        actor=OPERATOR_CONSOLE,
        code="evil",
        name='<script>alert("x")</script> & Co. <b>Ltd</b>',
        region="CN-GD",
    )
    db_session.flush()
    english = LANGUAGES[2]
    html = assert_page(get(client, f"/bodies/{body.id}", english), english)
    shown = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co. &lt;b&gt;Ltd&lt;/b&gt;"
    assert f"<h1>{shown}</h1>" in html
    assert "<b>Ltd</b>" not in html


def test_pages_write_nothing(client: FlaskClient, world: None) -> None:
    body = get_body(LABEL_BODY)
    create_rule(
        actor=OPERATOR_CONSOLE,
        scheme_code="HK",
        code="HK-EMPTY",
        category="tea",
        names={"en": "Tea (no version yet)"},
    )
    size = tree_size()
    for path in ("/", "/schemes/HK", "/schemes/HK/rules/HK-EMPTY", f"/bodies/{body.id}"):
        assert client.get(path).status_code == 200, path
    assert tree_size() == size


def test_a_rotated_key_reads_not_in_use_and_the_new_one_in_use(
    client: FlaskClient, world: None
) -> None:
    body = get_body(LABEL_BODY)
    path = f"/bodies/{body.id}"
    old = body.keys[0].public_key_multibase
    etag = client.get(path).headers["ETag"]
    new = rotate_body_key(LABEL_BODY, actor=OPERATOR_CONSOLE).public_key_multibase
    page = client.get(path, headers={"If-None-Match": etag})
    assert page.status_code == 200
    sections = page.text.split('<section class="site-item" aria-labelledby="k')[1:]
    assert len(sections) == 2
    assert old in sections[0]
    assert 'site-state-muted">Not in use<' in sections[0]
    assert new in sections[1]
    assert 'site-state-ok">In use<' in sections[1]

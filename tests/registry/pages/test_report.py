"""Reporting a suspect label from its page: stored for its regulators, protected, bounded."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from registry.clock import FixedClock, to_millis
from registry.i18n import LANGUAGES
from registry.pages.protection import LIMITER_KEY, client_address
from registry.reports.models import (
    MAX_PHOTO_BYTES,
    PhotoType,
    ReportCategory,
    ReportStatus,
    SuspectReport,
)
from tests.registry.factories import LabelWorld, bearer
from tests.registry.labels.support import app, label_app, world
from tests.registry.reports_support import csrf_token, issue_label, photo_bytes, post_report

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


@pytest.fixture(autouse=True)
def fresh_limits(app: Flask) -> Iterator[None]:
    """Every test starts with no reports counted against its address."""
    app.extensions[LIMITER_KEY].reset()
    yield
    app.extensions[LIMITER_KEY].reset()


def _count(session: scoped_session[Session]) -> int:
    return session.execute(select(func.count()).select_from(SuspectReport)).scalar_one()


def _text(locale: str, message: str, **params: object) -> str:
    """``message`` as the page words it in ``locale`` (HTML-escaped, as the template does)."""
    with force_locale(locale):
        return str(escape(gettext(message, **params)))


def test_a_report_is_stored_with_every_field_and_goes_to_the_thank_you_page(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session], clock: FixedClock
) -> None:
    label_id = issue_label(client, world.certifier)
    photo = photo_bytes("JPEG")
    token = csrf_token(client, label_id.lower())
    response = post_report(
        client,
        label_id.lower(),
        token=token,
        photo=(photo, "label.jpg", "image/jpeg"),
        category="details-differ",
        details="The footprint printed on the box\r\nis 41.0, not 61.2.",
        seen_at="Supermercado Exemplo, Avenida Almeida Ribeiro, Macao",
        contact="reader@example.test",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/l/{label_id}/report/thanks"
    report = db_session.execute(select(SuspectReport)).scalar_one()
    assert report.label_id == label_id
    assert report.scheme.code == "CN-GD"
    assert report.category is ReportCategory.DETAILS_DIFFER
    assert report.details == "The footprint printed on the box\nis 41.0, not 61.2."
    assert report.seen_at == "Supermercado Exemplo, Avenida Almeida Ribeiro, Macao"
    assert report.contact == "reader@example.test"
    assert report.photo == photo
    assert report.photo_type is PhotoType.JPEG
    assert report.photo_size == len(photo)
    assert report.photo_sha256 == hashlib.sha256(photo).digest()
    assert report.status is ReportStatus.NEW
    assert report.created_at == to_millis(clock.now())

    thanks = client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    assert thanks.status_code == 200
    scheme = "Guangdong carbon label (fictitious)"
    assert (
        _text(
            "en",
            "Your report on label %(id)s goes to the regulators of its scheme, %(scheme)s. "
            "It is never published.",
            id=label_id,
            scheme=scheme,
        )
        in thanks.text
    )


def test_a_report_without_photo_or_contact_is_taken_and_the_ledger_does_not_grow(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    size = client.get("/ledger/checkpoint").text
    response = post_report(client, label_id, token=csrf_token(client, label_id))
    assert response.status_code == 303
    report = db_session.execute(select(SuspectReport)).scalar_one()
    assert (report.photo, report.photo_type, report.contact, report.details) == (
        None,
        None,
        None,
        None,
    )
    # Personal data never reaches the register: a report is no ledger entry.
    assert client.get("/ledger/checkpoint").text == size


def test_the_reports_regulator_sees_it_and_another_schemes_does_not(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    from registry.auth.models import Role
    from registry.auth.services import create_token

    label_id = issue_label(client, world.certifier)
    assert post_report(client, label_id, token=csrf_token(client, label_id)).status_code == 303
    _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    mine = client.get("/api/v1/reports", headers=bearer(world.regulator)).get_json()
    assert [r["label"] for r in mine["reports"]] == [label_id]
    theirs = client.get("/api/v1/reports", headers=bearer(hong_kong)).get_json()
    assert theirs["reports"] == []


@pytest.mark.parametrize("token", [None, "", "not-the-token", "forged.token.value"])
def test_a_post_without_the_forms_csrf_token_is_refused_and_nothing_is_stored(
    client: FlaskClient,
    world: LabelWorld,
    db_session: scoped_session[Session],
    token: str | None,
) -> None:
    label_id = issue_label(client, world.certifier)
    csrf_token(client, label_id)  # the session exists; the post just does not carry its token
    response = post_report(client, label_id, token=token, headers={"Accept-Language": "pt-MO"})
    assert response.status_code == 400
    assert (
        _text(
            "pt_MO",
            "This form has expired or was not sent from this site. "
            "Please check your answers and send it again.",
        )
        in response.text
    )
    assert _count(db_session) == 0


def test_a_token_from_another_session_is_refused(
    app: Flask, client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    other = app.test_client()
    stolen = csrf_token(other, label_id)
    csrf_token(client, label_id)
    assert post_report(client, label_id, token=stolen).status_code == 400
    assert _count(db_session) == 0


def test_the_api_needs_no_csrf_token(client: FlaskClient, world: LabelWorld) -> None:
    # Bearer-token clients hold no session: the JSON API must not ask them for a form token.
    issue_label(client, world.certifier)


def test_after_five_reports_an_hour_the_address_gets_a_readable_429(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    token = csrf_token(client, label_id)
    # Forms sent back with a mistake do not count: the reader may fix them.
    for _ in range(3):
        assert post_report(client, label_id, token=token, seen_at="").status_code == 422
    for _ in range(5):
        assert post_report(client, label_id, token=token).status_code == 303
    refused = post_report(client, label_id, token=token, headers={"Accept-Language": "zh-HK"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit()
    assert '<html lang="zh-Hant">' in refused.text
    assert _text("zh_Hant", "Too many reports") in refused.text
    assert _count(db_session) == 5
    # Reading the form is never limited, and another address is counted on its own.
    assert client.get(f"/l/{label_id}/report").status_code == 200
    elsewhere = post_report(
        client, label_id, token=token, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    assert elsewhere.status_code == 303
    assert _count(db_session) == 6


def test_every_attempt_counts_against_the_looser_limit(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    token = csrf_token(client, label_id)
    for _ in range(30):
        assert post_report(client, label_id, token=None).status_code == 400
    assert post_report(client, label_id, token=token).status_code == 429
    assert _count(db_session) == 0


def test_a_photo_over_5_mb_is_refused_with_a_clear_error_and_nothing_is_stored(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    big = photo_bytes("JPEG")
    big = big[:-2] + b"\x00" * (MAX_PHOTO_BYTES - len(big) + 1) + b"\xff\xd9"
    response = post_report(
        client, label_id, token=csrf_token(client, label_id), photo=(big, "big.jpg", "image/jpeg")
    )
    assert response.status_code == 422
    assert _text("en", "The photo is larger than 5 MB. Please send a smaller one.") in response.text
    assert 'aria-describedby="photo-hint photo-error"' in response.text
    assert _count(db_session) == 0


def test_a_body_over_the_routes_limit_is_refused_before_it_is_read(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    huge = b"\xff\xd8\xff" + b"\x00" * (7 * 1024 * 1024)
    response = post_report(
        client, label_id, token=csrf_token(client, label_id), photo=(huge, "x.jpg", "image/jpeg")
    )
    assert response.status_code == 413
    assert _text("en", "The photo is larger than 5 MB. Please send a smaller one.") in response.text
    assert _count(db_session) == 0


def test_other_routes_keep_the_apps_1_mib_limit(client: FlaskClient, world: LabelWorld) -> None:
    two_mib = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = client.post(
        "/api/v1/labels",
        data=two_mib,
        headers={**bearer(world.certifier), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


_NOT_AN_IMAGE = "The file is not a JPEG, PNG or WebP photo."
_MISMATCH = "The file’s contents do not match its type. Send the photo itself."


@pytest.mark.parametrize(
    ("content", "media_type", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png", _NOT_AN_IMAGE),
        (b"%PDF-1.7\n", "application/pdf", _NOT_AN_IMAGE),
        ("PNG", "image/jpeg", _MISMATCH),
        ("JPEG", "image/webp", _MISMATCH),
        ("PNG-truncated", "image/png", "The photo file is damaged or incomplete."),
    ],
)
def test_a_file_that_is_not_the_photo_it_claims_is_refused(
    client: FlaskClient,
    world: LabelWorld,
    db_session: scoped_session[Session],
    content: bytes | str,
    media_type: str,
    message: str,
) -> None:
    if isinstance(content, str):
        kind, _, damage = content.partition("-")
        content = photo_bytes(kind)
        if damage:
            content = content[: len(content) // 2]
    label_id = issue_label(client, world.certifier)
    response = post_report(
        client, label_id, token=csrf_token(client, label_id), photo=(content, "f", media_type)
    )
    assert response.status_code == 422
    assert 'id="photo-error"' in response.text
    assert _text("en", message) in response.text
    assert _count(db_session) == 0


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_each_photo_format_is_taken(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session], kind: str
) -> None:
    label_id = issue_label(client, world.certifier)
    media_type = f"image/{kind.lower()}"
    photo = (photo_bytes(kind), f"p.{kind.lower()}", media_type)
    response = post_report(client, label_id, token=csrf_token(client, label_id), photo=photo)
    assert response.status_code == 303
    report = db_session.execute(select(SuspectReport)).scalar_one()
    assert report.photo_type is PhotoType(media_type)


@pytest.mark.parametrize(
    ("field", "value", "char"),
    [
        ("seen_at", "Shop\x00 12", "U+0000"),
        ("details", "price \u202eelbat", "U+202E"),
        ("contact", "me\u2066@example.test", "U+2066"),
    ],
)
def test_text_the_text_rule_refuses_is_shown_next_to_its_field(
    client: FlaskClient,
    world: LabelWorld,
    db_session: scoped_session[Session],
    field: str,
    value: str,
    char: str,
) -> None:
    label_id = issue_label(client, world.certifier)
    response = post_report(
        client,
        label_id,
        token=csrf_token(client, label_id),
        headers={"Accept-Language": "zh-CN"},
        **{field: value},
    )
    assert response.status_code == 422
    message = _text(
        "zh_Hans",
        "This contains a character that cannot be accepted (%(char)s), such as a "
        "control or text-direction character. Please remove it.",
        char=char,
    )
    error = response.text.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'aria-describedby="{field}-hint {field}-error"' in response.text
    assert _count(db_session) == 0


def test_missing_answers_are_named_and_the_answers_given_are_kept(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    response = post_report(
        client,
        label_id,
        token=csrf_token(client, label_id),
        category="other",
        seen_at="",
        contact="+853 2800 0000",
        photo=(photo_bytes("PNG"), "p.png", "image/png"),
    )
    assert response.status_code == 422
    assert _text("en", "Say where you saw the product.") in response.text
    assert _text("en", "Describe what is wrong when you choose “Something else”.") in response.text
    assert _text("en", "Please choose the photo again.") in response.text
    assert 'value="+853 2800 0000"' in response.text
    assert 'value="other" checked' in response.text
    assert "<title>Error: " in response.text
    assert _count(db_session) == 0


def test_an_unknown_category_is_refused(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    response = post_report(
        client, label_id, token=csrf_token(client, label_id), category="grade-wrong"
    )
    assert response.status_code == 422
    assert 'aria-describedby="category-error"' in response.text
    assert _text("en", "Choose what is wrong.") in response.text
    assert _count(db_session) == 0


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.tag)
def test_the_form_is_in_the_readers_language(
    client: FlaskClient, world: LabelWorld, language: object
) -> None:
    from registry.i18n import Language

    assert isinstance(language, Language)
    label_id = issue_label(client, world.certifier)
    page = client.get(f"/l/{label_id}/report", headers={"Accept-Language": language.tag})
    assert page.status_code == 200
    assert f'<html lang="{language.tag}">' in page.text
    for message in (
        "Report a suspect label",
        "What is wrong?",
        "The label looks copied or altered",
        "Where did you see it?",
        "JPEG, PNG or WebP, at most 5 MB.",
        "Send the report",
    ):
        assert _text(language.locale, message) in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert "script" not in page.headers["Content-Security-Policy"]


def test_the_form_is_accessible_without_script(client: FlaskClient, world: LabelWorld) -> None:
    label_id = issue_label(client, world.certifier)
    page = client.get(f"/l/{label_id}/report").text
    assert "<script" not in page
    assert 'enctype="multipart/form-data"' in page
    assert "<fieldset" in page
    assert "<legend>" in page
    for name in ("details", "seen_at", "photo", "contact"):
        assert f'<label for="{name}">' in page
        assert f'id="{name}"' in page
    for value in ("not-found", "details-differ", "copied-or-altered", "sold-elsewhere", "other"):
        assert f'<label for="category-{value}">' in page


def test_html_in_the_product_name_is_inert(client: FlaskClient, world: LabelWorld) -> None:
    label_id = issue_label(client, world.certifier, name="<img src=x onerror=alert(1)> Battery")
    page = client.get(f"/l/{label_id}/report").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; Battery" in page


def test_an_unknown_label_is_404_and_a_malformed_code_400(
    client: FlaskClient, db_session: scoped_session[Session]
) -> None:
    assert client.get("/l/0000000000/report").status_code == 404
    assert client.get("/l/not-a-label!/report").status_code == 400
    assert client.get("/l/0000000000/report/thanks").status_code == 404
    assert client.post("/l/0000000000/report", data={}).status_code == 404


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        # A client that is not our proxy cannot choose its address by sending the header.
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
        # What the client wrote to the left of the proxy's own entry is ignored.
        ("127.0.0.1", "192.0.2.66, 198.51.100.1", "198.51.100.1"),
        ("127.0.0.1", "198.51.100.1, 10.0.0.2", "198.51.100.1"),
        ("127.0.0.1", "not-an-address", "not-an-address"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_the_limit_counts_the_client_behind_a_trusted_proxy_only(
    app: Flask, peer: str, forwarded: str | None, client: str
) -> None:
    proxies = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    original = app.extensions["registry.trusted_proxies"]
    app.extensions["registry.trusted_proxies"] = proxies
    try:
        with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": peer}):
            assert client_address() == client
    finally:
        app.extensions["registry.trusted_proxies"] = original


def test_without_trusted_proxies_the_peer_is_the_client(app: Flask) -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    with app.test_request_context(headers={"X-Forwarded-For": "1.2.3.4"}, environ_base=environ):
        assert client_address() == "127.0.0.1"


def test_server_owned_fields_cannot_be_sent_with_the_form(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    other = issue_label(client, world.certifier)
    response = post_report(
        client,
        label_id,
        token=csrf_token(client, label_id),
        status="seen",
        scheme_id="999",
        label_id=other,
        created_at="2000-01-01T00:00:00Z",
        photo_type="image/png",
    )
    assert response.status_code == 303
    report = db_session.execute(select(SuspectReport)).scalar_one()
    assert (report.label_id, report.status, report.photo_type) == (
        label_id,
        ReportStatus.NEW,
        None,
    )
    assert report.scheme.code == "CN-GD"


def test_the_form_schema_refuses_unknown_fields() -> None:
    from marshmallow import ValidationError

    from registry.reports.schemas import report_form_schema

    with pytest.raises(ValidationError) as caught:
        report_form_schema.load(
            {"category": "other", "details": "x", "seen_at": "y", "status": "seen"}
        )
    assert "status" in caught.value.messages


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'--x\r\nContent-Disposition: form-data; name="seen_at"\r\n\r\nunterminated', None),
        (b"category=other&details=x&seen_at=y", "application/x-www-form-urlencoded"),
        (b'{"category": "other"}', "application/json"),
        (b"\x00\xff" * 64, "application/octet-stream"),
    ],
)
def test_a_body_that_is_not_the_form_is_refused_without_storing(
    client: FlaskClient,
    world: LabelWorld,
    db_session: scoped_session[Session],
    body: bytes,
    content_type: str | None,
) -> None:
    label_id = issue_label(client, world.certifier)
    csrf_token(client, label_id)
    response = client.post(
        f"/l/{label_id}/report",
        data=body,
        content_type=content_type or "multipart/form-data; boundary=x",
    )
    assert response.status_code == 400
    assert _count(db_session) == 0

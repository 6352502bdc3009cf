"""Account rules on SQLite and PostgreSQL: invitations, passwords, lockout, sessions, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.clock import FixedClock
from registry.db import db, transaction
from registry.portal.models import AccessEvent, AccessKind, Person, PersonRole, PortalSession
from registry.portal.policy import PortalPolicy
from registry.portal.services import invite_person
from tests.registry.portal.conftest import set_policy
from tests.registry.portal.support import (
    PASSWORD,
    make_person,
    post_form,
    sign_in_client,
)

pytestmark = pytest.mark.usefixtures("world")


def kinds(person: Person | None = None) -> list[AccessKind]:
    stmt = select(AccessEvent.kind).order_by(AccessEvent.id)
    if person is not None:
        stmt = stmt.where(AccessEvent.person_id == person.id)
    return list(db.session.execute(stmt).scalars())


def invite(email: str = "wong@lingnan.example") -> str:
    with transaction():
        _, secret = invite_person(email=email, role=PersonRole.SIGNATORY, body_code="lingnan")
    return f"/portal/invitation/{secret}"


def set_password(
    client: FlaskClient, link: str, password: str = PASSWORD, confirm: str | None = None
):  # type: ignore[no-untyped-def]
    return post_form(
        client,
        link,
        {"password": password, "confirm": password if confirm is None else confirm},
        token_from=link,
    )


def test_an_invitation_link_sets_the_password_once(client: FlaskClient, clock: FixedClock) -> None:
    link = invite()
    assert client.get(link).status_code == 200
    response = set_password(client, link)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/portal/sign-in")
    again = client.get(link)
    assert again.status_code == 410
    assert "already used" in again.get_data(as_text=True)
    # Posting to the used link with a token from elsewhere changes nothing either.
    assert (
        post_form(
            client,
            link,
            {"password": "another long password 42", "confirm": "another long password 42"},
        ).status_code
        == 410
    )
    signed = post_form(
        client, "/portal/sign-in", {"email": "wong@lingnan.example", "password": PASSWORD}
    )
    assert signed.status_code == 303
    assert kinds().count(AccessKind.PASSWORD_SET) == 1


def test_an_invitation_expires_after_its_time(
    app: Flask, client: FlaskClient, clock: FixedClock
) -> None:
    link = invite()
    clock.advance(PortalPolicy().invitation_ttl + timedelta(seconds=1))
    response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    person = db.session.execute(select(Person)).scalar_one()
    assert person.password_hash is None
    # A new link replaces the old one, which stays dead even before its own time is up.
    new_link = invite()
    assert client.get(new_link).status_code == 200
    assert client.get(link).status_code == 410


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pw 1", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("my wong password", "too easy to guess"),  # contains the address's local part
    ],
)
def test_a_weak_or_short_password_is_refused_and_nothing_is_set(
    client: FlaskClient, password: str, message: str
) -> None:
    link = invite()
    response = set_password(client, link, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(Person.password_hash)).scalar_one() is None
    assert client.get(link).status_code == 200  # the link still works


def test_two_different_passwords_are_refused(client: FlaskClient) -> None:
    link = invite()
    response = set_password(client, link, PASSWORD, confirm=PASSWORD + "!")
    assert response.status_code == 422
    assert "differ" in response.get_data(as_text=True)


def sign_in(client: FlaskClient, password: str = PASSWORD, email: str = "chan@lingnan.example"):  # type: ignore[no-untyped-def]
    return post_form(client, "/portal/sign-in", {"email": email, "password": password})


def test_the_account_locks_after_five_failures_and_opens_again_after_the_period(
    client: FlaskClient, clock: FixedClock
) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    for _ in range(4):
        response = sign_in(client, "wrong password!!")
        assert response.status_code == 401
        assert "not right" in response.get_data(as_text=True)
    assert sign_in(client, "wrong password!!").status_code == 401
    locked = sign_in(client)  # the right password, but locked
    assert locked.status_code == 401
    assert "locked" in locked.get_data(as_text=True)
    assert kinds(person).count(AccessKind.LOCKED_OUT) == 1
    assert kinds(person).count(AccessKind.SIGN_IN_FAILED) == 6
    clock.advance(PortalPolicy().lockout_for - timedelta(seconds=1))
    assert sign_in(client).status_code == 401
    clock.advance(timedelta(seconds=2))
    assert sign_in(client).status_code == 303
    assert client.get("/portal/").status_code == 200
    assert kinds(person)[-1] is AccessKind.SIGNED_IN


def test_an_unknown_address_and_a_wrong_password_read_the_same(client: FlaskClient) -> None:
    make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    wrong = sign_in(client, "wrong password!!").get_data(as_text=True)
    unknown = sign_in(client, email="nobody@lingnan.example").get_data(as_text=True)
    strip = lambda page: page.split('name="csrf_token"')[0]  # noqa: E731
    assert strip(wrong).replace("chan@", "X@") == strip(unknown).replace("nobody@", "X@")


def test_a_session_expires_when_idle(client: FlaskClient, clock: FixedClock) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, person)
    idle = PortalPolicy().idle_timeout
    for _ in range(3):  # activity keeps it alive well beyond one idle period
        clock.advance(idle - timedelta(minutes=1))
        assert client.get("/portal/").status_code == 200
    clock.advance(idle)
    response = client.get("/portal/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/portal/sign-in")


def test_a_session_expires_after_its_absolute_time_even_when_busy(
    client: FlaskClient, clock: FixedClock
) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, person)
    policy = PortalPolicy()
    start = clock.now()
    while clock.now() - start < policy.absolute_timeout - timedelta(minutes=20):
        clock.advance(timedelta(minutes=20))
        assert client.get("/portal/").status_code == 200
    clock.set(start + policy.absolute_timeout)
    assert client.get("/portal/").status_code == 303


def test_sign_out_everywhere_ends_every_session_of_the_person(
    app: Flask, client: FlaskClient
) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    other_person = make_person("lee@lingnan.example", PersonRole.AUDITOR, body="lingnan")
    phone = app.test_client()
    others = app.test_client()
    sign_in_client(client, person)
    sign_in_client(phone, person)
    sign_in_client(others, other_person)
    assert (
        post_form(client, "/portal/sign-out-everywhere", token_from="/portal/").status_code == 303
    )
    assert client.get("/portal/").status_code == 303
    assert phone.get("/portal/").status_code == 303
    assert others.get("/portal/").status_code == 200
    assert AccessKind.SIGNED_OUT_EVERYWHERE in kinds(person)


def test_sign_out_ends_only_this_session(app: Flask, client: FlaskClient) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    phone = app.test_client()
    sign_in_client(client, person)
    sign_in_client(phone, person)
    assert post_form(client, "/portal/sign-out", token_from="/portal/").status_code == 303
    assert client.get("/portal/").status_code == 303
    assert phone.get("/portal/").status_code == 200


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(
    client: FlaskClient,
) -> None:
    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    before = kinds()
    client.get("/portal/sign-in")  # the CSRF session exists; the posts just do not carry it
    refused = client.post("/portal/sign-in", data={"email": person.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "expired" in refused.get_data(as_text=True)
    assert db.session.execute(select(PortalSession)).first() is None
    sign_in_client(client, person)
    assert client.post("/portal/sign-out-everywhere").status_code == 400
    assert client.post("/portal/sign-out").status_code == 400
    assert client.post("/portal/tokens", data={"name": "x", "role": "certifier"}).status_code == 400
    assert client.get("/portal/").status_code == 200  # still signed in
    assert kinds() == before
    forged = client.post("/portal/sign-out", data={"csrf_token": "forged"})
    assert forged.status_code == 400


def test_the_session_cookie_is_http_only_lax_and_holds_only_a_random_id(
    client: FlaskClient,
) -> None:
    make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    response = sign_in(client)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("portal_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/portal" in cookie
    # Over plain HTTP too (a proxy that did not say X-Forwarded-Proto): the registry's public
    # address is HTTPS, so the cookie never travels in clear.
    assert response.request.scheme == "http"
    assert "Secure" in cookie
    value = cookie.split(";")[0].partition("=")[2]
    assert len(value) == 43
    stored = db.session.execute(select(PortalSession.id_hash)).scalar_one()
    assert value.encode() not in stored


def test_a_disabled_person_is_signed_out_and_cannot_sign_in(
    client: FlaskClient,
) -> None:
    from registry.portal.services import disable_person

    person = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, person)
    with transaction():
        disable_person(person.email)
    assert client.get("/portal/").status_code == 303
    assert sign_in(client).status_code == 401


def test_pages_of_other_roles_are_refused(client: FlaskClient) -> None:
    auditor = make_person("lee@lingnan.example", PersonRole.AUDITOR, body="lingnan")
    sign_in_client(client, auditor)
    assert client.get("/portal/tokens").status_code == 403
    assert client.get("/portal/access").status_code == 403


def test_a_sign_in_goes_back_where_it_was_asked_but_never_off_site(client: FlaskClient) -> None:
    make_person("op@registry.example", PersonRole.OPERATOR)
    assert client.get("/portal/access").headers["Location"] == "/portal/sign-in?next=/portal/access"
    page = client.get("/portal/sign-in?next=/portal/access")
    response = client.post(
        "/portal/sign-in",
        data={
            "email": "op@registry.example",
            "password": PASSWORD,
            "next": "//evil.example/",
            "csrf_token": __import__(
                "tests.registry.portal.support", fromlist=["csrf_from"]
            ).csrf_from(page),
        },
    )
    assert response.headers["Location"] == "/"


def test_policy_is_per_app(app: Flask, policy: PortalPolicy) -> None:
    set_policy(app, lockout_after=2)
    assert app.extensions["registry.portal.policy"].lockout_after == 2

"""Changing one's password, and the operator's reset, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry.clock import FixedClock
from registry.db import db
from registry.portal.models import AccessEvent, AccessKind, Person, PersonRole, RecoveryCode
from tests.registry.factories import PerRequestClient
from tests.registry.portal.support import PASSWORD, make_person, post_form, sign_in_client
from tests.registry.portal.test_second_factor import enrol

pytestmark = pytest.mark.usefixtures("world")
EMAIL = "chan@lingnan.example"
NEW = "a different long passphrase 7"
PAGE = "/portal/password"


def change(
    client: FlaskClient, current: str = PASSWORD, new: str = NEW, confirm: str | None = None
) -> TestResponse:
    data = {"current": current, "password": new, "confirm": new if confirm is None else confirm}
    return post_form(client, PAGE, data, token_from=PAGE)


def sign_in(client: FlaskClient, password: str) -> TestResponse:
    return post_form(client, "/portal/sign-in", {"email": EMAIL, "password": password})


def person() -> Person:
    found = db.session.execute(select(Person).where(Person.email == EMAIL)).scalar_one()
    db.session.refresh(found)
    return found


def events(kind: AccessKind) -> list[AccessEvent]:
    stmt = select(AccessEvent).where(AccessEvent.kind == kind).order_by(AccessEvent.id)
    return list(db.session.execute(stmt).scalars())


def fresh(app: Flask) -> FlaskClient:
    return PerRequestClient(app, app.response_class)


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def test_a_person_changes_their_password_and_their_other_sessions_end(
    app: Flask, client: FlaskClient
) -> None:
    sign_in_client(client, make_person(EMAIL, PersonRole.SIGNATORY, body="lingnan"))
    phone = fresh(app)
    sign_in_client(phone, person())
    home = client.get("/portal/").get_data(as_text=True)
    assert f'href="{PAGE}"' in home
    response = change(client)
    assert response.status_code == 200
    assert 'id="password-changed"' in response.get_data(as_text=True)
    assert person().password_hash.startswith("$argon2id$")  # type: ignore[union-attr]
    # This session goes on; every other one ends.
    assert client.get("/portal/").status_code == 200
    assert phone.get("/portal/").status_code == 303
    assert sign_in(fresh(app), PASSWORD).status_code == 401
    assert sign_in(fresh(app), NEW).status_code == 303
    (changed,) = events(AccessKind.PASSWORD_CHANGED)
    assert changed.person_id == person().id
    assert changed.detail == {"sessions_ended": 1}


def test_a_wrong_current_password_is_refused_and_counts_towards_the_lockout(
    client: FlaskClient,
) -> None:
    sign_in_client(client, make_person(EMAIL, PersonRole.SIGNATORY, body="lingnan"))
    before = person().password_hash
    for _ in range(5):
        refused = change(client, current="not my password 1")
        assert refused.status_code == 422
        assert "current password is not right" in refused.get_data(as_text=True)
    assert len(events(AccessKind.PASSWORD_CHANGE_FAILED)) == 5
    assert len(events(AccessKind.LOCKED_OUT)) == 1
    # Locked: even the right current password is refused until the lockout ends.
    locked = change(client)
    assert locked.status_code == 422
    assert "locked" in locked.get_data(as_text=True)
    assert person().password_hash == before
    assert events(AccessKind.PASSWORD_CHANGED) == []


@pytest.mark.parametrize(
    ("new", "confirm", "says"),
    [
        ("short pass", None, "at least 12 characters"),
        ("chan-chan-chan-lingnan", None, "too easy to guess"),
        (NEW, "another long passphrase 8", "two passwords differ"),
    ],
)
def test_the_new_password_follows_the_invitations_rules(
    client: FlaskClient, new: str, confirm: str | None, says: str
) -> None:
    sign_in_client(client, make_person(EMAIL, PersonRole.SIGNATORY, body="lingnan"))
    before = person().password_hash
    refused = change(client, new=new, confirm=confirm)
    assert refused.status_code == 422
    assert says in refused.get_data(as_text=True)
    assert person().password_hash == before
    assert events(AccessKind.PASSWORD_CHANGED) == []


def test_the_password_page_needs_a_session_and_its_csrf_token(client: FlaskClient) -> None:
    assert client.get(PAGE).status_code == 303
    sign_in_client(client, make_person(EMAIL, PersonRole.AUDITOR, body="lingnan"))
    assert client.get(PAGE).status_code == 200
    data = {"current": PASSWORD, "password": NEW, "confirm": NEW}
    assert client.post(PAGE, data=data).status_code == 400
    assert events(AccessKind.PASSWORD_CHANGED) == []


def _link_path(output: str) -> str:
    link = output.strip()
    assert re.fullmatch(r"https://registry\.example\.test/portal/invitation/[\w-]{43}", link)
    return link.removeprefix("https://registry.example.test")


def test_the_operator_resets_a_password_and_the_second_factor_is_kept(
    app: Flask, client: FlaskClient, clock: FixedClock
) -> None:
    enrol(client, clock)
    reset = run(app, "people", "reset", "--email", "Chan@Lingnan.example")
    assert reset.exit_code == 0, reset.output
    assert "second factor kept" in reset.stderr
    path = _link_path(reset.stdout)
    # The old password no longer opens anything, and the sessions it opened are over.
    assert client.get("/portal/").status_code == 303
    assert sign_in(fresh(app), PASSWORD).status_code == 401
    assert person().password_hash is None
    assert person().totp_secret is not None
    form = {"password": NEW, "confirm": NEW}
    assert post_form(client, path, form, token_from=path).status_code == 303
    assert client.get(path).status_code == 410  # once
    signed = sign_in(client, NEW)
    assert signed.status_code == 303
    assert signed.headers["Location"].startswith("/portal/second-factor")
    (event,) = events(AccessKind.PASSWORD_RESET)
    assert event.detail == {"totp_reset": False, "sessions_ended": 1}
    log = run(app, "people", "log").stdout
    assert "\tpassword-reset\t" in log
    assert path.rsplit("/", 1)[1] not in log


def test_a_reset_with_reset_totp_removes_the_second_factor(
    app: Flask, client: FlaskClient, clock: FixedClock
) -> None:
    enrol(client, clock)
    first = _link_path(run(app, "people", "reset", "--email", EMAIL).stdout)
    second = run(app, "people", "reset", "--email", EMAIL, "--reset-totp")
    assert second.exit_code == 0, second.output
    assert "second factor removed" in second.stderr
    path = _link_path(second.stdout)
    assert client.get(first).status_code == 410  # the earlier link stops working
    found = person()
    assert (found.totp_secret, found.totp_pending, found.totp_last_step) == (None, None, None)
    unused = select(RecoveryCode).where(
        RecoveryCode.person_id == found.id, RecoveryCode.used_at.is_(None)
    )
    assert db.session.execute(unused).first() is None
    form = {"password": NEW, "confirm": NEW}
    assert post_form(client, path, form, token_from=path).status_code == 303
    signed = sign_in(client, NEW)
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/portal/"
    assert events(AccessKind.PASSWORD_RESET)[-1].detail["totp_reset"] is True


def test_a_reset_of_nobody_or_of_a_disabled_person_is_refused(app: Flask) -> None:
    unknown = run(app, "people", "reset", "--email", "nobody@lingnan.example")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("Error: ")
    make_person(EMAIL, PersonRole.SIGNATORY, body="lingnan")
    assert run(app, "people", "disable", "--email", EMAIL).exit_code == 0
    disabled = run(app, "people", "reset", "--email", EMAIL)
    assert disabled.exit_code == 1
    assert "disabled" in disabled.stderr
    assert events(AccessKind.PASSWORD_RESET) == []

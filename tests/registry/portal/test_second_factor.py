"""TOTP enrolment with a QR code, sign-in with a code, replay refused, recovery codes once."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from registry.clock import FixedClock
from registry.db import db
from registry.portal.models import AccessEvent, AccessKind, Person, PersonRole, RecoveryCode
from registry.portal.secrets import TOTP_STEP, totp_at, totp_step
from tests.registry.portal.support import PASSWORD, make_person, post_form, sign_in_client

pytestmark = pytest.mark.usefixtures("world")
EMAIL = "chan@lingnan.example"


def enrol(client: FlaskClient, clock: FixedClock) -> tuple[bytes, list[str]]:
    """Enrol through the pages; the secret is read from the QR code the page shows."""
    person = make_person(EMAIL, PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, person)
    assert post_form(client, "/portal/totp/start", token_from="/portal/totp").status_code == 303
    page = client.get("/portal/totp").get_data(as_text=True)
    data_uri = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert data_uri is not None
    image = Image.open(io.BytesIO(base64.b64decode(data_uri.group(1))))
    (decoded,) = zxingcpp.read_barcodes(image)
    assert decoded.text.startswith("otpauth://totp/")
    text_secret = re.search(r"secret=([A-Z2-7]+)", decoded.text)
    assert text_secret is not None
    shown = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert shown is not None
    assert shown.group(1) == text_secret.group(1)
    secret = base64.b32decode(text_secret.group(1) + "=" * (-len(text_secret.group(1)) % 8))
    wrong = post_form(client, "/portal/totp/confirm", {"code": "000000"}, token_from="/portal/totp")
    if totp_at(secret, totp_step(clock.now())) != "000000":
        assert wrong.status_code == 422
    done = post_form(
        client,
        "/portal/totp/confirm",
        {"code": totp_at(secret, totp_step(clock.now()))},
        token_from="/portal/totp",
    )
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>",
        done.get_data(as_text=True),
    )
    assert len(codes) == 10
    return secret, codes


def password_step(client: FlaskClient) -> None:
    client.delete_cookie("portal_session", path="/portal")
    response = post_form(client, "/portal/sign-in", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/portal/second-factor")
    # Half signed in: no portal page yet.
    assert client.get("/portal/").headers["Location"] == "/portal/second-factor"


def code_step(client: FlaskClient, code: str) -> int:
    return post_form(
        client, "/portal/second-factor", {"code": code}, token_from="/portal/second-factor"
    ).status_code


def test_a_totp_code_signs_in_once_and_is_refused_when_replayed(
    client: FlaskClient, clock: FixedClock
) -> None:
    secret, _ = enrol(client, clock)
    clock.advance(timedelta(seconds=TOTP_STEP))
    code = totp_at(secret, totp_step(clock.now()))
    password_step(client)
    assert code_step(client, code) == 303
    assert client.get("/portal/").status_code == 200
    # Someone who saw the code types it again, within the same 30 seconds: refused.
    password_step(client)
    assert code_step(client, code) == 401
    # So is the code of the step before, though still inside the accepted window.
    assert code_step(client, totp_at(secret, totp_step(clock.now()) - 1)) == 401
    clock.advance(timedelta(seconds=TOTP_STEP))
    assert code_step(client, totp_at(secret, totp_step(clock.now()))) == 303
    assert client.get("/portal/").status_code == 200


def test_a_recovery_code_works_once(client: FlaskClient, clock: FixedClock) -> None:
    _, codes = enrol(client, clock)
    password_step(client)
    assert code_step(client, codes[0].lower().replace("-", " ")) == 303
    password_step(client)
    assert code_step(client, codes[0]) == 401
    assert code_step(client, codes[1]) == 303
    used = (
        db.session.execute(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
        .scalars()
        .all()
    )
    assert len(used) == 2
    stored = {row.code_hash for row in db.session.execute(select(RecoveryCode)).scalars()}
    assert not any(code.encode() in blob for code in codes for blob in stored)
    kinds = db.session.execute(select(AccessEvent.kind)).scalars().all()
    assert kinds.count(AccessKind.RECOVERY_CODE_USED) == 2
    assert AccessKind.TOTP_ENROLLED in kinds


def test_a_pending_second_step_expires(client: FlaskClient, clock: FixedClock) -> None:
    secret, _ = enrol(client, clock)
    password_step(client)
    clock.advance(timedelta(minutes=6))
    response = post_form(
        client,
        "/portal/second-factor",
        {"code": totp_at(secret, totp_step(clock.now()))},
        token_from="/portal/sign-in",
    )
    assert response.headers["Location"] == "/portal/sign-in"


def test_the_totp_secret_is_sealed_at_rest(client: FlaskClient, clock: FixedClock) -> None:
    secret, _ = enrol(client, clock)
    stored = db.session.execute(select(Person.totp_secret)).scalar_one()
    assert stored is not None
    assert secret not in stored


def test_wrong_codes_lock_the_account_like_wrong_passwords(
    client: FlaskClient, clock: FixedClock
) -> None:
    secret, _ = enrol(client, clock)
    clock.advance(timedelta(seconds=TOTP_STEP))
    password_step(client)
    for _ in range(5):
        assert code_step(client, "12345x") == 401
    # The pending sign-in ended with the lockout: even the right code gets no session now.
    assert client.get("/portal/second-factor").headers["Location"] == "/portal/sign-in"
    late = post_form(
        client, "/portal/second-factor", {"code": totp_at(secret, totp_step(clock.now()))}
    )
    assert late.headers["Location"] == "/portal/sign-in"
    assert client.get("/portal/").status_code == 303
    kinds = db.session.execute(select(AccessEvent.kind)).scalars().all()
    assert kinds.count(AccessKind.TOTP_FAILED) == 5
    assert AccessKind.LOCKED_OUT in kinds
    response = post_form(client, "/portal/sign-in", {"email": EMAIL, "password": PASSWORD})
    assert "locked" in response.get_data(as_text=True)

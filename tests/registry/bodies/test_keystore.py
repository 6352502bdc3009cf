"""The key store and rotating the key-encryption key.

The conformance test holds every KeyStore to the protocol's promises. The rotation test runs
the operator's procedure on SQLite and PostgreSQL, with real keys and real signatures: workers
on the new KEK with the old one as REGISTRY_KEK_PREVIOUS keep issuing, `flask keys rewrap`
re-seals every body key and TOTP secret in one transaction, and afterwards the new KEK alone
signs and opens everything while the old one alone opens nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from credentials import KeyPair, verify_document
from registry import create_app
from registry.bodies.keystore import KeyStore, KeyStoreError, SealedKeyStore
from registry.bodies.models import BodyKey
from registry.config import generate_kek
from registry.db import db, transaction
from registry.portal.models import Person, PersonRole
from registry.portal.services import start_totp_enrolment, totp_secret_of
from tests.registry.factories import KEK, LABEL_BODY, PerRequestClient, label_request, make_settings
from tests.registry.labels.support import auth, make_label_app
from tests.registry.portal.support import make_person

OLD, NEW = KEK, generate_kek()


def _raw(kek: str) -> bytes:
    return make_settings("sqlite://", Path("."), kek=kek).kek_bytes


STORES: dict[str, Callable[[], KeyStore]] = {
    "sealed": lambda: SealedKeyStore(_raw(NEW)),
    "sealed-while-rotating": lambda: SealedKeyStore(_raw(NEW), _raw(OLD)),
}


@pytest.mark.parametrize("make", STORES.values(), ids=STORES.keys())
def test_a_key_store_keeps_its_promises(make: Callable[[], KeyStore]) -> None:
    store = make()
    key, other = KeyPair.generate(), KeyPair.generate()
    box = store.seal(key)
    assert key.seed not in box
    opened = store.open(box, public_key_multibase=key.public_key.multibase)
    assert opened.seed == key.seed
    assert store.is_current(box, public_key_multibase=key.public_key.multibase)
    # Two seals of one key differ (a fresh nonce each), and both open.
    assert store.seal(key) != box
    # A box copied onto another key's row does not open as that key.
    with pytest.raises(KeyStoreError):
        store.open(box, public_key_multibase=other.public_key.multibase)
    tampered = box[:-1] + bytes([box[-1] ^ 1])
    with pytest.raises(KeyStoreError):
        store.open(tampered, public_key_multibase=key.public_key.multibase)
    with pytest.raises(KeyStoreError):
        store.open(b"\x02" + box[1:], public_key_multibase=key.public_key.multibase)


def test_while_rotating_the_old_kek_opens_but_is_not_current() -> None:
    key = KeyPair.generate()
    old_box = SealedKeyStore(_raw(OLD)).seal(key)
    rotating = SealedKeyStore(_raw(NEW), _raw(OLD))
    assert rotating.open(old_box, public_key_multibase=key.public_key.multibase).seed == key.seed
    assert not rotating.is_current(old_box, public_key_multibase=key.public_key.multibase)
    with pytest.raises(KeyStoreError):
        SealedKeyStore(_raw(NEW)).open(old_box, public_key_multibase=key.public_key.multibase)


@pytest.fixture
def old_registry(fresh_database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A label registry whose body keys were sealed under OLD, with a certifier token."""
    app, world = make_label_app(fresh_database_url, tmp_path)
    yield app, world.certifier
    with app.app_context():
        db.engine.dispose()


def _app(url: str, path: Path, **kek: str) -> Flask:
    app = create_app(make_settings(url, path, **kek))
    app.test_client_class = PerRequestClient
    return app


def _issue(app: Flask, token: str) -> int:
    response = app.test_client().post("/api/v1/labels", json=label_request(), headers=auth(token))
    if response.status_code == 201:
        verify_document(response.get_json()["credential"])
    return response.status_code


def _cannot_sign(app: Flask, token: str) -> None:
    # An operator's misconfiguration, not the client's: an internal error (propagated here,
    # as the testing environment does), and nothing issued.
    with pytest.raises(KeyStoreError, match="does not open"):
        _issue(app, token)


def _boxes(app: Flask) -> dict[int, bytes]:
    with app.app_context():
        try:
            rows = db.session.query(BodyKey.id, BodyKey.secret_box).all()
            return {key_id: box for key_id, box in rows if box is not None}
        finally:
            db.session.remove()


def _rewrap(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["keys", "rewrap"])
    return result.exit_code, result.output


def test_rotating_the_kek_without_downtime(old_registry: tuple[Flask, str], tmp_path: Path) -> None:
    old_app, token = old_registry
    url = old_app.config["SQLALCHEMY_DATABASE_URI"]
    with old_app.app_context():
        try:
            with transaction():
                email = f"{secrets.token_hex(3)}@kek.example"
                person = make_person(email, PersonRole.SIGNATORY, body=LABEL_BODY)
                row = db.session.get_one(Person, person.id)
                secret = start_totp_enrolment(row)
                row.totp_secret = row.totp_pending  # enrolled, and one pending beside it
            person_id = person.id
        finally:
            db.session.remove()
    before = _boxes(old_app)
    assert before

    # Step 1: every worker on the new KEK, the old one kept as previous: issuance goes on.
    rotating = _app(url, tmp_path, kek=NEW, kek_previous=OLD)
    assert _issue(rotating, token) == 201
    # The new KEK alone cannot open the old seals yet.
    new_only = _app(url, tmp_path, kek=NEW)
    _cannot_sign(new_only, token)

    # Step 2: rewrap, once; again, and nothing is left to do.
    code, output = _rewrap(rotating)
    assert code == 0, output
    assert f"{len(before)} body keys (0 already were)" in output
    assert "2 TOTP secrets (0 already were)" in output  # the enrolled one and the pending one
    after = _boxes(rotating)
    assert after.keys() == before.keys()
    assert all(after[k] != before[k] for k in before)
    code, output = _rewrap(rotating)
    assert code == 0
    assert f"0 body keys ({len(before)} already were)" in output

    # Step 3: the new KEK alone signs and opens the TOTP secret; the old one alone, nothing.
    assert _issue(new_only, token) == 201
    with new_only.app_context():
        try:
            assert totp_secret_of(db.session.get_one(Person, person_id)) == secret
        finally:
            db.session.remove()
    old_only = _app(url, tmp_path, kek=OLD)
    _cannot_sign(old_only, token)
    for app in (rotating, new_only, old_only):
        with app.app_context():
            db.engine.dispose()


def test_a_rewrap_that_cannot_open_a_secret_changes_nothing(
    old_registry: tuple[Flask, str], tmp_path: Path
) -> None:
    old_app, _ = old_registry
    url = old_app.config["SQLALCHEMY_DATABASE_URI"]
    before = _boxes(old_app)
    # Neither key is the one the secrets were sealed under.
    stranger = _app(url, tmp_path, kek=NEW, kek_previous=generate_kek())
    code, output = _rewrap(stranger)
    assert code == 1
    assert "does not open" in output
    assert _boxes(old_app) == before
    with stranger.app_context():
        db.engine.dispose()

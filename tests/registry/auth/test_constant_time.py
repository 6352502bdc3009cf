"""Secrets are never compared byte by byte, so how long a refusal takes tells nothing of how
much of a guess was right. Shown by what the code compares, not by timing: an API token is
found by its SHA-256 (the database compares digests, never the secret); a PACT client secret is
compared as a digest with :func:`hmac.compare_digest`, an unknown client's too; a PACT access
token's signature is checked by itsdangerous with :func:`hmac.compare_digest`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import itsdangerous.signer
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

import registry.pact.services
from registry.auth.services import authenticate
from registry.db import db, transaction
from registry.errors import UnauthenticatedError
from registry.pact.errors import BadRequestError
from registry.pact.services import (
    authenticate_client,
    authenticate_token,
    create_client,
    issue_token,
)
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import app, label_app, world

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures

Compared = list[tuple[bytes, bytes]]


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def one_off(secret: str) -> str:
    """The secret with one character changed, the closest wrong guess: near the end, not the
    last one, whose low bits base64 may ignore."""
    return secret[:-5] + ("A" if secret[-5] != "A" else "B") + secret[-4:]


@pytest.fixture
def parameters(db_session: scoped_session[Session]) -> Iterator[list[Any]]:
    """Every parameter the database is sent while the test runs."""
    sent: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        values = params.values() if isinstance(params, dict) else params
        for value in values if isinstance(values, list | tuple) else list(values):
            for one in value if isinstance(value, list | tuple) else [value]:
                one = getattr(one, "obj", one)  # psycopg's Binary wraps the bytes it sends
                sent.append(bytes(one) if isinstance(one, memoryview) else one)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def spy(monkeypatch: pytest.MonkeyPatch, module: Any) -> Compared:
    """Record what ``module`` hands :func:`hmac.compare_digest` (the real one still decides)."""
    compared: Compared = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def compare_digest(a: Any, b: Any) -> bool:
        compared.append((bytes(a), bytes(b)))
        return real(a, b)

    # The rest of hmac as it is: only what compare_digest is handed is seen.
    monkeypatch.setattr(
        module, "hmac", SimpleNamespace(**{**vars(hmac), "compare_digest": compare_digest})
    )
    return compared


def test_a_token_one_character_off_is_looked_up_by_its_digest(
    parameters: list[Any], world: LabelWorld
) -> None:
    guess = one_off(world.operator)
    with pytest.raises(UnauthenticatedError):
        authenticate(guess)
    assert sha256(guess) in parameters  # the database compares the digest
    assert not [p for p in parameters if isinstance(p, str) and "clr_" in p]  # never the secret
    parameters.clear()
    assert authenticate(world.operator).role.value == "operator"
    assert sha256(world.operator) in parameters


def test_a_client_secret_is_compared_as_a_digest_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, parameters: list[Any]
) -> None:
    with transaction():
        client, secret = create_client("buyer's PACT tool")
    compared = spy(monkeypatch, registry.pact.services)
    parameters.clear()

    assert authenticate_client(client.client_id, one_off(secret)) is None
    assert compared == [(sha256(one_off(secret)), client.secret_hash)]
    # An unknown client is compared too (with a digest of nothing), so it takes as long.
    assert authenticate_client("pact_unknown", secret) is None
    assert compared[1] == (sha256(secret), b"\0" * 32)
    assert authenticate_client(client.client_id, secret) == client
    assert compared[2] == (sha256(secret), client.secret_hash)
    # The database is asked for the client by its id, never by the secret.
    assert not [p for p in parameters if isinstance(p, str | bytes) and secret in str(p)]


def test_an_access_token_signature_is_checked_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, db_session: scoped_session[Session]
) -> None:
    with transaction():
        client, _ = create_client("buyer's PACT tool")
    token, _ = issue_token(client)
    compared = spy(monkeypatch, itsdangerous.signer)
    with pytest.raises(BadRequestError):
        authenticate_token(one_off(token))
    assert len(compared) == 1  # the whole signature, compared once by compare_digest
    assert authenticate_token(token) == client

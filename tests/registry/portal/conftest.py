"""Portal fixtures: a world of schemes and a body, a fresh rate-limit count per test, a policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, scoped_session

from registry.db import transaction
from registry.pages.protection import form_limiter
from registry.portal.policy import POLICY_KEY, PortalPolicy
from tests.registry.factories import AdminWorld, PerRequestClient, build_admin_world


@pytest.fixture
def world(db_session: scoped_session[Session]) -> AdminWorld:
    with transaction():
        return build_admin_world()


@pytest.fixture(autouse=True)
def fresh_limits(app: Flask) -> None:
    """The in-memory counters live as long as the session's app: each test starts at zero."""
    with app.app_context():
        form_limiter().reset()


@pytest.fixture
def policy(app: Flask) -> Iterator[PortalPolicy]:
    original = app.extensions[POLICY_KEY]
    yield original
    app.extensions[POLICY_KEY] = original


@pytest.fixture
def client(app: Flask, db_session: scoped_session[Session]) -> FlaskClient:
    return PerRequestClient(app, app.response_class)


def set_policy(app: Flask, **changes: object) -> None:
    from dataclasses import replace

    app.extensions[POLICY_KEY] = replace(app.extensions[POLICY_KEY], **changes)

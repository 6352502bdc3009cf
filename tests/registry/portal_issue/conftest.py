"""The issuance pages run on the label tests' registry (bodies with keys and accreditations)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, scoped_session

from registry.pages.protection import form_limiter
from tests.registry.factories import PerRequestClient
from tests.registry.labels.support import app, label_app, world

__all__ = ["app", "label_app", "world"]


@pytest.fixture(autouse=True)
def fresh_limits(app: Flask) -> None:
    with app.app_context():
        form_limiter().reset()


@pytest.fixture
def client(app: Flask, db_session: scoped_session[Session]) -> FlaskClient:
    return PerRequestClient(app, app.response_class)

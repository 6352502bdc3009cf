"""Fixtures and checks shared by the admin API tests (schemes, bodies, tokens)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, scoped_session

from registry.db import transaction
from tests.registry.factories import PROBLEM_BASE, AdminWorld, build_admin_world

__all__ = ["assert_problem", "world"]


@pytest.fixture
def world(db_session: scoped_session[Session]) -> AdminWorld:
    """Schemes, a rule, a body and a token per role, committed inside the test's transaction."""
    with transaction():
        return build_admin_world()


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 answer with this status and the stable type URI of ``slug``."""
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem: dict[str, Any] = response.get_json()
    assert problem["type"] == PROBLEM_BASE + slug
    return problem

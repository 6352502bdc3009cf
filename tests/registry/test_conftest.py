"""The PostgreSQL half of the suite may be skipped locally but never silently in CI."""

from __future__ import annotations

import pytest

from tests.registry.conftest import require_postgres

NOWHERE = "postgresql://postgres@127.0.0.1:1/test?connect_timeout=1"


def test_unreachable_postgres_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_postgres(NOWHERE)


def test_unreachable_postgres_skips_with_a_reason_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unreachable at"):
        require_postgres(NOWHERE)

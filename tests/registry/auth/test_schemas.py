"""The token schema: the secret is dump-only and only the creating answer carries it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import ValidationError

from registry.auth.models import ApiToken, Role
from registry.auth.schemas import ApiTokenSchema, api_token_schema, dump_created_token

VALID: dict[str, Any] = {"role": "regulator", "name": "GD audit", "schemes": ["CN-GD"]}
SERVER_OWNED = sorted(n for n, f in ApiTokenSchema().fields.items() if f.dump_only)


def test_loads_role_by_value() -> None:
    loaded = api_token_schema.load(VALID)
    assert loaded == {
        "role": Role.REGULATOR,
        "name": "GD audit",
        "schemes": ["CN-GD"],
        "body": None,
    }


def test_server_owned_fields() -> None:
    assert SERVER_OWNED == ["actions", "created_at", "id", "prefix", "revoked_at", "token"]


@pytest.mark.parametrize("name", SERVER_OWNED)
def test_server_owned_fields_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        api_token_schema.load({**VALID, name: "x"})
    assert info.value.messages == {name: ["Unknown field."]}


def test_only_the_creating_answer_has_the_secret() -> None:
    token = ApiToken(
        id=7,
        token_hash=b"\x00" * 32,
        prefix="clr_abcd",
        name="GD audit",
        role=Role.REGULATOR,
        body=None,
        schemes=["CN-GD"],
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        revoked_at=None,
    )
    assert "token" not in api_token_schema.dump(token)
    assert "token_hash" not in api_token_schema.dump(token)
    assert dump_created_token(token, "clr_secret")["token"] == "clr_secret"

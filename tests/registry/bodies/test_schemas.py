"""The body schemas: no field can carry a key's secret, and server-owned fields are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from credentials import KeyPair
from registry.bodies.models import BodyKey
from registry.bodies.schemas import (
    AccreditationSchema,
    AccreditationStatusChangeSchema,
    BodyKeySchema,
    BodyStatusChangeSchema,
    CertificationBodySchema,
    body_key_schema,
    key_action_schema,
)

VALID: dict[type[Schema], dict[str, Any]] = {
    CertificationBodySchema: {"code": "pearl", "name": "Pearl (fictitious)", "region": "CN-GD"},
    AccreditationSchema: {
        "scheme": "CN-GD",
        "categories": ["battery"],
        "accreditation_body": "CNAS (fictitious)",
        "reference": "CNAS-C0421",
        "valid_from": "2025-01-01T00:00:00Z",
    },
    BodyKeySchema: {},
    BodyStatusChangeSchema: {"status": "suspended", "reason": "Audit overdue."},
    AccreditationStatusChangeSchema: {"status": "withdrawn", "reason": "Scope withdrawn."},
}
SERVER_OWNED = [
    (cls, name) for cls in VALID for name, field in cls().fields.items() if field.dump_only
]


def test_valid_input_loads() -> None:
    for cls, data in VALID.items():
        cls().load(data)


@pytest.mark.parametrize(("cls", "name"), SERVER_OWNED)
def test_server_owned_fields_are_refused(cls: type[Schema], name: str) -> None:
    with pytest.raises(ValidationError) as info:
        cls().load({**VALID[cls], name: "x"})
    assert info.value.messages == {name: ["Unknown field."]}


def test_status_and_managed_are_server_owned() -> None:
    owned = {(cls.__name__, name) for cls, name in SERVER_OWNED}
    assert {
        ("CertificationBodySchema", "status"),
        ("CertificationBodySchema", "keys"),
        ("AccreditationSchema", "id"),
        ("AccreditationSchema", "status"),
        ("AccreditationSchema", "body"),
        ("BodyKeySchema", "managed"),
        ("BodyKeySchema", "did"),
        ("BodyKeySchema", "retired_at"),
    } <= owned


@pytest.mark.parametrize("name", ["secret_box", "seed", "secret_multibase", "secret"])
def test_no_field_can_carry_a_secret(name: str) -> None:
    assert not any("secret" in field or "seed" in field for field in BodyKeySchema().fields)
    with pytest.raises(ValidationError):
        body_key_schema.load({name: "AAAA"})


def test_a_sealed_key_dumps_its_public_half_only() -> None:
    pair = KeyPair.generate()
    key = BodyKey(
        public_key_multibase=pair.public_key.multibase,
        secret_box=b"\x01" + b"\x00" * 24 + pair.seed,  # even an unsealed seed would not leak
        active_from=datetime(2025, 1, 1, tzinfo=UTC),
        retired_at=None,
    )
    dumped = body_key_schema.dump(key)
    assert dumped == {
        "public_key_multibase": pair.public_key.multibase,
        "did": pair.did,
        "verification_method": pair.verification_method,
        "active_from": "2025-01-01T00:00:00+00:00",
        "retired_at": None,
        "managed": True,
    }


@pytest.mark.parametrize("names", [{}, None])
def test_a_body_needs_no_translated_names(names: dict[str, str] | None) -> None:
    data = VALID[CertificationBodySchema] | ({} if names is None else {"names": names})
    assert CertificationBodySchema().load(data)["names"] == {}


def test_key_actions_take_no_input() -> None:
    assert key_action_schema.load({}) == {}
    with pytest.raises(ValidationError):
        key_action_schema.load({"public_key_multibase": KeyPair.generate().public_key.multibase})


@pytest.mark.parametrize(
    ("cls", "changes"),
    [
        (BodyStatusChangeSchema, {"status": "closed"}),
        (BodyStatusChangeSchema, {"reason": ""}),
        (AccreditationStatusChangeSchema, {"status": "ACTIVE"}),
        (AccreditationSchema, {"categories": []}),
        (AccreditationSchema, {"categories": ["bad category"]}),
        (AccreditationSchema, {"valid_from": "2025-01-01T00:00:00"}),
        (CertificationBodySchema, {"region": "Guangdong"}),
        (CertificationBodySchema, {"names": {"en": ""}}),
        (BodyKeySchema, {"public_key_multibase": "z0OIl"}),
    ],
)
def test_bad_values_are_refused(cls: type[Schema], changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        cls().load({**VALID[cls], **changes})
    assert set(changes) <= set(info.value.messages)

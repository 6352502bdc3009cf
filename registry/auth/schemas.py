"""Schema of API tokens: the secret is dumped once, in the answer that creates the token.

Only its hash is stored, so no later read could show it even by mistake; ``token`` is
``dump_only`` and filled only by :func:`dump_created_token`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, fields, validate

from registry.auth.models import ApiToken, Role
from registry.schemes.schemas import CodeOf, code_field, text_field

__all__ = [
    "ApiTokenSchema",
    "api_token_schema",
    "dump_created_token",
    "dump_me",
    "token_action_schema",
]


class ApiTokenSchema(Schema):
    """An API token with one role: operator, certifier of one body, regulator of schemes."""

    # What each role takes, for the OpenAPI document (create_token enforces it).
    OPENAPI_RULES: ClassVar[dict[str, Any]] = {
        "allOf": [
            {
                "if": {"properties": {"role": {"const": role}}, "required": ["role"]},
                "then": then,
            }
            for role, then in (
                (
                    "certifier",
                    {
                        "required": ["body"],
                        "properties": {"body": {"type": "string"}, "schemes": {"maxItems": 0}},
                    },
                ),
                (
                    "regulator",
                    {
                        "required": ["schemes"],
                        "properties": {"body": {"type": "null"}, "schemes": {"minItems": 1}},
                    },
                ),
                (
                    "operator",
                    {"properties": {"body": {"type": "null"}, "schemes": {"maxItems": 0}}},
                ),
            )
        ]
    }

    id = fields.Integer(
        dump_only=True, metadata={"description": "The token's registry id", "example": 3}
    )
    name = text_field(
        120,
        required=True,
        metadata={"description": "What the token is for", "example": "Lingnan issuing service"},
    )
    role = fields.Enum(
        Role,
        by_value=True,
        required=True,
        metadata={"description": "Its one role", "example": "certifier"},
    )
    body = code_field(
        64,
        field_cls=CodeOf,
        allow_none=True,
        load_default=None,
        metadata={
            "description": "The certification body of a certifier token.",
            "example": "lingnan-pcc",
        },
    )
    schemes = fields.List(
        code_field(32),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "The schemes a regulator token oversees.", "example": []},
    )
    prefix = fields.String(
        dump_only=True,
        metadata={"description": "The first characters, to recognise it.", "example": "clr_7f3a"},
    )
    created_at = fields.DateTime(dump_only=True, metadata={"description": "When it was issued"})
    revoked_at = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "When it was revoked; null while it works"},
    )
    actions = fields.List(
        fields.String(),
        dump_only=True,
        metadata={
            "description": "What the token may do (GET /api/v1/me only).",
            "example": ["issue-labels", "suspend-own-body-labels", "revoke-own-body-labels"],
        },
    )
    token = fields.String(
        dump_only=True,
        metadata={
            "description": "The secret: shown in the creating answer only, never again.",
            "example": "clr_7f3a…",
        },
    )


api_token_schema = ApiTokenSchema()
# Revoking takes no input: every remaining field is server-owned, so any member is refused.
token_action_schema = ApiTokenSchema(exclude=("name", "role", "body", "schemes"))


def dump_me(token: ApiToken, actions: list[str]) -> dict[str, Any]:
    """The presented token, never its secret, with what it may do."""
    return {**api_token_schema.dump(token), "actions": actions}


def dump_created_token(token: ApiToken, secret: str) -> dict[str, Any]:
    """The creating answer: the token and, this once, its secret."""
    return {**api_token_schema.dump(token), "token": secret}

"""Bearer-token authentication for API handlers: ``Authorization: Bearer clr_…``."""

from __future__ import annotations

from flask import request

from registry.auth.models import Role
from registry.auth.services import Principal, authenticate

__all__ = ["current_principal"]


def current_principal(*roles: Role) -> Principal:
    """The request's principal, which must hold one of ``roles`` (any role if none given).

    401 without a valid token, 403 with a token of another role.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    principal = authenticate(token.strip() if scheme.lower() == "bearer" else None)
    if roles:
        principal.require(*roles)
    return principal

"""Bearer-token authentication for API handlers: ``Authorization: Bearer clr_…``."""

from __future__ import annotations

from flask import request

from registry.auth.attempts import counting_failures
from registry.auth.models import Role
from registry.auth.services import Principal, authenticate
from registry.errors import UnauthenticatedError
from registry.pages.protection import client_address

__all__ = ["current_principal"]


def current_principal(*roles: Role) -> Principal:
    """The request's principal, which must hold one of ``roles`` (any role if none given).

    401 without a valid token, 403 with a token of another role; 429 while the client's
    address has sent too many bad tokens (:mod:`registry.auth.attempts`).
    """
    header = request.headers.get("Authorization")
    if header is None:  # nothing presented, so nothing guessed: a 401, neither limited nor counted
        return authenticate(None)
    scheme, _, token = header.partition(" ")
    with counting_failures(client_address(), UnauthenticatedError):
        principal = authenticate(token.strip() if scheme.lower() == "bearer" else None)
    if roles:
        principal.require(*roles)
    return principal

"""PACT's own error bodies (``{"code", "message"}``), not the registry's problem+json.

=================  ======  ======================================================
code               status  when
=================  ======  ======================================================
BadRequest         400     malformed request, missing or invalid access token
AccessDenied       403     the client may not see this
TokenExpired       401     the access token has expired
NotFound           404     no such footprint (v2's NoSuchFootprint)
NotImplemented     400     a well-formed event of a type the host does not handle
InternalError      500     a bug on our side
=================  ======  ======================================================

v3 names the 404 code ``NotFound`` (the Error schema's enum; the conformance test #8 checks
it); v2 called it ``NoSuchFootprint``. An invalid token is a 400 ``BadRequest`` as the
specification and its conformance tests #6, #7 and #16 want; an expired one a 401.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedError",
    "BadRequestError",
    "NotFoundError",
    "PactError",
    "TokenExpiredError",
    "UnsupportedEventError",
]


class PactError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(PactError):
    status, code = 400, "BadRequest"


class AccessDeniedError(PactError):
    status, code = 403, "AccessDenied"


class TokenExpiredError(PactError):
    status, code = 401, "TokenExpired"


class NotFoundError(PactError):
    status, code = 404, "NotFound"


class UnsupportedEventError(PactError):
    status, code = 400, "NotImplemented"

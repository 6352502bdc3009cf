"""Domain errors and the one handler that renders every error.

Machine paths (``/api``, ``/ledger``, ``/credentials``, ``/status-lists``) answer RFC 9457
``application/problem+json``; the GS1 resolver's paths answer it to clients that do not ask
for HTML; everything else gets a readable HTML page. Each problem ``type`` is
``https://w3id.org/carbon-label/problems/<slug>`` and the slugs are a stable contract:

=========================  ======  ==========================================================
slug                       status  meaning
=========================  ======  ==========================================================
bad-request                400     the request could not be understood at all
unauthenticated            401     no valid API token
forbidden                  403     the token's role may not do this
not-found                  404     no such resource
method-not-allowed         405     the path exists but not with this method
conflict                   409     the request contradicts current state
payload-too-large          413     the body exceeds the size limit
unsupported-media-type     415     the body is not JSON (Content-Type: application/json)
validation-failed          422     input failed validation; ``errors`` maps fields to messages
rule-not-in-force          422     the rule version is not in force at that time
out-of-scope               422     outside the certification body's accreditation
grade-mismatch             422     the request asserts a grade the rule's thresholds do not give
body-not-active            422     the certification body is suspended or withdrawn
no-signing-key             422     the body has no active key the registry can sign with
invalid-transition         409     the status change is not allowed from the current status
idempotency-key-reused     422     an Idempotency-Key was reused with a different request
internal-error             500     a bug on our side; ``error_id`` finds it in our logs
unavailable                503     the database cannot be reached (pages only; try again)
=========================  ======  ==========================================================

Pages show the title in the reader's language (``_PAGE_TITLES``) and, since a problem's
``detail`` is English developer text, a translated explanation instead unless the reader reads
English; an error may add its own page context (``page``: a translated explanation, a code box).
"""

from __future__ import annotations

import re
import secrets
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

__all__ = [
    "PROBLEM_BASE",
    "BadRequestError",
    "BodyNotActiveError",
    "ConflictError",
    "ForbiddenError",
    "GradeMismatchError",
    "IdempotencyKeyReusedError",
    "InvalidTransitionError",
    "NoSigningKeyError",
    "NotFoundError",
    "OutOfScopeError",
    "PayloadTooLargeError",
    "RegistryError",
    "RuleNotInForceError",
    "UnauthenticatedError",
    "UnknownOptionError",
    "UnsupportedMediaTypeError",
    "ValidationFailedError",
    "init_errors",
]

PROBLEM_BASE = "https://w3id.org/carbon-label/problems/"
PROBLEM_PATHS = ("/api/", "/ledger/", "/credentials/", "/status-lists/", "/trust-bundle")
PROBLEM_JSON = "application/problem+json"
# Paths people and machines both open (a scanned GS1 Digital Link): a page for clients that
# ask for HTML, problem details for every other client.
NEGOTIATED_PATHS = ("/01/", "/.well-known/gs1resolver")


class RegistryError(Exception):
    """Base of every error a handler may let through; the class attributes are the contract."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Extra problem members (RFC 9457 §3.2) a subclass adds."""
        return {}


class BadRequestError(RegistryError):
    status, slug, title = 400, "bad-request", "Bad request"


class UnknownOptionError(BadRequestError):
    """An option the VC-API endpoint does not know: VCALM names its own problem type."""

    title = "UNKNOWN_OPTION_PROVIDED"
    TYPE: ClassVar[str] = "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"

    def extensions(self) -> dict[str, Any]:
        return {"type": self.TYPE}  # overrides the registry's own type for this problem


class UnauthenticatedError(RegistryError):
    status, slug, title = 401, "unauthenticated", "Authentication required"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="carbon-label registry"'}


class ForbiddenError(RegistryError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFoundError(RegistryError):
    status, slug, title = 404, "not-found", "Not found"


class ConflictError(RegistryError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLargeError(RegistryError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaTypeError(RegistryError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailedError(RegistryError):
    """Input that parsed but is not acceptable; ``errors`` maps each field to its messages."""

    status, slug, title = 422, "validation-failed", "Validation failed"

    def __init__(self, errors: Mapping[str, Any], detail: str | None = None) -> None:
        super().__init__(detail or "The request has invalid fields; see errors.")
        self.errors = dict(errors)

    def extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


class RuleNotInForceError(RegistryError):
    status, slug, title = 422, "rule-not-in-force", "Rule version not in force"


class OutOfScopeError(RegistryError):
    status, slug, title = 422, "out-of-scope", "Outside the accreditation scope"


class GradeMismatchError(RegistryError):
    status, slug, title = 422, "grade-mismatch", "Grade does not match the rule's thresholds"


class BodyNotActiveError(RegistryError):
    status, slug, title = 422, "body-not-active", "Certification body not active"


class NoSigningKeyError(RegistryError):
    status, slug, title = 422, "no-signing-key", "No active signing key"


class InvalidTransitionError(RegistryError):
    status, slug, title = 409, "invalid-transition", "Status change not allowed"


class IdempotencyKeyReusedError(RegistryError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused"


_HTTP_ERRORS: dict[int, type[RegistryError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    )
}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _wants_problem() -> bool:
    path = request.path
    if path.startswith(NEGOTIATED_PATHS):
        html = ("text/html", "application/xhtml+xml")
        return not any(value in html and q > 0 for value, q in request.accept_mimetypes)
    return any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in PROBLEM_PATHS)


# Titles and explanations of error pages, in the reader's language (problem+json stays English).
_PAGE_TITLES: dict[str, Any] = {
    "bad-request": _("Bad request"),
    "unauthenticated": _("Authentication required"),
    "forbidden": _("Forbidden"),
    "not-found": _("Not found"),
    "method-not-allowed": _("Method not allowed"),
    "conflict": _("Conflict"),
    "payload-too-large": _("Payload too large"),
    "unsupported-media-type": _("Unsupported media type"),
    "validation-failed": _("Validation failed"),
    "internal-error": _("Internal server error"),
    "unavailable": _("Service unavailable"),
}
_PAGE_EXPLANATIONS: dict[int, Any] = {
    400: _("The registry could not understand this request."),
    404: _("There is no page at this address."),
    405: _("This page cannot be used that way."),
    500: _("Something went wrong on our side. Please try again later."),
    503: _(
        "The registry is temporarily unavailable. Please try again in a minute: nothing is "
        "wrong with your label."
    ),
}


def _page(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    extra: Mapping[str, Any],
    page: Mapping[str, Any] | None,
) -> str:
    from registry.i18n import current_language

    context = dict(page or {})
    context.setdefault("error_id", extra.get("error_id"))
    english = current_language().tag == "en"
    context.setdefault(
        "explanation",
        detail if english and detail else _PAGE_EXPLANATIONS.get(status, detail if english else ""),
    )
    return render_template(
        "errors/error.html", status=status, title=_PAGE_TITLES.get(slug, title), **context
    )


def _render(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    extra: Mapping[str, Any],
    page: Mapping[str, Any] | None = None,
) -> Response:
    if _wants_problem():
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail or title,
            "instance": request.path,
            **extra,
        }
        response = jsonify(body)
        response.mimetype = PROBLEM_JSON
    else:
        response = Response(_page(status, slug, title, detail, extra, page), mimetype="text/html")
    response.status_code = status
    # An error must never be cached as if it were the (immutable) resource.
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_registry_error(error: RegistryError) -> Response:
    response = _render(
        error.status,
        error.slug,
        error.title,
        error.detail,
        error.extensions(),
        getattr(error, "page", None),
    )
    response.headers.update(getattr(error, "headers", {}))
    return response


def handle_validation_error(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return handle_registry_error(ValidationFailedError(messages))


def handle_http_exception(error: HTTPException) -> BaseResponse:
    if error.response is not None:  # abort(response): the handler already chose the answer
        return cast(BaseResponse, error.response)
    status = error.code or 500
    known = _HTTP_ERRORS.get(status)
    if known is not None:
        slug, title = known.slug, known.title
    else:
        slug, title = _slug(error.name), error.name
    response = _render(status, slug, title, error.description, {})
    if status == 405:
        # Keep the Allow header werkzeug computed for the path.
        response.headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
    return response


def _stack(error: BaseException) -> str:
    """Where ``error`` was raised: files, lines and source lines only. Exception messages are
    left out (a database error's message quotes the SQL parameters, i.e. request data)."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()


def handle_unexpected(error: Exception) -> Response:
    if current_app.testing:
        raise error
    error_id = secrets.token_hex(8)
    # The route's pattern, not the path: the path is request data (ids, codes) too.
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    current_app.logger.error(
        "internal error %s: %s.%s on %s %s\n%s",
        error_id,
        type(error).__module__,
        type(error).__qualname__,
        request.method,
        route,
        _stack(error),
    )
    return _render(
        500,
        RegistryError.slug,
        RegistryError.title,
        f"The registry hit an unexpected error; quote error id {error_id} to support.",
        {"error_id": error_id},
    )


def handle_database_error(error: DBAPIError) -> Response:
    """A database that cannot be reached is an outage, not a bug: a page reader gets a
    translated 503 (never a stack trace) and is told to come back; the machine paths and every
    other database error keep the internal-error handling."""
    if _wants_problem() or not isinstance(error, OperationalError | InterfaceError):
        return handle_unexpected(error)
    route = request.url_rule.rule if request.url_rule is not None else "(no route)"
    current_app.logger.warning(
        "database unavailable: %s.%s on %s %s",
        type(error).__module__,
        type(error).__qualname__,
        request.method,
        route,
    )
    response = _render(503, "unavailable", "Service unavailable", None, {})
    response.headers["Retry-After"] = "30"
    return response


def init_errors(app: Flask) -> None:
    app.register_error_handler(RegistryError, handle_registry_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)

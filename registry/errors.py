"""Domain errors and the one handler that renders every error.

Machine paths (``/api``, ``/ledger``, ``/credentials``, ``/status-lists``) answer RFC 9457
``application/problem+json``; the GS1 resolver's paths answer it to clients that do not ask
for HTML; everything else gets a readable HTML page. Each problem ``type`` is
``{public base URL}/problems/<slug>``, a page of this registry that explains the problem in the
reader's language (:mod:`registry.pages.problems`), and the slugs are a stable contract (a client
switches on the slug, the last path segment, whichever registry it talks to):

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
read-only-host             503     a write reached a host serving reads from a replica
too-many-failures          429     too many failed tokens from this address; see Retry-After
rule-not-in-force          422     the rule version is not in force at that time
out-of-scope               422     outside the certification body's accreditation
grade-mismatch             422     the request asserts a grade the rule's thresholds do not give
body-not-active            422     the certification body is suspended or withdrawn
no-signing-key             422     the body has no active key the registry can sign with
body-holds-key             409     the body holds its own key: prepare, sign and submit instead
preparation-expired        409     a prepared credential was not submitted in time
signed-credential-altered  422     a submitted credential is not the one prepared; ``members``
signed-proof-invalid       422     a submitted credential's proof is not the body's, or is bad
invalid-transition         409     the status change is not allowed from the current status
idempotency-key-reused     422     an Idempotency-Key was reused with a different request
internal-error             500     a bug on our side; ``error_id`` finds it in our logs
unavailable                503     the database cannot be reached (pages only; try again)
=========================  ======  ==========================================================

Some problems add members: ``errors`` (validation-failed), ``missing`` and ``choices`` (a
not-found for a scheme, rule or version a request names), ``members`` (signed-credential-altered:
the paths of the members that differ from the prepared credential), ``items`` (every refused item
of a batch, each with its zero-based ``index``, ``type``, ``status`` and ``detail``).

Every class that sets its own ``slug`` is entered in :data:`PROBLEM_TYPES` when it is defined,
with a translated ``label`` (its title) and ``explanation`` (what it means and what to do): the
one registry the problem pages and their test walk. An HTTP error werkzeug raises is answered
with the registered class of its status, else as ``bad-request`` (4xx) or ``internal-error``.

Pages show the title in the reader's language and, since a problem's ``detail`` is English
developer text, a translated explanation instead unless the reader reads English; an error may
add its own page context (``page``: a translated explanation, a code box).
"""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _
from marshmallow import ValidationError
from psycopg.errors import ReadOnlySqlTransaction
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from registry.config import current_settings

__all__ = [
    "PROBLEM_PATH",
    "PROBLEM_TYPES",
    "BadRequestError",
    "BodyNotActiveError",
    "ConflictError",
    "ForbiddenError",
    "GradeMismatchError",
    "IdempotencyKeyReusedError",
    "InvalidTransitionError",
    "MethodNotAllowedError",
    "NoSigningKeyError",
    "NotFoundError",
    "OutOfScopeError",
    "PayloadTooLargeError",
    "ReadOnlyHostError",
    "RegistryError",
    "RuleNotInForceError",
    "TooManyFailuresError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnknownChoiceError",
    "UnknownOptionError",
    "UnsupportedMediaTypeError",
    "ValidationFailedError",
    "batch_item",
    "init_errors",
    "problem_type",
]

PROBLEM_PATH = "/problems/"
PROBLEM_PATHS = ("/api/", "/ledger/", "/credentials/", "/status-lists/", "/trust-bundle")
PROBLEM_JSON = "application/problem+json"
# Paths people and machines both open (a scanned GS1 Digital Link): a page for clients that
# ask for HTML, problem details for every other client.
NEGOTIATED_PATHS = ("/01/", "/.well-known/gs1resolver")


PROBLEM_TYPES: dict[str, type[RegistryError]] = {}


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem: this registry's page about it."""
    from registry.config import current_settings

    return current_settings().public_base_url.rstrip("/") + PROBLEM_PATH + slug


class RegistryError(Exception):
    """Base of every error a handler may let through; the class attributes are the contract."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"
    # The problem's page: its title and what it means, in the reader's language.
    label: ClassVar[Any] = _("Internal server error")
    explanation: ClassVar[Any] = _(
        "Something went wrong on the registry's side, not in your request. Quote the error id "
        "the answer gives to the registry operator; trying again later may help."
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            if cls.slug in PROBLEM_TYPES:
                raise TypeError(f"problem type {cls.slug!r} is defined twice")
            PROBLEM_TYPES[cls.slug] = cls

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        # A batch's refusal: each refused item with its zero-based index (``items`` member).
        self.items: list[dict[str, Any]] = []

    def extensions(self) -> dict[str, Any]:
        """Extra problem members (RFC 9457 §3.2) a subclass adds."""
        return {}


PROBLEM_TYPES[RegistryError.slug] = RegistryError


class BadRequestError(RegistryError):
    status, slug, title = 400, "bad-request", "Bad request"
    label = _("Bad request")
    explanation = _(
        "The registry could not read the request: the body is not well-formed JSON, names a "
        "member twice, or a parameter is malformed. Correct it as the detail says and send it "
        "again."
    )


class UnknownOptionError(BadRequestError):
    """An option the VC-API endpoint does not know: VCALM names its own problem type."""

    title = "UNKNOWN_OPTION_PROVIDED"
    TYPE: ClassVar[str] = "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"

    def extensions(self) -> dict[str, Any]:
        return {"type": self.TYPE}  # overrides the registry's own type for this problem


class UnauthenticatedError(RegistryError):
    status, slug, title = 401, "unauthenticated", "Authentication required"
    label = _("Authentication required")
    explanation = _(
        "The request carries no valid API token. Send the header Authorization: Bearer followed "
        "by your token; the registry operator issues tokens."
    )
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="carbon-label registry"'}


class ForbiddenError(RegistryError):
    status, slug, title = 403, "forbidden", "Forbidden"
    label = _("Forbidden")
    explanation = _(
        "The token is valid, but its role may not do this: a certifier acts for its own body "
        "only, a regulator for its own schemes only. Use a token of the right role."
    )


class NotFoundError(RegistryError):
    status, slug, title = 404, "not-found", "Not found"
    label = _("Not found")
    explanation = _(
        "There is no such resource: check the code or identifier. When a request names a scheme, "
        "rule or version that does not exist, the answer lists the valid choices."
    )


class UnknownChoiceError(NotFoundError):
    """A request names something that does not exist: which kind (``missing``) and the valid
    ``choices``, so a client can correct it without another request."""

    def __init__(self, detail: str, *, missing: str, choices: list[str]) -> None:
        super().__init__(detail)
        self.missing = missing
        self.choices = list(choices)

    def extensions(self) -> dict[str, Any]:
        return {"missing": self.missing, "choices": self.choices}


class ConflictError(RegistryError):
    status, slug, title = 409, "conflict", "Conflict"
    label = _("Conflict")
    explanation = _(
        "The request contradicts the registry's current state: what it creates already exists, or "
        "what it changes is already so. Read the resource and act on its current state."
    )


class PayloadTooLargeError(RegistryError):
    status, slug, title = 413, "payload-too-large", "Payload too large"
    label = _("Payload too large")
    explanation = _(
        "The request body is larger than the registry accepts. Send less, for example a smaller "
        "batch."
    )


class UnsupportedMediaTypeError(RegistryError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"
    label = _("Unsupported media type")
    explanation = _(
        "The request body is not JSON. Send JSON with the header Content-Type: application/json."
    )


class ValidationFailedError(RegistryError):
    """Input that parsed but is not acceptable; ``errors`` maps each field to its messages."""

    status, slug, title = 422, "validation-failed", "Validation failed"
    label = _("Validation failed")
    explanation = _(
        "Some fields of the request are not acceptable. The errors member names each field and "
        "says what to send instead; nothing was written."
    )

    def __init__(self, errors: Mapping[str, Any], detail: str | None = None) -> None:
        super().__init__(detail or "The request has invalid fields; see errors.")
        self.errors = dict(errors)

    def extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


class RuleNotInForceError(RegistryError):
    status, slug, title = 422, "rule-not-in-force", "Rule version not in force"
    label = _("Rule version not in force")
    explanation = _(
        "The rule version named is not in force at this time. Issue under a version in force now: "
        "the rule's page lists its versions and when each is in force."
    )


class OutOfScopeError(RegistryError):
    status, slug, title = 422, "out-of-scope", "Outside the accreditation scope"
    label = _("Outside the accreditation scope")
    explanation = _(
        "The certification body holds no accreditation in force for this scheme and product "
        "category: it expired, was suspended or withdrawn, or never covered it. The registry "
        "operator manages accreditations."
    )


class GradeMismatchError(RegistryError):
    status, slug, title = 422, "grade-mismatch", "Grade does not match the rule's thresholds"
    label = _("Grade does not match the rule")
    explanation = _(
        "The request asserts a grade that the rule version's thresholds do not give for this "
        "footprint. Leave the grade out to have the registry compute it, or correct the "
        "footprint."
    )


class BodyNotActiveError(RegistryError):
    status, slug, title = 422, "body-not-active", "Certification body not active"
    label = _("Certification body not active")
    explanation = _(
        "The certification body is suspended or withdrawn, so it cannot issue labels until the "
        "registry operator reinstates it."
    )


class NoSigningKeyError(RegistryError):
    status, slug, title = 422, "no-signing-key", "No active signing key"
    label = _("No active signing key")
    explanation = _(
        "The certification body has no active signing key held by the registry. The registry "
        "operator adds or rotates a key."
    )


class BodyHoldsKeyError(RegistryError):
    status, slug, title = 409, "body-holds-key", "The body holds its own signing key"
    label = _("The body holds its own signing key")
    explanation = _(
        "This certification body signs its labels with a key only it holds, so the registry "
        "cannot sign in its name. Prepare the credential (POST /api/v1/labels/prepare), sign it "
        "with that key (carbonlabel sign) and submit it signed."
    )


class PreparationExpiredError(RegistryError):
    status, slug, title = 409, "preparation-expired", "Preparation expired"
    label = _("Preparation expired")
    explanation = _(
        "The prepared credential was not submitted signed within its lifetime, so its label id "
        "and status entries are no longer held. Prepare the credential again and sign the new one."
    )


class SignedCredentialAlteredError(RegistryError):
    """The submitted document differs from the prepared one; ``members`` names where."""

    status, slug, title = 422, "signed-credential-altered", "Not the prepared credential"
    label = _("Not the prepared credential")
    explanation = _(
        "The signed credential differs from the one the registry prepared, apart from its proof. "
        "Sign the prepared credential exactly as it was given: the members listed were changed."
    )

    def __init__(self, detail: str, *, members: list[str]) -> None:
        super().__init__(detail)
        self.members = members

    def extensions(self) -> dict[str, Any]:
        return {"members": self.members}


class SignedProofInvalidError(RegistryError):
    status, slug, title = 422, "signed-proof-invalid", "The proof is not the body's"
    label = _("The proof is not the body's")
    explanation = _(
        "The submitted credential's proof does not verify under the body's own key, or is not "
        "the proof the preparation asked for (verification method, cryptosuite, creation time). "
        "Sign the prepared credential with the body's key as the preparation states."
    )


class InvalidTransitionError(RegistryError):
    status, slug, title = 409, "invalid-transition", "Status change not allowed"
    label = _("Status change not allowed")
    explanation = _(
        "This status change is not possible from the current status: the label, accreditation or "
        "body already has it, or was revoked or withdrawn, which is final. Read the current "
        "status first."
    )


class IdempotencyKeyReusedError(RegistryError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused"
    label = _("Idempotency-Key reused")
    explanation = _(
        "The Idempotency-Key was already used with a different request. Use a new key for a new "
        "request; reuse a key only to retry the very same request."
    )


class MethodNotAllowedError(RegistryError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"
    label = _("Method not allowed")
    explanation = _(
        "The address exists, but not with this HTTP method. The Allow header of the answer "
        "lists the methods it takes."
    )


class TooManyFailuresError(RegistryError):
    """Too many failed authentications came from one address: until ``retry_after`` seconds
    have passed, its credentials are refused without being checked, so guessing gets nowhere
    (:mod:`registry.auth.attempts`)."""

    status, slug, title = 429, "too-many-failures", "Too many failed authentications"
    label = _("Too many failed authentications")
    explanation = _(
        "Too many requests from your address carried an unknown, revoked or malformed API "
        "token, so for a while the registry refuses every token from it, valid ones too. Wait "
        "the seconds the Retry-After header gives, then send a valid token."
    )

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed authentications from your address; retry after {retry_after} seconds."
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ReadOnlyHostError(RegistryError):
    """A write reached a host that serves reads from a read replica (``REGISTRY_REPLICA``):
    the proxy should send it to the primary's hosts. Nothing was written."""

    status, slug, title = 503, "read-only-host", "This host serves reads only"
    label = _("This host serves reads only")
    explanation = _(
        "This server of the registry answers reads only, and your request would change "
        "something. Nothing was changed. Please send it again: the registry's address sends "
        "changes to the servers that make them."
    )


class UnavailableError(RegistryError):
    """The database cannot be reached: pages only (the API answers internal-error)."""

    status, slug, title = 503, "unavailable", "Service unavailable"
    label = _("Service unavailable")
    explanation = _(
        "The registry cannot reach its database just now. Please try again in a minute: "
        "nothing is wrong with your label or your request."
    )


_HTTP_ERRORS: dict[int, type[RegistryError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
    )
}


def _wants_problem() -> bool:
    path = request.path
    if path.startswith(NEGOTIATED_PATHS):
        html = ("text/html", "application/xhtml+xml")
        return not any(value in html and q > 0 for value, q in request.accept_mimetypes)
    return any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in PROBLEM_PATHS)


# Explanations of error pages for people, in the reader's language (problem+json stays English).
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
    known = PROBLEM_TYPES.get(slug)
    return render_template(
        "errors/error.html", status=status, title=title if known is None else known.label, **context
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
            "type": problem_type(slug),
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


def batch_item(index: int, error: RegistryError) -> dict[str, Any]:
    """One refused item of a batch, as the ``items`` member of the batch's problem shows it."""
    return {
        "index": index,
        "type": problem_type(error.slug),
        "title": error.title,
        "status": error.status,
        "detail": error.detail or error.title,
        **error.extensions(),
    }


def handle_registry_error(error: RegistryError) -> Response:
    extra = error.extensions()
    if error.items:
        extra["items"] = error.items
    response = _render(
        error.status,
        error.slug,
        error.title,
        error.detail,
        extra,
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
    else:  # a status no problem type of ours stands for: answered under the nearest one
        slug, title = (BadRequestError.slug if status < 500 else RegistryError.slug), error.name
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
    other database error keep the internal-error handling. On a replica host, a write the
    database refused is a request that should have gone to the primary (503 read-only-host)."""
    if current_settings().replica and isinstance(error.orig, ReadOnlySqlTransaction):
        return handle_registry_error(ReadOnlyHostError("Send changes to the primary's hosts."))
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
    response = _render(503, UnavailableError.slug, UnavailableError.title, None, {})
    response.headers["Retry-After"] = "30"
    return response


def init_errors(app: Flask) -> None:
    app.register_error_handler(RegistryError, handle_registry_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)

"""The PACT v3 host-system routes: ``/auth/token``, ``/3/footprints``, ``/3/events``, and the
``carbon-label`` extension's schema.

These answer PACT's own error bodies (``registry.pact.errors``), not the registry's
problem+json: the blueprint's handlers take every error raised in its views, and a wrong
method or path under ``/3/`` or ``/auth/token`` (a routing error, raised before any view) is
answered the same way; every other path keeps the registry's handler. OAuth's token
endpoint answers RFC 6749 §5.2 errors (``{"error": "invalid_client"}``).

Plain HTTP: where the registry's public base URL is https, these routes refuse a request that
did not arrive over TLS (``request.is_secure``, or ``X-Forwarded-Proto: https`` written by a
trusted proxy, ``REGISTRY_TRUSTED_PROXIES``) with a 400 and no token or data, before reading
credentials (PACT conformance tests #9, #10, #11 and #17).
"""

from __future__ import annotations

import ipaddress
import json
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Response as BaseResponse

from registry.api.common import json_body
from registry.auth.attempts import count_credential_failure, counting_failures, refuse_if_spent
from registry.config import current_settings
from registry.errors import RegistryError, TooManyFailuresError, handle_http_exception
from registry.pact import errors
from registry.pact.events import receive_event
from registry.pact.mapping import EXTENSION_SCHEMA_PATH, SOURCE_EXTENSION_SCHEMA_PATH
from registry.pact.models import PactClient
from registry.pact.services import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    FootprintQuery,
    authenticate_client,
    authenticate_token,
    find_footprints,
    get_footprint,
    issue_token,
    read_cursor,
)
from registry.pages.protection import client_address

__all__ = ["bp"]

bp = Blueprint("pact", __name__)

_API_ENDPOINTS = frozenset(
    {"pact.token", "pact.list_footprints", "pact.get_footprint", "pact.events"}
)


def _pact_error(error: errors.PactError) -> Response:
    response = jsonify({"code": error.code, "message": error.message})
    response.status_code = error.status
    response.headers["Cache-Control"] = "no-store"
    if isinstance(error, errors.TokenExpiredError):
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@bp.errorhandler(errors.PactError)
def _handle_pact_error(error: errors.PactError) -> Response:
    return _pact_error(error)


@bp.errorhandler(TooManyFailuresError)
def _handle_too_many_failures(error: TooManyFailuresError) -> Response:
    # PACT's Error has no code for it: its generic BadRequest, with HTTP 429 and Retry-After;
    # the token endpoint answers in OAuth's words.
    if request.endpoint == "pact.token":
        response = _oauth_error("temporarily_unavailable", error.detail or error.title, 429)
    else:
        response = _pact_error(errors.BadRequestError(error.detail or error.title))
        response.status_code = 429
    response.headers.update(error.headers)
    return response


@bp.errorhandler(RegistryError)
def _handle_registry_error(error: RegistryError) -> Response:
    # json_body's refusals (media type, size, duplicate names) in PACT's words.
    return _pact_error(errors.BadRequestError(error.detail or error.title))


@bp.errorhandler(HTTPException)
def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 404:
        return _pact_error(errors.NotFoundError("Not found."))
    if status >= 500:
        return _pact_error(errors.PactError("Internal error."))
    response = _pact_error(errors.BadRequestError(error.description or error.name))
    if status == 405:
        response.status_code = 405
        response.headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
    return response


@bp.app_errorhandler(NotFound)
@bp.app_errorhandler(MethodNotAllowed)
def _handle_routing_error(error: HTTPException) -> BaseResponse:
    # Routing errors are raised before any view (so no blueprint handler sees them): a wrong
    # method or path under PACT's routes still gets PACT's body; anything else the registry's.
    if request.path.startswith("/3/") or request.path == "/auth/token":
        return _handle_http_exception(error)
    return handle_http_exception(error)


def _secure() -> bool:
    if request.is_secure:
        return True
    proxies = current_settings().trusted_proxies
    try:
        peer = ipaddress.ip_address((request.remote_addr or "").strip())
    except ValueError:
        return False
    if not any(peer in ipaddress.ip_network(p, strict=False) for p in proxies):
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return forwarded == "https"


def _scheme() -> str:
    return "https" if _secure() else request.scheme


@bp.before_request
def _require_tls() -> Any:
    if request.endpoint not in _API_ENDPOINTS:
        return None
    if current_settings().public_base_url.startswith("https:") and not _secure():
        if request.endpoint == "pact.token":
            return _oauth_error("invalid_request", "HTTPS is required.", 400)
        return _pact_error(errors.BadRequestError("HTTPS is required."))
    return None


def _oauth_error(code: str, description: str, status: int) -> Response:
    response = jsonify({"error": code, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="PACT"'
    return response


@bp.post("/auth/token")
def token() -> Response:
    """OAuth 2 client credentials (RFC 6749 §4.4): HTTP Basic and ``grant_type``."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username or auth.password is None:
        return _oauth_error("invalid_client", "Authenticate with HTTP Basic.", 401)
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(
            "invalid_request", "Send an application/x-www-form-urlencoded body.", 400
        )
    grant = request.form.getlist("grant_type")
    if len(grant) != 1:
        return _oauth_error("invalid_request", "Send grant_type=client_credentials once.", 400)
    if grant[0] != "client_credentials":
        return _oauth_error("unsupported_grant_type", "Only client_credentials is supported.", 400)
    address = client_address()
    refuse_if_spent(address)
    client = authenticate_client(auth.username, auth.password)
    if client is None:
        count_credential_failure(address)
        return _oauth_error("invalid_client", "Client authentication failed.", 401)
    access_token, lifetime = issue_token(client)
    response = jsonify(
        {"access_token": access_token, "token_type": "bearer", "expires_in": lifetime}
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _client() -> PactClient:
    header = request.headers.get("Authorization")
    if header is None:  # nothing presented, nothing guessed: neither limited nor counted
        return authenticate_token(None)
    scheme, _, value = header.partition(" ")
    # An expired token is one we signed, so not a guess: only invalid ones count.
    with counting_failures(client_address(), errors.BadRequestError):
        return authenticate_token(value.strip() if scheme.lower() == "bearer" else None)


def _limit(values: list[str]) -> int:
    if not values:
        return DEFAULT_LIMIT
    text = values[0]
    if len(values) > 1 or not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise errors.BadRequestError("limit must be one non-negative integer.")
    return min(int(text), MAX_LIMIT)


@bp.get("/3/footprints")
def list_footprints() -> Response:
    client = _client()
    args = {name: request.args.getlist(name) for name in request.args}
    if "cursor" in args:
        if len(args) > 1 or len(args["cursor"]) != 1:
            raise errors.BadRequestError("A pagination link takes no other parameters.")
        query, after, limit = read_cursor(args["cursor"][0], client=client)
    else:
        limit = _limit(args.pop("limit", []))
        query, after = FootprintQuery.parse(args), -1
    page = find_footprints(query, limit=limit, after=after, client=client)
    response = jsonify({"data": page.footprints})
    if page.cursor is not None:
        # Absolute, on the host the client asked (PACT: the Host of the original request).
        link = f"{_scheme()}://{request.host}/3/footprints?cursor={page.cursor}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/3/footprints/<pf_id>", endpoint="get_footprint")
def get_footprint_view(pf_id: str) -> Response:
    _client()
    response = jsonify({"data": get_footprint(pf_id)})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/3/events")
def events() -> Response:
    client = _client()
    if request.mimetype != "application/cloudevents+json":
        raise errors.BadRequestError(
            "Send the event in structured mode: Content-Type: application/cloudevents+json."
        )
    receive_event(json_body(), client=client)
    return Response(status=200)


@bp.get(EXTENSION_SCHEMA_PATH)
def extension_schema() -> Response:
    """The JSON Schema of the ``carbon-label`` data model extension (public, cacheable)."""
    return _schema_file("carbon-label-extension.schema.json")


@bp.get(SOURCE_EXTENSION_SCHEMA_PATH)
def source_extension_schema() -> Response:
    """The JSON Schema of the ``carbon-label-source`` extension (labels from PACT footprints)."""
    return _schema_file("carbon-label-source-extension.schema.json")


def _schema_file(name: str) -> Response:
    text = resources.files("registry.pact").joinpath(name)
    response = Response(
        json.dumps(json.loads(text.read_text("utf-8")), indent=2),
        mimetype="application/schema+json",
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response

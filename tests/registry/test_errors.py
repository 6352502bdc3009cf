"""Every error is an RFC 9457 problem under the machine paths and a readable page elsewhere."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask, request
from marshmallow import Schema, fields

from registry import create_app
from registry.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    OutOfScopeError,
    RegistryError,
    RuleNotInForceError,
    UnauthenticatedError,
    ValidationFailedError,
)
from tests.registry.factories import PROBLEM_BASE, make_settings

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


class _LabelSchema(Schema):
    footprint = fields.Decimal(required=True)


def _app(tmp_path: Path, **changes: Any) -> Flask:
    app = create_app(make_settings("sqlite://", tmp_path, **changes))

    @app.post("/api/v1/_echo")
    def echo() -> dict[str, int]:
        return {"bytes": len(request.get_data())}

    @app.post("/api/v1/_parse")
    def parse() -> dict[str, str]:
        return {"footprint": str(_LabelSchema().load(request.get_json())["footprint"])}

    @app.get("/api/v1/_raise/<slug>")
    def raise_registry_error(slug: str) -> NoReturn:
        raise next(cls for cls in ERRORS if cls.slug == slug)("detail for the client")

    @app.get("/api/v1/_bug")
    def bug() -> NoReturn:
        raise RuntimeError("connection string postgresql://secret@db")

    @app.get("/api/v1/_bug/<code>")
    def bug_with_request_data(code: str) -> NoReturn:
        raise RuntimeError(f"[parameters: ({code!r}, {request.args.get('q')!r})]")

    @app.get("/_bug")
    def page_bug() -> NoReturn:
        raise RuntimeError("internal detail")

    return app


ERRORS: list[type[RegistryError]] = [
    UnauthenticatedError,
    ForbiddenError,
    NotFoundError,
    ConflictError,
    RuleNotInForceError,
    OutOfScopeError,
]


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.get_json(force=True)
    assert body.keys() >= PROBLEM_KEYS
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert body["instance"] == response.request.path
    return body


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.slug)
def test_registry_errors_render_as_problems(tmp_path: Path, error: type[RegistryError]) -> None:
    response = _app(tmp_path).test_client().get(f"/api/v1/_raise/{error.slug}")
    body = assert_problem(response, error.status, error.slug)
    assert body["title"] == error.title
    assert body["detail"] == "detail for the client"


def test_validation_errors_carry_field_errors() -> None:
    error = ValidationFailedError({"grade": ["Server-owned field."]})
    assert error.extensions() == {"errors": {"grade": ["Server-owned field."]}}
    assert (error.status, error.slug) == (422, "validation-failed")


def test_marshmallow_validation_error_is_422_with_errors(tmp_path: Path) -> None:
    client = _app(tmp_path).test_client()
    response = client.post("/api/v1/_parse", json={"footprint": "lots", "grade": "A"})
    body = assert_problem(response, 422, "validation-failed")
    assert set(body["errors"]) == {"footprint", "grade"}


def test_oversized_body_is_413_problem(tmp_path: Path) -> None:
    client = _app(tmp_path, max_content_length=1024).test_client()
    assert client.post("/api/v1/_echo", data=b"x" * 1024).get_json() == {"bytes": 1024}
    response = client.post("/api/v1/_echo", data=b"x" * 1025)
    assert_problem(response, 413, "payload-too-large")


def test_unknown_api_path_is_404_problem(tmp_path: Path) -> None:
    assert_problem(_app(tmp_path).test_client().get("/api/v1/nothing"), 404, "not-found")


def test_wrong_method_is_405_problem_with_allow(tmp_path: Path) -> None:
    response = _app(tmp_path).test_client().delete("/api/v1/_echo")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


def test_pages_get_a_readable_html_error(tmp_path: Path) -> None:
    response = _app(tmp_path).test_client().get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>Not found</h1>" in response.get_data(as_text=True)


def test_unexpected_error_is_logged_500_without_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = _app(tmp_path, env="development").test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/_bug")
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.get_data(as_text=True)
    error_id = body["error_id"]
    assert body["detail"] == (
        f"The registry hit an unexpected error; quote error id {error_id} to support."
    )
    # The log has the id, the type and where it was raised, so support can find it.
    assert f"internal error {error_id}: builtins.RuntimeError on GET /api/v1/_bug" in caplog.text
    assert "test_errors.py" in caplog.text
    page = client.get("/_bug")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert "internal detail" not in page.get_data(as_text=True)
    assert "quote error id" in page.get_data(as_text=True)


def test_an_error_log_carries_no_request_data_or_sql_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = _app(tmp_path, env="development").test_client()
    with caplog.at_level(logging.DEBUG):
        response = client.get("/api/v1/_bug/GTIN-6901234567892?q=jane.doe%40example.com")
    body = assert_problem(response, 500, "internal-error")
    assert body["error_id"] in caplog.text
    assert "on GET /api/v1/_bug/<code>" in caplog.text  # the route, not the path
    assert "GTIN-6901234567892" not in caplog.text
    assert "jane.doe" not in caplog.text


def test_unexpected_error_is_reraised_when_testing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="connection string"):
        _app(tmp_path).test_client().get("/api/v1/_bug")

"""Every operation of the OpenAPI document answers hostile input with a status it documents.

A small, deterministic cousin of a schemathesis run: for each operation, path values beyond
their columns, in other scripts' digits, with NUL or of 300 characters; query values likewise;
bodies that are missing, not JSON, of the wrong type, with duplicate names or unknown members;
with no token, a certifier's and the operator's. Each answer must be a status the operation
documents, and none may be a 500, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry import create_app
from registry.api.openapi import build_openapi
from registry.db import transaction
from registry.reports.models import ReportCategory
from registry.reports.services import ReportInput, create_report
from tests.registry.factories import LabelWorld, make_settings
from tests.registry.labels.support import app, auth, issue, label_app, world
from tests.registry.labels.test_held_key import held_body, prepare

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        throwaway = create_app(make_settings("sqlite://", Path(folder)))
        with throwaway.app_context():
            return build_openapi(throwaway)


DOCUMENT = _document()
OPERATIONS = sorted(
    (path, method)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
    if method in ("get", "post")
)

HOSTILE_PATH_VALUES = [
    "99999999999999999999",
    "9223372036854775808",
    "\u00b2",
    "\u0663",
    "%00",
    "x" * 300,
    "%E2%80%AEevil",
]
HOSTILE_QUERY_VALUES = ["99999999999999999999", "\u00b2", "\x00", "", "-1", "x" * 300]
HOSTILE_BODIES: list[tuple[str | None, str]] = [
    (None, "application/json"),
    ("", "application/json"),
    ("\x00", "application/json"),
    ("[]", "application/json"),
    ("0", "application/json"),
    ('{"unknown": 1}', "application/json"),
    ('{"a": 1, "a": 2}', "application/json"),
    ('{"reason": "\\u0000", "name": "\\u202e", "status": "active"}', "application/json"),
    ("{}", "text/plain"),
    ("a=1", "application/x-www-form-urlencoded"),
]


def _real(path: str, name: str, known: dict[str, str]) -> str:
    if name == "code":
        return known["scheme"] if path.startswith("/api/v1/schemes") else known["body"]
    return known[name]


def _cases(
    path: str, method: str, known: dict[str, str] | None = None
) -> list[tuple[str, str | None, str | None]]:
    """(URL, body, content type) for one operation; bodies go to a real resource's path."""
    operation = DOCUMENT["paths"][path][method]
    parameters = operation.get("parameters", [])
    names = [p["name"] for p in parameters if p["in"] == "path"]
    queries = [p["name"] for p in parameters if p["in"] == "query"]
    urls = []
    for value in HOSTILE_PATH_VALUES if names else [""]:
        url = path
        for name in names:
            url = url.replace("{" + name + "}", value)
        urls.append(url)
    cases: list[tuple[str, str | None, str | None]] = []
    for url in urls:
        cases.append((url, None, None))
        for name in queries:
            for value in HOSTILE_QUERY_VALUES:
                cases.append((f"{url}?{name}={value}", None, None))
        if queries:
            cases.append((f"{url}?unknown=1", None, None))
    if method == "post" and known is not None:
        url = path
        for name in names:
            url = url.replace("{" + name + "}", _real(path, name, known))
        cases += [(url, body, content_type) for body, content_type in HOSTILE_BODIES]
    return cases


def _known(client: FlaskClient, world: LabelWorld) -> dict[str, str]:
    """Ids of real resources, so hostile bodies reach the handlers behind the routing."""
    label = issue(client, world.certifier)
    body = client.get("/api/v1/bodies/lingnan").get_json()
    token = client.post(
        "/api/v1/tokens",
        json={"role": "regulator", "name": "Walk", "schemes": ["CN-GD"]},
        headers=auth(world.operator),
    ).get_json()
    status_list = label["credential"]["credentialStatus"][0]["statusListCredential"]
    with transaction():  # committed, so a refused request's rollback keeps it
        report = create_report(
            label["id"], ReportInput(ReportCategory.OTHER, seen_at="Walk", details="Walk")
        )
    if client.get("/api/v1/schemes/HK").status_code == 404:
        hk = {"code": "HK", "region": "HK", "names": {"en": "Hong Kong"}, "owner": "HK"}
        client.post("/api/v1/schemes", json=hk, headers=auth(world.operator))
    mapping = client.post(
        "/api/v1/recognition/mappings",
        json={
            "mappingId": f"GD-HK-{secrets.token_hex(4)}",
            "source": {"scheme": "CN-GD", "rules": ["PCR-LIB"]},
            "target": {"scheme": "HK", "region": "HK"},
            "mode": "value-only",
            "effectiveFrom": "2026-01-01T00:00:00Z",
            "approvedBy": "HK regulator",
            "agreementSha256": "ab" * 32,
        },
        headers=auth(world.operator),
    )
    assert mapping.status_code == 201, mapping.get_json()
    preparation = prepare(client, held_body().certifier)  # another body's, for these tokens
    return {
        "preparation_id": preparation["id"],
        "mapping_id": mapping.get_json()["mapping"]["mappingId"],
        "label_id": label["id"],
        "body": "lingnan",
        "scheme": "CN-GD",
        "rule": "PCR-LIB",
        "version": "1.0",
        "accreditation_id": str(body["accreditations"][0]["id"]),
        "public_key_multibase": body["keys"][0]["public_key_multibase"],
        "token_id": str(token["id"]),
        "list_id": status_list.rsplit("/", 1)[-1],
        "report_id": str(report.id),
    }


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_hostile_input_with_a_documented_status(
    client: FlaskClient, world: LabelWorld, path: str, method: str
) -> None:
    documented = set(DOCUMENT["paths"][path][method]["responses"])
    tokens = [None, world.certifier, world.operator]
    wrong = []
    reached = set()
    for position, (url, body, content_type) in enumerate(
        _cases(path, method, _known(client, world))
    ):
        secret = tokens[position % len(tokens)]
        response = client.open(
            url,
            method=method.upper(),
            data=body,
            content_type=content_type,
            headers=auth(secret),
        )
        response.close()  # a streamed answer (a CSV export) ends inside its own request
        if response.status_code == 500 or str(response.status_code) not in documented:
            wrong.append((response.status_code, url[:80], body, content_type))
        if body is not None and secret is not None:
            reached.add(response.status_code)
    assert not wrong, f"documented {sorted(documented)}; got {wrong}"
    if method == "post":  # the hostile bodies got past routing and authentication
        assert reached & {400, 403, 415, 422}, reached


def test_the_walk_covers_every_documented_operation() -> None:
    assert len(OPERATIONS) >= 39
    assert all(_cases(path, method) for path, method in OPERATIONS)

"""The admin API as a whole: who may call what, problem answers, and its OpenAPI operations.

Each resource's behaviour is tested beside its package (``tests/registry/schemes``, ``bodies``,
``auth``); here every route is checked for the same contract at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from registry.auth.models import ApiToken
from registry.auth.services import OPERATOR_CONSOLE
from registry.bodies.services import add_body_key, grant_accreditation
from registry.clock import utcnow
from registry.db import transaction
from registry.ledger.services import tree_size
from tests.registry.factories import (
    ADMIN_THRESHOLDS,
    PROBLEM_BASE,
    AdminWorld,
    PerRequestClient,
    bearer,
    build_admin_world,
)

Db = scoped_session[Session]
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


@dataclass(frozen=True, slots=True)
class Setup:
    world: AdminWorld
    accreditation: int
    key: str
    token: int


@pytest.fixture
def client(app: Flask, db_session: Db) -> FlaskClient:
    return PerRequestClient(app, app.response_class)


@pytest.fixture
def setup(db_session: Db) -> Setup:
    with transaction():
        world = build_admin_world()
        accreditation = grant_accreditation(
            actor=OPERATOR_CONSOLE,
            body_code="lingnan",
            scheme_code="CN-GD",
            categories=["battery"],
            accreditation_body="CNAS (fictitious)",
            reference="CNAS-C0421",
            valid_from=utcnow(),
            valid_until=None,
        )
        key, _ = add_body_key("lingnan", actor=OPERATOR_CONSOLE)
        token_id = db_session.execute(select(func.max(ApiToken.id))).scalar_one()
    return Setup(world, accreditation.id, key.public_key_multibase, token_id)


VERSION = {
    "version": "3.0",
    "declared_unit": "kWh",
    "standard": "ISO 14067:2018",
    "in_force_from": "2026-01-01T00:00:00Z",
    "thresholds": ADMIN_THRESHOLDS,
}
# Every write the operator alone may make, with a body that would otherwise succeed.
OPERATOR_WRITES: list[tuple[str, dict[str, Any] | None]] = [
    ("/api/v1/schemes", {"code": "MO", "region": "MO", "names": {"en": "M"}, "owner": "O"}),
    ("/api/v1/schemes/CN-GD/rules", {"code": "R", "category": "tea", "names": {"en": "Tea"}}),
    ("/api/v1/bodies", {"code": "pearl", "name": "Pearl (fictitious)", "region": "CN-GD"}),
    ("/api/v1/bodies/lingnan/status", {"status": "suspended", "reason": "audit"}),
    (
        "/api/v1/bodies/lingnan/accreditations",
        {
            "scheme": "HK",
            "categories": ["battery"],
            "accreditation_body": "HKAS (fictitious)",
            "reference": "HKAS-1",
            "valid_from": "2026-01-01T00:00:00Z",
            "allow_uncovered_category": True,  # this world's HK has no rule yet
        },
    ),
    ("/api/v1/accreditations/{accreditation}/status", {"status": "suspended", "reason": "x"}),
    ("/api/v1/bodies/lingnan/keys", None),
    ("/api/v1/bodies/lingnan/keys/rotate", None),
    ("/api/v1/bodies/lingnan/keys/{key}/retire", None),
    ("/api/v1/tokens", {"role": "operator", "name": "another"}),
    ("/api/v1/tokens/{token}/revoke", None),
]
PUBLIC_READS = [
    "/api/v1/schemes",
    "/api/v1/schemes/CN-GD",
    "/api/v1/schemes/CN-GD/rules/PCR-LIB",
    "/api/v1/bodies",
    "/api/v1/bodies/lingnan",
    "/api/v1/bodies/lingnan/keys/{key}",
    "/api/v1/accreditations/{accreditation}",
]


def url_for_setup(template: str, setup: Setup) -> str:
    return template.format(accreditation=setup.accreditation, key=setup.key, token=setup.token)


def assert_problem(response: Any, status: int, slug: str, path: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == PROBLEM_BASE + slug
    assert (problem["status"], problem["instance"]) == (status, path)
    assert response.headers["Cache-Control"] == "no-store"


def token_count(session: Db) -> int:
    return session.execute(select(func.count()).select_from(ApiToken)).scalar_one()


@pytest.mark.parametrize(("template", "body"), OPERATOR_WRITES)
@pytest.mark.parametrize(
    ("who", "status", "slug"),
    [
        (None, 401, "unauthenticated"),
        ("clr_" + "A" * 43, 401, "unauthenticated"),
        ("certifier", 403, "forbidden"),
        ("regulator", 403, "forbidden"),
    ],
)
def test_operator_writes_refuse_everyone_else(
    client: FlaskClient,
    setup: Setup,
    db_session: Db,
    template: str,
    body: dict[str, Any] | None,
    who: str | None,
    status: int,
    slug: str,
) -> None:
    url = url_for_setup(template, setup)
    headers = {} if who is None else bearer(getattr(setup.world, who, who))
    size, tokens = tree_size(), token_count(db_session)
    assert_problem(client.post(url, json=body, headers=headers), status, slug, url)
    assert (tree_size(), token_count(db_session)) == (size, tokens)


@pytest.mark.parametrize(("template", "body"), OPERATOR_WRITES)
def test_the_operator_may_make_every_write(
    client: FlaskClient, setup: Setup, template: str, body: dict[str, Any] | None
) -> None:
    url = url_for_setup(template, setup)
    response = client.post(url, json=body, headers=bearer(setup.world.operator))
    assert response.status_code in (200, 201), response.get_json()
    assert response.mimetype == "application/json"
    if response.status_code == 201:
        assert response.headers["Location"].startswith("/api/v1/")
        assert client.get(response.headers["Location"], headers=bearer(setup.world.operator))


def test_publishing_a_version_needs_a_token(client: FlaskClient, setup: Setup) -> None:
    url = "/api/v1/schemes/CN-GD/rules/PCR-LIB/versions"
    size = tree_size()
    assert_problem(client.post(url, json=VERSION), 401, "unauthenticated", url)
    wrong_scheme = "Basic " + setup.world.operator
    response = client.post(url, json=VERSION, headers={"Authorization": wrong_scheme})
    assert_problem(response, 401, "unauthenticated", url)
    assert tree_size() == size


@pytest.mark.parametrize("template", PUBLIC_READS)
def test_reads_are_public(client: FlaskClient, setup: Setup, template: str) -> None:
    response = client.get(url_for_setup(template, setup))
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"


def test_malformed_json_is_a_problem(client: FlaskClient, setup: Setup) -> None:
    url, headers = "/api/v1/schemes", bearer(setup.world.operator)
    size = tree_size()
    broken = client.post(
        url, data='{"code": "MO",', content_type="application/json", headers=headers
    )
    assert_problem(broken, 400, "bad-request", url)
    listed = client.post(url, json=["MO"], headers=headers)
    assert_problem(listed, 422, "validation-failed", url)
    assert "_schema" in listed.get_json()["errors"]
    text = client.post(url, data="code=MO", content_type="text/plain", headers=headers)
    assert text.status_code == 415
    assert text.mimetype == "application/problem+json"
    assert tree_size() == size


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_admin_route_is_in_the_openapi_document(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("schemes", "bodies", "tokens")
    ]
    assert len(rules) == 21
    for rule in rules:
        [method] = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        operation = document["paths"][_openapi_path(rule.rule)][method.lower()]
        assert operation["summary"], rule.rule
        assert operation["tags"], rule.rule
        responses = operation["responses"]
        shared = document["components"]["responses"]
        for status, response in responses.items():
            if int(status) >= 400:
                resolved = shared[response["$ref"].rsplit("/", 1)[1]]
                schema = resolved["content"]["application/problem+json"]["schema"]
                assert schema == PROBLEM_SCHEMA, (rule.rule, status)
        public = method == "GET" and not rule.rule.startswith("/api/v1/tokens")
        if public:
            assert "security" not in operation, rule.rule
            assert "404" in responses or "{" not in _openapi_path(rule.rule), rule.rule
        else:
            assert operation["security"] == [{"bearer": []}], rule.rule
            assert {"401", "403"} <= set(responses), rule.rule
        if method == "POST" and "201" in responses:
            assert "422" in responses or rule.rule.endswith("/rotate"), rule.rule


def test_openapi_names_the_admin_schemas(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {
        "Scheme",
        "Rule",
        "RuleVersion",
        "CertificationBody",
        "Accreditation",
        "BodyKey",
        "ApiToken",
        "BodyStatusChange",
        "AccreditationStatusChange",
    } <= set(schemas)
    assert "secret_box" not in schemas["BodyKey"]["properties"]
    assert schemas["RuleVersion"]["properties"]["thresholds"]["properties"]["A"]["type"] == (
        "string"
    )
    assert schemas["ApiToken"]["properties"]["token"]["readOnly"] is True


# Every free-text field of the admin inputs, under the one text rule (credentials.check_text).
FREE_TEXT: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    (
        "/api/v1/schemes",
        {"code": "MO", "region": "MO", "names": {"en": "M"}, "owner": "O"},
        ("owner",),
    ),
    (
        "/api/v1/schemes",
        {"code": "MO", "region": "MO", "names": {"en": "M"}, "owner": "O"},
        ("names", "en"),
    ),
    ("/api/v1/bodies", {"code": "pearl", "name": "Pearl", "region": "CN-GD"}, ("name",)),
    ("/api/v1/bodies/lingnan/status", {"status": "suspended", "reason": "audit"}, ("reason",)),
    (
        "/api/v1/bodies/lingnan/accreditations",
        {
            "scheme": "HK",
            "categories": ["battery"],
            "accreditation_body": "HKAS (fictitious)",
            "reference": "HKAS-1",
            "valid_from": "2026-01-01T00:00:00Z",
        },
        ("reference",),
    ),
    ("/api/v1/schemes/CN-GD/rules/PCR-LIB/versions", VERSION, ("standard",)),
    ("/api/v1/schemes/CN-GD/rules/PCR-LIB/versions", VERSION, ("declared_unit",)),
    ("/api/v1/tokens", {"role": "operator", "name": "another"}, ("name",)),
]


HOSTILE_TEXT = {
    "nul": "nul\x00",
    "rtl-override": "\u202eevil",
    "ansi-escape": "\x1b[2Jansi",
    "newline": "line\nbreak",
    "u-ffff": "x\uffff",
    "400-combining-marks": "e" + "\u0301" * 400,
}


@pytest.mark.parametrize(
    ("template", "body", "field", "value"),
    [
        pytest.param(template, body, field, value, id=f"{'.'.join(field)}-{name}")
        for template, body, field in FREE_TEXT
        for name, value in HOSTILE_TEXT.items()
        if not (field == ("reason",) and name == "newline")  # a reason may have lines
    ],
)
def test_admin_free_text_is_checked_by_the_one_text_rule(
    client: FlaskClient,
    setup: Setup,
    template: str,
    body: dict[str, Any],
    field: tuple[str, ...],
    value: str,
) -> None:
    data: dict[str, Any] = {**body, **{k: dict(v) for k, v in body.items() if isinstance(v, dict)}}
    target = data
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    size = tree_size()
    response = client.post(
        url_for_setup(template, setup), json=data, headers=bearer(setup.world.operator)
    )
    problem = response.get_json()
    assert (response.status_code, problem["type"]) == (422, PROBLEM_BASE + "validation-failed")
    errors = problem["errors"]
    for key in field:
        errors = errors[key]  # the 422 names the field
    assert tree_size() == size

"""The operator's set-up commands: same schemas and services as the admin API, one transaction
each, a one-line error and exit status 1 on refusal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from credentials import KeyPair
from registry.auth.models import Role
from registry.auth.services import authenticate
from registry.bodies import services as body_services
from registry.bodies.models import BodyKey
from registry.bodies.services import get_body
from registry.db import transaction
from registry.errors import ConflictError
from registry.ledger.services import tree_size
from registry.schemes.services import get_rule, get_rule_version, get_scheme
from tests.registry.factories import AdminWorld, build_admin_world, ledger_tail

Db = scoped_session[Session]
THRESHOLDS = ["--threshold", "A=45", "--threshold", "B=65", "--threshold", "C=85"]
PUBLISH = [
    "rules",
    "publish-version",
    "CN-GD",
    "PCR-LIB",
    "2.1",
    "--declared-unit",
    "kWh",
    "--standard",
    "ISO 14067:2018",
    "--in-force-from",
    "2026-01-01T00:00:00+08:00",
    *THRESHOLDS,
]


@pytest.fixture
def world(db_session: Db) -> AdminWorld:
    with transaction():
        return build_admin_world()


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_the_groups_are_registered(app: Flask) -> None:
    result = run(app, "--help")
    for group in ("schemes", "rules", "bodies", "tokens", "ledger", "demo"):
        assert group in result.output


def test_schemes_create(app: Flask, world: AdminWorld) -> None:
    start = tree_size()
    result = run(
        app,
        *("schemes", "create", "MO", "--region", "MO", "--owner", "DSPA Macao (fictitious)"),
        *("--name", "en=Macao carbon label", "--name", "pt-MO=Rótulo de carbono de Macau"),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "Registered scheme MO (MO), owned by DSPA Macao (fictitious).\n"
    scheme = get_scheme("MO")
    assert scheme.names == {"en": "Macao carbon label", "pt-MO": "Rótulo de carbono de Macau"}
    [entry] = ledger_tail(start)
    assert (entry["event"], entry["scheme"], entry["names"]) == (
        "scheme.registered",
        "MO",
        scheme.names,
    )


def test_rules_create_and_publish_version(app: Flask, world: AdminWorld) -> None:
    start = tree_size()
    result = run(
        app, "rules", "create", "CN-GD", "PCR-TEA", "--category", "tea", "--name", "en=Tea"
    )
    assert result.exit_code == 0, result.output
    assert get_rule("CN-GD", "PCR-TEA").category == "tea"
    result = run(app, *PUBLISH, "--threshold", "D=110.5")
    assert result.exit_code == 0, result.output
    assert "A <= 45, B <= 65, C <= 85, D <= 110.5 kgCO2e per kWh" in result.stdout
    rv = get_rule_version("CN-GD", "PCR-LIB", "2.1")
    assert rv.thresholds.as_tuple() == (Decimal(45), Decimal(65), Decimal(85), Decimal("110.5"))
    assert [e["event"] for e in ledger_tail(start)] == ["rule.registered", "rule_version.published"]
    assert ledger_tail(start)[1]["inForceFrom"] == "2025-12-31T16:00:00.000Z"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "thresholds.D: Missing data for required field."),
        (["--threshold", "D=1.1e2"], "thresholds.D: A non-negative decimal"),
        (["--threshold", "D=80"], "thresholds: "),
        (["--threshold", "D=110", "--in-force-from", "2026-01-01T00:00:00"], "in_force_from: "),
    ],
)
def test_publish_version_refusals(
    app: Flask, world: AdminWorld, extra: list[str], message: str
) -> None:
    start = tree_size()
    assert_refused(run(app, *PUBLISH, *extra), message)
    assert tree_size() == start


def test_a_published_version_cannot_be_published_again(app: Flask, world: AdminWorld) -> None:
    assert run(app, *PUBLISH, "--threshold", "D=110").exit_code == 0
    start = tree_size()
    assert_refused(run(app, *PUBLISH, "--threshold", "D=120"), "versions are immutable")
    assert tree_size() == start


def test_bodies_register_accredit_and_keys(app: Flask, world: AdminWorld, db_session: Db) -> None:
    start = tree_size()
    register = ["bodies", "register", "pearl", "--name", "Pearl Delta Verification (fictitious)"]
    result = run(app, *register, "--region", "CN-GD", "--local-name", "zh-Hans=珠三角核查")
    assert result.exit_code == 0, result.output
    assert get_body("pearl").names == {"zh-Hans": "珠三角核查"}
    result = run(
        app,
        *("bodies", "accredit", "pearl", "CN-GD", "--category", "battery", "--category", "tea"),
        "--allow-uncovered-category",  # no tea rule in this world
        *("--accreditation-body", "CNAS (fictitious)", "--reference", "CNAS-C0999"),
        *("--valid-from", "2025-01-01T00:00:00Z"),
    )
    assert result.exit_code == 0, result.output
    assert "pearl for CN-GD (battery, tea)" in result.stdout
    generated = run(app, "bodies", "add-key", "pearl")
    assert generated.exit_code == 0, generated.output
    did = generated.stdout.strip()
    assert did.startswith("did:key:z6Mk")
    assert "sealed by the registry" in generated.stderr
    public = KeyPair.generate().public_key.multibase
    held = run(app, "bodies", "add-key", "pearl", "--public-key", public)
    assert held.exit_code == 0, held.output
    assert held.stdout.strip() == f"did:key:{public}"
    keys = db_session.execute(select(BodyKey).order_by(BodyKey.id)).scalars().all()
    assert [(k.did, k.managed) for k in keys] == [(did, True), (f"did:key:{public}", False)]
    assert [e["event"] for e in ledger_tail(start)] == [
        "body.registered",
        "accreditation.granted",
        "key.added",
        "key.added",
    ]


def test_bodies_register_without_translations(app: Flask, world: AdminWorld) -> None:
    result = run(
        app, "bodies", "register", "pearl", "--name", "Pearl (fictitious)", "--region", "HK"
    )
    assert result.exit_code == 0, result.output
    assert get_body("pearl").names == {}


def test_bodies_rotate_and_retire_keys(app: Flask, world: AdminWorld, db_session: Db) -> None:
    first = run(app, "bodies", "add-key", "lingnan").stdout.strip()
    start = tree_size()
    rotated = run(app, "bodies", "rotate-key", "lingnan")
    assert rotated.exit_code == 0, rotated.output
    assert [e["event"] for e in ledger_tail(start)] == ["key.added", "key.retired"]
    db_session.expire_all()
    keys = db_session.execute(select(BodyKey).order_by(BodyKey.id)).scalars().all()
    assert [(k.did, k.retired_at is None) for k in keys] == [
        (first, False),
        (rotated.stdout.strip(), True),
    ]
    public = keys[1].public_key_multibase
    retired = run(app, "bodies", "retire-key", "lingnan", public)
    assert retired.exit_code == 0, retired.output
    assert_refused(run(app, "bodies", "retire-key", "lingnan", public), "already retired")


def test_a_failed_rotation_writes_nothing(
    app: Flask, world: AdminWorld, db_session: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(app, "bodies", "add-key", "lingnan")
    start = tree_size()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConflictError("simulated failure after the new key was written")

    monkeypatch.setattr(body_services, "retire_body_key", refuse)
    assert_refused(run(app, "bodies", "rotate-key", "lingnan"), "simulated failure")
    assert tree_size() == start
    db_session.expire_all()
    assert len(db_session.execute(select(BodyKey)).scalars().all()) == 1


@pytest.mark.parametrize(
    ("args", "role", "body", "schemes"),
    [
        (["--role", "operator"], Role.OPERATOR, None, frozenset()),
        (["--role", "certifier", "--body", "lingnan"], Role.CERTIFIER, "lingnan", frozenset()),
        (
            ["--role", "regulator", "--scheme", "CN-GD", "--scheme", "HK"],
            Role.REGULATOR,
            None,
            frozenset({"CN-GD", "HK"}),
        ),
    ],
)
def test_tokens_create_prints_the_secret_once(
    app: Flask,
    world: AdminWorld,
    args: list[str],
    role: Role,
    body: str | None,
    schemes: frozenset[str],
) -> None:
    start = tree_size()
    result = run(app, "tokens", "create", "--name", "CLI test", *args)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert secret.startswith("clr_")
    assert "shown only now" in result.stderr
    assert secret not in result.stderr
    principal = authenticate(secret)
    assert (principal.role, principal.body_code, principal.schemes) == (role, body, schemes)
    assert tree_size() == start


def test_tokens_revoke(app: Flask, world: AdminWorld) -> None:
    created = run(app, "tokens", "create", "--role", "operator")
    principal = authenticate(created.stdout.strip())
    result = run(app, "tokens", "revoke", str(principal.token_id))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Token {principal.token_id} revoked.\n"
    assert_refused(run(app, "tokens", "revoke", "999999"), "There is no token 999999.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schemes", "create", "HK", "--region", "HK", "--owner", "x", "--name", "en=x"], "exists"),
        (["schemes", "create", "XX", "--region", "xx", "--owner", "x", "--name", "en=x"], "region"),
        (["schemes", "create", "XX", "--region", "HK", "--owner", "x"], "names: "),
        (["rules", "create", "XX", "R", "--category", "tea", "--name", "en=x"], "no scheme"),
        (["bodies", "add-key", "nobody"], "no certification body 'nobody'"),
        (["bodies", "add-key", "lingnan", "--public-key", "z6MkNotAKey"], "public_key_multibase"),
        (["tokens", "create", "--role", "certifier"], "body: A certifier token"),
        (["tokens", "create", "--role", "regulator", "--scheme", "XX"], "no scheme 'XX'"),
    ],
)
def test_refusals_are_one_line_and_exit_1(
    app: Flask, world: AdminWorld, args: list[str], message: str
) -> None:
    start = tree_size()
    assert_refused(run(app, *args), message)
    assert tree_size() == start


def test_malformed_pairs_are_usage_errors(app: Flask, world: AdminWorld) -> None:
    result = run(app, "schemes", "create", "XX", "--region", "HK", "--owner", "x", "--name", "x")
    assert result.exit_code == 2
    assert "is not KEY=VALUE" in result.output

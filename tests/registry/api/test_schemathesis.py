"""schemathesis against the served OpenAPI document, on SQLite and PostgreSQL.

Every operation of ``/api/v1/openapi.json`` gets generated requests (schemathesis' positive and
negative data, with Hypothesis) and each is sent with no token and with the token of each role
(operator, certifier, regulator), in-process to the WSGI app of a registry of its own (the
requests write: tokens are revoked, labels issued, so no other test shares its database).
Each answer must not be a 5xx, must have a status and content type the operation documents and
a body that conforms to its schema, and every problem+json answer must name a problem type the
registry defines. The run is bounded (``SCHEMATHESIS_EXAMPLES`` examples per operation, 4 by
default); the README gives a longer run. The test prints how many requests it made.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from registry.db import db
from registry.errors import PROBLEM_PATH, PROBLEM_TYPES
from tests.registry.conftest import BACKENDS
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import make_label_app

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SENT: dict[str, int] = {}


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, LabelWorld]]:
    folder = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'registry.sqlite3'}"
    else:
        url = request.getfixturevalue("make_pg_database")()
    app, world = make_label_app(url, Path(folder))
    yield app, world
    with app.app_context():
        db.engine.dispose()


def _problem_type_is_defined(response: Any, path: str) -> None:
    if response.headers.get("Content-Type", [""])[0].split(";")[0] != "application/problem+json":
        return
    body = response.json()
    kind = str(body.get("type", ""))
    assert PROBLEM_PATH in kind, (path, body)
    assert kind.rsplit(PROBLEM_PATH, 1)[1] in PROBLEM_TYPES, (path, body)


def _first_lines(exc: BaseException) -> str:
    """What schemathesis found, short: its failures' titles and first lines."""
    found = getattr(exc, "exceptions", None) or [exc]
    return "; ".join(" ".join(str(e).split())[:300] for e in found)


def test_every_operation_answers_as_documented_for_every_role(
    fuzzed: tuple[Flask, LabelWorld],
) -> None:
    app, world = fuzzed
    backend = "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "pg"
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tokens = (None, world.operator, world.certifier, world.regulator)
    failures: list[str] = []
    operations = 0

    def exercise(case: Any) -> None:
        for token in tokens:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            response = case.call(headers=headers)
            SENT[backend] = SENT.get(backend, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)
            _problem_type_is_defined(response, case.path)

    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        run = settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is told
        )(given(case=operation.as_strategy())(exercise))
        try:
            run()
        # schemathesis' FailureGroup is a BaseExceptionGroup: every operation's is collected.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {_first_lines(exc)}")
    print(f"\nschemathesis ({backend}): {operations} operations, {SENT[backend]} requests")
    assert operations > 40
    assert not failures, "\n\n".join(failures)

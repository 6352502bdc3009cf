"""The access matrix's registry: real objects of body A and scheme X, and every kind of caller.

Body A is ``lingnan`` (the label world's certifier), body B ``pearl``; scheme X is CN-GD and
scheme Y is HK. Everything a route's path names (a label, its status list, an accreditation, a
key, a batch, a report, a mapping, a token, a draft, a PACT footprint, an invitation) is made
through the registry's own doors, committed once per backend, so each request of the matrix
runs against the same state (the test rolls every request back).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Select, select

from credentials import KeyPair
from registry.auth.models import ApiToken, Role
from registry.auth.services import create_token, revoke_token
from registry.batches.models import BatchState, LabelBatch
from registry.batches.runner import run_once
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.db import db, transaction
from registry.labels.models import Label
from registry.pact.services import create_client
from registry.portal.issuing.models import LabelDraft
from registry.portal.models import Person, PersonRole
from registry.portal.services import invite_person
from registry.reports.models import SuspectReport
from tests.registry.batches.support import csv_of, row, upload
from tests.registry.conftest import BACKENDS
from tests.registry.factories import (
    BASE_URL,
    LABEL_BODY,
    OTHER_BODY,
    LabelWorld,
    PerRequestClient,
    bearer,
    label_request,
)
from tests.registry.labels.support import change_status, issue, make_label_app
from tests.registry.labels.test_recognition_mappings import mapping
from tests.registry.pact.support import basic
from tests.registry.portal.support import make_person, post_form, sign_in_client
from tests.registry.portal_issue.test_issue_pages import FORM, form_data
from tests.registry.reports_support import csrf_token, photo_bytes, post_report

__all__ = ["AccessWorld", "access_app", "x_mapping"]


def x_mapping() -> dict[str, Any]:
    """A mapping into scheme X (CN-GD), so X's regulator is the one who decides on it."""
    return mapping(
        source={"scheme": "HK", "rules": ["HK-LIB"], "versions": {"minimum": "1.0"}},
        target={"scheme": "CN-GD", "region": "CN-GD", "ruleId": "PCR-LIB", "ruleVersion": "1.0"},
    )


@dataclass(frozen=True, slots=True)
class AccessWorld:
    """What the matrix's paths name and the credentials of its callers."""

    tokens: LabelWorld  # operator, certifier (A), other_certifier (B), regulator (X)
    regulator_y: str  # an API token of the regulator of HK only
    revoked: str  # a revoked certifier token of body A
    pact: str  # a PACT data recipient's access token
    people: dict[str, Person]  # portal callers by matrix role: auditor_a, signatory_a, …
    values: dict[str, str]  # path values by name: label, body_id, batch, …


def _one(statement: Select[Any]) -> Any:
    """The first row's first column; there must be one."""
    found = db.session.execute(statement).scalars().first()
    assert found is not None, statement
    return found


def _build(app: Flask, tokens: LabelWorld) -> AccessWorld:
    http = PerRequestClient(app, app.response_class)
    with app.test_request_context():
        with transaction():
            regulator_y = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]
            revoked_row, revoked = create_token(
                role=Role.CERTIFIER, name="lingnan old", body_code=LABEL_BODY
            )
            revoke_token(revoked_row.id)
            pact_client, pact_secret = create_client("matrix buyer")
            _, invitation = invite_person(
                email="invitee@lingnan.example", role=PersonRole.AUDITOR, body_code=LABEL_BODY
            )
        people = {
            "auditor_a": make_person(
                "auditor@lingnan.example", PersonRole.AUDITOR, body=LABEL_BODY
            ),
            "signatory_a": make_person(
                "signatory@lingnan.example", PersonRole.SIGNATORY, body=LABEL_BODY
            ),
            "regulator_person": make_person(
                "inspector@gd.example", PersonRole.REGULATOR, schemes=("CN-GD",)
            ),
            "signatory_b": make_person(
                "signatory@pearl.example", PersonRole.SIGNATORY, body=OTHER_BODY
            ),
            "regulator_person_y": make_person(
                "inspector@hk.example", PersonRole.REGULATOR, schemes=("HK",)
            ),
            "operator_person": make_person("ops@registry.example", PersonRole.OPERATOR),
        }
        db.session.remove()
    label = issue(http, tokens.certifier, label_request())
    for action in ("suspend", "reinstate"):  # a status change the audit lists show
        changed = change_status(http, tokens.certifier, label["id"], action)
        assert changed.status_code == 200, changed.get_json()
    published = http.post(
        "/api/v1/recognition/mappings", json=x_mapping(), headers=bearer(tokens.regulator)
    )
    assert published.status_code == 201, published.get_json()
    upload(http, tokens.certifier, csv_of([row()]))
    with app.app_context():
        ran = run_once(worker="access-matrix")
        assert ran is not None
        assert ran[1] is BatchState.DONE, ran
        db.session.remove()
    reported = post_report(
        http,
        label["id"],
        token=csrf_token(http, label["id"]),
        photo=(photo_bytes(), "a.jpg", "image/jpeg"),
    )
    assert reported.status_code < 400, reported.status_code
    with app.app_context():
        sign_in_client(http, people["auditor_a"])
        db.session.remove()
    drafted = post_form(http, FORM, form_data(), token_from=FORM)
    assert drafted.status_code < 400, drafted.status_code
    token_answer = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(pact_client.client_id, pact_secret),
        base_url=BASE_URL,
    )
    pact_token = token_answer.get_json()["access_token"]
    footprints = http.get("/3/footprints", headers=bearer(pact_token), base_url=BASE_URL)
    pf_id = footprints.get_json()["data"][0]["id"]
    with app.app_context():
        body = _one(select(CertificationBody).where(CertificationBody.code == LABEL_BODY))
        stored = db.session.get(Label, label["id"])
        assert stored is not None
        values = {
            "label": label["id"],
            "credential": label["credential"]["id"],
            "gtin": "06901234567892",
            "body": LABEL_BODY,
            "body_id": str(body.id),
            "accreditation": str(
                _one(select(Accreditation.id).where(Accreditation.body_id == body.id))
            ),
            "key": str(
                _one(select(BodyKey.public_key_multibase).where(BodyKey.body_id == body.id))
            ),
            "batch": str(_one(select(LabelBatch.id))),
            "report": str(_one(select(SuspectReport.id))),
            "mapping": published.get_json()["mapping"]["mappingId"],
            "token": str(
                _one(select(ApiToken.id).where(ApiToken.body_id == body.id).order_by(ApiToken.id))
            ),
            "draft": str(_one(select(LabelDraft.id))),
            "status_list": stored.revocation_list_id,
            "pf_id": pf_id,
            "invitation": invitation,
        }
        db.session.remove()
    # Last, as it stops the registry signing A's labels: a key A holds itself, and a label
    # prepared for it to sign.
    own = KeyPair.generate().public_key.multibase
    added = http.post(
        f"/api/v1/bodies/{LABEL_BODY}/keys",
        json={"public_key_multibase": own},
        headers=bearer(tokens.operator),
    )
    assert added.status_code == 201, added.get_json()
    prepared = http.post(
        "/api/v1/labels/prepare", json=label_request(), headers=bearer(tokens.certifier)
    )
    assert prepared.status_code == 201, prepared.get_json()
    values["preparation"] = prepared.get_json()["id"]
    return AccessWorld(tokens, regulator_y, revoked, pact_token, people, values)


_APPS: dict[str, tuple[Flask, AccessWorld]] = {}


@pytest.fixture(scope="module", params=BACKENDS)
def access_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, AccessWorld]]:
    """A registry of its own per backend, with the matrix's world committed in it."""
    backend: str = request.param
    if backend not in _APPS:
        folder = tmp_path_factory.mktemp(f"access-{backend}")
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'registry.sqlite3'}"
        else:
            url = request.getfixturevalue("make_pg_database")()
        app, tokens = make_label_app(url, Path(folder))
        _APPS[backend] = (app, _build(app, tokens))
    yield _APPS[backend]
    with _APPS[backend][0].app_context():
        db.engine.dispose()

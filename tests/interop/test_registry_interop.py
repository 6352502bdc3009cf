"""Credentials the registry issues, through its API, verify in Digital Bazaar's implementation.

The registry runs on SQLite in a temporary folder (the signed bytes do not depend on the
database); its credentials go to ``verify.mjs`` with only the contexts we export, exactly as in
``test_interop.py``, whose fixtures and helpers this module imports.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from credentials.jsonld import DEFAULT_LOADER, canonicalize_rdfc
from registry.db import db
from tests.interop.test_interop import CREDENTIAL_CONTEXTS, RDFC, _run_js, contexts_dir, node
from tests.registry.factories import BASE_URL, LabelWorld, label_request, vc_issue_request
from tests.registry.labels.support import make_label_app

__all__ = ["contexts_dir", "node"]  # fixtures of test_interop.py, used here too


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, LabelWorld]]:
    folder = tmp_path_factory.mktemp("interop-registry")
    app, world = make_label_app(f"sqlite:///{folder / 'registry.sqlite3'}", folder)
    yield app, world
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def issued(registry: tuple[Flask, LabelWorld]) -> dict[str, dict[str, Any]]:
    """Credentials of several shapes, each issued through the registry's HTTP API."""
    app, world = registry
    client: FlaskClient = app.test_client()
    headers = {"Authorization": f"Bearer {world.certifier}"}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        result: dict[str, Any] = response.get_json()
        return result

    plain = post("/api/v1/labels", label_request())
    unusual = post(
        "/api/v1/labels",
        label_request(
            "13.000000000001",
            amount="0.2",
            name='<b>储能</b> module "Ω" & co — 51.2 V',
            supersedes=plain["id"],
        ),
    )
    vc_api = post("/credentials/issue", vc_issue_request("44.999"))["verifiableCredential"]
    suspension = next(s for s in vc_api["credentialStatus"] if s["statusPurpose"] == "suspension")
    status_list = client.get(suspension["statusListCredential"].removeprefix(BASE_URL))
    assert status_list.status_code == 200
    return {
        "api": plain["credential"],
        "api-superseding-unicode-html": unusual["credential"],
        "vc-api": vc_api,
        "status-list": status_list.get_json(),
    }


def js_verify(node: str, contexts_dir: Path, credential: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = {"action": "verify", "contextsDir": str(contexts_dir), "credential": credential}
    outcome: dict[str, Any] = _run_js(node, job | {"now": now})
    return outcome


@pytest.mark.parametrize("name", ["api", "api-superseding-unicode-html", "vc-api", "status-list"])
def test_js_verifies_what_the_registry_issued(
    node: str, contexts_dir: Path, issued: dict[str, dict[str, Any]], name: str
) -> None:
    credential = issued[name]
    outcome = js_verify(node, contexts_dir, credential)
    assert outcome["verified"] is True, outcome["errors"]
    issuer = credential["issuer"]["id"]
    assert outcome["proofs"] == [
        {
            "cryptosuite": RDFC,
            "verified": True,
            "verificationMethod": credential["proof"]["verificationMethod"],
            "purposeValid": True,
        }
    ]
    assert credential["proof"]["verificationMethod"].startswith(issuer + "#")
    exported = set(DEFAULT_LOADER.export())
    outside = [u for u in outcome["loaded"] if u not in exported and not u.startswith("did:key:")]
    assert outside == [], "only exported contexts and did:key documents may be loaded"
    if name != "status-list":
        assert credential["@context"] == CREDENTIAL_CONTEXTS
        assert set(CREDENTIAL_CONTEXTS) <= set(outcome["loaded"])


def test_js_canonicalizes_a_registry_credential_as_we_do(
    node: str, contexts_dir: Path, issued: dict[str, dict[str, Any]]
) -> None:
    credential = {k: v for k, v in issued["api-superseding-unicode-html"].items() if k != "proof"}
    job = {"action": "canonize", "contextsDir": str(contexts_dir), "credential": credential}
    theirs = _run_js(node, job)["nquads"]
    assert theirs == canonicalize_rdfc(credential)
    assert "<https://w3id.org/carbon-label#supersedes>" in theirs


def test_js_rejects_a_registry_credential_with_a_lowered_footprint(
    node: str, contexts_dir: Path, issued: dict[str, dict[str, Any]]
) -> None:
    tampered = copy.deepcopy(issued["api"])
    tampered["credentialSubject"]["footprint"]["value"] = "16.2"
    outcome = js_verify(node, contexts_dir, tampered)
    assert outcome["verified"] is False
    assert any("Invalid signature" in e for e in outcome["errors"]), outcome["errors"]

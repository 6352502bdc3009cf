"""``GET /api/v1/me``: the presented token and what it may do, which is what the registry then
lets it do (each claimed action is tried against the real routes)."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from registry.auth.services import authenticate
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import app, auth, change_status, issue, label_app, problem, world

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures


def me(client: FlaskClient, secret: str) -> dict[str, object]:
    response = client.get("/api/v1/me", headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    body: dict[str, object] = response.get_json()
    return body


@pytest.mark.parametrize(
    ("who", "role", "body", "schemes", "actions"),
    [
        (
            "certifier",
            "certifier",
            "lingnan",
            [],
            [
                "issue-labels",
                "suspend-own-body-labels",
                "revoke-own-body-labels",
                "lift-own-role-suspensions-of-own-body-labels",
            ],
        ),
        (
            "regulator",
            "regulator",
            None,
            ["CN-GD"],
            [
                "suspend-labels-under-schemes",
                "lift-own-role-suspensions-of-labels-under-schemes",
                "publish-rule-versions",
                "publish-mappings",
                "audit",
            ],
        ),
        (
            "operator",
            "operator",
            None,
            [],
            [
                "suspend-any-label",
                "lift-own-role-suspensions-of-any-label",
                "publish-rule-versions",
                "publish-mappings",
                "audit",
                "manage-bodies",
                "manage-schemes",
                "manage-tokens",
            ],
        ),
    ],
)
def test_me_says_who_the_token_is_and_what_it_may_do(
    client: FlaskClient,
    world: LabelWorld,
    who: str,
    role: str,
    body: str | None,
    schemes: list[str],
    actions: list[str],
) -> None:
    secret = getattr(world, who)
    answer = me(client, secret)
    assert answer["id"] == authenticate(secret).token_id
    assert (answer["role"], answer["body"], answer["schemes"]) == (role, body, schemes)
    assert answer["actions"] == actions
    assert answer["prefix"] == secret[:8]
    assert "token" not in answer
    assert secret not in json.dumps(answer), "the secret must never be shown again"


@pytest.mark.parametrize("who", ["certifier", "regulator", "operator"])
def test_what_me_claims_is_what_the_registry_allows(
    client: FlaskClient, world: LabelWorld, who: str
) -> None:
    secret = getattr(world, who)
    actions = me(client, secret)["actions"]
    assert isinstance(actions, list)
    issued = client.post("/api/v1/labels", json=label_request(), headers=auth(secret))
    assert (issued.status_code == 201) == ("issue-labels" in actions), issued.get_json()
    label = issue(client, world.certifier)  # the certifier's body, under CN-GD
    suspended = change_status(client, secret, label["id"], "suspend")
    assert (suspended.status_code == 200) == any(a.startswith("suspend-") for a in actions)
    lifted = change_status(client, secret, label["id"], "reinstate")
    assert (lifted.status_code == 200) == any(a.startswith("lift-own-role") for a in actions)
    revoked = change_status(client, secret, label["id"], "revoke")
    assert (revoked.status_code == 200) == any(a.startswith("revoke-") for a in actions)


def test_me_needs_a_token(client: FlaskClient, world: LabelWorld) -> None:
    problem(client.get("/api/v1/me"), 401, "unauthenticated")
    problem(client.get("/api/v1/me", headers=auth("clr_" + "A" * 43)), 401, "unauthenticated")

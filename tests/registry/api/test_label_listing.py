"""Listing labels: each role sees what it oversees, pages follow issuance order, filters work."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from registry.auth.models import Role
from registry.auth.services import create_token
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import app, auth, change_status, issue, label_app, problem, world

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def _list(client: FlaskClient, secret: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/labels{query}", headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def _ids(page: dict[str, Any]) -> list[str]:
    return [label["id"] for label in page["labels"]]


def test_a_certifier_lists_only_its_own_bodys_labels(
    client: FlaskClient, world: LabelWorld
) -> None:
    mine = [issue(client, world.certifier)["id"] for _ in range(3)]
    theirs = [issue(client, world.other_certifier)["id"] for _ in range(2)]
    assert _ids(_list(client, world.certifier)) == mine
    assert _ids(_list(client, world.other_certifier)) == theirs


def test_a_regulator_lists_the_labels_of_its_schemes_only(
    client: FlaskClient, world: LabelWorld
) -> None:
    issued = [issue(client, world.certifier)["id"], issue(client, world.other_certifier)["id"]]
    assert _ids(_list(client, world.regulator)) == issued  # CN-GD
    _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    assert _ids(_list(client, hong_kong)) == []
    assert _ids(_list(client, world.operator)) == issued


def test_filters_by_status_scheme_and_gtin(client: FlaskClient, world: LabelWorld) -> None:
    first = issue(client, world.certifier)["id"]
    other = label_request()
    other["product"]["gtin"] = "09501101530003"
    second = issue(client, world.certifier, other)["id"]
    change_status(client, world.certifier, first, "suspend")
    assert _ids(_list(client, world.certifier, "?status=suspended")) == [first]
    assert _ids(_list(client, world.certifier, "?status=active")) == [second]
    assert _ids(_list(client, world.certifier, "?gtin=09501101530003")) == [second]
    assert _ids(_list(client, world.certifier, "?scheme=HK")) == []
    assert _ids(_list(client, world.certifier, "?scheme=CN-GD")) == [first, second]


def test_pages_cover_every_label_once_in_issuance_order(
    client: FlaskClient, world: LabelWorld
) -> None:
    issued = [issue(client, world.certifier)["id"] for _ in range(5)]
    seen: list[str] = []
    url: str | None = "/api/v1/labels?limit=2"
    while url is not None:
        response = client.get(url, headers=auth(world.certifier))
        assert response.status_code == 200
        page = response.get_json()
        assert all("credential" not in label for label in page["labels"])
        assert len(page["labels"]) <= 2
        seen += _ids(page)
        url = page["next"]
    assert seen == issued


def test_listing_needs_a_token_and_valid_parameters(client: FlaskClient, world: LabelWorld) -> None:
    problem(client.get("/api/v1/labels"), 401, "unauthenticated")
    for query in ("?limit=0", "?limit=201", "?status=lost", "?page=2", "?gtin=123", "?after=x"):
        response = client.get(f"/api/v1/labels{query}", headers=auth(world.operator))
        problem(response, 422, "validation-failed")

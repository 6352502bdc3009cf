"""CORS on every resolver answer and the resolver description, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.registry.factories import BASE_URL, LabelWorld
from tests.registry.resolver.support import gtin, issue_for

ORIGIN = {"Origin": "https://shop.example.org"}


def _cors(headers: object) -> None:
    assert headers["Access-Control-Allow-Origin"] == "*"  # type: ignore[index]
    exposed = headers["Access-Control-Expose-Headers"]  # type: ignore[index]
    assert "Link" in [name.strip() for name in exposed.split(",")]


def test_every_kind_of_answer_allows_any_origin_and_exposes_link(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450301")
    shared = gtin("0690123450302")
    issue_for(client, world.certifier, code)
    issue_for(client, world.certifier, shared)
    issue_for(client, world.other_certifier, shared)
    answers = {
        f"/01/{code}": 307,
        f"/01/{code}?linkType=linkset": 200,
        f"/01/{code}?linkType=gs1:pip": 404,
        f"/01/{shared}": 300,
        f"/01/{gtin('0690123459998')}": 404,
        "/01/06901234503010": 400,
        f"/01/{code}/99/x": 400,
        "/.well-known/gs1resolver": 200,
    }
    for path, status in answers.items():
        response = client.get(path, headers=ORIGIN)
        assert response.status_code == status, path
        _cors(response.headers)
        head = client.head(path, headers=ORIGIN)
        assert head.status_code == status, path
        assert head.get_data() == b""
        _cors(head.headers)


@pytest.mark.parametrize(
    "path", ["/01/06901234503012", "/01/0690/10/x", "/.well-known/gs1resolver"]
)
def test_options_answers_the_preflight(client: FlaskClient, path: str) -> None:
    response = client.options(
        path,
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept",
        },
    )
    assert response.status_code == 204
    _cors(response.headers)
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "HEAD",
        "OPTIONS",
    }
    assert "Accept" in response.headers["Access-Control-Allow-Headers"]
    assert response.get_data() == b""


def test_the_resolver_description_file(client: FlaskClient) -> None:
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "name": "Carbon-label registry",
        "resolverRoot": BASE_URL,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": "https://ref.gs1.org/voc/", "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
    }

"""Linksets on SQLite and PostgreSQL: content negotiation, link types, and GS1's schema."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft7Validator

from registry.pact.ids import footprint_path, label_id_of
from tests.conftest import load_vector
from tests.registry.factories import BASE_URL, LabelWorld, label_request
from tests.registry.labels.support import change_status, issue, problem
from tests.registry.resolver.support import gs1_validator, gtin, issue_for, linkset_validator

LINKSET = "application/linkset+json"
VOC = "https://ref.gs1.org/voc/"


def _errors(validator: Draft7Validator, document: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(document)]


# The examples published with the schemas, and how each schema judges them. The GS1 schema
# requires itemDescription and a title on every link, and allows link types as lower-case
# registered names or URIs; the plain one refuses the (non-RFC) itemDescription member.
@pytest.mark.parametrize(
    ("example", "gs1_valid", "plain_valid"),
    [
        ("valid-gs1-example.json", True, False),
        ("valid-basic-example.json", False, True),
        ("invalid-gs1-example.json", False, False),
        ("invalid-basic-example.json", False, False),
        ("resolver-testsuite-model-linkset.json", True, False),
    ],
)
def test_the_published_examples_behave_as_their_names_say(
    example: str, gs1_valid: bool, plain_valid: bool
) -> None:
    document = load_vector(f"gs1/{example}")
    assert (not _errors(gs1_validator(), document)) == gs1_valid
    assert (not _errors(linkset_validator(), document)) == plain_valid


def test_the_gs1_schema_names_what_is_wrong() -> None:
    document = load_vector("gs1/invalid-gs1-example.json")
    messages = _errors(gs1_validator(), document)
    assert any("'title' is a required property" in m for m in messages)
    assert any("titlekkkkk" in m for m in messages)


def _linkset(client: FlaskClient, path: str, **headers: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == LINKSET
    assert "Location" not in response.headers
    assert 'rel="linkset"' in response.headers["Link"]
    assert "json-ld#context" in response.headers["Link"]
    assert "Accept" in response.headers["Vary"]
    return response.get_json()


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("?linkType=linkset", None),
        ("?linkType=all", None),
        ("?linkType=linkset", "text/html"),  # the query decides over Accept
        ("", LINKSET),
        ("", f"text/html;q=0.5, {LINKSET}"),
        ("/10/LOT1", LINKSET),
        ("/21/SERIAL1?linkType=linkset", None),
    ],
)
def test_the_linkset_by_query_or_accept(
    client: FlaskClient, world: LabelWorld, query: str, accept: str | None
) -> None:
    code = gtin("0690123450101")
    label = issue_for(client, world.certifier, code)
    headers = {} if accept is None else {"Accept": accept}
    document = _linkset(client, f"/01/{code}{query}", **headers)
    assert not _errors(gs1_validator(), document)
    (context,) = document["linkset"]
    assert context["itemDescription"] == "LFP battery module 51.2 V 100 Ah"
    page = f"{BASE_URL}/l/{label['id']}"
    (default,) = context[VOC + "defaultLink"]  # exactly one default link
    assert default["href"] == page
    certification = context[VOC + "certificationInfo"]
    assert [(link["href"], link["type"]) for link in certification] == [
        (page, "text/html"),
        (f"{page}/credential.json", "application/vc+ld+json"),
    ]
    assert certification[0]["hreflang"] == ["en", "zh", "pt-MO"]
    sustainability = context[VOC + "sustainabilityInfo"]
    assert [link["href"] for link in sustainability] == [
        page,
        f"{BASE_URL}{footprint_path(label['id'])}",
    ]
    # The footprint id is the PACT host's own: it reads back as this label.
    assert label_id_of(sustainability[1]["href"].rsplit("/", 1)[1]) == label["id"]
    assert all(link["title"] for links in (certification, sustainability) for link in links)
    # The credential link serves the signed credential itself.
    credential = client.get(f"/l/{label['id']}/credential.json")
    assert credential.status_code == 200
    assert credential.get_json() == label["credential"]


def test_a_suspended_labels_linkset_names_no_pact_footprint(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450118")
    label = issue_for(client, world.certifier, code)
    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    document = _linkset(client, f"/01/{code}?linkType=linkset")
    assert not _errors(gs1_validator(), document)
    (context,) = document["linkset"]
    hrefs = [link["href"] for link in context[VOC + "sustainabilityInfo"]]
    assert hrefs == [f"{BASE_URL}/l/{label['id']}"]  # the PACT host does not serve it


def test_a_browser_or_a_scanner_is_redirected_not_given_the_linkset(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450102")
    issue_for(client, world.certifier, code)
    for accept in (
        "text/html,application/xhtml+xml,*/*;q=0.8",
        "*/*",
        f"{LINKSET};q=0.2,text/html",
    ):
        assert client.get(f"/01/{code}", headers={"Accept": accept}).status_code == 307


@pytest.mark.parametrize(
    ("link_type", "suffix"),
    [
        ("gs1:defaultLink", ""),
        ("gs1:certificationInfo", ""),
        ("gs1:sustainabilityInfo", ""),
        (VOC + "certificationInfo", ""),
        ("https://gs1.org/voc/certificationInfo", ""),
    ],
)
def test_a_link_type_redirects_to_its_first_link(
    client: FlaskClient, world: LabelWorld, link_type: str, suffix: str
) -> None:
    code = gtin("0690123450103")
    label = issue_for(client, world.certifier, code)
    response = client.get(f"/01/{code}", query_string={"linkType": link_type})
    assert response.status_code == 307
    assert response.headers["Location"] == f"{BASE_URL}/l/{label['id']}{suffix}"
    assert 'rel="linkset"' in response.headers["Link"]


@pytest.mark.parametrize(
    "link_type", ["gs1:pip", "gs1:recallStatus", "gs1:", "certificationInfo", "linksets"]
)
def test_an_unavailable_link_type_is_404(
    client: FlaskClient, world: LabelWorld, link_type: str
) -> None:
    code = gtin("0690123450104")
    issue_for(client, world.certifier, code)
    response = client.get(f"/01/{code}", query_string={"linkType": link_type})
    problem(response, 404, "not-found")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_every_linkset_validates_whatever_the_product_name(
    client: FlaskClient, world: LabelWorld
) -> None:
    validator = gs1_validator()
    names = ["电池模组 51.2 V", "Módulo de bateria «LFP»", 'A "quoted" <name> & more']
    for number, name in enumerate(names):
        code = gtin(f"069012345020{number}")
        request = label_request(name=name)
        request["product"]["gtin"] = code
        label = issue(client, world.certifier, request)
        for path in (f"/01/{code}", f"/01/{code}/10/A%2FB", f"/01/{code}/10/L/21/%21%25"):
            document = _linkset(client, path, Accept=LINKSET)
            assert not _errors(validator, document), _errors(validator, document)
            (context,) = document["linkset"]
            assert context["itemDescription"] == name
            assert context[VOC + "defaultLink"][0]["href"].endswith(f"/l/{label['id']}")

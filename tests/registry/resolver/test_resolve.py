"""GS1 Digital Link resolution on SQLite and PostgreSQL: ``/01/{GTIN}`` to the current label."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient

from registry.clock import FixedClock
from tests.registry.factories import BASE_URL, LabelWorld
from tests.registry.labels.support import change_status, problem
from tests.registry.resolver.support import gtin, issue_for

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
LINKSET = "application/linkset+json"


def _location(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 307, response.get_data(as_text=True)
    return response.headers["Location"]


def test_a_gtin_redirects_to_its_label_page_with_a_link_to_the_linkset(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450001")
    label = issue_for(client, world.certifier, code)
    response = client.get(f"/01/{code}")
    assert response.status_code == 307
    assert response.headers["Location"] == f"{BASE_URL}/l/{label['id']}"
    link = response.headers["Link"]
    assert f'<{BASE_URL}/01/{code}?linkType=linkset>; rel="linkset"' in link
    assert "owl:sameAs" not in link  # asked in the canonical form already
    # The redirect's target opens: the label page, in the reader's language.
    page = client.get(f"/l/{label['id']}", headers=HTML)
    assert page.status_code == 200
    assert label["id"] in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("8", "8"),
        ("8", "12"),
        ("8", "13"),
        ("8", "14"),
        ("12", "12"),
        ("12", "14"),
        ("13", "13"),
        ("13", "14"),
        ("14", "13"),
        ("14", "14"),
    ],
)
def test_gtin_8_12_13_and_14_are_one_gtin_normalised_to_14_digits(
    client: FlaskClient, world: LabelWorld, stored: str, asked: str
) -> None:
    payloads = {"8": "9638507", "12": "04210000526", "13": "690123450002"}
    short = gtin(payloads.get(stored, "0690123450003"))  # a GTIN-14 with a leading zero
    full = short.rjust(14, "0")
    label = issue_for(client, world.certifier, short)
    form = full[14 - int(asked) :]
    response = client.get(f"/01/{form}")
    assert response.status_code == 307
    assert response.headers["Location"] == f"{BASE_URL}/l/{label['id']}"
    # The canonical URI (GTIN-14) is named when the request used a shorter form.
    same = f'<{BASE_URL}/01/{full}>; rel="owl:sameAs"'
    assert (same in response.headers["Link"]) == (asked != "14")
    linkset = client.get(f"/01/{form}?linkType=linkset").get_json()
    assert linkset["linkset"][0]["anchor"] == f"{BASE_URL}/01/{full}"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/01/06901234500012", "check digit"),  # the right one is …0011
        ("/01/12345678", "check digit"),
        ("/01/6901234500015", "check digit"),
        ("/01/123456789", "not a GTIN"),
        ("/01/069012345000110", "not a GTIN"),
        ("/01/0690123450001X", "not a GTIN"),
        (
            "/01/\u0660\u0666\u0669\u0660\u0661\u0662\u0663\u0664\u0665\u0660\u0660\u0660\u0661\u0665",
            "not a GTIN",
        ),
        ("/01/06901234500011/22/1", "qualifier"),
        ("/01/06901234500011/21/S1/10/L1", "qualifier"),  # lot before serial, never after
        ("/01/06901234500011/10/", "lot"),
        ("/01/06901234500011/10", "qualifier"),
        ("/01/06901234500011/10/" + "L" * 21, "lot"),
        ("/01/06901234500011/21/%C3%A9", "serial"),  # é is not in set 82
        ("/01/06901234500011/21/a%20b", "serial"),  # nor is a space
    ],
)
def test_syntax_errors_are_400_problems_for_machines(
    client: FlaskClient, world: LabelWorld, path: str, why: str
) -> None:
    issue_for(client, world.certifier, gtin("0690123450001"))
    body = problem(client.get(path, headers={"Accept": "application/json"}), 400, "bad-request")
    assert why in body["detail"]
    # Even with no Accept header at all (a scanner, curl): problem details, not a page.
    assert client.get(path).mimetype == "application/problem+json"


def test_a_check_digit_error_is_a_readable_page_for_a_browser(
    client: FlaskClient, world: LabelWorld
) -> None:
    response = client.get(
        "/01/06901234500012", headers={**HTML, "Accept-Language": "zh-Hant-HK,zh;q=0.8"}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert 'lang="zh-Hant"' in text
    assert "GS1 數碼連結" in text  # the explanation, translated
    assert "8、12、13 或 14" in text
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_unknown_gtin_is_404(client: FlaskClient, world: LabelWorld) -> None:
    issue_for(client, world.certifier, gtin("0690123450001"))
    unknown = gtin("0690123459999")
    body = problem(client.get(f"/01/{unknown}"), 404, "not-found")
    assert unknown in body["detail"]
    page = client.get(f"/01/{unknown}", headers=HTML)
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert unknown in page.get_data(as_text=True)
    problem(client.get(f"/01/{unknown}?linkType=linkset"), 404, "not-found")


def test_revoked_and_superseded_labels_are_not_current(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450004")
    first = issue_for(client, world.certifier, code)
    second = issue_for(client, world.certifier, code, "58.0", supersedes=first["id"])
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{second['id']}"
    assert change_status(client, world.certifier, second["id"], "revoke").status_code == 200
    # The superseded first label does not come back when its successor is revoked.
    problem(client.get(f"/01/{code}"), 404, "not-found")


def test_a_suspended_label_still_resolves_but_an_active_one_is_preferred(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450005")
    mine = issue_for(client, world.certifier, code)
    assert change_status(client, world.certifier, mine["id"], "suspend").status_code == 200
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{mine['id']}"
    other = issue_for(client, world.other_certifier, code)
    # One active label against a suspended one: not a tie, the active one is the answer.
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{other['id']}"


def test_a_newer_label_of_the_same_body_wins(client: FlaskClient, world: LabelWorld) -> None:
    code = gtin("0690123450006")
    issue_for(client, world.certifier, code, "61.2")
    newer = issue_for(client, world.certifier, code, "55.0")
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{newer['id']}"
    linkset = client.get(f"/01/{code}", headers={"Accept": LINKSET}).get_json()
    (default,) = linkset["linkset"][0]["https://ref.gs1.org/voc/defaultLink"]
    assert default["href"] == f"{BASE_URL}/l/{newer['id']}"


def test_labels_of_different_bodies_are_300_multiple_choices(
    client: FlaskClient, world: LabelWorld
) -> None:
    code = gtin("0690123450007")
    mine_old = issue_for(client, world.certifier, code, "61.2")
    mine = issue_for(client, world.certifier, code, "59.0")
    theirs = issue_for(client, world.other_certifier, code, "70.1")
    for path in (f"/01/{code}", f"/01/{code}?linkType=linkset", f"/01/{code}/10/LOT1"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 300
        body = response.get_json()
        assert body["gtin"] == code
        # Each body's newest label, newest first; the older label of the same body is no choice.
        assert [c["label"] for c in body["choices"]] == [theirs["id"], mine["id"]]
        assert mine_old["id"] not in response.get_data(as_text=True)
        assert {c["href"] for c in body["choices"]} == {
            f"{BASE_URL}/l/{theirs['id']}",
            f"{BASE_URL}/l/{mine['id']}",
        }
        assert response.headers["Link"].count('rel="alternate"') == 2
        assert "Location" not in response.headers
    page = client.get(f"/01/{code}", headers=HTML)
    assert page.status_code == 300
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert f'href="{BASE_URL}/l/{theirs["id"]}"' in text
    assert f'href="{BASE_URL}/l/{mine["id"]}"' in text
    # Revoking one body's label leaves one choice: a redirect again.
    assert change_status(client, world.other_certifier, theirs["id"], "revoke").status_code == 200
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{mine['id']}"


@pytest.mark.parametrize(
    ("qualifiers", "anchor"),
    [
        ("/10/LOT-2025%2F07", "/10/LOT-2025%2F07"),
        ("/10/ABC123", "/10/ABC123"),
        ("/21/SN%2B0001", "/21/SN%2B0001"),
        ("/21/12345678901234567890", "/21/12345678901234567890"),
        ("/10/L7/21/S9", "/10/L7/21/S9"),
    ],
)
def test_lot_and_serial_qualifiers_resolve_to_the_products_label(
    client: FlaskClient, world: LabelWorld, qualifiers: str, anchor: str
) -> None:
    code = gtin("0690123450008")
    label = issue_for(client, world.certifier, code)
    assert _location(client, f"/01/{code}{qualifiers}") == f"{BASE_URL}/l/{label['id']}"
    linkset = client.get(f"/01/{code}{qualifiers}?linkType=linkset").get_json()
    assert linkset["linkset"][0]["anchor"] == f"{BASE_URL}/01/{code}{anchor}"
    # The GTIN-13 form with a qualifier is the same item.
    assert _location(client, f"/01/{code[1:]}{qualifiers}") == f"{BASE_URL}/l/{label['id']}"


def test_a_label_is_current_only_inside_its_validity_period(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    code = gtin("0690123450009")
    label = issue_for(client, world.certifier, code)
    until = datetime.fromisoformat(label["valid_until"].replace("Z", "+00:00"))
    clock.set(until - timedelta(seconds=1))
    assert _location(client, f"/01/{code}") == f"{BASE_URL}/l/{label['id']}"
    clock.set(until)  # validUntil is the first instant it no longer holds
    body = problem(client.get(f"/01/{code}"), 404, "not-found")
    assert code in body["detail"]

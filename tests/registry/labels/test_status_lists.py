"""The signed Bitstring Status Lists the credentials point at, as a verifier fetches them."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from credentials import (
    EDDSA_RDFC_2022,
    StatusEntry,
    StatusList,
    check_status,
    parse_status_entries,
    verify_document,
)
from tests.registry.factories import BASE_URL, LabelWorld
from tests.registry.labels.support import change_status, issue, problem


def entry(label: dict[str, Any], purpose: str) -> StatusEntry:
    (found,) = [e for e in parse_status_entries(label["credential"]) if e.purpose == purpose]
    return found


def fetch(client: FlaskClient, url: str, **headers: str) -> TestResponse:
    assert url.startswith(f"{BASE_URL}/status-lists/")
    return client.get(url.removeprefix(BASE_URL), headers=headers)


def served_bit(client: FlaskClient, label: dict[str, Any], purpose: str) -> bool:
    """The label's bit in the served list, checked the way a verifier checks it."""
    status = entry(label, purpose)
    response = fetch(client, status.list_url)
    assert response.status_code == 200
    list_credential = response.get_json()
    (proof,) = verify_document(list_credential)
    issuer = label["credential"]["issuer"]["id"]
    assert proof.cryptosuite == EDDSA_RDFC_2022
    assert proof.verification_method.split("#")[0] == issuer, "not signed by the label's issuer"
    return check_status(status, list_credential, expected_issuer=issuer)


def bits(client: FlaskClient, label: dict[str, Any]) -> tuple[bool, bool]:
    return served_bit(client, label, "revocation"), served_bit(client, label, "suspension")


def test_the_served_bits_follow_every_status_change(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    neighbour = issue(client, world.certifier)
    assert bits(client, label) == (False, False)
    steps = [
        ("suspend", (False, True)),
        ("reinstate", (False, False)),
        ("suspend", (False, True)),
        ("revoke", (True, False)),
    ]
    for action, expected in steps:
        assert change_status(client, world.certifier, label["id"], action).status_code == 200
        assert bits(client, label) == expected, action
        assert bits(client, neighbour) == (False, False), "another label's bit moved"


def test_the_operators_suspension_sets_the_bit_too(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.other_certifier)
    assert change_status(client, world.operator, label["id"], "suspend").status_code == 200
    assert bits(client, label) == (False, True)


def test_lists_are_served_with_caching_headers_and_revalidate(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    url = entry(label, "suspension").list_url
    first = fetch(client, url)
    etag = first.headers["ETag"]
    assert etag
    assert first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    assert first.headers["Last-Modified"]
    assert first.mimetype == "application/json"
    unchanged = fetch(client, url, **{"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.data == b""

    assert change_status(client, world.certifier, label["id"], "suspend").status_code == 200
    changed = fetch(client, url, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert fetch(client, url, **{"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_a_list_is_a_bitstring_status_list_credential_of_its_purpose(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    for purpose in ("revocation", "suspension"):
        url = entry(label, purpose).list_url
        served = fetch(client, url).get_json()
        assert served["id"] == url
        assert served["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert served["credentialSubject"]["statusPurpose"] == purpose
        assert served["issuer"]["id"] == label["credential"]["issuer"]["id"]
        assert StatusList.decode(served["credentialSubject"]["encodedList"]).size >= 131072
        assert served["validUntil"] > served["validFrom"]


def test_each_body_signs_its_own_lists(client: FlaskClient, world: LabelWorld) -> None:
    ours, theirs = issue(client, world.certifier), issue(client, world.other_certifier)
    for purpose in ("revocation", "suspension"):
        assert entry(ours, purpose).list_url != entry(theirs, purpose).list_url
    assert bits(client, theirs) == (False, False)  # signed by pearl's key, checked above


def test_indexes_are_distinct_and_not_in_issuance_order(
    client: FlaskClient, world: LabelWorld
) -> None:
    labels = [issue(client, world.certifier) for _ in range(16)]
    for purpose in ("revocation", "suspension"):
        entries = [entry(label, purpose) for label in labels]
        assert len({e.list_url for e in entries}) == 1
        indexes = [e.index for e in entries]
        assert len(set(indexes)) == len(indexes), "an index was handed out twice"
        # Sequential allocation would reveal issuance order; random draws over 131,072 slots
        # are neither sorted nor bunched (each check fails by chance with p < 1e-12).
        assert indexes != sorted(indexes)
        assert max(indexes) - min(indexes) > 10_000
    revocation = [entry(label, "revocation").index for label in labels]
    suspension = [entry(label, "suspension").index for label in labels]
    assert revocation != suspension, "the two lists' indexes are drawn independently"


@pytest.mark.parametrize("list_id", ["r-0000000000000000", "nope", "..%2Fetc"])
def test_an_unknown_list_is_not_found(client: FlaskClient, list_id: str) -> None:
    problem(client.get(f"/status-lists/{list_id}"), 404, "not-found")

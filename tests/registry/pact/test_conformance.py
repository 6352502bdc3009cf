"""PACT's v3 conformance test cases, as the conformance service describes them
(``docs/v3-test-cases-expected-results.md`` of wbcsd/pact-conformance-service), against the
registry as a host system. Each test is named by its TESTCASE number; every mandatory case is
here. #18 and #19 (OpenID Connect discovery) are optional ("Mandatory: None") and the registry
offers no OpenID Connect endpoint, so they are not walked.

Plain HTTP (#9, #10, #11, #17): the registry's public base URL is https, so a request that did
not arrive over TLS (and was not forwarded as https by a trusted proxy) gets a 400 without a
token or data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from registry.clock import FixedClock, utcnow
from registry.db import db, transaction
from registry.pact.ids import footprint_id
from registry.pact.mapping import company_urn
from registry.pact.models import PactEventResponse
from registry.pact.services import CURSOR_TTL, TOKEN_TTL, revoke_client
from tests.registry.pact.support import HTTPS, Pact, basic, validate

HTTP = HTTPS.replace("https://", "http://")
GTIN = "urn:gtin:06901234567892"


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"data"}
    assert isinstance(body["data"], list)
    for footprint in body["data"]:
        validate(footprint, "ProductFootprint")
    return {f["id"] for f in body["data"]}


def pf(label: dict[str, Any]) -> str:
    return footprint_id(label["id"])


def served(pact: Pact) -> set[str]:
    return {pf(pact.active), pf(pact.other), pf(pact.old), pf(pact.newer)}


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    body: dict[str, Any] = response.get_json(force=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/json"
    assert body["code"] == code, body
    assert body["message"], body
    validate(body, "Error")
    return body


# ---- authentication -----------------------------------------------------------------------


def test_testcase_1_obtain_auth_token_with_valid_credentials(pact: Pact) -> None:
    response = pact.token_for(pact.client_id, pact.secret)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == int(TOKEN_TTL.total_seconds())
    assert response.headers["Cache-Control"] == "no-store"
    assert pact.get("/3/footprints", token=body["access_token"]).status_code == 200


@pytest.mark.parametrize("which", ["wrong secret", "unknown client", "no credentials"])
def test_testcase_2_obtain_auth_token_with_invalid_credentials(pact: Pact, which: str) -> None:
    if which == "no credentials":
        response = pact.http.post(
            "/auth/token", data={"grant_type": "client_credentials"}, base_url=HTTPS
        )
    else:
        client_id = pact.client_id if which == "wrong secret" else "pact_000000000000"
        response = pact.token_for(client_id, pact.secret[:-1] + "x")
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] == "invalid_client"
    assert "access_token" not in response.get_json()


def test_token_endpoint_refuses_other_grants_and_bodies(pact: Pact) -> None:
    refused = pact.http.post(
        "/auth/token",
        data={"grant_type": "password"},
        headers=basic(pact.client_id, pact.secret),
        base_url=HTTPS,
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "unsupported_grant_type"
    as_json = pact.http.post(
        "/auth/token",
        json={"grant_type": "client_credentials"},
        headers=basic(pact.client_id, pact.secret),
        base_url=HTTPS,
    )
    assert as_json.status_code == 400
    assert as_json.get_json()["error"] == "invalid_request"


# ---- GetFootprint and ListFootprints ---------------------------------------------------------


def test_testcase_3_get_pcf_using_getfootprint(pact: Pact) -> None:
    response = pact.get(f"/3/footprints/{pf(pact.active)}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"data"}
    validate(body["data"], "ProductFootprint")
    assert body["data"]["id"] == pf(pact.active)
    assert body["data"]["status"] == "Active"


def test_testcase_4_get_all_pcfs_using_listfootprints(pact: Pact) -> None:
    response = pact.get("/3/footprints")
    assert "Link" not in response.headers  # all of them fit in one page
    assert ids(response) == served(pact)


def test_testcase_5_pagination_link_implementation(pact: Pact, clock: FixedClock) -> None:
    seen: list[str] = []
    first = pact.get("/3/footprints?limit=1")
    seen.extend(ids(first))
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    assert link.startswith("<")
    url = link[1 : link.index(">")]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", urlsplit(HTTPS).netloc)  # absolute, same host
    clock.advance(timedelta(seconds=180))  # valid at least 180 s, and repeatable
    again = [pact.get(parts.path + "?" + parts.query) for _ in range(2)]
    assert again[0].get_json() == again[1].get_json()
    assert again[0].headers["Link"] == again[1].headers["Link"]
    while True:
        page = pact.get(parts.path + "?" + parts.query)
        found = ids(page)
        assert len(found) <= 1
        seen.extend(found)
        if "Link" not in page.headers:
            break
        next_link = page.headers["Link"]
        parts = urlsplit(next_link[1 : next_link.index(">")])
    assert sorted(seen) == sorted(served(pact))  # every footprint once, none twice


def test_pagination_link_expires_and_is_bound_to_its_client(pact: Pact, clock: FixedClock) -> None:
    link = pact.get("/3/footprints?limit=2").headers["Link"]
    parts = urlsplit(link[1 : link.index(">")])
    target = parts.path + "?" + parts.query
    tampered = target[:-2] + ("AA" if not target.endswith("AA") else "BB")
    error(pact.get(tampered), 400, "BadRequest")
    error(pact.get(target + "&limit=5"), 400, "BadRequest")
    clock.advance(CURSOR_TTL + timedelta(seconds=1))
    token = pact.token_for(pact.client_id, pact.secret).get_json()["access_token"]
    error(pact.get(target, token=token), 400, "BadRequest")


def test_limit_is_respected_and_validated(pact: Pact) -> None:
    assert len(ids(pact.get("/3/footprints?limit=3"))) == 3
    error(pact.get("/3/footprints?limit=-1"), 400, "BadRequest")
    error(pact.get("/3/footprints?limit=ten"), 400, "BadRequest")
    error(pact.get("/3/footprints?colour=red"), 400, "BadRequest")
    assert ids(pact.get("/3/footprints?x-registry-anything=1")) == served(pact)


@pytest.mark.parametrize("path", ["/3/footprints", "/3/footprints/{id}"])
def test_testcase_6_and_7_invalid_token(pact: Pact, path: str) -> None:
    target = path.format(id=pf(pact.active))
    error(pact.get(target, token="very-invalid-access-token-0123456789"), 400, "BadRequest")
    forged = pact.token[:-3] + ("abc" if not pact.token.endswith("abc") else "xyz")
    error(pact.get(target, token=forged), 400, "BadRequest")
    missing = pact.http.get(target, base_url=HTTPS)
    error(missing, 400, "BadRequest")


def test_expired_token_is_token_expired(pact: Pact, clock: FixedClock) -> None:
    clock.advance(TOKEN_TTL)
    body = error(pact.get("/3/footprints"), 401, "TokenExpired")
    assert "expired" in body["message"]


def test_a_revoked_client_loses_its_tokens(pact: Pact) -> None:
    with transaction():
        revoke_client(pact.client_id)
    error(pact.get("/3/footprints"), 400, "BadRequest")
    assert pact.token_for(pact.client_id, pact.secret).status_code == 401


@pytest.mark.parametrize("kind", ["not a uuid", "random uuid", "revoked", "suspended"])
def test_testcase_8_get_footprint_with_non_existent_pfid(pact: Pact, kind: str) -> None:
    pf_id = {
        "not a uuid": "random-string-as-id-0123456789abcdef",
        "random uuid": "b1f8c0d2-7c4e-4e67-9a9c-2e4c12345678",
        "revoked": pf(pact.revoked),
        "suspended": pf(pact.suspended),
    }[kind]
    error(pact.get(f"/3/footprints/{pf_id}"), 404, "NotFound")


def test_testcase_9_authentication_through_http(pact: Pact) -> None:
    response = pact.token_for(pact.client_id, pact.secret, base_url=HTTP)
    assert response.status_code == 400
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize("path", ["/3/footprints", "/3/footprints/{id}"])
def test_testcase_10_and_11_footprints_through_http(pact: Pact, path: str) -> None:
    target = path.format(id=pf(pact.active))
    body = error(pact.get(target, base_url=HTTP), 400, "BadRequest")
    assert "data" not in body
    # A forwarded-proto header from a peer that is not a trusted proxy counts for nothing.
    spoofed = pact.get(target, base_url=HTTP, headers={"X-Forwarded-Proto": "https"})
    assert "data" not in error(spoofed, 400, "BadRequest")


# ---- events -----------------------------------------------------------------------------------


def event(kind: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": f"org.wbcsd.pact.ProductFootprint.{kind}.3",
        "specversion": "1.0",
        "id": extra.pop("id", "test-run-id-12345"),
        "source": "https://webhook.example.com",
        "time": "2026-05-19T10:30:00Z",
        "data": data,
        **extra,
    }


def answers(pact: Pact) -> list[dict[str, Any]]:
    rows = db.session.execute(select(PactEventResponse).order_by(PactEventResponse.id)).scalars()
    return [row.event for row in rows]


def test_testcase_12_receive_asynchronous_pcf_request(pact: Pact) -> None:
    request = event("RequestCreatedEvent", {"productId": [GTIN], "comment": "For this year."})
    response = pact.post_event(request)
    assert response.status_code == 200
    assert response.data == b""
    assert pact.post_event(request).status_code == 200  # the same event again: answered once
    unmatched = event("RequestCreatedEvent", {"productId": ["urn:bogus:x"]}, id="second")
    assert pact.post_event(unmatched).status_code == 200
    fulfilled, rejected = answers(pact)
    validate(fulfilled, "RequestFulfilledEvent")
    assert fulfilled["type"].endswith("RequestFulfilledEvent.3")
    assert fulfilled["data"]["requestEventId"] == "test-run-id-12345"
    assert {f["id"] for f in fulfilled["data"]["pfs"]} == {
        pf(pact.active),
        pf(pact.old),
        pf(pact.newer),
    }
    for footprint in fulfilled["data"]["pfs"]:
        validate(footprint, "ProductFootprint")
    validate(rejected, "RequestRejectedEvent")
    assert rejected["data"] == {
        "requestEventId": "second",
        "error": {"code": "NotFound", "message": "No footprint matches the request."},
    }


def test_testcase_13_respond_to_pcf_request_fulfilled_event(pact: Pact) -> None:
    footprint = pact.get(f"/3/footprints/{pf(pact.active)}").get_json()["data"]
    data = {"requestEventId": "test-run-id-12345", "pfs": [footprint]}
    assert pact.post_event(event("RequestFulfilledEvent", data)).status_code == 200
    error(pact.post_event(event("RequestFulfilledEvent", {"pfs": []})), 400, "BadRequest")


def test_testcase_14_respond_to_pcf_request_rejected_event(pact: Pact) -> None:
    data = {
        "requestEventId": "test-run-id-12345",
        "error": {"code": "NotFound", "message": "The requested footprint could not be found."},
    }
    assert pact.post_event(event("RequestRejectedEvent", data)).status_code == 200
    error(pact.post_event(event("RequestRejectedEvent", {"error": {}})), 400, "BadRequest")


def test_testcase_15_receive_notification_of_pcf_update(pact: Pact) -> None:
    published = event("PublishedEvent", {"pfIds": [pf(pact.active)]})
    response = pact.post_event(published)
    assert response.status_code == 200
    assert response.data == b""
    assert answers(pact) == []  # nothing owed for a notification


def test_testcase_16_action_events_with_invalid_token(pact: Pact) -> None:
    published = event("PublishedEvent", {"pfIds": [pf(pact.active)]})
    error(pact.post_event(published, token="invalid-access-token"), 400, "BadRequest")


def test_testcase_17_action_events_through_http(pact: Pact) -> None:
    request = event("RequestCreatedEvent", {"productId": [GTIN]})
    error(pact.post_event(request, base_url=HTTP), 400, "BadRequest")
    assert answers(pact) == []


@pytest.mark.parametrize(
    "malformed",
    [
        event("PublishedEvent", {"pfIds": "not-a-list"}),
        event("PublishedEvent", {"pfIds": ["not-a-uuid"]}),
        event("PublishedEvent", {}),
        {k: v for k, v in event("PublishedEvent", {"pfIds": []}).items() if k != "source"},
        event("PublishedEvent", {"pfIds": []}, specversion="0.3"),
        event("PublishedEvent", {"pfIds": []}, time="yesterday"),
        event("RequestCreatedEvent", {"validOn": "not a date"}),
        ["not", "an", "object"],
        '{"type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3", "type": "x"}',
        "{not json",
    ],
)
def test_testcase_40_failed_published_event_malformed_request(pact: Pact, malformed: Any) -> None:
    error(pact.post_event(malformed), 400, "BadRequest")
    assert answers(pact) == []


def test_events_need_structured_mode_and_a_known_type(pact: Pact) -> None:
    published = event("PublishedEvent", {"pfIds": [pf(pact.active)]})
    error(pact.post_event(published, content_type="application/json"), 400, "BadRequest")
    unknown = event("SomethingElseEvent", {})
    error(pact.post_event(unknown), 400, "NotImplemented")


# ---- filters (#20-#29 matching, #30-#39 not matching) ----------------------------------------


def test_testcase_20_filter_by_product_id(pact: Pact) -> None:
    assert ids(pact.get("/3/footprints", query_string={"productId": GTIN.upper()})) == {
        pf(pact.active),
        pf(pact.old),
        pf(pact.newer),
    }
    other_urn = "urn:epc:id:sgtin:4012345.000001.*"
    assert ids(pact.get("/3/footprints", query_string={"productId": other_urn})) == {pf(pact.other)}
    own = f"urn:pact:registry.example.test:carbon-label:{pact.active['id'].lower()}"
    assert ids(pact.get("/3/footprints", query_string={"productId": own})) == {pf(pact.active)}


def test_testcase_21_filter_by_company_id(pact: Pact) -> None:
    urn = company_urn(HTTPS, pact.other["product"]["manufacturer"])
    assert ids(pact.get("/3/footprints", query_string={"companyId": urn.upper()})) == {
        pf(pact.other)
    }


@pytest.mark.parametrize("value", ["CN-GD", "cn-gd", "CN"])
def test_testcase_22_filter_by_geography(pact: Pact, value: str) -> None:
    assert ids(pact.get("/3/footprints", query_string={"geography": value})) == served(pact)


def test_testcase_23_filter_by_classification(pact: Pact) -> None:
    urn = "urn:pact:productclassification:carbon-label:Battery"
    assert ids(pact.get("/3/footprints", query_string={"classification": urn})) == served(pact)


def _at(delta: timedelta) -> str:
    return (utcnow() + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_testcase_24_filter_by_valid_on(pact: Pact) -> None:
    assert ids(
        pact.get("/3/footprints", query_string={"validOn": _at(timedelta(days=1))})
    ) == served(pact)


def test_testcase_25_filter_by_valid_after(pact: Pact) -> None:
    assert ids(
        pact.get("/3/footprints", query_string={"validAfter": _at(-timedelta(days=1))})
    ) == served(pact)


def test_testcase_26_filter_by_valid_before(pact: Pact) -> None:
    assert ids(
        pact.get("/3/footprints", query_string={"validBefore": "2100-01-01T00:00:00Z"})
    ) == served(pact)


def test_testcase_27_filter_by_status(pact: Pact) -> None:
    active = {pf(pact.active), pf(pact.other), pf(pact.newer)}
    assert ids(pact.get("/3/footprints?status=Active")) == active
    assert ids(pact.get("/3/footprints?status=deprecated")) == {pf(pact.old)}


def test_testcase_28_filter_by_status_and_product_id(pact: Pact) -> None:
    query = {"status": "Active", "productId": GTIN}
    assert ids(pact.get("/3/footprints", query_string=query)) == {pf(pact.active), pf(pact.newer)}


def test_testcase_29_filter_with_or_logic(pact: Pact) -> None:
    urn = company_urn(HTTPS, pact.other["product"]["manufacturer"])
    query = [("companyId", urn), ("companyId", "urn:uuid:other"), ("companyId", "urn:x:y")]
    assert ids(pact.get("/3/footprints", query_string=query)) == {pf(pact.other)}


@pytest.mark.parametrize(
    ("case", "query"),
    [
        (30, [("productId", "urn:bogus:product:nonexistent123")]),
        (31, [("companyId", "urn:bogus:company:nonexistent456")]),
        (32, [("geography", "XX")]),
        (33, [("classification", "urn:bogus:classification:nonexistent789")]),
        (34, [("validOn", "1900-01-01T00:00:00Z")]),
        (35, [("validAfter", "2099-12-31T23:59:59Z")]),
        (36, [("validBefore", "1900-01-01T00:00:00Z")]),
        (37, [("status", "BogusStatusValue")]),
        (38, [("companyId", "urn:bogus:company:5FIi8zS3"), ("productId", "urn:bogus:p:1")]),
        (
            39,
            [
                ("companyId", "urn:bogus:company:nonexistent1"),
                ("companyId", "urn:bogus:company:nonexistent2"),
                ("companyId", "urn:bogus:company:nonexistent3"),
            ],
        ),
    ],
    ids=lambda v: f"TESTCASE#{v}" if isinstance(v, int) else "",
)
def test_testcases_30_to_39_filters_not_matching(
    pact: Pact, case: int, query: list[tuple[str, str]]
) -> None:
    response = pact.get("/3/footprints", query_string=query)
    assert response.status_code == 200
    assert response.get_json() == {"data": []}


def test_filters_and_with_each_other(pact: Pact) -> None:
    # productId of one label AND the company of another: nothing.
    urn = company_urn(HTTPS, pact.other["product"]["manufacturer"])
    query = {"productId": GTIN, "companyId": urn}
    assert ids(pact.get("/3/footprints", query_string=query)) == set()


def test_malformed_dates_are_bad_requests(pact: Pact) -> None:
    error(pact.get("/3/footprints?validOn=tomorrow"), 400, "BadRequest")
    error(pact.get("/3/footprints?validOn=2026-01-01T00:00:00"), 400, "BadRequest")  # no zone


def test_the_registry_openapi_document_points_to_pact(pact: Pact) -> None:
    document = pact.http.get("/api/v1/openapi.json").get_json()
    pointer = document["x-pact"]
    assert pointer["paths"] == ["/auth/token", "/3/footprints", "/3/footprints/{id}", "/3/events"]
    schema = pact.http.get(urlsplit(pointer["extensionSchema"]).path)
    assert schema.status_code == 200
    assert schema.mimetype == "application/schema+json"
    footprint = pact.get(f"/3/footprints/{pf(pact.active)}").get_json()["data"]
    assert footprint["extensions"][0]["dataSchema"] == pointer["extensionSchema"]
    assert not any(p.startswith(("/3/", "/auth/")) for p in document["paths"])


def test_filters_are_bounded(pact: Pact) -> None:
    many = [("productId", f"urn:x:{i}") for i in range(21)]
    error(pact.get("/3/footprints", query_string=many), 400, "BadRequest")
    error(
        pact.get("/3/footprints", query_string={"productId": "urn:" + "x" * 600}), 400, "BadRequest"
    )
    error(
        pact.get("/3/footprints", query_string=[("validOn", "2026-01-01T00:00:00Z")] * 2),
        400,
        "BadRequest",
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/3/footprints", 405),
        ("get", "/3/events", 405),
        ("get", "/auth/token", 405),
        ("get", "/3/footprints/", 404),
        ("get", "/3/elsewhere", 404),
    ],
)
def test_wrong_methods_and_paths_answer_in_pact_terms(
    pact: Pact, method: str, path: str, status: int
) -> None:
    response = getattr(pact.http, method)(path, base_url=HTTPS)
    assert response.status_code == status
    assert response.get_json()["code"] in ("BadRequest", "NotFound")
    if status == 405:
        assert response.headers["Allow"]
    # The registry's own paths keep their problem details and pages.
    assert pact.http.get("/api/v1/nowhere").mimetype == "application/problem+json"
    assert pact.http.get("/nowhere").mimetype == "text/html"

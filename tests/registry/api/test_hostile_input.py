"""Hostile input at the registry's doors, on SQLite and PostgreSQL.

Both issuance doors (``/api/v1/labels`` and the VC-API ``/credentials/issue``), and both status
doors, get the same hostile headers and bodies and must give the same answer (status and problem
``type``) and, when they refuse, write nothing. Names the artwork could not draw end in a 422 at
issuance or in a label whose artwork answers 200; ids and numbers parsed from text are bounded
ASCII integers, a 404 or a 422 and never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.registry.factories import (
    BASE_URL,
    PROBLEM_BASE,
    LabelWorld,
    label_request,
    vc_issue_request,
)
from tests.registry.labels.support import (
    app,
    auth,
    entries_since,
    issue,
    label_app,
    ledger_size,
    snapshot,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module

Body = Callable[[str], Any]  # door -> JSON value


def _native_product(door: str) -> dict[str, Any]:
    return label_request() if door == "native" else vc_issue_request()


def _product(body: dict[str, Any], door: str) -> dict[str, Any]:
    if door == "native":
        product: dict[str, Any] = body["product"]
    else:
        product = body["credential"]["credentialSubject"]["product"]
    return product


def with_product(field_name: str, value: Any) -> Body:
    def build(door: str) -> Any:
        body = _native_product(door)
        _product(body, door)[field_name] = value
        return body

    return build


def with_top(native: dict[str, Any], vc: dict[str, Any]) -> Body:
    """A member at the top of the native request, or in the VC-API credential."""

    def build(door: str) -> Any:
        if door == "native":
            return label_request(**native)
        return vc_issue_request(**vc)

    return build


def plain(door: str) -> Any:
    return _native_product(door)


@dataclass(frozen=True)
class Attempt:
    body: Body = plain
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # Rewrites the JSON text (for what json.dumps cannot say: duplicate keys, oversize).
    text: Callable[[str], str] | None = None


def _duplicate_first_key(text: str) -> str:
    value = json.loads(text)
    first = next(iter(value))
    return text[:-1] + f", {json.dumps(first)}: {json.dumps(value[first])}}}"


def _oversized(text: str) -> str:
    return text[:-1] + ', "padding": "' + "x" * (1024 * 1024) + '"}'


def _over_the_parser_limit(text: str) -> str:
    """Under the 1 MiB request limit, over the JSON parser's 1,000,000 bytes."""
    return text[:-1] + ', "padding": "' + "x" * 1_010_000 + '"}'


ISSUE_PATHS = {"native": "/api/v1/labels", "vc": "/credentials/issue"}

REFUSED_ISSUANCE: dict[str, tuple[Attempt, int, str]] = {
    "key-over-255": (Attempt(headers={"Idempotency-Key": "k" * 256}), 422, "validation-failed"),
    "key-300-characters": (
        Attempt(headers={"Idempotency-Key": "k" * 300}),
        422,
        "validation-failed",
    ),
    "key-empty": (Attempt(headers={"Idempotency-Key": ""}), 422, "validation-failed"),
    "key-non-ascii": (
        Attempt(headers={"Idempotency-Key": "clé-\u00fc"}),
        422,
        "validation-failed",
    ),
    "key-control-character": (
        Attempt(headers={"Idempotency-Key": "order\x1b[2J4711"}),
        422,
        "validation-failed",
    ),
    "key-nul": (Attempt(headers={"Idempotency-Key": "order\x004711"}), 422, "validation-failed"),
    "duplicate-json-keys": (Attempt(text=_duplicate_first_key), 400, "bad-request"),
    "text-plain": (Attempt(content_type="text/plain"), 415, "unsupported-media-type"),
    "form-encoded": (
        Attempt(content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported-media-type",
    ),
    "oversized-body": (Attempt(text=_oversized), 413, "payload-too-large"),
    "body-over-the-parser-limit": (
        Attempt(text=_over_the_parser_limit),
        413,
        "payload-too-large",
    ),
    "json-array": (Attempt(body=lambda door: []), 422, "validation-failed"),
    "server-owned-id": (
        Attempt(body=with_top({"id": "7K3M9QH2XD"}, {"id": f"{BASE_URL}/l/7K3M9QH2XD"})),
        422,
        "validation-failed",
    ),
    "server-owned-status": (
        Attempt(body=with_top({"status": "active"}, {"credentialStatus": []})),
        422,
        "validation-failed",
    ),
    "wrong-asserted-grade": (
        Attempt(body=lambda door: _with_grade(door, "A")),
        422,
        "grade-mismatch",
    ),
    "unknown-rule": (Attempt(body=lambda door: _unknown_rule(door)), 404, "not-found"),
    "ansi-escape-in-name": (
        Attempt(body=with_product("name", "\x1b[31mRed\x1b[0m module")),
        422,
        "validation-failed",
    ),
    "nul-in-model": (Attempt(body=with_product("model", "PRE\x00LFP")), 422, "validation-failed"),
    "rtl-override-in-manufacturer": (
        Attempt(body=with_product("name", "Solar \u202ekrow")),
        422,
        "validation-failed",
    ),
    "huge-name": (Attempt(body=with_product("name", "x" * 900_000)), 422, "validation-failed"),
}


def _unknown_rule(door: str) -> Any:
    if door == "native":
        return label_request(rule=("CN-GD", "NO-SUCH-RULE", "9.9"))
    body = vc_issue_request()
    body["credential"]["credentialSubject"]["rule"]["ruleId"] = "NO-SUCH-RULE"
    return body


def _with_grade(door: str, grade: str) -> Any:
    body = _native_product(door)
    if door == "native":
        body["grade"] = grade
    else:
        body["credential"]["credentialSubject"]["grade"] = grade
    return body


def send(client: FlaskClient, path: str, attempt: Attempt, door: str, secret: str) -> TestResponse:
    text = json.dumps(attempt.body(door))
    if attempt.text is not None:
        text = attempt.text(text)
    return client.post(
        path,
        data=text,
        content_type=attempt.content_type,
        headers=auth(secret) | attempt.headers,
    )


def answer(response: TestResponse) -> tuple[int, str | None]:
    if response.mimetype != "application/problem+json":
        return response.status_code, None
    return response.status_code, response.get_json()["type"].removeprefix(PROBLEM_BASE)


@pytest.mark.parametrize("case", sorted(REFUSED_ISSUANCE))
def test_both_issuance_doors_refuse_hostile_input_alike_and_write_nothing(
    client: FlaskClient, world: LabelWorld, case: str
) -> None:
    attempt, status, slug = REFUSED_ISSUANCE[case]
    before = snapshot()
    answers = {
        door: answer(send(client, path, attempt, door, world.certifier))
        for door, path in ISSUE_PATHS.items()
    }
    assert answers == {"native": (status, slug), "vc": (status, slug)}
    assert snapshot() == before
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ISSUE_PATHS.values():
        assert str(status) in paths[path]["post"]["responses"], path  # and it is documented


def test_html_in_a_name_is_text_at_both_doors_and_drawn_escaped(
    client: FlaskClient, world: LabelWorld
) -> None:
    attempt = Attempt(body=with_product("name", "<script>alert(1)</script> & co"))
    for door, path in ISSUE_PATHS.items():
        response = send(client, path, attempt, door, world.certifier)
        assert response.status_code == 201, response.get_json()
    label = issue(client, world.certifier, with_product("name", "<b>bold</b>")("native"))
    svg = client.get(f"/api/v1/labels/{label['id']}/label.svg")
    assert svg.status_code == 200
    assert "<b>" not in svg.get_data(as_text=True)


def test_an_idempotency_key_replays_across_doors(client: FlaskClient, world: LabelWorld) -> None:
    """The same label asked for at either door is the same request: one label, one entry."""
    vc = vc_issue_request()
    subject = vc["credential"]["credentialSubject"]
    native = label_request()
    native["product"] = {
        "name": subject["product"]["name"],
        "manufacturer": subject["product"]["manufacturer"]["name"],
    }
    native["footprint"]["reference_period"]["end"] = "2025-06-30"
    headers = auth(world.certifier) | {"Idempotency-Key": "cross-door-4711"}
    start = ledger_size()
    first = client.post("/api/v1/labels", json=native, headers=headers)
    retry = client.post("/credentials/issue", json=vc, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    label_id = first.get_json()["id"]
    assert retry.get_json()["verifiableCredential"] == first.get_json()["credential"]
    assert [e["label"] for e in entries_since(start)] == [label_id]


# --- the status doors ------------------------------------------------------------------------


def _status(
    client: FlaskClient, secret: str, door: str, label_id: str, change: dict[str, Any]
) -> TestResponse:
    if door == "native":
        body: dict[str, Any] = {"action": "suspend", "reason": "Audit", **change}
        return client.post(f"/api/v1/labels/{label_id}/status", json=body, headers=auth(secret))
    body = {
        "credentialId": f"{BASE_URL}/l/{label_id}",
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
        "status": True,
        "reason": "Audit",
        **change,
    }
    return client.post("/credentials/status", json=body, headers=auth(secret))


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "x" * 900_168},
        {"reason": "x" * 501},
        {"reason": ""},
        {"reason": "Audit\x00"},
        {"reason": "\x1b]0;pwned\x07"},
        {"reason": "Fraud \u202egnidnif"},
        {"reason": 42},
        {"by": "operator"},
    ],
    ids=[
        "900168-byte-reason",
        "501-character-reason",
        "empty-reason",
        "nul-in-reason",
        "ansi-escape-in-reason",
        "rtl-override-in-reason",
        "numeric-reason",
        "server-owned-by",
    ],
)
def test_both_status_doors_refuse_hostile_reasons_alike_and_write_nothing(
    client: FlaskClient, world: LabelWorld, change: dict[str, Any]
) -> None:
    label = issue(client, world.certifier)
    before = snapshot()
    answers = {
        door: answer(_status(client, world.certifier, door, label["id"], change))
        for door in ("native", "vc")
    }
    assert answers == {
        "native": (422, "validation-failed"),
        "vc": (422, "validation-failed"),
    }
    assert snapshot() == before


def test_a_multi_line_reason_is_accepted_at_both_status_doors(
    client: FlaskClient, world: LabelWorld
) -> None:
    for door in ("native", "vc"):
        label = issue(client, world.certifier)
        change = {"reason": "Sample 17 failed.\nRetest ordered."}
        response = _status(client, world.certifier, door, label["id"], change)
        assert response.status_code == 200, response.get_json()
        shown = client.get(f"/api/v1/labels/{label['id']}").get_json()
        assert shown["status_reason"] == "Sample 17 failed.\nRetest ordered."


# --- names the artwork must be able to draw --------------------------------------------------

NAME_ATTACKS: dict[str, tuple[str, str, int]] = {
    "rtl-override": ("name", "Battery \u202e3.2V", 422),
    "nul": ("name", "Battery\x00module", 422),
    "nul-in-model": ("model", "PRE-LFP\x005120", 422),
    "ansi-escape": ("name", "\x1b[1;31mBattery", 422),
    "newline": ("name", "Battery\nmodule", 422),
    "u-ffff": ("name", "Battery \uffff", 422),
    "400-combining-marks": ("name", "B" + "\u0301" * 400, 422),
    "500-astral-emoji": ("name", "\U0001f50b" * 500, 201),
    "201-characters": ("name", "B" * 201, 201),
    "decomposed-accents": ("name", "Bate\u0301ria", 201),
}


@pytest.mark.parametrize("door", sorted(ISSUE_PATHS))
@pytest.mark.parametrize("case", sorted(NAME_ATTACKS))
def test_a_name_is_refused_at_issuance_or_its_label_artwork_answers_200(
    client: FlaskClient, world: LabelWorld, case: str, door: str
) -> None:
    field_name, value, expected = NAME_ATTACKS[case]
    before = snapshot()
    response = send(
        client,
        ISSUE_PATHS[door],
        Attempt(body=with_product(field_name, value)),
        door,
        world.certifier,
    )
    assert response.status_code == expected, response.get_json()
    if expected == 422:
        errors = response.get_json()["errors"]
        if door == "vc":
            errors = errors["credential"]["credentialSubject"]
        assert field_name in errors["product"]  # the 422 names the field
        assert snapshot() == before
        return
    if door == "native":
        label_id = response.get_json()["id"]
    else:
        label_id = response.get_json()["verifiableCredential"]["credentialSubject"]["labelId"]
    shown = client.get(f"/api/v1/labels/{label_id}").get_json()
    assert shown["product"]["name"] == value.replace("e\u0301", "\u00e9")  # stored in NFC
    for artwork in ("label.svg", "qr.svg", "qr.png", "label.svg?lang=zh-Hant"):
        assert client.get(f"/api/v1/labels/{label_id}/{artwork}").status_code == 200, artwork


# --- numbers parsed from text ------------------------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("GET", f"/api/v1/accreditations/{HUGE}", None),
        ("POST", f"/api/v1/accreditations/{HUGE}/status", "operator"),
        ("GET", f"/api/v1/tokens/{HUGE}", "operator"),
        ("POST", f"/api/v1/tokens/{HUGE}/revoke", "operator"),
        ("GET", "/api/v1/tokens/2147483648", "operator"),
        ("GET", "/api/v1/tokens/\u0663", "operator"),  # ARABIC-INDIC DIGIT THREE
        ("GET", "/api/v1/accreditations/-1", None),
    ],
)
def test_an_id_beyond_the_column_or_not_ascii_digits_is_not_found(
    client: FlaskClient, world: LabelWorld, method: str, path: str, role: str | None
) -> None:
    secret = None if role is None else getattr(world, role)
    response = client.open(path, method=method, json={}, headers=auth(secret))
    assert answer(response) == (404, "not-found")


def test_the_largest_row_id_is_a_plain_not_found(client: FlaskClient, world: LabelWorld) -> None:
    response = client.get("/api/v1/tokens/2147483647", headers=auth(world.operator))
    assert answer(response) == (404, "not-found")


@pytest.mark.parametrize(
    "query",
    [
        f"/api/v1/labels?after={HUGE}",
        "/api/v1/labels?after=\u00b2",
        "/api/v1/labels?limit=\u0665",
        "/api/v1/labels?after=1_0",
        "/api/v1/labels?after=%201",
        "/api/v1/labels?scheme=CN%00GD",
        f"/ledger/entries?start=0&end={HUGE}",
        "/ledger/entries?start=\u00b2&end=3",
        "/ledger/proof/inclusion?index=0&size=\u0661",
        f"/ledger/proof/consistency?first=1&second={HUGE}",
    ],
)
def test_a_number_that_is_not_bounded_ascii_digits_is_a_422(
    client: FlaskClient, world: LabelWorld, query: str
) -> None:
    response = client.get(query, headers=auth(world.operator))
    assert answer(response) == (422, "validation-failed")


@pytest.mark.parametrize("scale", ["\u00b2", "\u0663", "3.0", "-8", "99999999999999999999", "33"])
def test_a_qr_scale_that_is_not_2_to_32_in_ascii_digits_is_a_422(
    client: FlaskClient, world: LabelWorld, scale: str
) -> None:
    label = issue(client, world.certifier)
    response = client.get(f"/api/v1/labels/{label['id']}/qr.png", query_string={"scale": scale})
    assert answer(response) == (422, "validation-failed")


def test_no_entry_names_a_person_or_a_token(client: FlaskClient, world: LabelWorld) -> None:
    """The register is public: who acted is a role and a registry id, never a token's name."""
    created = client.post(
        "/api/v1/tokens",
        json={"role": "certifier", "name": "Jane Doe, quality lead", "body": "lingnan"},
        headers=auth(world.operator),
    ).get_json()
    start = ledger_size()
    label = issue(client, created["token"])
    _status(client, created["token"], "native", label["id"], {"reason": "Sample failed"})
    text = json.dumps(entries_since(start))
    assert len(entries_since(start)) == 2
    for secret in ("Jane", "quality lead", created["token"], created["prefix"]):
        assert secret not in text

"""The label request schemas and the VC-API translation, without a database.

Server-owned fields are refused rather than ignored; footprints are decimal strings only.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from registry.api.idempotency import request_hash
from registry.labels.issuance import LabelRequest
from registry.labels.schemas import label_request_schema, status_change_schema
from registry.labels.services import StatusAction
from registry.labels.vc_api import vc_issue_request_schema, vc_status_request_schema
from tests.registry.factories import label_request, vc_issue_request


def load(data: dict[str, Any]) -> LabelRequest:
    loaded: LabelRequest = label_request_schema.load(data)  # type: ignore[assignment]
    return loaded


def errors_of(data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        label_request_schema.load(data)
    messages: dict[str, Any] = caught.value.messages  # type: ignore[assignment]
    return messages


def test_a_request_loads_into_decimals_and_dates() -> None:
    request = load(label_request("61.200", amount="0.5", grade="B"))
    assert request.footprint == Decimal("61.200")
    assert request.declared_unit_amount == Decimal("0.5")
    assert (request.scheme, request.rule, request.rule_version) == ("CN-GD", "PCR-LIB", "1.0")
    assert request.asserted_grade == "B"
    assert request.period_start.isoformat() == "2025-01-01"
    assert request.product.identifiers == ("urn:epc:idpat:sgtin:6901234.056789.*",)


def test_the_declared_amount_defaults_to_one() -> None:
    assert load(label_request()).declared_unit_amount == Decimal(1)


@pytest.mark.parametrize(
    "field",
    ["id", "url", "grade_computed", "status", "credential", "issuer", "proof", "ledger_index"],
)
def test_server_owned_and_unknown_fields_are_refused(field: str) -> None:
    assert field in errors_of(label_request(**{field: "x"}))


@given(
    number=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(10**20), max_value=10**20),
    )
)
@settings(max_examples=40)
def test_any_json_number_for_a_footprint_is_refused(number: float) -> None:
    data = label_request()
    data["footprint"]["value"] = number
    assert "value" in errors_of(data)["footprint"]


@pytest.mark.parametrize(
    "text",
    ["-1", "1e3", "01.5", ".5", "5.", "1.0000000000001", "1" * 19, "NaN", "Infinity", " 1", ""],
)
def test_a_footprint_must_be_a_plain_decimal_string(text: str) -> None:
    data = label_request(text)
    assert "value" in errors_of(data)["footprint"]


@pytest.mark.parametrize("amount", ["0", "0.000", "-2"])
def test_the_declared_amount_must_be_positive(amount: str) -> None:
    assert "declared_unit_amount" in errors_of(label_request(amount=amount))["footprint"]


def test_the_reference_period_must_be_ordered() -> None:
    data = label_request()
    data["footprint"]["reference_period"] = {"start": "2025-12-31", "end": "2025-01-01"}
    assert "end" in errors_of(data)["footprint"]["reference_period"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("gtin", "06901234567893"),
        ("gtin", "6901234"),
        ("identifiers", ["not an iri"]),
        ("identifiers", ["_:b0"]),
        ("name", ""),
    ],
)
def test_product_fields_are_validated(field: str, value: Any) -> None:
    data = label_request()
    data["product"][field] = value
    assert field in errors_of(data)["product"]


@pytest.mark.parametrize("grade", ["F", "a", "AA", ""])
def test_an_asserted_grade_must_be_a_to_e(grade: str) -> None:
    assert "grade" in errors_of(label_request(grade=grade))


def test_a_status_change_names_an_action_and_a_reason() -> None:
    loaded = status_change_schema.load({"action": "revoke", "reason": "Fraud"})
    assert loaded == {"action": StatusAction.REVOKE, "reason": "Fraud"}
    with pytest.raises(ValidationError):
        status_change_schema.load({"action": "supersede", "reason": "x"})


# --- the VC-API shapes -------------------------------------------------------------------------


def vc_errors_of(body: Any, schema: Any = None) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        (schema or vc_issue_request_schema).load(body)
    messages: dict[str, Any] = caught.value.messages  # type: ignore[assignment]
    return messages


def test_a_vc_api_issue_request_becomes_a_label_request() -> None:
    request = vc_issue_request_schema.load(vc_issue_request("40.5"))
    assert isinstance(request, LabelRequest)
    assert request.footprint == Decimal("40.5")
    assert request.product.manufacturer == "Foshan Solar Works (fictitious)"
    assert (request.rule, request.rule_version) == ("PCR-LIB", "1.0")


def test_both_doors_make_the_same_request_and_hash() -> None:
    vc = vc_issue_request("61.2")
    subject = vc["credential"]["credentialSubject"]
    native = label_request("61.2", name=subject["product"]["name"])
    native["product"] = {
        "name": subject["product"]["name"],
        "manufacturer": subject["product"]["manufacturer"]["name"],
    }
    native["footprint"]["reference_period"]["end"] = "2025-06-30"
    from_vc, from_native = vc_issue_request_schema.load(vc), load(native)
    assert from_vc == from_native
    assert request_hash(from_vc) == request_hash(from_native)


@pytest.mark.parametrize(
    "field", ["id", "issuer", "validFrom", "proof", "credentialStatus", "relatedResource"]
)
def test_vc_api_issue_refuses_what_the_registry_sets(field: str) -> None:
    errors = vc_errors_of(vc_issue_request(**{field: "https://attacker.example/x"}))
    assert field in errors["credential"]


@pytest.mark.parametrize("field", ["labelId", "id", "issuer"])
def test_vc_api_issue_refuses_registry_owned_subject_fields(field: str) -> None:
    body = vc_issue_request()
    body["credential"]["credentialSubject"][field] = "7K3M9QH2XD"
    assert field in vc_errors_of(body)["credential"]["credentialSubject"]


def test_vc_api_issue_needs_our_contexts_in_order() -> None:
    body = vc_issue_request()
    body["credential"]["@context"] = list(reversed(body["credential"]["@context"]))
    assert "@context" in vc_errors_of(body)["credential"]


def test_vc_api_issue_refuses_a_numeric_footprint() -> None:
    body = copy.deepcopy(vc_issue_request())
    body["credential"]["credentialSubject"]["footprint"]["value"] = 40.5
    errors = vc_errors_of(body)
    assert "value" in errors["credential"]["credentialSubject"]["footprint"]


@pytest.mark.parametrize(
    ("purpose", "status", "action"),
    [
        ("suspension", True, StatusAction.SUSPEND),
        ("suspension", False, StatusAction.REINSTATE),
        ("revocation", True, StatusAction.REVOKE),
    ],
)
def test_vc_api_status_maps_to_an_action(purpose: str, status: bool, action: StatusAction) -> None:
    body = {
        "credentialId": "https://registry.example.test/l/7K3M9QH2XD",
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose},
        "status": status,
    }
    loaded = vc_status_request_schema.load(body)
    assert (loaded["label_id"], loaded["action"]) == ("7K3M9QH2XD", action)


@pytest.mark.parametrize(
    "change",
    [
        {"status": False},
        {"status": "true"},
        {"credentialStatus": {"statusPurpose": "refresh"}},
        {"credentialId": ""},
        {"extra": 1},
        {"reason": "x" * 501},
        {"reason": "Fraud\x00"},
    ],
    ids=[
        "clear-revocation",
        "string-status",
        "unknown-purpose",
        "no-id",
        "unknown-field",
        "huge-reason",
        "nul-in-reason",
    ],
)
def test_vc_api_status_refuses_what_it_cannot_do(change: dict[str, Any]) -> None:
    body = {
        "credentialId": "7K3M9QH2XD",
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        "status": True,
        **change,
    }
    vc_errors_of(body, vc_status_request_schema)

"""A label issued from a PACT ProductFootprint: its source (id, specVersion, version) is signed
under the separate PACT context and ledgered in ``label.issued``; labels without one are
unchanged (the frozen v1 context alone, the entry without ``pact``)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from credentials import (
    CARBON_LABEL_PACT_V1,
    CREDENTIALS_V2,
    CredentialError,
    DocumentLoader,
    LabelIssued,
    PactSource,
    canonicalize_rdfc,
    parse_label_credential,
    verify_document,
)
from credentials._internal.rdf_template import _kit_shapes, _shape
from credentials.errors import CredentialFormatError, LedgerEventError
from credentials.jsonld import CARBON_LABEL_V1, bundled_contexts, canonicalize_rdfc_reference
from tests.credentials.factories import body_key, sample_label, signed_credential
from tests.credentials.test_rdf_template import pyld_normalize

V3 = PactSource("12345678-9abc-def0-1234-567812345678", "3.0.0")
V2 = PactSource("91715e5e-fd0b-4d1c-8fab-76290c46e6ed", "2.0.0", 1)
# A label imported from PACT names no model (PACT has none).
NO_MODEL = replace(sample_label().product, model=None)


@pytest.mark.parametrize("source", [V3, V2])
def test_a_pact_label_states_its_source_under_the_pact_context_and_verifies(
    source: PactSource,
) -> None:
    document = signed_credential(product=NO_MODEL, pact=source)
    assert document["@context"] == [CREDENTIALS_V2, CARBON_LABEL_V1, CARBON_LABEL_PACT_V1]
    stated = document["credentialSubject"]["pactSource"]
    assert stated["pfId"] == source.footprint_id
    assert stated.get("pfVersion") == (None if source.version is None else str(source.version))
    assert parse_label_credential(document).pact == source
    key = body_key()
    verify_document(document, key_resolver=lambda method: key.public_key)
    # Signed: the terms are defined, so changing the id breaks the proof.
    forged = copy.deepcopy(document)
    forged["credentialSubject"]["pactSource"]["pfId"] = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(CredentialError):
        verify_document(forged, key_resolver=lambda method: key.public_key)


@pytest.mark.parametrize("source", [None, V3, V2])
def test_pact_shapes_are_kit_shapes_and_the_fast_path_agrees(source: PactSource | None) -> None:
    document = signed_credential(product=NO_MODEL, pact=source)
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    assert _shape(unsigned, []) in _kit_shapes
    loader = DocumentLoader()
    fast = canonicalize_rdfc(unsigned, loader=loader)
    assert fast == canonicalize_rdfc_reference(unsigned, loader=loader) == pyld_normalize(unsigned)
    assert ("<https://w3id.org/carbon-label/pact#pfId>" in fast) is (source is not None)


def test_a_label_without_pact_is_unchanged() -> None:
    document = signed_credential()
    assert document["@context"] == [CREDENTIALS_V2, CARBON_LABEL_V1]
    assert "pactSource" not in document["credentialSubject"]
    assert parse_label_credential(document).pact is None


def test_the_v1_context_is_untouched_and_the_pact_context_is_bundled() -> None:
    v1 = json.loads(bundled_contexts()[CARBON_LABEL_V1])["@context"]
    assert not {"pactSource", "pfId", "pfVersion", "pfSpecVersion"} & set(v1)
    pact = json.loads(bundled_contexts()[CARBON_LABEL_PACT_V1])["@context"]
    assert {"pactSource", "pfId", "pfVersion", "pfSpecVersion", "PactFootprintSource"} <= set(pact)


def _unsigned(**changes: Any) -> dict[str, Any]:
    from credentials import build_label_credential

    return build_label_credential(sample_label(**changes))


@pytest.mark.parametrize(
    "mutate",
    [
        # The PACT context without a source, and a source without the context.
        lambda d: d["credentialSubject"].pop("pactSource"),
        lambda d: d["@context"].pop(),
        lambda d: d["@context"].reverse(),
        lambda d: d["credentialSubject"]["pactSource"].update(pfVersion=1),
        lambda d: d["credentialSubject"]["pactSource"].update(pfVersion="01"),
        lambda d: d["credentialSubject"]["pactSource"].update(pfId="not-a-uuid"),
        lambda d: d["credentialSubject"]["pactSource"].update(pfSpecVersion="3"),
        lambda d: d["credentialSubject"]["pactSource"].update(extra="x"),
        lambda d: d["credentialSubject"]["pactSource"].update(type="Other"),
    ],
)
def test_malformed_pact_sources_are_refused(mutate: Any) -> None:
    document = _unsigned(product=NO_MODEL, pact=V2)
    mutate(document)
    with pytest.raises(CredentialFormatError):
        parse_label_credential(document)


def _issued(pact: PactSource | None) -> LabelIssued:
    from credentials import Actor, ActorRole, StatusSlot

    return LabelIssued(
        label="7K3M9QH2XD",
        body="lingnan",
        credential_digest="sha256:00",
        verification_method="did:key:z#z",
        scheme="CN-GD",
        rule="PCR",
        rule_version="1.0",
        category="battery",
        footprint=sample_label().footprint.value,
        declared_unit="kWh",
        declared_unit_amount=sample_label().footprint.declared_unit_amount,
        grade="B",
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        valid_until=datetime(2029, 3, 1, tzinfo=UTC),
        status_lists=(StatusSlot("r1", 1), StatusSlot("s1", 1)),
        supersedes=None,
        by=Actor(ActorRole.CERTIFIER, token=1, body="lingnan"),
        pact=pact,
    )


def test_label_issued_without_pact_keeps_its_members_and_reads_back() -> None:
    payload = _issued(None).to_payload()
    assert "pact" not in payload
    assert LabelIssued.from_payload(payload) == _issued(None)


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        (V3, {"id": V3.footprint_id, "specVersion": "3.0.0"}),
        (V2, {"id": V2.footprint_id, "specVersion": "2.0.0", "version": 1}),
    ],
)
def test_label_issued_records_the_pact_source(source: PactSource, shape: dict[str, Any]) -> None:
    payload = _issued(source).to_payload()
    assert payload["pact"] == shape
    assert LabelIssued.from_payload(payload).pact == source


@pytest.mark.parametrize(
    "pact",
    [
        None,
        {},
        {"id": V3.footprint_id},
        {"id": V3.footprint_id, "specVersion": "3.0.0", "version": None},
        {"id": V3.footprint_id, "specVersion": "3.0.0", "version": -1},
        {"id": "X", "specVersion": "3.0.0"},
        {"id": V3.footprint_id, "specVersion": "3.0.0", "extra": 1},
    ],
)
def test_label_issued_refuses_a_malformed_pact_member(pact: Any) -> None:
    payload = _issued(V3).to_payload()
    payload["pact"] = pact
    with pytest.raises(LedgerEventError):
        LabelIssued.from_payload(payload)

"""The trust-bundle JSON form is written and read by one module: every bundle round-trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials import (
    Accreditation,
    KeyPair,
    LedgerEvidence,
    Thresholds,
    TrustBundle,
    TrustedBody,
    TrustedKey,
    TrustedRule,
)
from credentials.checkpoint import CosignatureSigner
from credentials.errors import CredentialError
from tests.credentials.factories import body_key, signed_credential
from tests.credentials.trust_fixtures import LOG, trust_bundle_json

_ZONES = [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]

# hypothesis takes naive bounds and attaches the zones itself.
times = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(_ZONES),
)
text = st.text(min_size=1, max_size=20)
# What a threshold may be on the wire: up to 18 integer digits and 12 decimals.
amounts = st.decimals(min_value=0, max_value=Decimal("1e18") - 1, places=12)
thresholds = st.lists(amounts, min_size=4, max_size=4).map(lambda xs: Thresholds(*sorted(xs)))

keys = st.builds(TrustedKey, text, times, st.none() | times)
accreditations = st.builds(
    Accreditation, text, st.frozensets(text, max_size=4), times, st.none() | times
)
bodies = st.builds(
    TrustedBody,
    text,
    st.lists(keys, max_size=3).map(tuple),
    st.lists(accreditations, max_size=3).map(tuple),
)
rules = st.builds(TrustedRule, text, text, text, text, text, thresholds, times, st.none() | times)
evidence = st.builds(
    LedgerEvidence,
    st.text(max_size=40).map(lambda t: t.encode("utf-8")),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
    st.lists(st.binary(min_size=32, max_size=32), max_size=64).map(tuple),
    text,
    st.none() | text,
)
status_lists = st.dictionaries(
    text, st.dictionaries(text, st.integers() | text, max_size=3), max_size=2
)
WITNESS_KEYS = [
    CosignatureSigner(
        f"witness.example/w{n}", KeyPair.from_seed(bytes([0x40 + n]) * 32)
    ).verifier_key()
    for n in range(3)
]
bundles = st.builds(
    TrustBundle,
    st.lists(bodies, max_size=3).map(tuple),
    st.lists(rules, max_size=3).map(tuple),
    status_lists,
    st.none() | st.just(LOG.verifier_key()),
    st.dictionaries(text, evidence, max_size=3),
    checkpoint=st.none() | text,
    witnesses=st.lists(st.sampled_from(WITNESS_KEYS), max_size=len(WITNESS_KEYS), unique=True).map(
        tuple
    ),
)


# No deadline: a bundle of many values on a loaded machine is slow, never wrong.
@settings(deadline=None)
@given(bundles)
def test_every_bundle_round_trips_through_its_json(bundle: TrustBundle) -> None:
    assert TrustBundle.from_json(bundle.to_json()) == bundle


@settings(deadline=None)
@given(bundles)
def test_the_json_form_survives_serialisation(bundle: TrustBundle) -> None:
    wire: Any = json.loads(json.dumps(bundle.to_json()))
    assert TrustBundle.from_json(wire) == bundle


@given(times)
def test_times_are_written_in_utc_with_milliseconds_unless_finer(at: datetime) -> None:
    written = TrustedKey("z", at).to_json()["activeFrom"]
    assert written.endswith("Z")
    assert len(written.split(".")[1]) == (4 if at.microsecond % 1000 == 0 else 7)


def test_an_honest_bundle_is_written_back_as_it_was_read() -> None:
    wire = trust_bundle_json(signed_credential(body_key(1)))
    assert TrustBundle.from_json(TrustBundle.from_json(wire).to_json()) == TrustBundle.from_json(
        wire
    )
    written = TrustBundle.from_json(wire).to_json()
    assert set(written) == {
        "bodies",
        "rules",
        "statusLists",
        "logKey",
        "ledger",
        "schemes",
        "mappings",
        "checkpoint",
    }
    assert written["statusLists"] == wire["statusLists"]
    assert written["ledger"].keys() == wire["ledger"].keys()


def test_witnesses_are_written_only_when_there_are_any() -> None:
    assert "witnesses" not in TrustBundle().to_json()
    bundle = TrustBundle(witnesses=(WITNESS_KEYS[0],))
    assert bundle.to_json()["witnesses"] == [WITNESS_KEYS[0]]
    assert TrustBundle.from_json(json.loads(json.dumps(bundle.to_json()))) == bundle


def test_a_witness_key_must_be_a_cosignature_key() -> None:
    for bad in ([LOG.verifier_key()], ["nonsense"], "w", [WITNESS_KEYS[0]] * 101):
        with pytest.raises(CredentialError):
            TrustBundle.from_json({"witnesses": bad})


def test_superseded_by_is_written_only_when_set() -> None:
    base = LedgerEvidence(b"{}", 0, 1, (), "note")
    assert "supersededBy" not in base.to_json()
    replaced = LedgerEvidence(b"{}", 0, 1, (), "note", superseded_by="https://r.example/l/X")
    assert replaced.to_json()["supersededBy"] == "https://r.example/l/X"


def test_a_single_value_reads_back_alone() -> None:
    key = TrustedKey("z6Mk", datetime(2025, 1, 1, tzinfo=UTC), None)
    assert TrustedKey.from_json(key.to_json()) == key
    rule = TrustedRule(
        "CN-GD",
        "PCR",
        "1",
        "battery",
        "kWh",
        Thresholds(Decimal(1), Decimal(2), Decimal(3), Decimal("4.5")),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert TrustedRule.from_json(rule.to_json()) == rule
    assert rule.to_json()["thresholds"] == {"A": "1", "B": "2", "C": "3", "D": "4.5"}


def test_a_key_held_by_its_body_says_so_and_others_read_as_before() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    held = TrustedKey(body_key(1).public_key.multibase, start, held_by_body=True)
    assert held.to_json()["heldByBody"] is True
    assert TrustedKey.from_json(held.to_json()) == held
    registry_held = TrustedKey(body_key(2).public_key.multibase, start)
    assert "heldByBody" not in registry_held.to_json()  # bundles without it are unchanged
    assert TrustedKey.from_json(registry_held.to_json()).held_by_body is False
    with pytest.raises(CredentialError, match="heldByBody"):
        TrustedKey.from_json({**held.to_json(), "heldByBody": "yes"})

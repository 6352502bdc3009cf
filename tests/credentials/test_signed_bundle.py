"""Signed trust bundles: trusted only when the pinned registry key signed them and they are in
date; every other case refused with its own reason."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credentials import (
    BundleRefusal,
    KeyPair,
    SignedBundleError,
    TrustBundle,
    open_bundle,
    sign_bundle,
    verify_label,
)
from tests.credentials.factories import signed_credential
from tests.credentials.trust_fixtures import ROGUE_LOG, full_trust

REGISTRY = KeyPair.from_seed(b"\x21" * 32)
OTHER = KeyPair.from_seed(b"\x22" * 32)
ISSUED = datetime(2026, 5, 31, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def signed(bundle: TrustBundle | None = None, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "registry": "https://registry.example.cn",
        "issued": ISSUED,
        "valid_until": ISSUED + timedelta(days=7),
    } | changes
    signer = values.pop("signer", REGISTRY)
    return sign_bundle(bundle or full_trust(signed_credential()), signer, **values)


def refusal(data: Any, pinned: str | None = REGISTRY.public_key.multibase) -> BundleRefusal:
    with pytest.raises(SignedBundleError) as info:
        open_bundle(data, pinned=pinned, now=NOW)
    return info.value.refusal


def test_a_bundle_signed_by_the_pinned_key_opens_to_the_same_bundle() -> None:
    credential = signed_credential()
    bundle = full_trust(credential)
    opened = open_bundle(signed(bundle), pinned=REGISTRY.public_key.multibase, now=NOW)
    assert opened.bundle == bundle
    assert opened.key == REGISTRY.public_key.multibase
    assert opened.registry == "https://registry.example.cn"
    assert (opened.issued, opened.valid_until) == (ISSUED, ISSUED + timedelta(days=7))
    assert verify_label(credential, trust=opened.bundle, now=NOW).verified


def test_without_a_pinned_key_it_names_the_signer_and_trusts_nothing() -> None:
    with pytest.raises(SignedBundleError) as info:
        open_bundle(signed(), pinned=None, now=NOW)
    assert info.value.refusal is BundleRefusal.NOT_PINNED
    assert info.value.key == REGISTRY.public_key.multibase
    assert REGISTRY.public_key.multibase in str(info.value)


def test_a_bundle_signed_by_another_key_is_refused() -> None:
    assert refusal(signed(signer=OTHER)) is BundleRefusal.OTHER_KEY


def test_an_unsigned_bundle_is_refused() -> None:
    assert refusal(full_trust(signed_credential()).to_json()) is BundleRefusal.UNSIGNED
    assert refusal(signed()["payload"]) is BundleRefusal.UNSIGNED
    assert refusal([]) is BundleRefusal.UNSIGNED


def _forge(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(signed())
    change(data["payload"])
    return data


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p["rules"][0]["thresholds"].update(B="99"), id="threshold"),
        pytest.param(
            lambda p: p["bodies"][0]["keys"].append(
                {**p["bodies"][0]["keys"][0], "publicKeyMultibase": OTHER.public_key.multibase}
            ),
            id="key-added",
        ),
        pytest.param(lambda p: p.update(logKey=ROGUE_LOG.verifier_key()), id="log-key"),
        pytest.param(lambda p: p.update(validUntil="2099-01-01T00:00:00Z"), id="extended"),
        pytest.param(lambda p: p.pop("ledger"), id="member-removed"),
        pytest.param(lambda p: p.update(extra=1), id="member-added"),
    ],
)
def test_a_bundle_altered_after_signing_is_refused(change: Any) -> None:
    assert refusal(_forge(change)) is BundleRefusal.SIGNATURE_INVALID


def test_out_of_date_bundles_are_refused() -> None:
    expired = signed(issued=NOW - timedelta(days=8), valid_until=NOW)
    assert refusal(expired) is BundleRefusal.EXPIRED
    early = signed(issued=NOW + timedelta(hours=1), valid_until=NOW + timedelta(days=1))
    assert refusal(early) is BundleRefusal.NOT_YET_VALID


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["signature"].update(alg="RS256"),
        lambda d: d["signature"].update(value="not base64!"),
        lambda d: d["signature"].update(key="zNotAKey"),
        lambda d: d["signature"].pop("value"),
        lambda d: d.update(extra=1),
        lambda d: d.update(payload="x"),
    ],
)
def test_a_malformed_envelope_is_refused(change: Any) -> None:
    data = copy.deepcopy(signed())
    change(data)
    assert refusal(data) in (BundleRefusal.MALFORMED, BundleRefusal.SIGNATURE_INVALID)


def test_signed_but_incomplete_is_malformed() -> None:
    payload = {"bodies": []}
    data = {
        "payload": payload,
        "signature": signed()["signature"]
        | {"value": base64.b64encode(REGISTRY.sign(b'{"bodies":[]}')).decode()},
    }
    assert refusal(data) is BundleRefusal.MALFORMED


def test_validity_must_follow_issuance() -> None:
    with pytest.raises(ValueError, match="ends after"):
        signed(valid_until=ISSUED)

"""TrustBundle.from_json: the JSON trust bundle a registry exports, read strictly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from credentials.errors import CredentialError, TrustError
from credentials.grading import Thresholds
from credentials.trust import TrustBundle
from tests.credentials.factories import ISSUED_AT, body_key, signed_credential
from tests.credentials.trust_fixtures import (
    BODY_NAME,
    CATEGORY,
    LABEL_ID,
    LEDGER_INDEX,
    LEDGER_SIZE,
    LOG,
    OTHER_BODY_NAME,
    REVOCATION_URL,
    RULE_ID,
    RULE_VERSION,
    SCHEME,
    SUSPENSION_URL,
    trust_bundle_json,
)

KEY = body_key(1)


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return trust_bundle_json(signed_credential(KEY))


def _changed(bundle: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``bundle`` with the member at a dotted ``path`` set (``DELETE`` removes it)."""
    result = copy.deepcopy(bundle)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value
    return result


DELETE = object()


# --- reading an honest bundle --------------------------------------------------------------


def test_honest_bundle_reads_into_typed_values(bundle: dict[str, Any]) -> None:
    trust = TrustBundle.from_json(bundle)
    assert [b.name for b in trust.bodies] == [BODY_NAME, OTHER_BODY_NAME]
    body = trust.body_with_key(KEY.public_key.multibase)
    assert body is not None
    assert body.name == BODY_NAME
    key = body.key(KEY.public_key.multibase)
    assert key is not None
    assert key.active_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert key.active_until is None
    (accreditation,) = body.accreditations
    assert accreditation.scheme == SCHEME
    assert accreditation.categories == frozenset({CATEGORY})

    rule = trust.rule(SCHEME, RULE_ID, RULE_VERSION)
    assert rule is not None
    assert rule.thresholds == Thresholds(Decimal(45), Decimal(65), Decimal(85), Decimal(110))
    assert rule.declared_unit == "kWh"
    assert trust.rule(SCHEME, RULE_ID, "9.9") is None
    assert trust.rule("CN-FJ", RULE_ID, RULE_VERSION) is None

    assert set(trust.status_lists) == {REVOCATION_URL, SUSPENSION_URL}
    assert trust.log_key == LOG.verifier_key()
    evidence = trust.ledger[LABEL_ID]
    assert (evidence.index, evidence.size) == (LEDGER_INDEX, LEDGER_SIZE)
    assert isinstance(evidence.entry, bytes)
    assert json.loads(evidence.entry)["event"] == "label.issued"
    assert all(len(h) == 32 for h in evidence.proof)


def test_bundle_survives_a_json_round_trip(bundle: dict[str, Any]) -> None:
    assert TrustBundle.from_json(json.loads(json.dumps(bundle))) == TrustBundle.from_json(bundle)


def test_empty_bundle_trusts_nothing() -> None:
    trust = TrustBundle.from_json({})
    assert trust.bodies == ()
    assert trust.rules == ()
    assert trust.log_key is None
    assert trust.body_with_key(KEY.public_key.multibase) is None


def test_times_with_offsets_are_normalised_to_utc(bundle: dict[str, Any]) -> None:
    changed = _changed(bundle, "bodies.0.keys.0.activeFrom", "2025-01-01T08:00:00+08:00")
    key = TrustBundle.from_json(changed).bodies[0].keys[0]
    assert key.active_from == datetime(2025, 1, 1, tzinfo=UTC)


def test_activity_windows_include_the_start_and_exclude_the_end(bundle: dict[str, Any]) -> None:
    changed = _changed(bundle, "bodies.0.keys.0.activeUntil", "2026-03-01T08:30:00Z")
    key = TrustBundle.from_json(changed).bodies[0].keys[0]
    assert key.active_at(ISSUED_AT - timedelta(seconds=1))
    assert not key.active_at(ISSUED_AT)
    assert key.active_at(datetime(2025, 1, 1, tzinfo=UTC))
    assert not key.active_at(datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC))


def test_accreditation_covers_only_its_scheme_categories_and_period(
    bundle: dict[str, Any],
) -> None:
    changed = _changed(bundle, "bodies.0.accreditations.0.validUntil", "2027-01-01T00:00:00Z")
    (accreditation,) = TrustBundle.from_json(changed).bodies[0].accreditations
    assert accreditation.covers(SCHEME, CATEGORY, ISSUED_AT)
    assert not accreditation.covers("CN-FJ", CATEGORY, ISSUED_AT)
    assert not accreditation.covers(SCHEME, "cement", ISSUED_AT)
    assert not accreditation.covers(SCHEME, CATEGORY, datetime(2027, 1, 1, tzinfo=UTC))


def test_rule_in_force_window(bundle: dict[str, Any]) -> None:
    changed = _changed(bundle, "rules.0.inForceUntil", "2027-06-01T00:00:00Z")
    rule = TrustBundle.from_json(changed).rules[0]
    assert rule.in_force_at(datetime(2025, 6, 1, tzinfo=UTC))
    assert not rule.in_force_at(datetime(2025, 5, 31, 23, 59, 59, tzinfo=UTC))
    assert not rule.in_force_at(datetime(2027, 6, 1, tzinfo=UTC))


def test_equal_thresholds_are_allowed(bundle: dict[str, Any]) -> None:
    changed = _changed(bundle, "rules.0.thresholds", {"A": "50", "B": "50", "C": "50", "D": "50"})
    assert TrustBundle.from_json(changed).rules[0].thresholds.a == Decimal(50)


# --- malformed bundles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="null"),
        pytest.param([], id="array"),
        pytest.param("bundle", id="string"),
        pytest.param(7, id="number"),
    ],
)
def test_bundle_that_is_not_an_object(data: Any) -> None:
    with pytest.raises(TrustError, match="JSON object"):
        TrustBundle.from_json(data)


MISSING = [
    "bodies.0.name",
    "bodies.0.keys",
    "bodies.0.keys.0.publicKeyMultibase",
    "bodies.0.keys.0.activeFrom",
    "bodies.0.accreditations.0.scheme",
    "bodies.0.accreditations.0.categories",
    "bodies.0.accreditations.0.validFrom",
    "rules.0.scheme",
    "rules.0.ruleId",
    "rules.0.version",
    "rules.0.category",
    "rules.0.declaredUnit",
    "rules.0.thresholds",
    "rules.0.thresholds.D",
    "rules.0.inForceFrom",
    f"ledger.{LABEL_ID}.entry",
    f"ledger.{LABEL_ID}.index",
    f"ledger.{LABEL_ID}.size",
    f"ledger.{LABEL_ID}.proof",
    f"ledger.{LABEL_ID}.checkpoint",
]


@pytest.mark.parametrize("path", MISSING)
def test_missing_member(bundle: dict[str, Any], path: str) -> None:
    with pytest.raises(TrustError, match="malformed trust bundle"):
        TrustBundle.from_json(_changed(bundle, path, DELETE))


BAD_TIMES = [
    "2025-01-01",  # a date, not a dateTime
    "2025-01-01T00:00:00",  # no time zone
    "yesterday",
    "2025-13-01T00:00:00Z",  # month 13
    "2025-02-30T00:00:00Z",
    "",
    1735689600,  # epoch seconds
    None,
]
TIME_PATHS = [
    "bodies.0.keys.0.activeFrom",
    "bodies.0.keys.0.activeUntil",
    "bodies.0.accreditations.0.validFrom",
    "bodies.0.accreditations.0.validUntil",
    "rules.0.inForceFrom",
    "rules.0.inForceUntil",
]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(path, value, id=f"{path.rsplit('.', 1)[1]}={value!r}")
        for path in TIME_PATHS
        for value in BAD_TIMES
        if not (value is None and path.endswith("Until"))  # a null end means open-ended
    ],
)
def test_bad_time(bundle: dict[str, Any], path: str, value: Any) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, path, value))


@pytest.mark.parametrize(
    "proof",
    [
        pytest.param(["not base64!"], id="bad-characters"),
        pytest.param(["=QUJD"], id="padding-first"),
        pytest.param(["QUJDRA"], id="missing-padding"),
        pytest.param([42], id="number"),
        pytest.param("QUJDRA==", id="string-not-array"),
    ],
)
def test_bad_base64_in_inclusion_proof(bundle: dict[str, Any], proof: Any) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, f"ledger.{LABEL_ID}.proof", proof))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("forty-five", id="word"),
        pytest.param("4 5", id="space"),
        pytest.param("", id="empty"),
        pytest.param(45, id="json-number"),
        pytest.param(45.5, id="json-float"),
        pytest.param(None, id="null"),
        pytest.param("NaN", id="NaN"),
        pytest.param("Infinity", id="Infinity"),
        pytest.param("-1", id="negative"),
    ],
)
def test_non_decimal_threshold(bundle: dict[str, Any], value: Any) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, "rules.0.thresholds.A", value))


@pytest.mark.parametrize(
    "thresholds",
    [
        pytest.param({"A": "110", "B": "85", "C": "65", "D": "45"}, id="descending"),
        pytest.param({"A": "45", "B": "65", "C": "64.99", "D": "110"}, id="one-step-down"),
    ],
)
def test_descending_thresholds(bundle: dict[str, Any], thresholds: dict[str, str]) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, "rules.0.thresholds", thresholds))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("bodies", "Lingnan", id="bodies-a-string"),
        pytest.param("bodies", [["x"]], id="body-an-array"),
        pytest.param("bodies.0.keys", "z6Mk", id="keys-a-string"),
        pytest.param("rules", [1], id="rule-a-number"),
        pytest.param("statusLists", [], id="statusLists-an-array"),
        pytest.param("ledger", [], id="ledger-an-array"),
        pytest.param(f"ledger.{LABEL_ID}.index", "two", id="index-a-word"),
        pytest.param(f"ledger.{LABEL_ID}.size", None, id="size-null"),
        pytest.param("rules.0.thresholds", ["45", "65", "85", "110"], id="thresholds-array"),
    ],
)
def test_wrong_shapes(bundle: dict[str, Any], path: str, value: Any) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, path, value))


def test_trust_error_is_a_credential_error(bundle: dict[str, Any]) -> None:
    with pytest.raises(CredentialError):
        TrustBundle.from_json(_changed(bundle, "rules.0.thresholds.A", "x"))


def test_categories_given_as_a_string_is_refused(bundle: dict[str, Any]) -> None:
    """ "categories": "cement" must not become the set of letters {c, e, m, n, t}."""
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, "bodies.0.accreditations.0.categories", "cement"))


def test_log_key_that_is_not_a_verifier_key_is_refused(bundle: dict[str, Any]) -> None:
    """A malformed logKey is a malformed bundle, not a failed ledger check on every label."""
    with pytest.raises(TrustError):
        TrustBundle.from_json(_changed(bundle, "logKey", "not-a-verifier-key"))

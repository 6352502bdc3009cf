"""RFC 8785 canonical JSON: the fast path against the ``rfc8785`` package, and the vectors."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials._internal.jcs import MAX_DEPTH, canonical_json
from credentials.errors import CanonicalizationError, MalformedInputError
from credentials.jsonld import canonicalize_jcs
from tests.conftest import load_vector
from tests.credentials.factories import signed_credential

SAFE = 2**53 - 1


def _reference(value: Any) -> bytes | None:
    """rfc8785's bytes, or None where it refuses the value."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return None


# --- vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "canonical", "digest"),
    [
        (
            "eddsa-common/unsigned.json",
            "eddsa-jcs-2022/canonDocJCS.txt",
            "eddsa-jcs-2022/docHashJCS.txt",
        ),
        (
            "eddsa-jcs-2022/proofConfigJCS.json",
            "eddsa-jcs-2022/proofCanonJCS.txt",
            "eddsa-jcs-2022/proofHashJCS.txt",
        ),
    ],
)
def test_vector_canonical_forms_are_reproduced(document: str, canonical: str, digest: str) -> None:
    text = canonical_json(load_vector(document))
    assert text == load_vector(canonical).encode("utf-8")
    assert hashlib.sha256(text).hexdigest() == load_vector(digest).strip()
    assert canonicalize_jcs(load_vector(document)) == text


def test_signed_label_credential_matches_rfc8785() -> None:
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        credential = signed_credential(cryptosuite=suite)
        assert canonical_json(credential) == rfc8785.dumps(credential)


# --- both paths agree ----------------------------------------------------------------------------

KEYS = st.text(max_size=6) | st.sampled_from(
    ["\U0001f600", "\ue000", "\uffff", "\U00010000", "a\U0001f600", "", "é", "\x00", "\u20ac"]
)


def _json(floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-SAFE, max_value=SAFE)
        | st.integers()  # beyond ±(2**53 - 1): refused by both
        | st.sampled_from([SAFE, -SAFE, SAFE + 1, -SAFE - 1, 2**64, 0, -1])
        | floats
        | st.sampled_from([0.0, -0.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1.0])
        | st.text(max_size=12)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4)
        ),
        max_leaves=20,
    )


FLOATS = st.floats(allow_nan=False, allow_infinity=False)
JSON = _json(FLOATS)
# Integral doubles beyond 2**53 print without a fraction, so json.loads reads them back as
# ints; test_integral_doubles_beyond_2_53_stay_canonical covers them on their own.
JSON_ROUND_TRIPPABLE = _json(FLOATS.filter(lambda f: not (f.is_integer() and abs(f) > SAFE)))


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_canonical_json_equals_rfc8785(value: Any) -> None:
    expected = _reference(value)
    if expected is None:
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@settings(max_examples=300, deadline=None)
@given(JSON_ROUND_TRIPPABLE)
def test_canonical_json_is_idempotent(value: Any) -> None:
    try:
        first = canonical_json(value)
    except CanonicalizationError:
        return
    again = canonical_json(json.loads(first))
    assert again == first
    assert canonical_json(json.loads(again)) == first


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, st.text(max_size=4), max_size=8))
def test_key_order_is_utf16_code_unit_order(value: dict[str, str]) -> None:
    keys = list(json.loads(canonical_json(value)))
    assert keys == sorted(value, key=lambda k: k.encode("utf-16-be"))


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "\U0001f600": 2},  # code point order differs from UTF-16 order
        {"b": {"\U00010000": 1, "\uffff": 2}, "a": 1},
        [{"\U0001f600": 1, "z": 2}],
        {"a": 0.1, "b": [1.5, -0.0, 1e21]},
        {"n": SAFE, "m": -SAFE},
        {"s": '\x00\x01\x1f\x7f\u2028\u2029"\\/\U0001f600', "t": True, "f": False, "z": None},
        "\b\f\n\r\t",
        [],
        {},
    ],
)
def test_fast_path_and_fallback_agree_on_edge_values(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [2.0**53, 1e20, -1e21 / 10, {"big": [2.0**60]}], ids=repr)
def test_integral_doubles_beyond_2_53_stay_canonical(value: Any) -> None:
    # RFC 8785 serializes 1e20 as 100000000000000000000. Parsed back, that is a Python int
    # beyond 2**53, which rfc8785 (and so the kit) refuses with a typed error, never a guess.
    first = canonical_json(value)
    assert first == rfc8785.dumps(value)
    with pytest.raises(CanonicalizationError):
        canonical_json(json.loads(first))


def test_non_bmp_keys_sort_by_utf16() -> None:
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == (
        '{"\U0001f600":2,"\ue000":1}'.encode()
    )


@pytest.mark.parametrize(
    "value",
    [SAFE + 1, -SAFE - 1, 2**64, {"n": 10**30}, [float("nan")], {"x": float("-inf")}],
    ids=repr,
)
def test_values_rfc8785_cannot_represent_are_canonicalization_errors(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


@pytest.mark.parametrize(
    "value", [{1, 2}, b"bytes", {1: "int key"}, object(), {"a": [b"x"]}], ids=repr
)
def test_non_json_values_are_canonicalization_errors(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


@pytest.mark.parametrize("value", ["\ud800", {"k": "a\udfffb"}, {"\udc00": 1}, ["\ud83d"]])
def test_lone_surrogates_are_malformed_input(value: Any) -> None:
    with pytest.raises(MalformedInputError):
        canonical_json(value)


def test_nesting_beyond_the_limit_is_malformed_input() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH + 5):
        value = {"a": [value]}
    with pytest.raises(MalformedInputError):
        canonical_json(value)


def test_nesting_within_the_limit_is_accepted() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH):
        value = [value]
    assert canonical_json(value) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH


@pytest.mark.parametrize(
    "document",
    [
        lambda deep: {"a": 0.5, "b": deep},  # the float sends this one to the rfc8785 fallback
        lambda deep: {"b": deep, "a": 0.5},
        lambda deep: {"a": 1, "b": deep},
        lambda deep: [0.5, deep],
    ],
    ids=["float-first", "float-last", "no-float", "float-in-array"],
)
def test_depth_limit_does_not_depend_on_key_order_or_number_types(document: Any) -> None:
    # JSON objects are unordered: whether a document is refused for depth must not depend on
    # which key comes first, or on a float elsewhere taking the fallback path.
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH + 20):
        deep = [deep]
    with pytest.raises(MalformedInputError):
        canonical_json(document(deep))

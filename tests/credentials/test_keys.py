"""Ed25519 keys, Multikey multibase and did:key: W3C vectors, malformed input, base58 codec."""

from __future__ import annotations

from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials._internal.base58 import ALPHABET, b58decode, b58encode
from credentials.errors import CredentialError, KeyFormatError, SignatureError
from credentials.keys import (
    KeyPair,
    PublicKey,
    decode_multibase_base58,
    did_key_from_public_key,
    encode_multibase_base58,
    public_key_from_did,
    public_key_from_verification_method,
)
from tests.conftest import load_vector

KEY_PAIR = load_vector("eddsa-common/keyPair.json")
MULTI_KEY_PAIRS = load_vector("eddsa-proof-set-chain/multiKeyPairs.json")
ALL_PAIRS = {"keyPair": KEY_PAIR, **MULTI_KEY_PAIRS}
PUBLIC = KEY_PAIR["publicKeyMultibase"]
SECRET = KEY_PAIR["privateKeyMultibase"]
RAW_PUBLIC = decode_multibase_base58(PUBLIC)[2:]


@pytest.mark.parametrize("name", sorted(ALL_PAIRS))
def test_vector_secret_key_derives_public_key_did_and_verification_method(name: str) -> None:
    pair = ALL_PAIRS[name]
    key = KeyPair.from_secret_multibase(pair["privateKeyMultibase"])
    public = pair["publicKeyMultibase"]
    assert key.public_key.multibase == public
    assert key.secret_multibase == pair["privateKeyMultibase"]
    assert key.did == f"did:key:{public}"
    assert key.verification_method == f"did:key:{public}#{public}"
    assert did_key_from_public_key(key.public_key) == key.did
    assert PublicKey.from_multibase(public) == key.public_key
    assert public_key_from_did(key.did) == key.public_key
    assert public_key_from_verification_method(key.verification_method) == key.public_key


@pytest.mark.parametrize("name", sorted(ALL_PAIRS))
def test_vector_seed_round_trips(name: str) -> None:
    key = KeyPair.from_secret_multibase(ALL_PAIRS[name]["privateKeyMultibase"])
    again = KeyPair.from_seed(key.seed)
    assert again == key
    assert again.public_key.multibase == ALL_PAIRS[name]["publicKeyMultibase"]


def test_multikey_prefixes_are_the_spec_multicodecs() -> None:
    assert PUBLIC.startswith("z6Mk")
    assert SECRET.startswith("z3u2")
    assert decode_multibase_base58(PUBLIC)[:2] == b"\xed\x01"
    assert decode_multibase_base58(SECRET)[:2] == b"\x80\x26"
    assert len(decode_multibase_base58(SECRET)) == 34


def test_sign_verify_with_vector_key() -> None:
    key = KeyPair.from_secret_multibase(SECRET)
    signature = key.sign(b"message")
    assert len(signature) == 64
    key.public_key.verify(b"message", signature)
    with pytest.raises(SignatureError):
        key.public_key.verify(b"messagf", signature)
    with pytest.raises(SignatureError):
        key.public_key.verify(b"message", signature[:63])
    with pytest.raises(SignatureError):
        KeyPair.from_seed(bytes(32)).public_key.verify(b"message", signature)


def test_generated_keys_are_distinct_and_usable() -> None:
    first, second = KeyPair.generate(), KeyPair.generate()
    assert first.public_key != second.public_key
    first.public_key.verify(b"x", first.sign(b"x"))


def test_seed_is_not_in_repr() -> None:
    key = KeyPair.from_secret_multibase(SECRET)
    assert key.seed.hex() not in repr(key)
    assert SECRET not in repr(key)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "z",
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # multibase prefix missing
        "u7QGwRk4",  # base64url multibase, not base58btc
        "Z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0",  # 0 is not base58
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQO",  # O is not base58
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQl",  # l is not base58
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQI",  # I is not base58
        "z6Mkr JVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        PUBLIC + " ",  # trailing whitespace is not base58 either
        PUBLIC + "\n",
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ２",  # full-width digit
        "z6Mkéé",
        None,
        b"z6Mk",
        42,
    ],
)
def test_malformed_multibase_is_key_format_error(value: Any) -> None:
    with pytest.raises(KeyFormatError):
        decode_multibase_base58(value)
    with pytest.raises(KeyFormatError):
        PublicKey.from_multibase(value)


def _public(prefix: bytes, raw: bytes) -> str:
    return encode_multibase_base58(prefix + raw)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (_public(b"\xe7\x01", b"\x02" + RAW_PUBLIC), "secp256k1-pub multicodec"),
        (_public(b"\xec\x01", RAW_PUBLIC), "x25519-pub multicodec"),
        (_public(b"\x80\x26", RAW_PUBLIC), "ed25519-priv multicodec used as a public key"),
        (_public(b"\xed", RAW_PUBLIC), "truncated varint"),
        (_public(b"", RAW_PUBLIC), "no multicodec at all"),
        (_public(b"\xed\x01", RAW_PUBLIC[:31]), "31-byte key"),
        (_public(b"\xed\x01", RAW_PUBLIC + b"\x00"), "33-byte key"),
        (_public(b"\xed\x01", b""), "empty key"),
    ],
)
def test_wrong_multicodec_or_length_is_key_format_error(value: str, reason: str) -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.from_multibase(value)
    with pytest.raises(KeyFormatError):
        public_key_from_did(f"did:key:{value}")


@pytest.mark.parametrize(
    "value",
    [
        PUBLIC,  # a public key is not a secret key
        encode_multibase_base58(b"\x80\x26" + bytes(31)),
        encode_multibase_base58(b"\x80\x26" + bytes(33)),
        encode_multibase_base58(b"\x81\x26" + bytes(32)),
        "z",
    ],
)
def test_malformed_secret_multibase_is_key_format_error(value: str) -> None:
    with pytest.raises(KeyFormatError):
        KeyPair.from_secret_multibase(value)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_seed_and_raw_public_key_must_have_32_bytes(length: int) -> None:
    with pytest.raises(KeyFormatError):
        KeyPair.from_seed(bytes(length))
    with pytest.raises(KeyFormatError):
        PublicKey.from_bytes(bytes(length))


OTHER = MULTI_KEY_PAIRS["keyPair1"]["publicKeyMultibase"]


@pytest.mark.parametrize(
    "value",
    [
        f"did:key:{PUBLIC}#{OTHER}",  # fragment names another key
        f"did:key:{PUBLIC}#key-1",
        f"did:key:{PUBLIC}#{PUBLIC}x",
        f"did:key:{PUBLIC}#{PUBLIC}#{PUBLIC}",
    ],
)
def test_did_key_fragment_that_does_not_match_is_key_format_error(value: str) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_did(value)
    with pytest.raises(KeyFormatError):
        public_key_from_verification_method(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        PUBLIC,
        f"did:web:example.com#{PUBLIC}",
        f"DID:KEY:{PUBLIC}",
        f"did:key:{PUBLIC}x",
        "did:key:",
        f" did:key:{PUBLIC}",
        f"did:key:{PUBLIC} ",
        None,
        42,
    ],
)
def test_not_a_did_key_is_key_format_error(value: Any) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_did(value)


@pytest.mark.parametrize("value", [["did:key:z6Mk"], {"id": PUBLIC}])
def test_unhashable_did_value_is_key_format_error(value: Any) -> None:
    # A JSON array or object where a did is expected must fail inside the error family.
    with pytest.raises(KeyFormatError):
        public_key_from_did(value)


@pytest.mark.parametrize(
    "value",
    [f"did:key:{PUBLIC}", PUBLIC, f"#{PUBLIC}", None, ["did:key"], f"did:web:x#{PUBLIC}"],
)
def test_verification_method_must_be_did_key_with_fragment(value: Any) -> None:
    with pytest.raises(KeyFormatError):
        public_key_from_verification_method(value)


def test_key_format_error_is_a_credential_error() -> None:
    assert issubclass(KeyFormatError, CredentialError)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_base58_matches_the_base58_package(data: bytes) -> None:
    encoded = b58encode(data)
    assert encoded == base58.b58encode(data).decode("ascii")
    assert b58decode(encoded) == data
    if data:  # "z" alone is not a multibase string
        assert decode_multibase_base58(encode_multibase_base58(data)) == data


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_base58_decode_matches_the_base58_package(text: str) -> None:
    assert b58decode(text) == base58.b58decode(text.encode("ascii"))


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_any_seed_round_trips_through_multibase_and_did(seed: bytes) -> None:
    key = KeyPair.from_seed(seed)
    assert KeyPair.from_secret_multibase(key.secret_multibase) == key
    assert PublicKey.from_multibase(key.public_key.multibase) == key.public_key
    assert public_key_from_verification_method(key.verification_method) == key.public_key

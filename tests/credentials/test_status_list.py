"""Bitstring Status List v1.0: encoding, entries, list credentials, and attacks on them."""

from __future__ import annotations

import base64
import copy
import gzip
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.errors import CredentialError, MalformedInputError, StatusListError
from credentials.status_list import (
    MAX_STATUS_LIST_BYTES,
    MIN_STATUS_LIST_BITS,
    StatusEntry,
    StatusList,
    build_status_list_credential,
    check_status,
    issuer_id,
    parse_status_entries,
)
from tests.conftest import load_vector

SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
LIST_URL = "https://registry.example/status/1"
ISSUER = "did:key:z6MkeVw6bAm59CopQquZcVLUpapvEEELqfpdWfHkSont8HR6"
VALID_FROM = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _multibase(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _raw(encoded: str) -> bytes:
    payload = encoded[1:]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


def _list_credential(
    *revoked: int, purpose: str = "revocation", issuer: Any = ISSUER, url: str = LIST_URL
) -> dict[str, Any]:
    status_list = StatusList()
    for index in revoked:
        status_list.set(index, True)
    return build_status_list_credential(
        list_url=url, issuer=issuer, purpose=purpose, status_list=status_list, valid_from=VALID_FROM
    )


def _entry(index: int, *, purpose: str = "revocation", url: str = LIST_URL) -> StatusEntry:
    return StatusEntry(id=f"urn:uuid:entry-{index}", purpose=purpose, index=index, list_url=url)


def _status(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "https://registry.example/labels/7#status",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


# --- W3C vectors -------------------------------------------------------------------------------


def test_spec_example_encoded_list_reproduced_byte_for_byte() -> None:
    assert StatusList().encode() == SPEC_ENCODED_LIST
    assert _raw(SPEC_ENCODED_LIST) == gzip.compress(bytes(16384), compresslevel=6, mtime=0)


@pytest.mark.parametrize(
    "name",
    [
        "example3-BitstringStatusListCredential.json",
        "example5-status-list-credential.unsigned.json",
        "example5-status-list-credential.eddsa-rdfc-2022.json",
    ],
)
def test_decode_spec_example_lists(name: str) -> None:
    encoded = load_vector(f"status-list/{name}")["credentialSubject"]["encodedList"]
    status_list = StatusList.decode(encoded)
    assert status_list.size == MIN_STATUS_LIST_BITS
    assert status_list.to_bytes() == bytes(16384)
    assert status_list == StatusList()


def test_parse_entries_of_spec_example1() -> None:
    credential = load_vector("status-list/example1-credential-with-status-entries.json")
    assert parse_status_entries(credential) == (
        StatusEntry(
            id="https://example.com/credentials/status/3#94567",
            purpose="revocation",
            index=94567,
            list_url="https://example.com/credentials/status/3",
        ),
        StatusEntry(
            id="https://example.com/credentials/status/4#23452",
            purpose="suspension",
            index=23452,
            list_url="https://example.com/credentials/status/4",
        ),
    )


@pytest.mark.parametrize(
    "name",
    [
        "example4-revocable-credential.unsigned.json",
        "example4-revocable-credential.eddsa-rdfc-2022.json",
    ],
)
def test_spec_example4_entry_is_not_revoked_in_example5_list(name: str) -> None:
    (entry,) = parse_status_entries(load_vector(f"status-list/{name}"))
    assert entry == StatusEntry(
        id="https://example.com/credentials/status/3#94567",
        purpose="revocation",
        index=94567,
        list_url="https://example.com/credentials/status/3",
    )
    list_credential = load_vector(
        "status-list/example5-status-list-credential.eddsa-rdfc-2022.json"
    )
    assert check_status(entry, list_credential, expected_issuer="did:example:12345") is False


def test_built_credential_matches_spec_example3() -> None:
    example = load_vector("status-list/example3-BitstringStatusListCredential.json")
    built = build_status_list_credential(
        list_url=example["id"],
        issuer="did:example:12345",
        purpose="revocation",
        status_list=StatusList(),
        valid_from=datetime(2021, 4, 5, 14, 27, 40, tzinfo=UTC),
    )
    # The spec's subject id (https://example.com/status/3#list) is not derived from the list URL.
    example["credentialSubject"]["id"] = example["id"] + "#list"
    assert built == example


# --- StatusList --------------------------------------------------------------------------------


def test_index_zero_is_the_most_significant_bit_of_byte_zero() -> None:
    status_list = StatusList()
    status_list.set(0, True)
    assert status_list.to_bytes()[:2] == b"\x80\x00"
    assert status_list.get(0) is True
    assert status_list.get(1) is False
    status_list.set(7, True)
    assert status_list.to_bytes()[0] == 0x81


def test_last_index_is_the_least_significant_bit_of_the_last_byte() -> None:
    status_list = StatusList()
    status_list.set(MIN_STATUS_LIST_BITS - 1, True)
    assert status_list.to_bytes()[-1] == 0x01
    assert status_list.get(MIN_STATUS_LIST_BITS - 1) is True
    status_list.set(MIN_STATUS_LIST_BITS - 1, False)
    assert status_list == StatusList()


@pytest.mark.parametrize("index", [-1, MIN_STATUS_LIST_BITS, 2**70])
def test_index_out_of_range_raises(index: int) -> None:
    status_list = StatusList()
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        status_list.get(index)
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        status_list.set(index, True)


def test_non_int_index_and_non_bool_value_are_type_errors() -> None:
    status_list = StatusList()
    with pytest.raises(TypeError):
        status_list.get(True)
    with pytest.raises(TypeError):
        status_list.set(3, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 8, MIN_STATUS_LIST_BITS - 8, MIN_STATUS_LIST_BITS + 1])
def test_list_size_below_minimum_or_not_whole_bytes_rejected(size: int) -> None:
    with pytest.raises(StatusListError, match="STATUS_LIST_LENGTH_ERROR"):
        StatusList(size)


def test_larger_list_round_trips() -> None:
    status_list = StatusList(4 * MIN_STATUS_LIST_BITS)
    status_list.set(4 * MIN_STATUS_LIST_BITS - 1, True)
    decoded = StatusList.decode(status_list.encode())
    assert decoded.size == 4 * MIN_STATUS_LIST_BITS
    assert decoded.get(4 * MIN_STATUS_LIST_BITS - 1) is True


indexes = st.sets(st.integers(0, MIN_STATUS_LIST_BITS - 1), max_size=200)


@settings(max_examples=60, deadline=None)
@given(indexes)
def test_encode_decode_round_trips(revoked: set[int]) -> None:
    status_list = StatusList()
    for index in revoked:
        status_list.set(index, True)
    encoded = status_list.encode()
    assert encoded == status_list.encode()  # deterministic
    assert _raw(encoded) == gzip.compress(status_list.to_bytes(), compresslevel=6, mtime=0)
    decoded = StatusList.decode(encoded)
    assert decoded == status_list
    probes = revoked | {0, MIN_STATUS_LIST_BITS - 1} | {i + 1 for i in revoked}
    for index in probes - {MIN_STATUS_LIST_BITS}:
        assert decoded.get(index) is (index in revoked)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_flipped_byte_fails_or_changes_nothing(data: st.DataObject) -> None:
    original = StatusList()
    for index in (0, 5, 9000, MIN_STATUS_LIST_BITS - 1):
        original.set(index, True)
    raw = bytearray(_raw(original.encode()))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    try:
        decoded = StatusList.decode(_multibase(bytes(raw)))
    except StatusListError:
        return
    # Only bytes the decoder ignores (header MTIME/XFL/OS/FTEXT, final padding bits) get here.
    assert decoded == original


# --- Attacks on encodedList --------------------------------------------------------------------


def test_gzip_bomb_rejected_without_inflating_it() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    megabyte = bytes(1 << 20)
    bomb = b"".join(compressor.compress(megabyte) for _ in range(32)) + compressor.flush()
    assert len(bomb) < 40_000  # ~32 KB that inflate to 32 MiB
    encoded = _multibase(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(StatusListError, match="GZIP bomb"):
            StatusList.decode(encoded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The cap plus one 64 KiB chunk and bytearray slack (more, relatively, at 1 MiB): not 32 MiB.
    assert peak < MAX_STATUS_LIST_BYTES * 2


def test_list_exactly_at_the_cap_is_accepted() -> None:
    compressed = gzip.compress(bytes(MAX_STATUS_LIST_BYTES), compresslevel=1, mtime=0)
    assert StatusList.decode(_multibase(compressed)).size == MAX_STATUS_LIST_BYTES * 8


def test_too_short_list_rejected() -> None:
    short = _multibase(gzip.compress(bytes(16383), mtime=0))
    with pytest.raises(StatusListError, match="STATUS_LIST_LENGTH_ERROR"):
        StatusList.decode(short)


@pytest.mark.parametrize("cut", [1, 4, 12, 30, 60])
def test_truncated_encoded_list_rejected(cut: int) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(SPEC_ENCODED_LIST[:-cut])


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "u",
        SPEC_ENCODED_LIST[1:],  # no multibase prefix
        "z" + SPEC_ENCODED_LIST[1:],  # wrong multibase base
        "uH4sI!AAA",
        SPEC_ENCODED_LIST + "==",  # padding is not allowed
        SPEC_ENCODED_LIST.replace("-", "+"),  # standard base64 alphabet
        SPEC_ENCODED_LIST[:20] + " " + SPEC_ENCODED_LIST[20:],
        _multibase(zlib.compress(bytes(16384))),  # zlib, not GZIP
        _multibase(b"\x1f\x8b\x08" + bytes(40)),  # GZIP magic, garbage body
        _multibase(bytes(16384)),  # uncompressed
        _multibase(_raw(SPEC_ENCODED_LIST) + b"junk"),  # data after the member
        _multibase(_raw(SPEC_ENCODED_LIST) * 2),  # a second member
        _multibase(_raw(SPEC_ENCODED_LIST)[:-8] + b"\x00\x00\x00\x00\x00\x40\x00\x00"),  # bad CRC
    ],
)
def test_garbage_encoded_list_rejected(encoded: str) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(encoded)


def test_non_string_encoded_list_rejected() -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(None)  # type: ignore[arg-type]


# --- Entries -----------------------------------------------------------------------------------


def test_single_entry_object_and_list_forms() -> None:
    expected = (
        StatusEntry(
            id="https://registry.example/labels/7#status",
            purpose="revocation",
            index=94567,
            list_url=LIST_URL,
        ),
    )
    assert parse_status_entries({"credentialStatus": _status()}) == expected
    assert parse_status_entries({"credentialStatus": [_status()]}) == expected
    assert parse_status_entries({"credentialStatus": _status(statusSize=1)}) == expected


def test_credential_without_status_has_no_entries() -> None:
    assert parse_status_entries({"type": ["VerifiableCredential"]}) == ()


def test_entry_id_is_optional() -> None:
    (entry,) = parse_status_entries({"credentialStatus": _status(id=None)})
    assert entry.id == ""


# The largest index is the last bit of the largest list the kit decodes: a longer one (the
# kit took 32 digits here and 9 in the credential reader) can point at no list it accepts.
@pytest.mark.parametrize("index", ["0", "007", "131071", "8388607", "0008388"])
def test_valid_decimal_indexes(index: str) -> None:
    (entry,) = parse_status_entries({"credentialStatus": _status(statusListIndex=index)})
    assert entry.index == int(index)


@pytest.mark.parametrize(
    "index",
    [
        *(
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1\n",
            "0x10",
            "1_000",
            "1e3",
            "1.0",
            "١٢",
            "9" * 33,
            5,
            None,
        ),
        *("8388608", "00000001", "9" * 32),  # beyond the largest list the kit decodes
    ],
)
def test_malformed_status_list_index_rejected(index: object) -> None:
    with pytest.raises(StatusListError, match="statusListIndex"):
        parse_status_entries({"credentialStatus": _status(statusListIndex=index)})


@pytest.mark.parametrize("size", [2, 8, 0, True, "1", 1.0])
def test_status_size_other_than_one_rejected(size: object) -> None:
    with pytest.raises(StatusListError, match="statusSize"):
        parse_status_entries({"credentialStatus": _status(statusSize=size)})


@pytest.mark.parametrize(
    "url",
    [
        "/status/1",
        "status/1",
        "https://",
        "https:///status",
        "",
        "https://a b/c",
        "did:example:1",
        3,
    ],
)
def test_status_list_credential_must_be_an_absolute_url(url: object) -> None:
    with pytest.raises(StatusListError, match="statusListCredential"):
        parse_status_entries({"credentialStatus": _status(statusListCredential=url)})


@pytest.mark.parametrize("purpose", ["", 7, ["revocation"], None])
def test_status_purpose_must_be_a_non_empty_string(purpose: object) -> None:
    with pytest.raises(StatusListError, match="statusPurpose"):
        parse_status_entries({"credentialStatus": _status(statusPurpose=purpose)})


@pytest.mark.parametrize(
    "status",
    [
        [],
        "https://registry.example/status/1",
        [_status(), "x"],
        _status(type="StatusList2021Entry"),
        _status(type=None),
        _status(id=LIST_URL),  # the spec forbids the entry id being the list URL
        _status(id=5),
    ],
)
def test_malformed_credential_status_rejected(status: object) -> None:
    with pytest.raises(StatusListError):
        parse_status_entries({"credentialStatus": status})


def test_non_object_credential_is_malformed_input() -> None:
    with pytest.raises(MalformedInputError):
        parse_status_entries(["credentialStatus"])  # type: ignore[arg-type]


# --- Building list credentials -----------------------------------------------------------------


def test_build_serializes_times_as_utc_seconds_and_keeps_issuer_object() -> None:
    cest = timezone(timedelta(hours=2))
    credential = build_status_list_credential(
        list_url=LIST_URL,
        issuer={"id": ISSUER, "name": "Registry"},
        purpose="suspension",
        status_list=StatusList(),
        valid_from=datetime(2025, 6, 1, 12, 0, 0, 999_999, tzinfo=cest),
        valid_until=datetime(2025, 6, 2, 12, 0, 0, tzinfo=cest),
    )
    assert credential["validFrom"] == "2025-06-01T10:00:00Z"
    assert credential["validUntil"] == "2025-06-02T10:00:00Z"
    assert credential["issuer"] == {"id": ISSUER, "name": "Registry"}
    assert credential["credentialSubject"]["id"] == LIST_URL + "#list"
    assert credential["credentialSubject"]["statusPurpose"] == "suspension"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"valid_from": datetime(2025, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
        ({"valid_until": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
        ({"valid_until": VALID_FROM}, "after"),
        ({"list_url": "/status/1"}, "absolute URL"),
        ({"list_url": LIST_URL + "#list"}, "fragment"),
        ({"issuer": {"name": "no id"}}, "issuer"),
        ({"issuer": ""}, "issuer"),
        ({"purpose": ""}, "statusPurpose"),
    ],
)
def test_build_rejects_bad_arguments(overrides: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "list_url": LIST_URL,
        "issuer": ISSUER,
        "purpose": "revocation",
        "status_list": StatusList(),
        "valid_from": VALID_FROM,
    }
    arguments.update(overrides)
    with pytest.raises(StatusListError, match=match):
        build_status_list_credential(**arguments)


# --- check_status ------------------------------------------------------------------------------


def test_check_status_returns_the_bit() -> None:
    list_credential = _list_credential(42, 131071)
    assert check_status(_entry(42), list_credential, expected_issuer=ISSUER) is True
    assert check_status(_entry(131071), list_credential, expected_issuer=ISSUER) is True
    assert check_status(_entry(43), list_credential, expected_issuer=ISSUER) is False


def test_check_status_accepts_issuer_object_and_purpose_array() -> None:
    list_credential = _list_credential(42, issuer={"id": ISSUER})
    list_credential["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    assert check_status(_entry(42, purpose="suspension"), list_credential, expected_issuer=ISSUER)


def test_status_list_of_another_issuer_rejected() -> None:
    forged = _list_credential(issuer="did:key:z6MkAttacker")
    with pytest.raises(StatusListError, match="issued by"):
        check_status(_entry(42), forged, expected_issuer=ISSUER)


def test_entry_pointing_at_different_list_url_rejected() -> None:
    other_list = _list_credential(url="https://registry.example/status/2")
    with pytest.raises(StatusListError, match="statusListCredential"):
        check_status(_entry(42), other_list, expected_issuer=ISSUER)


def test_purpose_swap_suspension_entry_against_revocation_list_rejected() -> None:
    revocation_list = _list_credential(purpose="revocation")
    with pytest.raises(StatusListError, match="purpose"):
        check_status(_entry(42, purpose="suspension"), revocation_list, expected_issuer=ISSUER)


@pytest.mark.parametrize("index", [MIN_STATUS_LIST_BITS, 10**30])
def test_index_beyond_list_rejected(index: int) -> None:
    with pytest.raises(StatusListError, match="RANGE_ERROR"):
        check_status(_entry(index), _list_credential(), expected_issuer=ISSUER)


def test_too_short_list_in_credential_rejected() -> None:
    list_credential = _list_credential()
    short = _multibase(gzip.compress(bytes(1024), mtime=0))
    list_credential["credentialSubject"]["encodedList"] = short
    with pytest.raises(StatusListError, match="STATUS_LIST_LENGTH_ERROR"):
        check_status(_entry(0), list_credential, expected_issuer=ISSUER)


def _tamper(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    list_credential = copy.deepcopy(_list_credential())
    target = list_credential
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return list_credential


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), None),
        (("type",), ["VerifiableCredential"]),
        (("type",), None),
        (("issuer",), None),
        (("issuer",), {"name": "no id"}),
        (("credentialSubject",), [{"type": "BitstringStatusList"}]),
        (("credentialSubject", "type"), "StatusList2021"),
        (("credentialSubject", "statusPurpose"), None),
        (("credentialSubject", "statusPurpose"), []),
        (("credentialSubject", "encodedList"), None),
        (("credentialSubject", "encodedList"), SPEC_ENCODED_LIST[:-10]),
    ],
)
def test_malformed_list_credential_rejected(path: tuple[str, ...], value: Any) -> None:
    with pytest.raises(StatusListError):
        check_status(_entry(1), _tamper(path, value), expected_issuer=ISSUER)


def test_check_status_rejects_empty_expected_issuer_and_non_object_list() -> None:
    with pytest.raises(StatusListError, match="expected_issuer"):
        check_status(_entry(1), _list_credential(), expected_issuer="")
    with pytest.raises(MalformedInputError):
        check_status(_entry(1), "not a credential", expected_issuer=ISSUER)  # type: ignore[arg-type]


def test_issuer_id_forms() -> None:
    assert issuer_id(ISSUER) == ISSUER
    assert issuer_id({"id": ISSUER, "name": "x"}) == ISSUER
    for bad in ("", {}, {"id": 3}, None):
        with pytest.raises(CredentialError):
            issuer_id(bad)  # type: ignore[arg-type]

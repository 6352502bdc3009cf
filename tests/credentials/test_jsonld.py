"""Bundled contexts, the offline document loader, strict expansion and untrusted-JSON limits."""

from __future__ import annotations

import copy
import hashlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import pytest

from credentials.credential import build_label_credential
from credentials.errors import (
    ContextError,
    CredentialError,
    MalformedInputError,
    UndefinedTermError,
)
from credentials.jsonld import (
    CARBON_LABEL_V1,
    CREDENTIALS_V2,
    DEFAULT_LOADER,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    DocumentLoader,
    bundled_contexts,
    canonicalize_jcs,
    canonicalize_rdfc,
    check_json_shape,
    expand,
    parse_json,
)
from tests.conftest import VECTORS, load_vector
from tests.credentials.factories import sample_label

CONTEXTS = resources.files("credentials") / "contexts"
INDEX = json.loads((CONTEXTS / "index.json").read_text(encoding="utf-8"))
SHARED_INDEX = load_vector("contexts/index.json")
UNKNOWN = "https://example.com/contexts/unknown/v1"
EXTRA = {"@context": {"@protected": True, "shoeSize": "https://example.com/vocab#shoeSize"}}
# Each refused input must be refused quickly: no quadratic scans, no deep recursion.
FAST = 1.0


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the document loader tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def _credential() -> dict[str, Any]:
    return build_label_credential(sample_label())


def _refused_fast(call: Callable[[], Any], error: type[Exception] = MalformedInputError) -> None:
    started = time.perf_counter()
    with pytest.raises(error):
        call()
    assert time.perf_counter() - started < FAST


# --- bundled contexts --------------------------------------------------------------------------


def _index_ids() -> Iterator[str]:
    return (entry["url"] for entry in INDEX)


@pytest.mark.parametrize("entry", INDEX, ids=list(_index_ids()))
def test_bundled_context_bytes_match_index_sha256(entry: dict[str, str]) -> None:
    raw = bundled_contexts()[entry["url"]]
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    assert raw == (CONTEXTS / entry["file"]).read_bytes()


@pytest.mark.parametrize("entry", INDEX, ids=list(_index_ids()))
def test_loader_serves_every_bundled_context(entry: dict[str, str]) -> None:
    served = DEFAULT_LOADER(entry["url"])
    assert served["documentUrl"] == entry["url"]
    assert served["document"] == json.loads(bundled_contexts()[entry["url"]])
    assert DEFAULT_LOADER.export()[entry["url"]] == bundled_contexts()[entry["url"]]


@pytest.mark.parametrize("entry", SHARED_INDEX, ids=[e["url"] for e in SHARED_INDEX])
def test_bundled_contexts_are_the_published_w3c_bytes(entry: dict[str, Any]) -> None:
    shared = (VECTORS / "contexts" / entry["file"]).read_bytes()
    assert bundled_contexts()[entry["url"]] == shared


def test_index_lists_every_context_file_once() -> None:
    files = sorted(p.name for p in CONTEXTS.iterdir() if p.name.endswith(".jsonld"))
    assert sorted(entry["file"] for entry in INDEX) == files
    assert len({entry["url"] for entry in INDEX}) == len(INDEX)
    assert CARBON_LABEL_V1 in bundled_contexts()
    assert DEFAULT_LOADER.urls == frozenset(bundled_contexts())


def test_served_documents_are_copies() -> None:
    loader = DocumentLoader()
    served = loader(CARBON_LABEL_V1)["document"]
    served["@context"]["grade"] = "https://evil.example/grade"
    assert loader(CARBON_LABEL_V1)["document"] == json.loads(bundled_contexts()[CARBON_LABEL_V1])


# --- the loader refuses what it does not hold ----------------------------------------------------


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "url",
    [
        UNKNOWN,
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/v2/",
        "http://www.w3.org/ns/credentials/v2",
        "https://w3id.org/carbon-label/v2",
        "file:///etc/passwd",
        "",
    ],
)
def test_loader_refuses_unknown_url_without_network(url: str) -> None:
    with pytest.raises(ContextError):
        DEFAULT_LOADER(url)
    with pytest.raises(ContextError):
        DEFAULT_LOADER.document(url)


@pytest.mark.usefixtures("no_network")
def test_expansion_with_unknown_context_is_context_error() -> None:
    document = _credential()
    document["@context"] = [*document["@context"], UNKNOWN]
    with pytest.raises(ContextError):
        expand(document)
    with pytest.raises(ContextError):
        canonicalize_rdfc(document, loader=DocumentLoader())


def test_loader_refuses_replacing_a_bundled_context() -> None:
    forged = {"@context": {"grade": "https://evil.example/grade"}}
    with pytest.raises(ContextError):
        DocumentLoader({CARBON_LABEL_V1: forged})
    with pytest.raises(ContextError):
        DocumentLoader({CREDENTIALS_V2: forged})
    with pytest.raises(ContextError):
        DEFAULT_LOADER.with_contexts({CARBON_LABEL_V1: forged})


def test_loader_accepts_a_bundled_context_repeated_unchanged() -> None:
    same = json.loads(bundled_contexts()[CARBON_LABEL_V1])
    loader = DocumentLoader({CARBON_LABEL_V1: same})
    assert loader.document(CARBON_LABEL_V1) == same


@pytest.mark.parametrize(
    ("url", "document"),
    [
        (UNKNOWN, {"shoeSize": "https://example.com/vocab#shoeSize"}),  # no "@context"
        (UNKNOWN, ["@context"]),
        (UNKNOWN, "not json"),
        ("contexts/relative", EXTRA),
        ("_:b0", EXTRA),
    ],
)
def test_loader_refuses_malformed_extra_context(url: str, document: Any) -> None:
    with pytest.raises(CredentialError):
        DocumentLoader({url: document})


@pytest.mark.parametrize(
    "document", [EXTRA, json.dumps(EXTRA), json.dumps(EXTRA).encode("utf-8")], ids=type
)
def test_loader_accepts_an_explicitly_added_context(document: Any) -> None:
    loader = DocumentLoader({UNKNOWN: document})
    credential = _credential()
    credential["@context"] = [*credential["@context"], UNKNOWN]
    credential["credentialSubject"]["shoeSize"] = "44"
    expanded = json.dumps(expand(credential, loader=loader))
    assert "https://example.com/vocab#shoeSize" in expanded
    assert UNKNOWN in loader.urls
    assert loader.export()[UNKNOWN]
    # The added context is the caller's: other loaders still refuse it.
    with pytest.raises(ContextError):
        expand(credential)
    with pytest.raises(ContextError):
        expand(credential, loader=DocumentLoader())


def test_with_contexts_keeps_earlier_additions() -> None:
    other = "https://example.com/contexts/other/v1"
    loader = DocumentLoader({UNKNOWN: EXTRA}).with_contexts({other: {"@context": {}}})
    assert {UNKNOWN, other} <= loader.urls
    assert loader.document(UNKNOWN) == EXTRA


# --- strict expansion ----------------------------------------------------------------------------


def test_expand_accepts_the_label_credential() -> None:
    expanded = expand(_credential())
    assert len(expanded) == 1
    assert "https://w3id.org/carbon-label#CarbonLabelCredential" in expanded[0]["@type"]


@pytest.mark.parametrize(
    "path",
    [("credentialSubject",), ("credentialSubject", "footprint"), ("issuer",), ()],
)
def test_expand_undefined_property_is_undefined_term_error(path: tuple[str, ...]) -> None:
    credential = _credential()
    node = credential
    for key in path:
        node = node[key]
    node["co2Offset"] = "-100"
    with pytest.raises(UndefinedTermError):
        expand(credential)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject",), "GreenLabel"),
        (("credentialSubject", "product"), "Gadget"),
        ((), ["VerifiableCredential", "CarbonLabelCredential", "GreenLabel"]),
    ],
    ids=str,
)
def test_expand_undefined_type_is_undefined_term_error(path: tuple[str, ...], value: Any) -> None:
    credential = _credential()
    node = credential
    for key in path:
        node = node[key]
    node["type"] = value
    with pytest.raises(UndefinedTermError):
        expand(credential)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), "l/7K3M9QH2XD"),
        (("issuer", "id"), "issuers/lingnan"),
        (("credentialStatus", 0, "statusListCredential"), "../status-lists/r1"),
    ],
    ids=str,
)
def test_expand_relative_id_is_undefined_term_error(path: tuple[Any, ...], value: str) -> None:
    credential = _credential()
    node: Any = credential
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(UndefinedTermError):
        expand(credential)


@pytest.mark.parametrize("document", [[], "x", None, 1])
def test_expand_needs_a_json_object(document: Any) -> None:
    with pytest.raises(MalformedInputError):
        expand(document)


def test_expand_does_not_modify_its_input() -> None:
    credential = _credential()
    before = copy.deepcopy(credential)
    expand(credential)
    assert credential == before


# --- parse_json limits ---------------------------------------------------------------------------


def test_parse_json_accepts_a_document_at_the_size_limit() -> None:
    text = '"' + "a" * (MAX_DOCUMENT_BYTES - 2) + '"'
    assert len(parse_json(text)) == MAX_DOCUMENT_BYTES - 2


@pytest.mark.parametrize(
    "data",
    [
        b'"' + b"a" * MAX_DOCUMENT_BYTES + b'"',
        "[" + "1," * 600_000 + "1]",
        '"' + "é" * 600_000 + '"',  # 600 k characters, but 1.2 MB of UTF-8
    ],
    ids=["bytes", "str", "multibyte-str"],
)
def test_parse_json_refuses_more_than_one_megabyte(data: bytes | str) -> None:
    _refused_fast(lambda: parse_json(data))


@pytest.mark.parametrize(
    "data",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        "[" * 400_000 + "]" * 400_000,
        ("[" * 10_000 + "]" * 10_000).encode("ascii"),
    ],
    ids=["arrays-10k", "objects-10k", "arrays-400k", "bytes-10k"],
)
def test_parse_json_refuses_deep_nesting_fast(data: str | bytes) -> None:
    _refused_fast(lambda: parse_json(data))


def test_parse_json_depth_limit_is_exact() -> None:
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(MalformedInputError):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    "data",
    ["NaN", "[NaN]", '{"a": Infinity}', "[-Infinity]", '{"value": NaN}'],
)
def test_parse_json_refuses_nan_and_infinity(data: str) -> None:
    _refused_fast(lambda: parse_json(data))


@pytest.mark.parametrize("data", ["[1e400]", '{"value": -1E+999}'])
def test_parse_json_refuses_numbers_that_overflow_to_infinity(data: str) -> None:
    # json.loads turns 1e400 into float("inf"): the same non-JSON value "Infinity" is refused as.
    _refused_fast(lambda: parse_json(data))


@pytest.mark.parametrize(
    "data",
    [
        b'["\xff\xfe"]',
        b'["\xc3"]',  # truncated 2-byte sequence
        b'["\xc0\xaf"]',  # overlong "/"
        b'["\xed\xa0\x80"]',  # CESU-8 encoded surrogate
        b'["\xf4\x90\x80\x80"]',  # above U+10FFFF
    ],
)
def test_parse_json_refuses_invalid_utf8(data: bytes) -> None:
    _refused_fast(lambda: parse_json(data))


@pytest.mark.parametrize(
    "data",
    ['["\\ud800"]', '{"\\udc00": 1}', '["a\\udbffb"]', '["\ud800"]', '{"k": {"\udfff": 1}}'],
)
def test_parse_json_refuses_lone_surrogates(data: str) -> None:
    _refused_fast(lambda: parse_json(data))


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ('{"grade": "E", "grade": "A"}', "grade"),
        ('{"a": 1, "b": {"c": 1, "c": 1}}', "c"),  # nested, and even with equal values
        ('[{"x": 1}, {"y": 2, "y": 2}]', "y"),
        ('{"\\u0067rade": "E", "grade": "A"}', "grade"),  # an escape is the same name
    ],
    ids=["top-level", "nested-equal", "in-array", "escaped"],
)
def test_parse_json_refuses_a_member_named_twice(data: str, name: str) -> None:
    with pytest.raises(MalformedInputError, match=f"{name!r} appears twice"):
        parse_json(data)
    with pytest.raises(MalformedInputError, match="appears twice"):
        parse_json(data.encode("utf-8"))


def test_parse_json_keeps_equal_names_in_different_objects() -> None:
    assert parse_json('[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_parse_json_takes_utf8_bytes_only(encoding: str) -> None:
    # json.loads alone reads UTF-16 and UTF-32 bytes; I-JSON is UTF-8 without a BOM.
    data = '{"grade": "A"}'.encode(encoding)
    with pytest.raises(MalformedInputError):
        parse_json(data)


def test_parse_json_accepts_escaped_surrogate_pairs() -> None:
    assert parse_json('["\\ud83d\\ude00"]') == ["\U0001f600"]


@pytest.mark.parametrize(
    "data",
    ["", "{", '{"a": 1} x', "[1,]", "{'a': 1}", "[1, 2", "\x00"],
)
def test_parse_json_refuses_malformed_json(data: str) -> None:
    _refused_fast(lambda: parse_json(data))


def test_parse_json_refuses_too_many_values_fast() -> None:
    _refused_fast(lambda: parse_json("[" + ",".join(["[]"] * 40_000) + "]"))


def test_parse_json_round_trips_the_credential() -> None:
    credential = _credential()
    assert parse_json(json.dumps(credential).encode("utf-8")) == credential


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", (1, 2), object(), {"a": [{"b": b"x"}]}])
def test_check_json_shape_refuses_non_json_values(value: Any) -> None:
    with pytest.raises(MalformedInputError):
        check_json_shape(value)


def test_canonicalize_jcs_is_rfc8785_of_the_credential() -> None:
    credential = _credential()
    text = canonicalize_jcs(credential)
    assert json.loads(text) == credential
    assert text.startswith(b'{"@context":["https://www.w3.org/ns/credentials/v2",')

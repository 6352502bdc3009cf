"""The per-shape template fast path of RDFC-1.0 against pyld's own URDNA2015.

The key property: ``canonicalize_rdfc(doc) == canonicalize_rdfc_reference(doc) ==
pyld.jsonld.normalize(doc)`` for every document, whatever the template cache already holds,
and where the reference raises, the fast path raises the same error class.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld_jsonld

from credentials._internal.rdf_template import _PREFIX, TemplateCache, _kit_shapes, _shape
from credentials.credential import PactSource, build_label_credential
from credentials.errors import CredentialError, MalformedInputError
from credentials.jsonld import (
    DEFAULT_LOADER,
    DocumentLoader,
    canonicalize_rdfc,
    canonicalize_rdfc_reference,
    urdna2015,
)
from tests.conftest import VECTORS, load_vector
from tests.credentials.factories import sample_label, signed_credential

XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"


def pyld_normalize(document: Any) -> str:
    result: str = pyld_jsonld.normalize(
        copy.deepcopy(document),
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": DEFAULT_LOADER,
        },
    )
    return result


def _outcome(document: Any, loader: DocumentLoader, *, fast: bool) -> tuple[str, str]:
    function = canonicalize_rdfc if fast else canonicalize_rdfc_reference
    try:
        if fast and isinstance(document, dict):
            # Treat the shape as a trusted one so its template is compiled and used: the
            # differential property must hold for every shape the kit might ever register.
            loader.templates.register(document)
        return ("ok", function(document, loader=loader))
    except CredentialError as exc:
        return ("error", type(exc).__name__)


def assert_agree(document: Any, loader: DocumentLoader) -> str | None:
    """Fast path == reference (same error class if it raises) == pyld; return the N-Quads."""
    before = copy.deepcopy(document)
    reference = _outcome(document, loader, fast=False)
    fast = _outcome(document, loader, fast=True)
    assert fast == reference
    assert document == before, "canonicalization modified its input"
    if reference[0] == "error":
        return None
    assert reference[1] == pyld_normalize(document)
    return reference[1]


# --- W3C vectors ---------------------------------------------------------------------------------


def _vector_documents() -> Iterator[Path]:
    for path in sorted(VECTORS.rglob("*.json")):
        relative = path.relative_to(VECTORS).as_posix()
        if not relative.startswith(("merkle/", "signed-note/", "contexts/")):
            yield path


VECTOR_DOCUMENTS = list(_vector_documents())


@pytest.mark.parametrize(
    "path", VECTOR_DOCUMENTS, ids=[p.relative_to(VECTORS).as_posix() for p in VECTOR_DOCUMENTS]
)
def test_every_vector_document_agrees_cold_and_warm(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    loader = DocumentLoader()
    first = assert_agree(document, loader)
    # The second run uses the template compiled by the first.
    assert assert_agree(document, loader) == first


@pytest.mark.parametrize(
    ("config", "document"),
    [
        ("eddsa-proof-set-chain/proofSetConfig1.json", "eddsa-proof-set-chain/unsigned.json"),
        ("eddsa-proof-set-chain/proofChainConfig1.json", "eddsa-proof-set-chain/unsigned.json"),
        ("eddsa-proof-set-chain/proofChainConfig2.json", "eddsa-proof-set-chain/unsigned.json"),
    ],
)
def test_context_free_proof_configs_agree_with_the_document_context(
    config: str, document: str
) -> None:
    options = {**load_vector(config), "@context": load_vector(document)["@context"]}
    loader = DocumentLoader()
    assert assert_agree(options, loader) is not None


@pytest.mark.parametrize(
    ("document", "canonical"),
    [
        ("eddsa-common/unsigned.json", "eddsa-rdfc-2022/canonDocDataInt.txt"),
        ("eddsa-common/employmentAuth.json", "eddsa-rdfc-2022/employ/canonDocDataInt.txt"),
        ("eddsa-rdfc-2022/proofConfigDataInt.json", "eddsa-rdfc-2022/proofCanonDataInt.txt"),
    ],
)
def test_fast_path_reproduces_vector_nquads(document: str, canonical: str) -> None:
    loader = DocumentLoader()
    for _ in range(3):
        assert canonicalize_rdfc(load_vector(document), loader=loader) == load_vector(canonical)


# --- the label credential ------------------------------------------------------------------------

LABEL = build_label_credential(sample_label())
SIGNED_RDFC = signed_credential()
SIGNED_JCS = signed_credential(cryptosuite="eddsa-jcs-2022")
ASSURED = signed_credential(assurance="reasonable")
# Issued from PACT footprints (3.0: no version; 2.x: a version): the PACT context's terms too.
_NO_MODEL = replace(sample_label().product, model=None)
PACT_V3 = signed_credential(
    product=_NO_MODEL, pact=PactSource("12345678-9abc-def0-1234-567812345678", "3.0.0")
)
PACT_V2 = signed_credential(
    product=_NO_MODEL, pact=PactSource("91715e5e-fd0b-4d1c-8fab-76290c46e6ed", "2.3.0", 7)
)
BASES = {
    "unsigned": LABEL,
    "rdfc": SIGNED_RDFC,
    "jcs": SIGNED_JCS,
    "assured": ASSURED,
    "pact-v3": PACT_V3,
    "pact-v2": PACT_V2,
}


@pytest.mark.parametrize("name", sorted(BASES))
def test_label_credential_agrees(name: str) -> None:
    loader = DocumentLoader()
    first = assert_agree(BASES[name], loader)
    assert first is not None
    assert assert_agree(BASES[name], loader) == first


def test_same_shape_different_values_never_leak_between_documents() -> None:
    loader = DocumentLoader()
    first = copy.deepcopy(LABEL)
    second = build_label_credential(
        sample_label(label_id="ZZZZZZZZZZ", issuer_name="Other Body", grade="D")
    )
    second["credentialSubject"]["product"]["name"] = "Second product"
    outputs = {}
    for name, document in [("a", first), ("b", second), ("a2", first), ("b2", second)]:
        outputs[name] = assert_agree(document, loader)
    assert outputs["a"] == outputs["a2"]
    assert outputs["b"] == outputs["b2"]
    assert outputs["a"] != outputs["b"]
    assert "Second product" not in str(outputs["a"])
    assert "LFP battery module" not in str(outputs["b"])
    assert "ZZZZZZZZZZ" not in str(outputs["a"])


def test_each_loader_has_its_own_template_cache() -> None:
    first, second = DocumentLoader(), DocumentLoader()
    assert first.templates is not second.templates
    assert first.templates is not DEFAULT_LOADER.templates


PURPOSES = [
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
    "https://example.org/purposes#audit",
    "urn:example:purpose",
    "schema:purpose",
    "cl:x",
    "sec:assertionMethod",
    "assertion",
    "_:b0",
    "",
    "assertionMethod",
]


def test_proof_purpose_variants_agree_on_one_warm_loader() -> None:
    # One loader for all: each purpose is a different value in the same vocab-typed slot.
    loader = DocumentLoader()
    for purpose in PURPOSES:
        for base in (SIGNED_RDFC, SIGNED_JCS):
            variant = copy.deepcopy(base)
            variant["proof"]["proofPurpose"] = purpose
            assert_agree(variant, loader)
        config = {k: v for k, v in variant["proof"].items() if k != "proofValue"}
        config["@context"] = base["@context"]
        assert_agree(config, loader)


# --- hypothesis: label credential variants -------------------------------------------------------


def _slot_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every string the template treats as a slot (not @context, not type)."""
    if isinstance(node, str):
        yield path
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("@context", "type"):
                yield from _slot_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _slot_paths(value, (*path, index))


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(document, path[:-1])[path[-1]] = value


SLOTS = {name: list(_slot_paths(doc)) for name, doc in BASES.items()}
ALL_VALUES = sorted({_get(doc, p) for name, doc in BASES.items() for p in SLOTS[name]})

GOOD_IRIS = [
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "did:example:123",
    "did:web:registry.example.cn:bodies:7",
    "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "urn:epc:idpat:sgtin:6901234.056789.*",
    "https://registry.example.cn/l/7K3M9QH2XD",
    "https://example.com/a?b=c#d",
    "http://example.org",
    "mailto:a@example.org",
    "tag:example.org,2026:x",
    "Schema:foo",
    "foo:bar",
    # compact-IRI-looking values: these prefixes ARE defined by our context
    "schema:foo",
    "schema:",
    "cl:x",
    "xsd:y",
    "xsd:double",
    "schema://not-a-compact-iri",
    # a term name used as a prefix, blank node ids, the template's own placeholder form
    "value:1",
    "name:x",
    "_:b0",
    "_:b1",
    "_:c14n0",
    _PREFIX + "0",
]
# Values that are not absolute IRIs: term names, relative IRIs, keyword-looking strings.
ODD_IRIS = [
    "name",
    "id",
    "type",
    "VerifiableCredential",
    "assertionMethod",
    "relative/path",
    "../up",
    "#fragment",
    "?query",
    "@id",
    "@type",
    "@foo",
    "",
    " ",
    "did:x y",
]
# Mostly values an IRI slot accepts, so most examples reach the comparison with pyld.
IRIS = st.sampled_from(GOOD_IRIS * 4 + ODD_IRIS)
_IRI_KEYS = {"id", "statusListCredential", "verificationMethod", "supersedes", "proofPurpose"}


def _is_iri_slot(path: tuple[Any, ...]) -> bool:
    return path[-1] in _IRI_KEYS or "identifier" in path


TEXT = st.text(max_size=16) | st.sampled_from(
    ['"', "\\", "\n", "\r\n\t", "", "é", "\U0001f600", "\u2028", 'a"b\\c\nd', "\x00", "\x7f"]
)


@st.composite
def label_variants(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(BASES)))
    document = copy.deepcopy(BASES[name])
    paths = SLOTS[name]
    originals = [_get(document, p) for p in paths]
    for _ in range(draw(st.integers(0, 12))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        duplicate = st.sampled_from(originals)  # equal to another value of this document
        value = draw(
            IRIS | duplicate
            if _is_iri_slot(path)
            else TEXT | IRIS | duplicate | st.sampled_from(ALL_VALUES)
        )
        _set(document, path, value)
    subject = document["credentialSubject"]
    product = subject["product"]
    for key in ("model", "gtin"):
        if draw(st.booleans()):
            product.pop(key, None)
    identifiers = draw(st.none() | st.lists(IRIS | st.sampled_from(originals), max_size=3))
    if identifiers is None:
        product.pop("identifier", None)
    else:
        product["identifier"] = identifiers
    if draw(st.booleans()):
        subject["supersedes"] = draw(IRIS)
    if draw(st.booleans()):
        subject["id"] = draw(IRIS)
    status = document["credentialStatus"]
    if draw(st.booleans()):
        status[1]["id"] = status[0]["id"]  # duplicated status entry ids
    if "proof" in document and draw(st.booleans()):
        document["proof"]["proofPurpose"] = draw(
            st.sampled_from(["authentication", "capabilityInvocation", "keyAgreement"]) | IRIS
        )
    return document


_VARIANT_LOADER = DocumentLoader()  # shared by every example: the cache stays warm


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(label_variants())
def test_label_variants_agree_with_reference_and_pyld(document: dict[str, Any]) -> None:
    assert_agree(document, _VARIANT_LOADER)
    # Interleave a document of the usual values: a template warmed by one must not leak into
    # the other, in either order.
    assert assert_agree(LABEL, _VARIANT_LOADER) is not None
    assert_agree(document, _VARIANT_LOADER)


@settings(max_examples=15, deadline=None)
@given(st.lists(TEXT, min_size=3, max_size=3), st.lists(IRIS, min_size=2, max_size=2))
def test_many_values_on_one_shape_with_a_fresh_loader(texts: list[str], iris: list[str]) -> None:
    loader = DocumentLoader()
    outputs = []
    for text, iri in [(texts[0], iris[0]), (texts[1], iris[1]), (texts[2], iris[0])]:
        document = copy.deepcopy(LABEL)
        document["issuer"]["name"] = text
        document["credentialSubject"]["product"]["identifier"] = [iri]
        outputs.append((document, assert_agree(document, loader)))
    for document, output in reversed(outputs):
        if output is not None:
            assert canonicalize_rdfc(document, loader=loader) == output


# --- inputs the template must hand to the full path ----------------------------------------------


def test_document_containing_the_placeholder_prefix_agrees_in_either_order() -> None:
    tricky = copy.deepcopy(LABEL)
    tricky["issuer"]["name"] = _PREFIX + "3"
    tricky["credentialSubject"]["product"]["identifier"] = [_PREFIX + "0"]
    for order in ((tricky, LABEL), (LABEL, tricky)):
        loader = DocumentLoader()
        for document in order:
            assert assert_agree(document, loader) is not None


def test_json_literal_and_embedded_context_agree() -> None:
    loader = DocumentLoader()
    for value in ("a", "b", "urn:x:1"):
        document = {
            "@context": {
                "data": {"@id": "https://example.org/data", "@type": "@json"},
                "ref": {"@id": "https://example.org/ref", "@type": "@id"},
            },
            "@id": "urn:example:doc",
            "data": {"inner": value, "list": [value, value]},
            "ref": [value if ":" in value else "urn:x:2", "urn:x:2"],
        }
        assert assert_agree(document, loader) is not None


def test_lone_surrogate_in_a_value_is_refused_like_the_reference() -> None:
    loader = DocumentLoader()
    assert_agree(LABEL, loader)  # warm the shape
    document = copy.deepcopy(LABEL)
    document["issuer"]["name"] = "Lingnan \ud800 Co."
    with pytest.raises(MalformedInputError):
        canonicalize_rdfc_reference(document, loader=loader)
    with pytest.raises(MalformedInputError):
        canonicalize_rdfc(document, loader=loader)


def test_lone_surrogate_in_a_value_is_refused_on_a_cold_cache() -> None:
    document = copy.deepcopy(LABEL)
    document["credentialSubject"]["product"]["name"] = "\udc00"
    with pytest.raises(MalformedInputError):
        canonicalize_rdfc(document, loader=DocumentLoader())


@pytest.mark.parametrize(
    "document",
    [
        {
            "@context": {"d": {"@id": "https://example.org/d", "@type": XSD_DOUBLE}},
            "@id": "urn:example:1",
            "d": "1.5",
        },
        {
            "@context": {"d": {"@id": "https://example.org/d"}},
            "@id": "urn:example:1",
            "d": {"@value": "1.50", "@type": XSD_DOUBLE},
        },
    ],
    ids=["coerced", "value-object"],
)
def test_string_typed_xsd_double_agrees_with_pyld(document: dict[str, Any]) -> None:
    # pyld writes a string literal typed xsd:double in canonical double form ("1.5E0"); the
    # template compiled with a placeholder (not a number) must not keep the raw string.
    assert assert_agree(document, DocumentLoader()) is not None


def test_xsd_double_inside_the_label_credential_agrees_with_pyld() -> None:
    document = copy.deepcopy(LABEL)
    document["credentialSubject"]["footprint"]["value"] = {"@value": "61.2", "@type": "xsd:double"}
    assert assert_agree(document, DocumentLoader()) is not None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["credentialSubject"].__setitem__("co2Offset", "1"),
        lambda d: d.__setitem__("@context", [*d["@context"], "https://example.com/unknown"]),
        lambda d: d["credentialSubject"]["footprint"].__setitem__("value", 61.2),
        lambda d: d["credentialSubject"].__setitem__("nested", [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]),
        lambda d: d.__setitem__("id", ""),
        lambda d: d["issuer"].__setitem__("id", "did:x y"),
    ],
    ids=["undefined-term", "unknown-context", "number", "deep", "empty-id", "space-in-iri"],
)
def test_errors_have_the_reference_class_cold_and_warm(mutate: Any) -> None:
    loader = DocumentLoader()
    assert_agree(LABEL, loader)
    document = copy.deepcopy(LABEL)
    mutate(document)
    assert_agree(document, loader)
    assert_agree(document, loader)
    assert_agree(document, DocumentLoader())


@pytest.mark.parametrize("document", [[], "x", None, 1, [LABEL]])
def test_non_object_documents_are_refused_alike(document: Any) -> None:
    with pytest.raises(MalformedInputError):
        canonicalize_rdfc(document, loader=DocumentLoader())
    with pytest.raises(MalformedInputError):
        canonicalize_rdfc_reference(document, loader=DocumentLoader())


# --- the cache is bounded ------------------------------------------------------------------------


def test_cache_does_not_grow_past_maxsize_with_distinct_shapes() -> None:
    loader = DocumentLoader()
    cache = TemplateCache(maxsize=8)
    documents = [
        {"@id": f"urn:example:{i}", f"https://example.org/p{i}": ["v"] * (i % 3 + 1)}
        for i in range(40)
    ]
    for document in documents:
        cache.register(document)
        assert urdna2015(cache.dataset(document, loader)) == canonicalize_rdfc_reference(
            document, loader=loader
        )
        assert len(cache._cache) <= 8
    # Evicted shapes still come out right when they return.
    for document in documents[:3]:
        assert urdna2015(cache.dataset(document, loader)) == pyld_normalize(document)


def test_cache_does_not_grow_with_distinct_specialised_values() -> None:
    # "schema:i" is a compact IRI (schema is a defined prefix), so each value specialises the
    # shape: attacker-chosen values must not grow the cache either.
    loader = DocumentLoader()
    cache = TemplateCache(maxsize=8)
    for i in range(40):
        document = {"@id": f"schema:{i}", "https://example.org/p": f"v{i}"}
        cache.register(document)
        assert urdna2015(cache.dataset(document, loader)) == pyld_normalize(document)
        assert len(cache._cache) <= 8


def test_loader_cache_is_bounded_at_its_default_maxsize() -> None:
    loader = DocumentLoader()
    maxsize = loader.templates._cache.maxsize
    assert maxsize == 256
    for i in range(maxsize + 40):
        document = {"@id": "urn:example:x", f"https://example.org/p{i}": "v"}
        loader.templates.register(document)
        canonicalize_rdfc(document, loader=loader)
    assert len(loader.templates._cache) <= maxsize


# --- issue 7: templates are compiled only from the kit's own shapes ------------------------------


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every document a template is compiled from (the compiler itself still runs)."""
    from credentials._internal import rdf_template

    seen: list[dict[str, Any]] = []
    original = rdf_template._compile

    def spy(document: dict[str, Any], *args: Any) -> Any:
        seen.append(document)
        return original(document, *args)

    monkeypatch.setattr(rdf_template, "_compile", spy)
    return seen


SIGNED_SUPERSEDING = signed_credential(supersedes="https://x.example/l/1")  # signed before any spy


def _registered_samples() -> list[dict[str, Any]]:
    from credentials._internal import rdf_template

    return [s for samples in rdf_template._kit_shapes.values() for s in samples]


@pytest.mark.parametrize(
    "vector", ["eddsa-rdfc-2022/signedDataInt.json", "eddsa-proof-set-chain/signedProofSet2.json"]
)
def test_verifying_a_document_of_an_unknown_shape_compiles_no_template(
    compiled: list[dict[str, Any]], vector: str
) -> None:
    from credentials.cryptosuites import verify_document

    loader = DocumentLoader()
    document = load_vector(vector)
    for _ in range(2):  # a second sight of the shape does not make it a known one
        verify_document(document, loader=loader)
    assert compiled == []
    assert len(loader.templates._cache) == 0


def test_attacker_shaped_label_compiles_no_template(compiled: list[dict[str, Any]]) -> None:
    from credentials.verify import verify_label

    loader = DocumentLoader()
    forged = copy.deepcopy(SIGNED_RDFC)
    forged["credentialSubject"]["product"]["name"] = {"@value": "x", "@language": "en"}
    forged["credentialSubject"]["product"]["identifier"] = ["urn:x:1"] * 5
    for _ in range(2):
        verify_label(forged, loader=loader)
    # Only the proof configuration (the kit's shape) was compiled, and from its sample.
    assert all(any(doc is s for s in _registered_samples()) for doc in compiled)
    assert not any("credentialSubject" in doc for doc in compiled)


def test_verifying_a_kit_label_compiles_only_from_registered_samples(
    compiled: list[dict[str, Any]],
) -> None:
    from credentials.cryptosuites import verify_document

    loader = DocumentLoader()
    for credential in (SIGNED_RDFC, SIGNED_SUPERSEDING):
        verify_document(credential, loader=loader)
    assert compiled, "the kit's own label shape takes the fast path"
    samples = _registered_samples()
    assert all(any(doc is s for s in samples) for doc in compiled)
    assert len(loader.templates._cache) == len(compiled)


def test_a_kit_label_with_sorted_keys_keeps_its_template() -> None:
    """The registry's JSON API sorts keys; member order has no meaning in JSON-LD."""
    loader = DocumentLoader()
    unsecured = {k: v for k, v in SIGNED_RDFC.items() if k != "proof"}
    resorted = json.loads(json.dumps(unsecured, sort_keys=True))
    assert list(resorted) != list(unsecured)
    first = canonicalize_rdfc(unsecured, loader=loader)
    size = len(loader.templates._cache)
    assert size
    assert canonicalize_rdfc(resorted, loader=loader) == first == pyld_normalize(resorted)
    assert len(loader.templates._cache) == size


def test_an_unregistered_vocabulary_value_takes_the_reference_path(
    compiled: list[dict[str, Any]],
) -> None:
    """proofPurpose "authentication" needs a specialised template; none was registered."""
    loader = DocumentLoader()
    config = {k: v for k, v in SIGNED_RDFC["proof"].items() if k != "proofValue"}
    config["@context"] = SIGNED_RDFC["@context"]
    assert canonicalize_rdfc(config, loader=loader) == pyld_normalize(config)
    other = {**config, "proofPurpose": "authentication"}
    assert canonicalize_rdfc(other, loader=loader) == pyld_normalize(other)
    assert all(doc["proofPurpose"] == "assertionMethod" for doc in compiled)


def _registered(document: dict[str, Any]) -> bool:
    return _shape(document, []) in _kit_shapes


@pytest.mark.parametrize("assurance", [None, "limited", "reasonable"])
def test_labels_with_and_without_assurance_are_kit_shapes_and_agree(
    assurance: str | None,
) -> None:
    # Not registered by the test: the kit's import-time shapes must already cover both, so a
    # verifier that never issued still takes the fast path for what the registry issues.
    document = signed_credential(assurance=assurance)
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    assert _registered(unsigned)
    loader = DocumentLoader()
    fast = canonicalize_rdfc(unsigned, loader=loader)
    assert fast == canonicalize_rdfc_reference(unsigned, loader=loader) == pyld_normalize(unsigned)
    stated = "<https://w3id.org/carbon-label#assurance>"
    assert (stated in fast) is (assurance is not None)
    if assurance is not None:
        assert f'{stated} "{assurance}" .' in fast

"""Bundled JSON-LD contexts, a document loader that never touches the network, and
canonicalization (RDFC-1.0 through pyld, RFC 8785 through ``rfc8785``).

Strictness matters for signatures: a term the contexts do not define would be dropped by
JSON-LD expansion and so left unsigned. Expansion here raises :class:`UndefinedTermError`
for a dropped property and for a type or id that is not an absolute IRI.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from cachetools import LRUCache
from pyld import jsonld as _pyld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from credentials._internal.jcs import canonical_json
from credentials.errors import (
    CanonicalizationError,
    ContextError,
    CredentialError,
    MalformedInputError,
    UndefinedTermError,
)

__all__ = [
    "CARBON_LABEL_PACT_V1",
    "CARBON_LABEL_V1",
    "CREDENTIALS_V2",
    "DATA_INTEGRITY_V2",
    "DEFAULT_LOADER",
    "MULTIKEY_V1",
    "STATUS_V1",
    "DocumentLoader",
    "bundled_contexts",
    "canonicalize_jcs",
    "canonicalize_rdfc",
    "canonicalize_rdfc_reference",
    "check_json_shape",
    "expand",
    "parse_json",
]

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
#: The project's own vocabulary: fixed, deployment-independent, frozen once released.
CARBON_LABEL_V1 = "https://w3id.org/carbon-label/v1"
#: The terms of a label issued from a PACT ProductFootprint (its id and version): a context of
#: its own, so the frozen v1 context stays as released and a label without PACT never names it.
CARBON_LABEL_PACT_V1 = "https://w3id.org/carbon-label/pact/v1"

MAX_DOCUMENT_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 20_000


@cache
def bundled_contexts() -> Mapping[str, bytes]:
    """Context URL → the exact bytes the kit signs with (from ``contexts/index.json``)."""
    folder = resources.files("credentials") / "contexts"
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return {entry["url"]: (folder / entry["file"]).read_bytes() for entry in index}


def _context_files() -> Mapping[str, str]:
    folder = resources.files("credentials") / "contexts"
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return {entry["url"]: entry["file"] for entry in index}


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse untrusted JSON as I-JSON (RFC 7493) with size, depth and node-count limits: UTF-8
    only, no member named twice, no lone surrogate, no NaN or Infinity.

    A name given twice is refused, not resolved: parsers disagree on which one wins (Python's
    takes the last, others the first), so a document naming ``grade`` twice could show one
    grade to whoever displays it and another to whoever checks it.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise MalformedInputError(f"document is {len(raw)} bytes; the limit is {max_bytes}")
    _refuse_many_values(raw, max_nodes)
    if isinstance(data, bytes | bytearray):
        # json.loads would also take UTF-16 and UTF-32 bytes; I-JSON is UTF-8 alone.
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedInputError(f"not UTF-8 (byte {exc.start})") from exc
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_members,
        )
    except RecursionError as exc:
        raise MalformedInputError(f"JSON nested deeper than {max_depth} levels") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedInputError(f"not valid JSON: {exc}") from exc
    check_json_shape(value, max_depth=max_depth, max_nodes=max_nodes)
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) == len(pairs):  # the common case, at C speed
        return members
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise MalformedInputError(f"the member name {name!r} appears twice in one object")
        seen.add(name)
    raise AssertionError("unreachable: a shorter dict means a repeated name")


def _refuse_many_values(raw: bytes, max_nodes: int) -> None:
    """Refuse, before parsing, a document with far more JSON values than ``max_nodes``.

    Parsing first would build every value (a megabyte of ``[[…]]`` is 400,000 lists and 0.2 s
    of CPU) only to refuse the result. Outside strings, values <= commas + opening brackets + 1
    <= twice the values, so a bound over ``2 * max_nodes`` means more than ``max_nodes``:
    nothing :func:`check_json_shape` would accept is refused here.
    """

    def bound(text: bytes) -> int:
        return text.count(b",") + text.count(b"[") + text.count(b"{") + 1

    if bound(raw) <= 2 * max_nodes:
        return
    # Outside strings only. Escapes go first, pairs left to right as a parser reads them, so
    # every remaining quote opens or closes a string. All C-speed: a regex costs 0.4 µs a string.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if bound(b"".join(unescaped.split(b'"')[::2])) > 2 * max_nodes:
        raise MalformedInputError(f"document has more than {max_nodes} JSON values")


MAX_INTEGER_DIGITS = 64


def _bounded_int(text: str) -> int:
    # int() is quadratic in the digits; no JSON-LD document needs more than a uint64's 20.
    if len(text) > MAX_INTEGER_DIGITS:
        raise MalformedInputError(
            f"an integer of {len(text)} digits; the limit is {MAX_INTEGER_DIGITS}"
        )
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise MalformedInputError(f"{name} is not JSON")


def check_json_shape(value: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """Refuse documents too deep or too large to process, and strings that are not Unicode."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise MalformedInputError(f"document has more than {max_nodes} JSON values")
        if isinstance(item, dict):
            if depth >= max_depth:
                raise MalformedInputError(f"JSON nested deeper than {max_depth} levels")
            for key, sub in item.items():
                _check_text(key)
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise MalformedInputError(f"JSON nested deeper than {max_depth} levels")
            stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise MalformedInputError("numbers must be finite")
        elif not (item is None or isinstance(item, bool | int | float)):
            raise MalformedInputError(f"not a JSON value: {type(item).__name__}")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains an unpaired surrogate") from exc


class DocumentLoader:
    """Serves the bundled contexts plus contexts a caller adds explicitly; refuses the rest.

    Each loader keeps its own resolved-context and canonicalization caches, so two loaders
    with different extra contexts can never see each other's documents.
    """

    def __init__(self, extra_contexts: Mapping[str, Any] | None = None) -> None:
        documents: dict[str, Any] = {
            url: json.loads(raw) for url, raw in bundled_contexts().items()
        }
        for url, document in (extra_contexts or {}).items():
            if isinstance(document, bytes | str):
                document = parse_json(document)
            if not isinstance(document, dict) or "@context" not in document:
                raise ContextError(f"context {url!r} is not a JSON-LD context document")
            if not _pyld._is_absolute_iri(url) or url.startswith("_:"):
                raise ContextError(f"context URL {url!r} is not an absolute URL")
            if url in documents and documents[url] != document:
                raise ContextError(f"refusing to replace the bundled context {url}")
            documents[url] = document
        self._documents = documents
        self._resolved: LRUCache[Any, Any] = LRUCache(maxsize=64)
        self._lock = threading.Lock()
        self.templates = _template_cache()
        self.terms = frozenset(_defined_terms(documents.values()))

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def with_contexts(self, extra_contexts: Mapping[str, Any]) -> DocumentLoader:
        added = {u: d for u, d in self._documents.items() if u not in bundled_contexts()}
        return DocumentLoader({**added, **extra_contexts})

    def document(self, url: str) -> Any:
        try:
            return self._documents[url]
        except KeyError:
            raise ContextError(
                f"context {url!r} is not bundled; the loader never fetches from the network"
            ) from None

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self.document(url)),
        }

    def pyld_options(self) -> dict[str, Any]:
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._resolved, self),
            "base": None,
        }

    def export(self) -> dict[str, bytes]:
        """URL → bytes of every context this loader serves (bundled bytes are exact)."""
        bundled = bundled_contexts()
        return {
            url: bundled.get(url) or json.dumps(doc, indent=2).encode("utf-8")
            for url, doc in self._documents.items()
        }


def _defined_terms(documents: Any) -> Iterator[str]:
    """Every term name defined anywhere in the given context documents (scoped ones too)."""
    stack = list(documents)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ctx = item.get("@context")
            if isinstance(ctx, dict):
                yield from (k for k in ctx if not k.startswith("@"))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _template_cache() -> Any:
    from credentials._internal.rdf_template import TemplateCache

    return TemplateCache()


def _raise_dropped(expanded_property: str | None) -> None:
    raise UndefinedTermError(
        f"property {expanded_property!r} is not defined by the document's contexts"
    )


def _unwrap(exc: BaseException) -> CredentialError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CredentialError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def expand(document: Any, *, loader: DocumentLoader | None = None) -> list[Any]:
    """Strict JSON-LD expansion: undefined terms and relative ids or types are errors."""
    loader = loader or DEFAULT_LOADER
    if not isinstance(document, dict):
        raise MalformedInputError("a JSON-LD document must be a JSON object")
    check_json_shape(document)
    processor = _pyld.JsonLdProcessor(on_property_dropped=_raise_dropped)
    try:
        expanded: list[Any] = processor.expand(document, loader.pyld_options())
    except (CredentialError, RecursionError):
        raise
    except Exception as exc:  # pyld raises JsonLdError and, on odd input, built-in errors
        inner = _unwrap(exc)
        if inner is not None:
            raise inner from exc
        raise CanonicalizationError(f"JSON-LD expansion failed: {exc}") from exc
    _check_absolute(expanded)
    return expanded


def _check_absolute(expanded: Any) -> None:
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "@id" and not _is_iri_or_blank(value):
                    raise UndefinedTermError(f"id {value!r} is not an absolute IRI")
                if key == "@type" and "@value" not in item:
                    for t in value if isinstance(value, list) else [value]:
                        if not _is_iri_or_blank(t):
                            raise UndefinedTermError(f"type {t!r} is not defined by the contexts")
                elif key == "@type" and not (value == "@json" or _is_iri_or_blank(value)):
                    raise UndefinedTermError(f"datatype {value!r} is not an absolute IRI")
                elif key != "@value":
                    stack.append(value)


def _is_iri_or_blank(value: Any) -> bool:
    return isinstance(value, str) and bool(_pyld._is_absolute_iri(value))


def to_dataset(document: Any, *, loader: DocumentLoader | None = None) -> dict[str, Any]:
    """The RDF dataset of ``document`` in pyld's form, after strict expansion."""
    loader = loader or DEFAULT_LOADER
    expanded = expand(document, loader=loader)
    try:
        dataset: dict[str, Any] = _pyld.JsonLdProcessor().to_rdf(expanded, loader.pyld_options())
    except Exception as exc:
        raise CanonicalizationError(f"conversion to RDF failed: {exc}") from exc
    return dataset


def urdna2015(dataset: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of a pyld dataset (consumes the dataset)."""
    try:
        result: str = URDNA2015().main(dataset, {"format": "application/n-quads"})
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains an unpaired surrogate") from exc
    except Exception as exc:
        raise CanonicalizationError(f"RDF canonicalization failed: {exc}") from exc
    return result


def canonicalize_rdfc(document: Any, *, loader: DocumentLoader | None = None) -> str:
    """RDFC-1.0 canonical N-Quads, byte-identical to pyld's ``normalize``.

    Documents of a shape seen before skip JSON-LD expansion: see ``_internal/rdf_template``.
    """
    loader = loader or DEFAULT_LOADER
    result = urdna2015(loader.templates.dataset(document, loader))
    try:
        result.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedInputError("string contains an unpaired surrogate") from exc
    return result


def canonicalize_rdfc_reference(document: Any, *, loader: DocumentLoader | None = None) -> str:
    """The same as :func:`canonicalize_rdfc` without the template cache (for differential tests)."""
    return urdna2015(to_dataset(document, loader=loader))


def canonicalize_jcs(document: Any) -> bytes:
    """RFC 8785 canonical JSON."""
    return canonical_json(document)


DEFAULT_LOADER = DocumentLoader()

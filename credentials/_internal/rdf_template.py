"""Shape templates: JSON-LD expansion once per document shape, not once per document.

Expansion and RDF conversion are ~80% of RDFC-1.0's cost in pyld, yet every label credential
has the same shape: the same keys, types and contexts, differing only in string values. A
*shape* is the document with every string replaced by a slot, except strings that steer
expansion (``@context``, ``type``/``@type`` and other keyword values), which stay in the key.
Keys are taken in sorted order (JSON-LD gives member order no meaning), so a credential
re-serialised with sorted keys keeps its shape.

Templates are compiled only from the kit's own shapes: documents its builders make, announced
with :func:`register_shape` (the label and status list credentials and their proof
configurations, at import and on every build). A document under verification is never compiled
from: if its shape was not registered it takes pyld's reference path (expansion, toRdf,
URDNA2015), so an attacker-chosen shape can never exercise, or poison, the template compiler.

A registered sample is expanded by pyld with a unique placeholder in each slot. Each
placeholder must come out as exactly one whole RDF term: a literal's value (its datatype and
language cannot depend on the string) or an IRI (expansion of an absolute IRI whose scheme is
not a defined term is the identity). Anything else, such as a placeholder inside a JSON literal
or a compact IRI, marks the shape as untemplatable and it always takes pyld's full path.

Documents of a registered shape fill the template. An IRI slot accepts only a value pyld would
also leave untouched; a value that is a vocabulary term (``proofPurpose`` "assertionMethod")
needs a template specialised on it, compiled only from a registered sample holding that value;
otherwise the document takes the full path. Duplicate quads (two slots with the same value)
are merged, as pyld's node map does. The result feeds pyld's own URDNA2015, and
``tests/credentials/test_rdf_template.py`` checks equality with ``pyld.normalize``.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache
from pyld import jsonld as _pyld

from credentials.errors import MalformedInputError

if TYPE_CHECKING:
    from credentials.jsonld import DocumentLoader

_NONCE = secrets.token_hex(8)
_PREFIX = f"urn:x-carbonlabel-slot-{_NONCE}:"
# Keywords whose values hold nodes are walked; every other keyword's value steers expansion.
_NODE_KEYWORDS = frozenset(
    {"@id", "@value", "@graph", "@list", "@set", "@included", "@reverse", "@nest"}
)
_UNTEMPLATABLE = object()
_MAX_DEPTH = 32
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"

Shape = Any


def _freeze(value: Any) -> Any:
    """A hashable, type-exact image of a JSON value (bool never equals int)."""
    if isinstance(value, dict):
        return ("o", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_freeze(v) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))  # -0.0 == 0.0, yet they are different literals
    return (type(value).__name__, value)


def _structural(key: str) -> bool:
    return key in ("type", "@context") or (key[:1] == "@" and key not in _NODE_KEYWORDS)


def _shape(node: Any, slots: list[str], depth: int = 0) -> Shape:
    kind = type(node)
    if kind is str:
        slots.append(node)
        return 0
    if depth > _MAX_DEPTH:
        raise MalformedInputError(f"JSON nested deeper than {_MAX_DEPTH} levels")
    if kind is dict:
        parts = []
        for key, value in sorted(node.items()):
            if _structural(key):
                parts.append((key, _freeze(value)))
            else:
                parts.append((key, _shape(value, slots, depth + 1)))
        return ("o", tuple(parts))
    if kind is list:
        return ("a", tuple([_shape(v, slots, depth + 1) for v in node]))
    if node is None or kind is bool or kind is int or kind is float:
        return _freeze(node)
    raise MalformedInputError(f"not a JSON value: {kind.__name__}")


def _fill(node: Any, values: Any) -> Any:
    """Rebuild ``node`` with each slot string taken from ``values`` (same walk as ``_shape``)."""
    if isinstance(node, str):
        return next(values)
    if isinstance(node, dict):
        return {k: v if _structural(k) else _fill(v, values) for k, v in sorted(node.items())}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


# A compiled component: ("c", component) fixed, ("b", label) blank node, ("s", slot, comp) slot.
_Component = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Template:
    quads: tuple[tuple[str, _Component, dict[str, Any], _Component], ...]
    iri_slots: tuple[int, ...]
    terms: frozenset[str]


# Samples of the kit's own shapes: shape → sample documents (one per specialised value set).
_MAX_SHAPES = 256
_MAX_SAMPLES_PER_SHAPE = 8
_kit_shapes: dict[Shape, list[dict[str, Any]]] = {}
_kit_lock = threading.Lock()


def _add_sample(
    samples: dict[Shape, list[dict[str, Any]]], document: dict[str, Any], lock: threading.Lock
) -> None:
    if not isinstance(document, dict):
        raise MalformedInputError("a JSON-LD document must be a JSON object")
    shape = _shape(document, [])
    with lock:
        known = samples.get(shape)
        if known is None:
            if len(samples) >= _MAX_SHAPES:
                return  # a full registry only means the full path, never a wrong answer
            known = samples[shape] = []
        if len(known) < _MAX_SAMPLES_PER_SHAPE and document not in known:
            known.append(copy.deepcopy(document))


def register_shape(document: dict[str, Any]) -> None:
    """Declare ``document``'s shape one of the kit's own, so documents of it are templated.

    Only builders call this, with documents they made; never pass a document under
    verification. ``document`` also serves as the sample a template is compiled from (its
    values matter only where a slot holds a vocabulary term, such as ``proofPurpose``).
    """
    _add_sample(_kit_shapes, document, _kit_lock)


def register_proof_config_shape(context: tuple[str, ...] | list[str]) -> None:
    """The eddsa-rdfc-2022 proof configuration the kit signs documents of ``context`` with."""
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"  # a placeholder value
    register_shape(
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2000-01-01T00:00:00Z",
            "verificationMethod": f"{did}#{did.removeprefix('did:key:')}",
            "proofPurpose": "assertionMethod",
            "@context": list(context),
        }
    )


def registered_shape_count() -> int:
    with _kit_lock:
        return len(_kit_shapes)


class TemplateCache:
    """Per-loader LRU of templates compiled from registered samples (bounded)."""

    def __init__(self, maxsize: int = 256) -> None:
        self._cache: LRUCache[Shape, Any] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()
        self._samples: dict[Shape, list[dict[str, Any]]] = {}

    def register(self, document: dict[str, Any]) -> None:
        """Like :func:`register_shape`, for this cache only (tests, callers' own shapes)."""
        _add_sample(self._samples, document, self._lock)

    def _samples_of(self, shape: Shape) -> list[dict[str, Any]]:
        with self._lock:
            local = list(self._samples.get(shape, ()))
        with _kit_lock:
            return local + list(_kit_shapes.get(shape, ()))

    def dataset(self, document: Any, loader: DocumentLoader) -> dict[str, Any]:
        from credentials.jsonld import to_dataset

        if not isinstance(document, dict):
            raise MalformedInputError("a JSON-LD document must be a JSON object")
        slots: list[str] = []
        shape = _shape(document, slots)
        template = self._get(shape, shape, loader, ())
        if template is not _UNTEMPLATABLE:
            fixed = _unfit_iri_slots(template, slots)
            if fixed:
                # Values such as proofPurpose "assertionMethod" are vocabulary terms, not
                # opaque IRIs: a template specialised on them, from a sample that holds them.
                values = tuple((i, slots[i]) for i in fixed)
                template = self._get((shape, values), shape, loader, fixed, values)
                if template is not _UNTEMPLATABLE and _unfit_iri_slots(template, slots):
                    template = _UNTEMPLATABLE
        if template is _UNTEMPLATABLE:
            return to_dataset(document, loader=loader)
        return _instantiate(template, slots)

    def _get(
        self,
        key: Any,
        shape: Shape,
        loader: DocumentLoader,
        fixed: tuple[int, ...],
        values: tuple[tuple[int, str], ...] = (),
    ) -> Any:
        with self._lock:
            template = self._cache.get(key)
        if template is not None:
            return template
        sample = self._sample(shape, values)
        if sample is None:
            return _UNTEMPLATABLE  # not one of the kit's shapes: never compiled, not cached
        sample_slots: list[str] = []
        _shape(sample, sample_slots)
        template = _compile(sample, sample_slots, loader, fixed)
        with self._lock:
            self._cache[key] = template
        return template

    def _sample(self, shape: Shape, values: tuple[tuple[int, str], ...]) -> dict[str, Any] | None:
        for sample in self._samples_of(shape):
            if not values:
                return sample
            sample_slots: list[str] = []
            _shape(sample, sample_slots)
            if all(sample_slots[i] == value for i, value in values):
                return sample
        return None


def _unfit_iri_slots(template: _Template, slots: list[str]) -> tuple[int, ...]:
    return tuple(i for i in template.iri_slots if not _opaque_iri(slots[i], template.terms))


def _opaque_iri(value: str, terms: frozenset[str]) -> bool:
    """True if pyld's IRI expansion returns ``value`` unchanged, whatever the active context."""
    if not _pyld._is_absolute_iri(value) or value in terms:
        return False
    prefix, _, suffix = value.partition(":")
    return prefix != "_" and (suffix.startswith("//") or prefix not in terms)


def _compile(
    document: dict[str, Any], slots: list[str], loader: DocumentLoader, fixed: tuple[int, ...]
) -> Any:
    from credentials.jsonld import _defined_terms, to_dataset

    if _NONCE in json.dumps(document):
        return _UNTEMPLATABLE
    placeholders = [slots[i] if i in fixed else f"{_PREFIX}{i}" for i in range(len(slots))]
    index_of = {p: i for i, p in enumerate(placeholders) if i not in fixed}
    # Errors propagate: a shape that fails with placeholders fails with any values, since
    # strings never steer expansion outside the structural positions kept in the shape.
    dataset = to_dataset(_fill(document, iter(placeholders)), loader=loader)
    kinds: dict[int, str] = {}
    quads = []
    for graph, triples in dataset.items():
        if _PREFIX in graph:
            return _UNTEMPLATABLE
        for triple in triples:
            compiled: list[Any] = [graph]
            for position in ("subject", "predicate", "object"):
                component = triple[position]
                value = component["value"]
                slot = index_of.get(value)
                extras = [v for k, v in component.items() if k != "value"]
                if any(_PREFIX in str(v) for v in extras):
                    return _UNTEMPLATABLE
                if slot is not None and position != "predicate":
                    kind = component["type"]
                    if component.get("datatype") == _XSD_DOUBLE:
                        return _UNTEMPLATABLE  # pyld rewrites xsd:double strings ("1.50" → 1.5E0)
                    if kinds.setdefault(slot, kind) != kind:
                        return _UNTEMPLATABLE
                    compiled.append(("s", slot, component))
                elif _PREFIX in value:
                    return _UNTEMPLATABLE
                elif position == "predicate":
                    compiled.append(component)
                elif component["type"] == "blank node":
                    compiled.append(("b", value))
                else:
                    compiled.append(("c", component))
            quads.append(tuple(compiled))
    # A slot that produced nothing must still be a value pyld would leave alone.
    iri_slots = tuple(
        i for i in range(len(slots)) if i not in fixed and kinds.get(i, "IRI") == "IRI"
    )
    terms = loader.terms | frozenset(_defined_terms([document]))
    return _Template(tuple(quads), iri_slots, terms)


def _component(spec: _Component, slots: list[str]) -> dict[str, Any]:
    tag = spec[0]
    if tag == "c":
        # IRIs and literals are never mutated by URDNA2015, so they can be shared.
        fixed: dict[str, Any] = spec[1]
        return fixed
    if tag == "b":
        return {"type": "blank node", "value": spec[1]}
    filled = dict(spec[2])
    filled["value"] = slots[spec[1]]
    return filled


def _key(component: dict[str, Any]) -> tuple[Any, ...]:
    return (
        component["type"],
        component["value"],
        component.get("datatype"),
        component.get("language"),
    )


def _instantiate(template: _Template, slots: list[str]) -> dict[str, Any]:
    dataset: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[Any, ...]] = set()
    for graph, subject_spec, predicate, object_spec in template.quads:
        subject = _component(subject_spec, slots)
        obj = _component(object_spec, slots)
        key = (graph, _key(subject), predicate["value"], _key(obj))
        if key in seen:
            continue
        seen.add(key)
        dataset.setdefault(graph, []).append(
            {"subject": subject, "predicate": predicate, "object": obj}
        )
    return dataset

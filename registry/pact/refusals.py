"""The registry's own refusals of a label asked for from PACT, named as PACT members.

Issuance checks a label request (``registry.labels.issuance`` and ``.plausibility``) and
names its fields (``footprint.value``, ``footprint.reference_period``); a certifier who sent a
PACT footprint reads them as the PACT members they came from
(``footprint.pcf.pcfExcludingBiogenicUptake``, ``footprint.pcf.referencePeriodEnd``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from registry.errors import RegistryError, ValidationFailedError
from registry.pact.versions import V3, PactNames, names_of

if TYPE_CHECKING:
    from registry.pact.importing import PactLabelParams

__all__ = ["pact_field_errors", "pact_refusal", "pact_refusals"]


def _pact_paths(names: PactNames) -> dict[str, tuple[str, ...]]:
    """Where the registry's own refusals of a mapped value point in the footprint."""
    return {
        "value": ("footprint", "pcf", names.value),
        "declared_unit_amount": ("footprint", "pcf", names.amount),
        "declared_unit": ("footprint", "pcf", names.unit),
        "reference_period": ("footprint", "pcf", "referencePeriodEnd"),
    }


def _renamed(errors: Mapping[str, Any], names: PactNames) -> dict[str, Any]:
    """``errors`` with the label request's footprint members named as the PACT members."""
    renamed = {k: v for k, v in errors.items() if k != "footprint"}
    inner = errors.get("footprint")
    if not isinstance(inner, Mapping):
        return dict(errors)
    paths = _pact_paths(names)
    merged: dict[str | int, Any] = {}
    for key, messages in inner.items():
        path = paths.get(key)
        if path is None:  # system_boundary: a member of the request, beside the footprint
            renamed[key] = messages
            continue
        node = merged
        for part in path[1:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = messages
    if merged:
        renamed["footprint"] = merged
    return renamed


def _spec_names(params: PactLabelParams) -> PactNames:
    footprint = params.footprint
    spec = footprint.get("specVersion") if isinstance(footprint, dict) else None
    return names_of(spec) or V3


def pact_field_errors(errors: Mapping[str, Any], params: PactLabelParams) -> dict[str, Any]:
    """A label request's field errors named as the members of ``params``' footprint."""
    return _renamed(errors, _spec_names(params))


def pact_refusal(error: RegistryError, params: Sequence[PactLabelParams]) -> RegistryError:
    """``error`` (of issuing these requests) with its field errors, and each refused batch
    item's, named as the PACT members they concern."""
    items = error.items or ()
    if isinstance(error, ValidationFailedError) and params:
        # A batch's error is its first refused item's, which ``items`` lists first.
        first = items[0].get("index", 0) if items else 0
        if isinstance(first, int) and 0 <= first < len(params):
            error.errors = _renamed(error.errors, _spec_names(params[first]))
    for item in items:
        index = item.get("index")
        errors = item.get("errors")
        if isinstance(errors, Mapping) and isinstance(index, int) and 0 <= index < len(params):
            item["errors"] = _renamed(item["errors"], _spec_names(params[index]))
    return error


@contextmanager
def pact_refusals(params: Sequence[PactLabelParams]) -> Iterator[None]:
    """Issue inside this: a refusal names the PACT members (see :func:`pact_refusal`)."""
    try:
        yield
    except RegistryError as exc:
        raise pact_refusal(exc, params) from None

"""A batch from a JSON file of PACT ProductFootprints: reading the upload and its footprints.

A PACT tool exports footprints as its API answers them (``{"data": [ProductFootprint, …]}``), as
a bare array, or one footprint alone; all three are taken. The certifier states once for the
file what PACT does not carry (the rule version, and the system boundary where the footprints
only describe it): the members of a ``POST /api/v1/labels/from-pact`` request beside its
footprint. Each footprint with those is then what one such request is: loaded by that schema
and mapped by :mod:`registry.pact.importing`, so a batch refuses exactly what the API refuses,
naming the PACT member. Footprints are numbered from 1 in file order: the batch's "row".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from credentials import CredentialError, parse_json
from registry.batches.csvformat import (
    BatchRefusedError,
    RowError,
    UploadRefusedError,
    schema_errors,
)
from registry.clock import utcnow
from registry.errors import ValidationFailedError
from registry.labels.issuance import LabelRequest
from registry.pact.importing import PactLabelParams, label_requests_from_pact
from registry.pact.refusals import pact_field_errors
from registry.pact.schemas import pact_label_request_schema

__all__ = [
    "MAX_FOOTPRINTS",
    "PactRows",
    "member_errors",
    "parse_pact_upload",
    "read_pact_rows",
]

MAX_FOOTPRINTS = 1_000
# A v3 footprint is about 3 kB and 60 JSON values; these leave room for long descriptions.
_MAX_BYTES = 8 * 1024 * 1024
_MAX_NODES = MAX_FOOTPRINTS * 200


def _footprints_of(document: Any) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if isinstance(document.get("data"), list):
            return list(document["data"])
        if "pcf" in document or "specVersion" in document:
            return [document]
    return None


def parse_pact_upload(data: bytes, *, options: Mapping[str, Any]) -> tuple[str, int]:
    """The batch content of an upload of footprints, each to be issued with ``options`` (the
    request's other members: ``rule``, optionally ``system_boundary``), and how many footprints
    it holds; :class:`UploadRefusedError` naming the problem for a file that is not strict JSON
    (I-JSON), holds no footprints, or too many."""
    try:
        document = parse_json(data, max_bytes=_MAX_BYTES, max_nodes=_MAX_NODES)
    except CredentialError as exc:
        raise UploadRefusedError(
            "not-json", f"Not a JSON file of PACT footprints: {exc}", reason=str(exc)
        ) from None
    footprints = _footprints_of(document)
    if footprints is None:
        raise UploadRefusedError(
            "not-footprints",
            'Not PACT footprints: give a ProductFootprint, an array of them, or {"data": [...]}.',
        )
    if not footprints:
        raise UploadRefusedError("no-footprints", "The file holds no footprint.")
    if len(footprints) > MAX_FOOTPRINTS:
        raise UploadRefusedError(
            "too-many-footprints",
            f"More than {MAX_FOOTPRINTS} footprints; split the batch.",
            limit=MAX_FOOTPRINTS,
        )
    content = {"options": dict(options), "footprints": footprints}
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")), len(footprints)


@dataclass(frozen=True, slots=True)
class PactRows:
    """A PACT batch's footprints as label requests, and how to name a refusal of one of them."""

    rows: list[int]
    requests: list[LabelRequest]
    params: list[PactLabelParams]

    def located(self, position: int, errors: Mapping[str, Any]) -> list[RowError]:
        """The issuance's field errors of request ``position`` at the PACT members they
        concern."""
        return member_errors(self.rows[position], pact_field_errors(errors, self.params[position]))


def member_errors(row: int, errors: Mapping[str, Any]) -> list[RowError]:
    """A marshmallow error dict of one footprint as errors at its members, dotted from the
    footprint (``pcf.declaredUnitOfMeasurement``); an error of an option at its name
    (``rule``)."""
    return schema_errors(row, errors, column_of=_member)


def _member(path: tuple[str, ...]) -> str | None:
    member = path[1:] if path[:1] == ("footprint",) else path
    return ".".join(member) or None


def read_pact_rows(text: str, *, progress: Callable[[int], None], every: int = 100) -> PactRows:
    """Load and map every footprint of a PACT batch; its rows, or
    :class:`BatchRefusedError` naming every failing footprint and member."""
    content = json.loads(text)
    options = content["options"]
    loaded: list[tuple[int, PactLabelParams]] = []
    errors: list[RowError] = []
    for row, footprint in enumerate(content["footprints"], start=1):
        try:
            loaded.append(
                (row, pact_label_request_schema.load({**options, "footprint": footprint}))
            )
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
            errors += member_errors(row, messages)
        if row % every == 0:
            progress(row)
    rows = [row for row, _ in loaded]
    params = [item for _, item in loaded]
    requests: list[LabelRequest] = []
    try:
        # As the API's batch maps them: every footprint refused at once, each rule read once.
        requests = label_requests_from_pact(params, now=utcnow())
    except ValidationFailedError as exc:
        for index, item_errors in exc.errors.get("labels", {}).items():
            errors += member_errors(rows[int(index)], item_errors)
    progress(len(content["footprints"]))
    if errors:
        raise BatchRefusedError(sorted(errors, key=lambda error: error.row))
    return PactRows(rows, requests, params)

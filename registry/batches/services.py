"""Batches of labels from an upload: submit, read, validate every row, issue all or none.

An upload is the CSV template's rows or a JSON file of PACT footprints
(:mod:`registry.batches.pactformat`). Validation loads each row with the JSON API's own
``LabelRequestSchema``, each footprint as ``POST /api/v1/labels/from-pact`` does (so one set of
rules), and collects every row's errors before refusing. Issuance goes through
:func:`registry.labels.issuance.issue_labels`, in chunks of at most ``MAX_BATCH`` inside the
caller's one transaction: the chunks share it, so the batch is ledgered whole or not at all. A
refusal the service makes (rule not in force, outside the accreditation, grade mismatch) rolls
the whole batch back and is reported at its row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from registry.auth.models import ApiToken, Role
from registry.auth.services import Principal
from registry.batches.csvformat import (
    BatchRefusedError,
    RowError,
    parse_upload,
    read_rows,
    row_request,
    schema_errors,
)
from registry.batches.models import BatchFormat, BatchState, LabelBatch, LabelBatchItem
from registry.batches.pactformat import parse_pact_upload, read_pact_rows
from registry.clock import utcnow
from registry.db import db, insert_ignoring_conflicts, insert_new
from registry.errors import (
    IdempotencyKeyReusedError,
    NotFoundError,
    RegistryError,
    ValidationFailedError,
)
from registry.labels.issuance import MAX_BATCH, IssueItem, LabelRequest, issue_labels
from registry.labels.models import Label
from registry.labels.schemas import label_request_schema

__all__ = [
    "BatchRefusedError",
    "BatchStoppedError",
    "Submitted",
    "ValidatedBatch",
    "batch_labels",
    "get_batch",
    "issue_batch",
    "list_batches",
    "principal_of",
    "submit_batch",
    "submit_pact_batch",
    "validate_batch",
    "validate_rows",
]


@dataclass(frozen=True, slots=True)
class Submitted:
    batch: LabelBatch
    created: bool


def submit_batch(principal: Principal, data: bytes, *, idempotency_key: str | None) -> Submitted:
    """Store a CSV upload as a queued batch of the principal's body (a certifier).

    The file's shape is checked here (encoding, header, row count: a 422 at once); its rows are
    validated by the job. The same Idempotency-Key with the same file finds the batch made
    before; with another file it is refused.
    """
    principal.require(Role.CERTIFIER)
    text, _, count = parse_upload(data)
    return _store(principal, BatchFormat.CSV, text, count, idempotency_key)


def submit_pact_batch(
    principal: Principal,
    data: bytes,
    *,
    options: Mapping[str, Any],
    idempotency_key: str | None,
) -> Submitted:
    """Store a JSON file of PACT footprints as a queued batch of the principal's body, each to
    be issued with ``options`` (``rule``: {scheme, rule, version}; optionally
    ``system_boundary``); as :func:`submit_batch` otherwise."""
    principal.require(Role.CERTIFIER)
    text, count = parse_pact_upload(data, options=options)
    return _store(principal, BatchFormat.PACT, text, count, idempotency_key)


def _store(
    principal: Principal,
    batch_format: BatchFormat,
    text: str,
    count: int,
    idempotency_key: str | None,
) -> Submitted:
    # A PACT upload's hash is of its format too, so one key cannot name both kinds of file
    # (a CSV's stays the hash of its text alone, as batches stored before PACT have it).
    prefix = "" if batch_format is BatchFormat.CSV else f"{batch_format.value}\n"
    digest = hashlib.sha256(f"{prefix}{text}".encode()).digest()
    body_id = principal.body_id
    values: dict[str, object] = {
        "body_id": body_id,
        "token_id": principal.token_id,
        "person_id": principal.person_id,
        "idempotency_key": idempotency_key,
        "request_hash": digest,
        "state": BatchState.QUEUED.value,
        "format": batch_format.value,
        "content": text,
        "rows_total": count,
        "rows_validated": 0,
        "rows_issued": 0,
        "errors": [],
        "reason": None,
        "attempts": 0,
        "lease_owner": None,
        "lease_expires_at": None,
        "created_at": utcnow(),
        "started_at": None,
        "finished_at": None,
    }
    # ON CONFLICT DO NOTHING on (body, key): two uploads racing with one key make one batch.
    made = db.session.execute(
        insert_ignoring_conflicts(LabelBatch).values(values).returning(LabelBatch.id)
    ).scalar_one_or_none()
    if made is not None:
        return Submitted(db.session.get_one(LabelBatch, made), created=True)
    earlier = db.session.execute(
        select(LabelBatch).where(
            LabelBatch.body_id == body_id, LabelBatch.idempotency_key == idempotency_key
        )
    ).scalar_one()
    if earlier.request_hash != digest:
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key {idempotency_key!r} was already used with a different file; "
            "use a new key."
        )
    return Submitted(earlier, created=False)


def get_batch(principal: Principal, batch_id: int) -> LabelBatch:
    """A batch of the principal's body; any other body's is not found, as its labels' are."""
    principal.require(Role.CERTIFIER)
    batch = db.session.get(LabelBatch, batch_id)
    if batch is None or batch.body_id != principal.body_id:
        raise NotFoundError(f"There is no label batch {batch_id}.")
    return batch


def list_batches(
    principal: Principal, *, before: int | None = None, limit: int = 50
) -> list[LabelBatch]:
    """The principal's body's batches, newest first, ``limit`` of them with ids below ``before``."""
    principal.require(Role.CERTIFIER)
    query = select(LabelBatch).where(LabelBatch.body_id == principal.body_id)
    if before is not None:
        query = query.where(LabelBatch.id < before)
    return list(db.session.execute(query.order_by(LabelBatch.id.desc()).limit(limit)).scalars())


def batch_labels(batch: LabelBatch, *, after: int = 0, limit: int = 500) -> list[tuple[int, Label]]:
    """(row, label) of an issued batch, ``limit`` rows after row ``after``, in row order."""
    rows = db.session.execute(
        select(LabelBatchItem.row, Label)
        .join(Label, Label.id == LabelBatchItem.label_id)
        .where(LabelBatchItem.batch_id == batch.id, LabelBatchItem.row > after)
        .order_by(LabelBatchItem.row)
        .limit(limit)
    ).tuples()
    return list(rows)


def principal_of(batch: LabelBatch) -> Principal:
    """The principal the batch was uploaded with, as it stands now (a revoked token, or a
    person disabled or no longer a signatory of the batch's body, stops it)."""
    if batch.token_id is None:
        return _person_principal(batch)
    token = db.session.get_one(ApiToken, batch.token_id)
    if token.revoked_at is not None:
        raise BatchStoppedError("The API token that uploaded this batch was revoked.")
    body = token.body
    return Principal(
        token_id=token.id,
        role=token.role,
        body_id=token.body_id,
        body_code=None if body is None else body.code,
        schemes=frozenset(token.schemes),
    )


def _person_principal(batch: LabelBatch) -> Principal:
    # Imported here: the portal's services import the label services this package builds on.
    from registry.portal.models import Person, PersonRole
    from registry.portal.services import principal_of as person_principal

    person = db.session.get_one(Person, batch.person_id)
    if person.disabled:
        raise BatchStoppedError("The person who uploaded this batch was disabled.")
    if person.role is not PersonRole.SIGNATORY or person.body_id != batch.body_id:
        raise BatchStoppedError(
            "The person who uploaded this batch is no longer a signatory of its body."
        )
    return person_principal(person)


class BatchStoppedError(Exception):
    """The batch can no longer run (its token was revoked); the message says why."""


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    """A batch's rows as label requests, and where a refusal of the request at a position
    (from zero) is to be reported: the CSV's columns, or the PACT footprint's members."""

    rows: list[int]
    requests: list[LabelRequest]
    located: Callable[[int, Mapping[str, Any]], list[RowError]]


def validate_batch(
    batch_format: BatchFormat, text: str, *, progress: Callable[[int], None]
) -> ValidatedBatch:
    """Load every row (CSV) or footprint (PACT) of a batch's content; or
    :class:`BatchRefusedError` naming every one that cannot be issued and why."""
    match batch_format:
        case BatchFormat.CSV:
            rows, requests = validate_rows(text, progress=progress)
            return ValidatedBatch(
                rows, requests, lambda position, errors: schema_errors(rows[position], errors)
            )
        case BatchFormat.PACT:
            read = read_pact_rows(text, progress=progress)
            return ValidatedBatch(read.rows, read.requests, read.located)


def validate_rows(
    text: str, *, progress: Callable[[int], None], every: int = 500
) -> tuple[list[int], list[LabelRequest]]:
    """Load every row with the label request schema; (rows, requests), or
    :class:`BatchRefusedError` naming every failing row and column."""
    rows: list[int] = []
    requests: list[LabelRequest] = []
    errors: list[RowError] = []
    for count, (row, cells) in enumerate(read_rows(text), start=1):
        try:
            requests.append(label_request_schema.load(row_request(cells)))
            rows.append(row)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
            errors += schema_errors(row, messages)
        if count % every == 0:
            progress(count)
    progress(len(rows) + len({e.row for e in errors}))
    if errors:
        raise BatchRefusedError(errors)
    return rows, requests


_POSITION = re.compile(r"^Label (\d+) of the batch: (.*)$", re.DOTALL)


def issue_batch(
    principal: Principal,
    batch_id: int,
    validated: ValidatedBatch,
    *,
    progress: Callable[[int], None],
) -> int:
    """Issue every request in the caller's transaction, ``MAX_BATCH`` at a time, and record
    each row's label; the number issued. A refusal raises :class:`BatchRefusedError` at its
    row (the caller rolls back, so nothing of the batch remains)."""
    rows, requests = validated.rows, validated.requests
    issued = 0
    for start in range(0, len(requests), MAX_BATCH):
        chunk = [IssueItem(request) for request in requests[start : start + MAX_BATCH]]
        try:
            results = issue_labels(principal, chunk)
        except RegistryError as exc:
            raise BatchRefusedError(_refusal(exc, validated, start)) from exc
        insert_new(
            [
                LabelBatchItem(batch_id=batch_id, row=row, label_id=result.label.id)
                for row, result in zip(rows[start:], results, strict=False)
            ]
        )
        issued += len(results)
        # Forget the chunk (written first): a 10,000-label batch must not keep every
        # credential in memory.
        db.session.flush()
        db.session.expunge_all()
        progress(issued)
    return issued


def _refusal(exc: RegistryError, validated: ValidatedBatch, start: int) -> list[RowError]:
    """A service refusal within the chunk from ``start``, at the rows it names (its first when
    it names none): the issuance service names every refused item of a batch in ``items``, by
    zero-based index within the chunk."""
    rows = validated.rows[start : start + MAX_BATCH]
    if exc.items:
        return [
            RowError(rows[item["index"]], None, f"{item['title']}: {item['detail']}")
            for item in exc.items
        ]
    detail = exc.detail or exc.title
    position = 0
    found = _POSITION.match(detail)
    if found is not None:
        position = int(found.group(1)) - 1
        detail = found.group(2)
    elif len(rows) > 1:
        detail = f"{detail} (in rows {rows[0]}–{rows[-1]})"
    if isinstance(exc, ValidationFailedError):
        located = validated.located(start + position, exc.errors)
        if located:
            return located
    return [RowError(rows[position], None, f"{exc.title}: {detail}")]

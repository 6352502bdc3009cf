"""Dry runs: what issuance would give, with every check made and nothing written.

:func:`preview_labels` runs issuance itself (:func:`~registry.labels.issuance.issue_label_groups`
with ``dry_run``), so a preview is refused exactly when the issuance would be: token, body
status, accreditation, key, rule version in force, plausibility, grade. It stops before the
writes: no Idempotency-Key is claimed, no status-list index drawn, nothing signed, stored or
ledgered. Two more walls make a write impossible rather than merely absent: the run happens in
a savepoint that is always rolled back, and while it runs any statement other than a read is
refused on the connection (:class:`DryRunWriteError`, a bug, never an answer).

The portal's grade preview calls :func:`preview_label`; ``POST /api/v1/labels?dry_run=true``
and its batch call :func:`preview_labels`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from registry.auth.services import Principal
from registry.db import db
from registry.labels.issuance import IssueItem, LabelRequest, issue_label_groups
from registry.labels.schemas import label_schema

__all__ = ["DryRunWriteError", "Preview", "preview_label", "preview_labels"]

# What a statement may begin with during a dry run: reads, and the savepoint's own statements.
_READS = frozenset({"SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK"})


class DryRunWriteError(RuntimeError):
    """A dry run tried to write: a bug in the issuance path, refused before it reached the
    database."""


@dataclass(frozen=True, slots=True)
class Preview:
    """What the registry would issue for one request.

    ``label`` has the shape of the API's label (``LabelSchema``), computed grade and validity
    included; its ``credential`` is unsigned (no ``proof``) and has no ``credentialStatus``
    (indexes are drawn at issuance), its ``ledger_index`` is null, and its ``id`` is a fresh
    random one that is not reserved (the real issuance draws another). ``replayed``: the
    request's Idempotency-Key was used before for the same request, and ``label`` is that
    label as issued (a real request would return it again).
    """

    label: dict[str, Any]
    replayed: bool = False

    @property
    def grade(self) -> str:
        return str(self.label["grade"])


def preview_label(
    principal: Principal,
    request: LabelRequest,
    *,
    idempotency_key: str | None = None,
    request_hash: bytes = b"",
) -> Preview:
    """The label ``principal`` would get for ``request`` now; refused as issuance would be."""
    return preview_labels(principal, [IssueItem(request, idempotency_key, request_hash)])[0]


def preview_labels(principal: Principal, items: Sequence[IssueItem]) -> list[Preview]:
    """The labels a batch would give, all checked as one batch (all or none, in order)."""
    with _never_written():
        results = issue_label_groups([(principal, items)], dry_run=True)[0]
        # Dumped inside: the rollback expires what the savepoint loaded.
        return [
            Preview(label=label_schema.dump(result.label), replayed=not result.created)
            for result in results
        ]


@contextmanager
def _never_written() -> Iterator[None]:
    """A savepoint always rolled back, on a connection that refuses anything but reads."""
    session = db.session()
    savepoint = session.begin_nested()  # flushes what the request had pending, before the wall
    connection = session.connection()

    def refuse_writes(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb not in _READS:
            raise DryRunWriteError(f"a dry run may not execute {verb or 'an empty statement'}")

    event.listen(connection, "before_cursor_execute", refuse_writes)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", refuse_writes)
        savepoint.rollback()

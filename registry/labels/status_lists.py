"""The Bitstring Status Lists a body's labels are indexed in, and their signed credentials.

Each body has its own lists per purpose (revocation, suspension), signed with the body's key, so
a verifier accepts a list only from the label's own issuer. Indexes are drawn from a list that
is less than half full, pseudo-randomly (herd privacy: a list reveals nothing about issuance
order): a list's ``n``-th index is a keyed permutation of ``n`` (``registry.labels.permutation``,
with the list's secret ``draw_key``), so no query for the taken indexes is needed; lists opened
before they had a key keep a random draw checked against the taken indexes.
A list's bits are recomputed from the labels' status whenever one changes, then re-signed, and
the ticker re-signs every list older than ``REFRESH`` so its ``validUntil`` never lapses.
Reading a list never signs.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from credentials import (
    EDDSA_RDFC_2022,
    MIN_STATUS_LIST_BITS,
    StatusList,
    build_status_list_credential,
    sign_document,
)
from registry.bodies.models import CertificationBody
from registry.bodies.services import signing_key
from registry.clock import utcnow
from registry.db import db
from registry.errors import NotFoundError
from registry.labels.models import Label, LabelStatus, StatusListRecord, StatusPurpose
from registry.labels.permutation import KEY_BYTES, permute

__all__ = [
    "LIST_SIZE",
    "REFRESH",
    "SET_WHEN",
    "VALIDITY",
    "allocate_indexes",
    "get_status_list",
    "list_url",
    "refresh_status_lists",
    "resign_status_list",
]

LIST_SIZE = MIN_STATUS_LIST_BITS
_FILL = LIST_SIZE // 2
MAX_OPEN = 4  # open lists per body and purpose that concurrent issuances spread over
VALIDITY = timedelta(days=30)
REFRESH = timedelta(days=1)
# A superseded label is flagged in the suspension list: offline verifiers then refuse to call
# a replaced label current, while the public page explains it was superseded and by what.
SET_WHEN = {
    StatusPurpose.REVOCATION: frozenset({LabelStatus.REVOKED}),
    StatusPurpose.SUSPENSION: frozenset({LabelStatus.SUSPENDED, LabelStatus.SUPERSEDED}),
}


def list_url(base_url: str, list_id: str) -> str:
    return f"{base_url.rstrip('/')}/status-lists/{list_id}"


def _index_column(
    purpose: StatusPurpose,
) -> tuple[InstrumentedAttribute[str], InstrumentedAttribute[int]]:
    if purpose is StatusPurpose.REVOCATION:
        return Label.revocation_list_id, Label.revocation_index
    return Label.suspension_list_id, Label.suspension_index


def allocate_indexes(
    body: CertificationBody, purpose: StatusPurpose, count: int, *, base_url: str
) -> list[tuple[str, int]]:
    """``count`` unused (list id, index) pairs drawn in the body's lists, opening lists as needed.

    Each list row used stays locked (``FOR UPDATE``) until the transaction ends, so concurrent
    issuers of one body never draw the same index. A list another transaction holds is skipped
    (``SKIP LOCKED``) for the next open one, or a new one while the body has fewer than
    ``MAX_OPEN`` open lists of the purpose, so concurrent issuances of one body (group-commit
    rounds in several workers) sign in parallel instead of queueing behind one list; with
    ``MAX_OPEN`` open lists all held, it waits for the oldest. Callers allocate revocation
    before suspension, and both before appending to the ledger: one lock order everywhere.
    """
    # One statement takes the list (oldest not yet half full), locks it until the transaction
    # ends and counts the new entries in. A batch may take a list a little past half full;
    # a random draw then still succeeds with probability close to 1/2.
    open_lists = (
        select(StatusListRecord.id)
        .where(
            StatusListRecord.body_id == body.id,
            StatusListRecord.purpose == purpose,
            StatusListRecord.allocated < _FILL,
        )
        .order_by(StatusListRecord.created_at, StatusListRecord.id)
        .limit(1)
    )
    row = _take_list(open_lists.with_for_update(skip_locked=True), count)
    if row is None and _open_count(body, purpose) >= MAX_OPEN:
        row = _take_list(open_lists.with_for_update(), count)
    if row is None:
        record = _open_list(body, purpose, base_url=base_url)
        db.session.execute(
            update(StatusListRecord)
            .where(StatusListRecord.id == record.id)
            .values(allocated=count)
            .execution_options(synchronize_session=False)
        )
        list_id, size, allocated, draw_key = record.id, record.size, count, record.draw_key
    else:
        list_id, size, allocated, draw_key = row.id, row.size, row.allocated, row.draw_key
    if draw_key is None:
        return [(list_id, index) for index in _draw_free(purpose, list_id, size, count)]
    # The row lock makes [allocated - count, allocated) this transaction's counters alone; the
    # unique (list, index) constraint is the safety net.
    if allocated > size:
        raise RuntimeError(f"status list {list_id} has no {count} indexes left")
    return [(list_id, permute(draw_key, size, n)) for n in range(allocated - count, allocated)]


def _take_list(open_list: Select[tuple[str]], count: int) -> Row[Any] | None:
    """Lock the list ``open_list`` selects and count ``count`` more entries in; its row."""
    return db.session.execute(
        update(StatusListRecord)
        .where(StatusListRecord.id == open_list.scalar_subquery())
        .values(allocated=StatusListRecord.allocated + count)
        .returning(
            StatusListRecord.id,
            StatusListRecord.size,
            StatusListRecord.allocated,
            StatusListRecord.draw_key,
        )
        .execution_options(synchronize_session=False)
    ).first()


def _open_count(body: CertificationBody, purpose: StatusPurpose) -> int:
    return db.session.execute(
        select(func.count()).where(
            StatusListRecord.body_id == body.id,
            StatusListRecord.purpose == purpose,
            StatusListRecord.allocated < _FILL,
        )
    ).scalar_one()


def _draw_free(purpose: StatusPurpose, list_id: str, size: int, count: int) -> list[int]:
    """``count`` distinct random indexes not yet used in the list (it is at most half full)."""
    list_column, index_column = _index_column(purpose)
    chosen: set[int] = set()
    while len(chosen) < count:
        candidates = {secrets.randbelow(size) for _ in range(count - len(chosen))} - chosen
        taken = db.session.execute(
            select(index_column).where(list_column == list_id, index_column.in_(candidates))
        ).scalars()
        chosen |= candidates - set(taken)
    order = list(chosen)
    # Set iteration order follows the integers' hashes: shuffle so nothing leaks through it.
    secrets.SystemRandom().shuffle(order)
    return order


def _open_list(
    body: CertificationBody, purpose: StatusPurpose, *, base_url: str
) -> StatusListRecord:
    record = StatusListRecord(
        id=f"{purpose.value[0]}-{secrets.token_hex(8)}",
        body_id=body.id,
        purpose=purpose,
        size=LIST_SIZE,
        allocated=0,
        draw_key=secrets.token_bytes(KEY_BYTES),
        created_at=utcnow(),
    )
    db.session.add(record)
    db.session.flush()
    resign_status_list(record, body=body, base_url=base_url)
    return record


def resign_status_list(
    record: StatusListRecord, *, body: CertificationBody, base_url: str, now: datetime | None = None
) -> None:
    """Recompute the list's bits from its labels' status and sign it with the body's key."""
    now = now or utcnow()
    list_column, index_column = _index_column(record.purpose)
    stmt = select(index_column).where(
        list_column == record.id,
        Label.status.in_(SET_WHEN[record.purpose]),
    )
    bits = StatusList(record.size)
    for (index,) in db.session.execute(stmt):
        bits.set(int(index), True)
    key, pair = signing_key(body, at=now)
    now = now.replace(microsecond=0)
    unsigned = build_status_list_credential(
        list_url=list_url(base_url, record.id),
        issuer={"id": key.did, "name": body.name},
        purpose=record.purpose.value,
        status_list=bits,
        valid_from=now,
        valid_until=now + VALIDITY,
    )
    signed = sign_document(unsigned, key=pair, cryptosuite=EDDSA_RDFC_2022, created=now)
    text = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    record.credential = text
    record.etag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    record.signed_at = now


def get_status_list(list_id: str) -> StatusListRecord:
    """A list as last signed; a read, so it never signs (the ticker keeps lists fresh)."""
    record = db.session.get(StatusListRecord, list_id)
    if record is None or record.credential is None:
        raise NotFoundError(f"There is no status list {list_id!r}.")
    return record


def refresh_status_lists(*, base_url: str, now: datetime, limit: int = 50) -> int:
    """Re-sign up to ``limit`` lists signed ``REFRESH`` or longer ago; the number re-signed.

    Run by the ticker on the write path, so a list is never older than ``REFRESH`` plus a tick
    when read, far inside its ``VALIDITY``. Rows another worker is re-signing are skipped.
    """
    stale = db.session.execute(
        select(StatusListRecord)
        .where(StatusListRecord.signed_at <= now - REFRESH)
        .order_by(StatusListRecord.signed_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalars()
    count = 0
    for record in stale:
        body = db.session.get_one(CertificationBody, record.body_id)
        resign_status_list(record, body=body, base_url=base_url, now=now)
        count += 1
    db.session.flush()
    return count

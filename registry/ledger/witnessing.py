"""The registry as a C2SP tlog-witness client: ask each configured witness to cosign checkpoints.

The ticker calls :func:`push_checkpoint` after signing, outside any request and outside any
write transaction: the database is read in a short snapshot, released, then each witness is
asked over HTTP (``REGISTRY_WITNESS_TIMEOUT``), and only a cosignature that verifies against the
witness's key is stored, in a transaction of its own. A witness that is down or refuses is
retried at later ticks with exponential back-off, so a witness outage never slows or fails
issuance; a 409 carries the size the witness last cosigned, and the next request is sent from
there (with the consistency proof from that size).
"""

from __future__ import annotations

import http.client
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from credentials import (
    SIZE_CONTENT_TYPE,
    NoteError,
    NoteSignature,
    NoteVerifier,
    add_checkpoint_request,
    open_note,
)
from registry.clock import utcnow
from registry.config import current_settings, parse_witness
from registry.db import db, insert_ignoring_conflicts, read_snapshot, transaction
from registry.ledger.models import LedgerCheckpoint, LedgerCosignature
from registry.ledger.services import (
    consistency_proof,
    get_log_verifier_key,
    latest_checkpoint,
)

__all__ = [
    "BASE_BACKOFF",
    "MAX_BACKOFF",
    "WITNESSING_KEY",
    "ConfiguredWitness",
    "Head",
    "WitnessRefusedError",
    "configured_witnesses",
    "cosignature_lines",
    "push_checkpoint",
    "request_cosignature",
    "witness_health",
]

logger = logging.getLogger(__name__)

WITNESSING_KEY = "registry.witnessing"
BASE_BACKOFF = timedelta(seconds=2)
MAX_BACKOFF = timedelta(minutes=10)
MAX_RESPONSE_BYTES = 64 * 1024  # a few cosignature lines; a witness sending more is refused
_MAX_CONFLICTS = 2  # a 409 moves us to the witness's size once; twice in a row is a refusal


@dataclass(frozen=True, slots=True)
class ConfiguredWitness:
    verifier: NoteVerifier
    url: str

    @property
    def key(self) -> str:
        return self.verifier.verifier_key()


@dataclass(slots=True)
class _Progress:
    """What this process knows of one witness between ticks (lost on restart, on purpose)."""

    size: int | None = None  # the size it last told us it cosigned
    failures: int = 0
    retry_at: datetime | None = None
    last_error: str = ""


@dataclass(slots=True)
class _Witnessing:
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: dict[str, _Progress] = field(default_factory=dict)


class WitnessRefusedError(Exception):
    """The witness could not be reached or gave no valid cosignature."""


@dataclass(frozen=True, slots=True)
class Head:
    """The checkpoint to have cosigned: its size and signed note."""

    size: int
    note: str


def configured_witnesses() -> list[ConfiguredWitness]:
    return [ConfiguredWitness(*parse_witness(entry)) for entry in current_settings().witnesses]


def _state(app: Flask) -> _Witnessing:
    state: _Witnessing = app.extensions.setdefault(WITNESSING_KEY, _Witnessing())
    return state


def cosignature_lines(size: int) -> list[str]:
    """Every stored cosignature line of the checkpoint at ``size``, in the order received."""
    stmt = select(LedgerCosignature.line).where(LedgerCosignature.size == size)
    return list(db.session.execute(stmt.order_by(LedgerCosignature.id)).scalars())


def _cosigned_size(witness: ConfiguredWitness) -> int | None:
    stmt = select(func.max(LedgerCosignature.size)).where(LedgerCosignature.witness == witness.key)
    size = db.session.execute(stmt).scalar_one_or_none()
    return None if size is None else int(size)


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310  # parse_witness allows http(s) only
        f"{url}/add-checkpoint",
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, content_type = response.status, response.headers.get_content_type()
                return status, content_type, response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:  # 4xx/5xx: still an answer to read
            with exc:
                return exc.code, exc.headers.get_content_type(), exc.read(MAX_RESPONSE_BYTES + 1)
    # URLError, timeouts and resets are OSError; a garbled answer raises HTTPException.
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise WitnessRefusedError(f"unreachable: {exc}") from exc


def _proof(old: int, size: int) -> list[bytes]:
    if old == 0 or old >= size:  # above the size: no proof exists; the witness says 400
        return []
    with read_snapshot():
        return list(consistency_proof(old, size).hashes)


def _parse_size(body: bytes) -> int:
    text = body.decode("ascii", "replace")
    if not text.endswith("\n") or not text[:-1].isdigit() or str(int(text[:-1])) != text[:-1]:
        raise WitnessRefusedError(f"409 with a malformed size body {text[:40]!r}")
    return int(text[:-1])


def request_cosignature(
    witness: ConfiguredWitness, head: Head, old: int, progress: _Progress | None = None
) -> NoteSignature:
    """The witness's verified cosignature of ``head``, asked with ``old``; follows one 409."""
    progress = progress or _Progress()
    log_verifier = NoteVerifier.from_verifier_key(get_log_verifier_key())
    timeout = current_settings().witness_timeout
    for _ in range(_MAX_CONFLICTS):
        body = add_checkpoint_request(old, _proof(old, head.size), head.note)
        status, content_type, answer = _post(witness.url, body, timeout)
        if len(answer) > MAX_RESPONSE_BYTES:
            raise WitnessRefusedError(f"answer over {MAX_RESPONSE_BYTES} bytes")
        if status == 409 and content_type == SIZE_CONTENT_TYPE:
            size = _parse_size(answer)
            if size > head.size:
                raise WitnessRefusedError(
                    f"witness has cosigned size {size}, beyond the log's {head.size}"
                )
            if size == old:
                raise WitnessRefusedError(f"409 at the size we sent ({old})")
            progress.size = old = size
            continue
        if status != 200:
            detail = answer[:200].decode("utf-8", "replace").strip()
            raise WitnessRefusedError(f"HTTP {status}: {detail}")
        try:
            opened = open_note(
                head.note + answer.decode("utf-8"), verifiers=[log_verifier, witness.verifier]
            )
        except (NoteError, UnicodeDecodeError) as exc:
            raise WitnessRefusedError(f"cosignature does not verify: {exc}") from exc
        own = (witness.verifier.name, witness.verifier.key_id)
        for signature in opened.signatures:
            if (signature.name, signature.key_id) == own and signature.timestamp is not None:
                return signature
        raise WitnessRefusedError("no cosignature from the witness's key in its answer")
    raise WitnessRefusedError("the witness keeps answering 409")


def push_checkpoint(app: Flask) -> int:
    """Ask every due witness to cosign the latest checkpoint; the number of cosignatures stored.

    Never raises for a witness's failure: it is logged, remembered and retried with back-off.
    """
    with app.app_context():
        try:
            witnesses = configured_witnesses()
            if not witnesses:
                return 0
            with read_snapshot():
                latest = latest_checkpoint()
                if latest is None:
                    return 0
                head = Head(latest.size, latest.note)
                cosigned = {w.key: _cosigned_size(w) for w in witnesses}
            state = _state(app)
            stored = 0
            for witness in witnesses:
                with state.lock:
                    progress = state.progress.setdefault(witness.key, _Progress())
                stored += _push_one(witness, head, cosigned[witness.key], progress)
            return stored
        finally:
            db.session.remove()


def _push_one(
    witness: ConfiguredWitness, head: Head, cosigned: int | None, progress: _Progress
) -> int:
    if cosigned is not None and cosigned >= head.size:
        return 0
    now = utcnow()
    if progress.retry_at is not None and now < progress.retry_at:
        return 0
    old = progress.size if progress.size is not None else (cosigned or 0)
    try:
        signature = request_cosignature(witness, head, min(old, head.size), progress)
    except WitnessRefusedError as exc:
        progress.failures += 1
        delay = min(BASE_BACKOFF * 2 ** (progress.failures - 1), MAX_BACKOFF)
        progress.retry_at = now + delay
        progress.last_error = str(exc)
        logger.warning(
            "witness %s (%s) did not cosign size %d: %s; retrying in %.0f s",
            witness.verifier.name,
            witness.url,
            head.size,
            exc,
            delay.total_seconds(),
        )
        return 0
    with transaction():
        db.session.execute(
            insert_ignoring_conflicts(LedgerCosignature).values(
                size=head.size,
                witness=witness.key,
                timestamp=signature.timestamp,
                line=signature.line(),
                received_at=now,
            )
        )
    progress.size, progress.failures, progress.retry_at, progress.last_error = (
        head.size,
        0,
        None,
        "",
    )
    return 1


def witness_health(now: datetime) -> dict[str, Any]:
    """Per witness, how long the log has waited for its cosignature, against the maximum.

    ``behind`` is the age of the oldest checkpoint newer than the witness's latest cosigned one
    (0 when it has cosigned the latest), so a quiet log stays healthy; ``age`` is how old the
    newest checkpoint it cosigned is. Call inside an app context.
    """
    settings = current_settings()
    max_age = settings.witness_max_age
    progress = _state(current_app._get_current_object()).progress  # type: ignore[attr-defined]
    report: list[dict[str, Any]] = []
    with read_snapshot():
        for witness in configured_witnesses():
            size = _cosigned_size(witness)
            floor = -1 if size is None else size
            signed_at = None
            if size is not None:
                signed_at = db.session.execute(
                    select(LedgerCheckpoint.created_at).where(LedgerCheckpoint.size == size)
                ).scalar_one_or_none()
            waiting_since = db.session.execute(
                select(func.min(LedgerCheckpoint.created_at)).where(LedgerCheckpoint.size > floor)
            ).scalar_one_or_none()
            behind = 0.0 if waiting_since is None else (now - waiting_since).total_seconds()
            entry = progress.get(witness.key, _Progress())
            report.append(
                {
                    "name": witness.verifier.name,
                    "url": witness.url,
                    "cosigned_size": size,
                    "age": None if signed_at is None else (now - signed_at).total_seconds(),
                    "behind": max(behind, 0.0),
                    "ok": behind <= max_age,
                    "last_error": entry.last_error or None,
                }
            )
    return {"ok": all(w["ok"] for w in report), "max_age": max_age, "witnesses": report}

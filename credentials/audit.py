"""Offline audit of an exported ledger: no registry, no network, only the kit.

:func:`audit_ledger` streams an export (one entry's exact bytes per line, as served by
``/api/v1/exports/ledger.jsonl``) once: every leaf is hashed into one :class:`Frontier`
(constant memory) and the root compared with the signed checkpoint; every entry is replayed
with :class:`~credentials.ledger_replay.Replayer` (the kit's transition rules, not a copy);
and, when the signed credentials are supplied, each ``label.issued`` entry's credential is
found by its ``credentialDigest`` and its proof verified with the key the entry names, on a
process pool.

Ledger entries carry a credential's digest, not the credential, so the credentials come
separately: a JSONL file (or a directory of ``*.json`` / ``*.jsonl`` files) of signed
credentials, in any order. They are indexed by digest in memory, so that part of an audit
grows with the number of credentials supplied; the ledger itself is never held. Without
credentials the proofs are not checked and the report says so.

:func:`check_consistency` checks that a newer signed checkpoint extends an older one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credentials.checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from credentials.credential import PactSource, credential_digest, parse_label_credential
from credentials.cryptosuites import verify_document
from credentials.errors import CredentialError, KeyFormatError, MerkleError
from credentials.jsonld import parse_json
from credentials.keys import PublicKey, public_key_from_verification_method
from credentials.ledger_events import LabelIssued, parse_entry
from credentials.ledger_replay import Replayer, Violation
from credentials.lexical import decimal_text
from credentials.merkle import Frontier, verify_consistency

__all__ = [
    "AuditProblem",
    "AuditReport",
    "audit_ledger",
    "check_consistency",
    "load_credentials",
]

_CHUNK = 64  # credentials per pool task: pickling stays small, the two workers stay balanced
_MAX_LINE = 1_000_000  # an entry or credential longer than this is refused, not parsed


@dataclass(frozen=True, slots=True, order=True)
class AuditProblem:
    """One thing wrong: ``index`` is the entry's position (``None`` for the tree as a whole)."""

    index: int | None
    reason: str
    message: str

    def __str__(self) -> str:
        where = "ledger" if self.index is None else f"entry {self.index}"
        return f"{where}: {self.message} ({self.reason})"


@dataclass(frozen=True, slots=True)
class AuditReport:
    size: int
    checkpoint: Checkpoint
    root_hash: bytes  # of the first checkpoint.size entries (or of all, if fewer)
    replayed: bool
    proofs_checked: int
    problems: tuple[AuditProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> AuditProblem | None:
        """The first entry found wrong (by position), else the first ledger-wide problem."""
        indexed = [p for p in self.problems if p.index is not None]
        return min(indexed) if indexed else (self.problems[0] if self.problems else None)


def _tree_only(lines: Iterable[bytes], frontier: Frontier, size: int) -> tuple[int, bytes | None]:
    """The hash-and-tree loop alone, kept tight (the audit's floor): last index, root at size."""
    append, sha256, root, index = frontier.push, hashlib.sha256, None, -1
    for index, line in enumerate(lines):
        append(sha256(b"\x00" + (line[:-1] if line[-1:] == b"\n" else line)).digest())
        if index + 1 == size:
            root = frontier.root()
    return index, root


def load_credentials(path: str | Path) -> dict[str, bytes]:
    """Signed credentials by ``credentialDigest``, from a JSONL file or a directory of files."""
    root = Path(path)
    files = (
        sorted(p for p in root.iterdir() if p.suffix in (".json", ".jsonl"))
        if root.is_dir()
        else [root]
    )
    found: dict[str, bytes] = {}
    for file in files:
        with file.open("rb") as handle:
            chunks = [handle.read()] if file.suffix == ".json" else handle
            for raw in chunks:
                text = raw.strip()
                if not text:
                    continue
                document = parse_json(text, max_bytes=_MAX_LINE)
                if not isinstance(document, dict):
                    raise CredentialError(f"{file}: a credential must be a JSON object")
                found[credential_digest(document)] = text
    return found


def _pinned(method: str) -> Callable[[str], PublicKey]:
    """A resolver that only accepts the key the ledger entry names."""

    def resolve(vm: str) -> PublicKey:
        if vm != method:
            raise KeyFormatError(f"the proof is by {vm}, the ledger entry names {method}")
        return public_key_from_verification_method(vm)

    return resolve


# (entry index, the entry's label.issued members we compare, the credential's bytes)
_Task = tuple[int, str, str, str, str, str, str, bytes]


def _check_chunk(tasks: Sequence[_Task]) -> list[AuditProblem]:
    """Verify each credential's proof and that it states what its entry states (in a worker)."""
    problems: list[AuditProblem] = []
    for index, label, method, footprint, amount, grade, pact, raw in tasks:
        try:
            document = json.loads(raw)
            verify_document(document, key_resolver=_pinned(method))
            stated = parse_label_credential(document)
        except (CredentialError, ValueError) as exc:
            problems.append(
                AuditProblem(index, "bad_proof", f"the credential does not verify: {exc}")
            )
            continue
        differences = [
            f"{name} is {theirs} in the credential, {ours} in the entry"
            for name, theirs, ours in (
                ("the label", stated.label_id, label),
                ("the footprint", decimal_text(stated.footprint.value), footprint),
                (
                    "the declared unit amount",
                    decimal_text(stated.footprint.declared_unit_amount),
                    amount,
                ),
                ("the grade", stated.grade, grade),
                ("the PACT source", _pact_text(stated.pact), pact),
            )
            if theirs != ours
        ]
        if differences:
            problems.append(AuditProblem(index, "credential_mismatch", "; ".join(differences)))
    return problems


def _pact_text(source: PactSource | None) -> str:
    if source is None:
        return "none"
    version = "" if source.version is None else f" version {source.version}"
    return f"{source.footprint_id} (PACT {source.spec_version}{version})"


def _task(index: int, event: LabelIssued, raw: bytes) -> _Task:
    return (
        index,
        event.label,
        event.verification_method,
        decimal_text(event.footprint),
        decimal_text(event.declared_unit_amount),
        event.grade,
        _pact_text(event.pact),
        raw,
    )


def _replay_problem(violation: Violation) -> AuditProblem:
    return AuditProblem(
        violation.seq, violation.reason.value, f"{violation.event}: {violation.message}"
    )


def audit_ledger(
    lines: Iterable[bytes],
    *,
    checkpoint: str,
    log_key: str,
    jobs: int = 2,
    credentials: dict[str, bytes] | None = None,
    replay: bool = True,
    executor: Executor | None = None,
) -> AuditReport:
    """Audit an export; problems are reported, never raised (a bad checkpoint does raise).

    ``replay=False`` is the hash-and-tree mode: only the leaves and the root are checked.
    ``credentials`` (from :func:`load_credentials`) turns on the proof checks, spread over
    ``jobs`` processes (1: in this process); ``executor`` overrides the pool.
    """
    signed = open_checkpoint(checkpoint, verifier=NoteVerifier.from_verifier_key(log_key))
    problems: list[AuditProblem] = []
    frontier = Frontier()
    append, sha256 = frontier.push, hashlib.sha256
    root_at_checkpoint: bytes | None = signed.root_hash if signed.size == 0 else None
    replayer = Replayer() if replay else None
    pool: Executor | None = None
    pending: list[Future[list[AuditProblem]]] = []
    batch: list[_Task] = []
    checked = 0

    def flush() -> None:
        nonlocal pool, batch
        if not batch:
            return
        if jobs <= 1 and executor is None:
            problems.extend(_check_chunk(batch))
        else:
            if pool is None:
                pool = executor or ProcessPoolExecutor(max_workers=jobs)
            pending.append(pool.submit(_check_chunk, batch))
            # A bounded queue: the reader waits for the workers rather than buffering the ledger.
            while len(pending) > 4 * max(jobs, 1):
                problems.extend(pending.pop(0).result())
        batch = []

    try:
        index = -1
        if replayer is None:
            index, root = _tree_only(lines, frontier, signed.size)
            root_at_checkpoint = root_at_checkpoint or root
        for index, line in enumerate(lines if replayer is not None else ()):
            leaf = line[:-1] if line[-1:] == b"\n" else line
            append(sha256(b"\x00" + leaf).digest())
            if index + 1 == signed.size:
                root_at_checkpoint = frontier.root()
            if replayer is None:
                continue
            if len(leaf) > _MAX_LINE:
                problems.append(AuditProblem(index, "too_long", "the entry is over 1 MB"))
                replayer = None
                continue
            try:
                record = parse_entry(leaf)
            except CredentialError:
                replayer.feed(leaf)  # the replayer names the malformed entry its own way
                problems.append(_replay_problem(replayer.violation))  # type: ignore[arg-type]
                replayer = None
                continue
            if not replayer.apply(record):
                problems.append(_replay_problem(replayer.violation))  # type: ignore[arg-type]
                replayer = None
                continue
            if credentials is not None and isinstance(record.event, LabelIssued):
                raw = credentials.get(record.event.credential_digest)
                if raw is None:
                    problems.append(
                        AuditProblem(
                            index,
                            "credential_missing",
                            f"no credential with digest {record.event.credential_digest} "
                            "was supplied",
                        )
                    )
                    continue
                batch.append(_task(index, record.event, raw))
                checked += 1
                if len(batch) >= _CHUNK:
                    flush()
        flush()
        for future in pending:
            problems.extend(future.result())
    finally:
        if pool is not None and executor is None:
            pool.shutdown()
    size = index + 1
    if root_at_checkpoint is None:
        problems.append(
            AuditProblem(
                None,
                "too_short",
                f"the export has {size} entries, the checkpoint covers {signed.size}",
            )
        )
    elif root_at_checkpoint != signed.root_hash:
        problems.append(
            AuditProblem(
                None,
                "root_mismatch",
                f"the first {signed.size} entries do not hash to the checkpoint's root "
                "(an entry was changed, removed, added or moved)",
            )
        )
    if size > signed.size:
        problems.append(
            AuditProblem(
                None,
                "not_covered",
                f"the export has {size} entries, the checkpoint covers only {signed.size}",
            )
        )
    problems.sort(key=lambda p: (p.index is None, p.index or 0, p.reason))
    return AuditReport(
        size=size,
        checkpoint=signed,
        root_hash=root_at_checkpoint or frontier.root(),
        replayed=replay,
        proofs_checked=checked if credentials is not None else 0,
        problems=tuple(problems),
    )


def _proof_hashes(proof: Any) -> list[bytes]:
    hashes = proof.get("hashes") if isinstance(proof, dict) else proof
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise MerkleError('a consistency proof is {"hashes": [base64, …]} or a list of base64')
    try:
        return [base64.b64decode(h, validate=True) for h in hashes]
    except binascii.Error as exc:
        raise MerkleError(f"a consistency proof hash is not base64: {exc}") from exc


def check_consistency(
    old_checkpoint: str, new_checkpoint: str, proof: Any, log_key: str
) -> tuple[Checkpoint, Checkpoint]:
    """Both checkpoints signed by the log, and ``proof`` (``/ledger/proof/consistency``'s JSON,
    or its ``hashes``) shows the new tree extends the old; raises
    :class:`~credentials.errors.CredentialError` otherwise."""
    verifier = NoteVerifier.from_verifier_key(log_key)
    old = open_checkpoint(old_checkpoint, verifier=verifier)
    new = open_checkpoint(new_checkpoint, verifier=verifier)
    if isinstance(proof, dict):
        for name, size in (("first", old.size), ("second", new.size)):
            if proof.get(name, size) != size:
                raise MerkleError(f"the proof's {name} size is {proof.get(name)}, not {size}")
    verify_consistency(
        first=old.size,
        second=new.size,
        first_root=old.root_hash,
        second_root=new.root_hash,
        proof=_proof_hashes(proof),
    )
    return old, new

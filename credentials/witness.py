"""A C2SP tlog-witness (https://c2sp.org/tlog-witness): cosigns checkpoints of the logs it trusts.

State lives in ``DIR``: the witness's C2SP cosignature signer key (``witness.key``, mode 0600)
and a SQLite database (``witness.sqlite3``) with the trusted log keys, the latest cosigned
checkpoint of each log and the evidence of any checkpoint that contradicts one it cosigned.
Checking ``old`` against the stored size and storing the new checkpoint happen in one
``BEGIN IMMEDIATE`` transaction, committed with ``synchronous=FULL`` before the answer is
built: the spec's rollback race (two requests checked against one state) cannot happen and a
crash never loses a size the witness has vouched for.

Status codes follow the spec: 404 unknown origin, 403 no trusted log signature verifies, 400
malformed request or ``old`` above the checkpoint size, 409 ``old`` is not the latest cosigned
size (body: that size, ``text/x.tlog.size``) or, at an equal size, a different root hash, 422 a
consistency proof that does not verify (or a size-0 checkpoint whose root is not SHA-256 of
nothing), 200 the cosignature line.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from credentials.checkpoint import (
    ED25519,
    MAX_NOTE_CHARS,
    Checkpoint,
    CosignatureSigner,
    NoteSignature,
    NoteVerifier,
    _parse_line,
    _split_note,
    open_checkpoint,
)
from credentials.errors import ConsistencyProofError, NoteError
from credentials.keys import KeyPair
from credentials.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

__all__ = [
    "KEY_FILE",
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "SIZE_CONTENT_TYPE",
    "STATE_FILE",
    "Evidence",
    "Witness",
    "WitnessError",
    "add_checkpoint_request",
    "make_server",
]

logger = logging.getLogger(__name__)

KEY_FILE = "witness.key"
STATE_FILE = "witness.sqlite3"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_TEXT = "text/plain; charset=utf-8"
MAX_PROOF_LINES = 63  # the spec: clients MUST NOT send more (a 2^64 tree needs at most 63)
# An old line, 63 proof lines (45 bytes each) and the longest note the kit opens, in UTF-8.
MAX_REQUEST_BYTES = 32 + MAX_PROOF_LINES * 45 + 4 * MAX_NOTE_CHARS
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")
_MAX_SIZE = 2**64 - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    vkey TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY REFERENCES logs (origin),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL,
    cosigned_note TEXT NOT NULL,
    offered_note TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
"""

Reply = tuple[int, dict[str, str], bytes]


class WitnessError(Exception):
    """The witness directory or a log key given to it is unusable."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A signed checkpoint that contradicts one the witness cosigned: both notes, kept for good."""

    origin: str
    reason: str
    cosigned_note: str
    offered_note: str
    recorded_at: int


class _RefusedError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def add_checkpoint_request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """The ``POST /add-checkpoint`` body: ``old N``, base64 hash lines, a blank line, the note."""
    lines = [f"old {old}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode()


def _text(status: int, message: str) -> Reply:
    return status, {"Content-Type": _TEXT}, (message + "\n").encode()


def _parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """``old N``, the proof hashes and the note, or :class:`_RefusedError` (400) if malformed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise _RefusedError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _RefusedError(HTTPStatus.BAD_REQUEST, "request body is not UTF-8") from None
    old_line, newline, rest = text.partition("\n")
    match = _OLD_LINE.fullmatch(old_line)
    if not newline or match is None or int(match.group(1)) > _MAX_SIZE:
        raise _RefusedError(HTTPStatus.BAD_REQUEST, "first line must be 'old <size>'")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            raise _RefusedError(HTTPStatus.BAD_REQUEST, "no empty line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise _RefusedError(HTTPStatus.BAD_REQUEST, f"more than {MAX_PROOF_LINES} proof lines")
        try:
            digest = base64.b64decode(line.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _RefusedError(HTTPStatus.BAD_REQUEST, "proof line is not base64") from None
        if len(digest) != HASH_SIZE or base64.b64encode(digest).decode() != line:
            raise _RefusedError(HTTPStatus.BAD_REQUEST, "proof line is not one canonical hash")
        proof.append(digest)
    return int(match.group(1)), proof, rest


def _parse_note(note: str) -> tuple[str, Checkpoint]:
    """Text and body of a well-formed note, signatures not yet checked (400 otherwise)."""
    try:
        text, lines = _split_note(note)
        for line in lines:
            _parse_line(line)
        return text, Checkpoint.parse(text)
    except NoteError as exc:
        raise _RefusedError(HTTPStatus.BAD_REQUEST, f"malformed checkpoint: {exc}") from None


class Witness:
    """One witness directory. Each call opens its own connection, so threads may share it."""

    def __init__(
        self,
        directory: Path,
        *,
        clock: Callable[[], int] | None = None,
        on_evidence: Callable[[Evidence], None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        key_path = self.directory / KEY_FILE
        if not key_path.is_file() or not (self.directory / STATE_FILE).is_file():
            raise WitnessError(f"{self.directory} is not a witness directory (run witness init)")
        if key_path.stat().st_mode & 0o077:
            raise WitnessError(f"{key_path} must be readable by its owner only (chmod 600)")
        try:
            self.signer = CosignatureSigner.from_signer_key(key_path.read_text("ascii").strip())
        except (NoteError, UnicodeDecodeError) as exc:
            raise WitnessError(f"{key_path} is not a cosignature signer key: {exc}") from exc
        self._clock = clock or (lambda: int(time.time()))
        self._on_evidence = on_evidence

    @classmethod
    def init(cls, directory: Path, name: str) -> Witness:
        """Make the directory, a new key (0600, never overwritten) and an empty state."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        signer = CosignatureSigner(name, KeyPair.generate())  # refuses an invalid name
        try:
            fd = os.open(directory / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise WitnessError(f"{directory / KEY_FILE} exists; a witness keeps its key") from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(signer.signer_key() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with closing(sqlite3.connect(directory / STATE_FILE)) as conn:
            conn.executescript(_SCHEMA)
        return cls(directory)

    @property
    def verifier_key(self) -> str:
        """The C2SP verifier key (type 0x04) logs and clients configure for this witness."""
        return self.signer.verifier_key()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction; BEGIN IMMEDIATE serialises it with every other."""
        conn = sqlite3.connect(self.directory / STATE_FILE, isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def trust(self, vkey: str) -> NoteVerifier:
        """Trust a log's Ed25519 verifier key; its name is the origin (one key per origin)."""
        try:
            verifier = NoteVerifier.from_verifier_key(vkey)
        except NoteError as exc:
            raise WitnessError(f"not a C2SP verifier key: {exc}") from exc
        if verifier.key_type != ED25519:
            raise WitnessError("a log key must be an Ed25519 (type 0x01) verifier key")
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO logs (origin, vkey) VALUES (?, ?) "
                "ON CONFLICT (origin) DO UPDATE SET vkey = excluded.vkey",
                (verifier.name, verifier.verifier_key()),
            )
        return verifier

    def cosigned(self, origin: str) -> tuple[int, bytes, str] | None:
        """The latest cosigned (size, root, note) of ``origin``, if any."""
        with closing(sqlite3.connect(self.directory / STATE_FILE)) as conn:
            row = conn.execute(
                "SELECT size, root, note FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))

    def evidence(self) -> list[Evidence]:
        with closing(sqlite3.connect(self.directory / STATE_FILE)) as conn:
            rows = conn.execute(
                "SELECT origin, reason, cosigned_note, offered_note, recorded_at "
                "FROM evidence ORDER BY id"
            ).fetchall()
        return [Evidence(*row) for row in rows]

    def add_checkpoint(self, request_body: bytes) -> Reply:
        """Answer ``POST /add-checkpoint``: (status, headers, body), state committed first."""
        try:
            return self._add_checkpoint(request_body)
        except _RefusedError as exc:
            return _text(exc.status, str(exc))

    def _add_checkpoint(self, request_body: bytes) -> Reply:
        old, proof, note = _parse_request(request_body)
        text, checkpoint = _parse_note(note)
        with closing(sqlite3.connect(self.directory / STATE_FILE)) as conn:
            row = conn.execute(
                "SELECT vkey FROM logs WHERE origin = ?", (checkpoint.origin,)
            ).fetchone()
        if row is None:
            raise _RefusedError(HTTPStatus.NOT_FOUND, f"unknown log origin {checkpoint.origin!r}")
        try:
            # Unknown keys' lines are ignored; a failing line from the log's key refuses.
            open_checkpoint(note, verifier=NoteVerifier.from_verifier_key(row[0]))
        except NoteError:
            raise _RefusedError(HTTPStatus.FORBIDDEN, "no trusted log signature verifies") from None
        if old > checkpoint.size:
            raise _RefusedError(
                HTTPStatus.BAD_REQUEST, "old size is larger than the checkpoint size"
            )
        evidence: Evidence | None = None
        try:
            with self._transaction() as conn:
                reply, evidence = self._check_and_store(conn, old, proof, note, text, checkpoint)
        finally:
            if evidence is not None:
                self._report(evidence)
        return reply

    def _check_and_store(
        self,
        conn: sqlite3.Connection,
        old: int,
        proof: list[bytes],
        note: str,
        text: str,
        checkpoint: Checkpoint,
    ) -> tuple[Reply, Evidence | None]:
        row = conn.execute(
            "SELECT size, root, note FROM cosigned WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        size, root, cosigned_note = (0, EMPTY_ROOT, "") if row is None else row
        if old != size:
            return (409, {"Content-Type": SIZE_CONTENT_TYPE}, f"{size}\n".encode()), None
        reason = ""
        if checkpoint.size == 0 and (checkpoint.root_hash != EMPTY_ROOT or proof):
            return _text(422, "a size-0 checkpoint has the empty root and no proof"), None
        if old == 0 and proof:
            return _text(422, "the proof must be empty when old is 0"), None
        if old == checkpoint.size and old > 0:
            if proof:
                return _text(422, "the proof must be empty between equal sizes"), None
            if bytes(root) != checkpoint.root_hash:
                reason = f"two roots at size {old}"
        elif old > 0:
            try:
                verify_consistency(
                    first=old,
                    second=checkpoint.size,
                    first_root=bytes(root),
                    second_root=checkpoint.root_hash,
                    proof=proof,
                )
            except ConsistencyProofError as exc:
                reason = f"no consistency from size {old}: {exc}"
        now = self._clock()
        if reason:
            # The log signed this checkpoint: keep it next to the one it contradicts.
            found = Evidence(checkpoint.origin, reason, str(cosigned_note), note, now)
            conn.execute(
                "INSERT INTO evidence (origin, reason, cosigned_note, offered_note, recorded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (found.origin, found.reason, found.cosigned_note, found.offered_note, now),
            )
            status = 409 if old == checkpoint.size else 422
            return _text(status, f"refused: {reason}"), found
        signature = self.signer.sign(text.encode(), timestamp=now)
        line = NoteSignature(self.signer.name, self.signer.key_id, signature).line()
        conn.execute(
            "INSERT INTO cosigned (origin, size, root, note, timestamp) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, timestamp = excluded.timestamp",
            (checkpoint.origin, checkpoint.size, checkpoint.root_hash, note, now),
        )
        return (200, {"Content-Type": _TEXT}, line.encode()), None

    def _report(self, evidence: Evidence) -> None:
        logger.error(
            "log %s misbehaved (%s); evidence recorded in %s",
            evidence.origin,
            evidence.reason,
            self.directory / STATE_FILE,
        )
        if self._on_evidence is not None:
            self._on_evidence(evidence)


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """A threaded HTTP/1.1 server answering ``POST /add-checkpoint`` (keep-alive, bounded body)."""
    # Imported here: the registry imports the kit (and this module's protocol pieces) in every
    # worker, and none of them serves a witness.
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a client that stalls mid-request loses its thread after this

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if self.path != "/add-checkpoint":
                self.close_connection = True  # its body is never read
                self._send(*_text(404, "not found"))
                return
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True
                self._send(*_text(411, "a Content-Length is required"))
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self.close_connection = True
                self._send(*_text(411, "a Content-Length is required"))
                return
            if not 0 <= length <= MAX_REQUEST_BYTES:
                self.close_connection = True  # the unread body would poison the connection
                self._send(*_text(413, f"request body over {MAX_REQUEST_BYTES} bytes"))
                return
            self._send(*witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            self._send(*_text(405, "only POST /add-checkpoint"))

        def log_message(self, format: str, *args: object) -> None:
            logger.info("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server

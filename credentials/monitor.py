"""The remote ledger monitor: fetch what a registry grew since the last run, and check it.

This is the kit's one networked module, a thin client kept apart from the offline checks it
calls (``checkpoint``, ``merkle``, ``ledger_replay``): it fetches with the standard library
only, with a timeout and a byte limit on everything it reads, and decides nothing itself.

Each run:

1. fetches ``/ledger/checkpoint`` and opens it with the pinned log key;
2. compares it with the last checkpoint it verified (``STATE/checkpoint``): a smaller tree, or
   the same size with another root, is a FORK/REWRITE; a larger tree must come with a
   consistency proof (``/ledger/proof/consistency``) from the old checkpoint that verifies;
3. fetches the new entries as C2SP tlog-tiles (level-0 tiles and entry bundles): the old
   tree's frontier plus the new leaf hashes must build the new root, and each new entry must
   hash to its leaf, else the first entry that does not is named;
4. replays every entry from 0 with the kit's :func:`~credentials.ledger_replay.replay` (the
   verified entries are kept in ``STATE/entries.jsonl``, so a run re-derives the whole state
   offline and fetches only what is new), naming the first entry a transition refuses;
5. only if all of that passed, appends the new entries to ``STATE/entries.jsonl`` (fsynced)
   and then replaces the checkpoint atomically (a temporary file renamed into place): a crash
   between the two leaves extra lines, which the next run cuts off, since the checkpoint is
   what was verified.

On a FORK/REWRITE both signed checkpoints (and the proof that failed) are kept under
``STATE/evidence/``. Exit codes: 0 OK, 1 a problem with the log, 2 the check could not be made
(network, a bad key, unreadable state).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from credentials.checkpoint import MAX_NOTE_CHARS, Checkpoint, NoteVerifier, open_checkpoint
from credentials.errors import CredentialError
from credentials.ledger_replay import replay
from credentials.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    TILE_WIDTH,
    Frontier,
    leaf_hash,
    tile_path,
    verify_consistency,
)

__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_UNCHECKED", "MonitorError", "run_monitor"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_UNCHECKED = 2
TIMEOUT = 30.0  # seconds per request
_MAX_PROOF_BYTES = 64 * 1024  # a consistency proof has at most 2·64 hashes
_MAX_TILE_BYTES = TILE_WIDTH * HASH_SIZE
# A bundle of 256 entries each at the uint16 maximum.
_MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 0xFFFF)
_CHECKPOINT_FILE = "checkpoint"
_ENTRIES_FILE = "entries.jsonl"


def _http_only_opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # the environment's http(s)_proxy, as urlopen would
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


_OPENER = _http_only_opener()


class MonitorError(Exception):
    """The check could not be made (exit 2): nothing is said about the log."""


class _ProblemError(Exception):
    """The log is at fault (exit 1): it served tiles or proofs that do not check out."""


class _ForkError(_ProblemError):
    """The new checkpoint contradicts the old one."""


class _BadEntryError(_ProblemError):
    """The log is at fault at one entry, which the message names first."""


@dataclass(frozen=True, slots=True)
class _Fetcher:
    base: str

    def __post_init__(self) -> None:
        if not self.base.startswith(("https://", "http://")):
            raise MonitorError(f"{self.base!r} is not an http(s) URL")

    def get(self, path: str, limit: int) -> bytes:
        url = f"{self.base}/ledger/{path}"
        # The base URL is http(s) (checked above) and the opener has no handler for any other
        # scheme, so neither the URL nor a redirect can reach file:, ftp: or data:.
        headers = {"Accept-Encoding": "gzip, identity"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as response:
                data: bytes = response.read(limit + 1)
                gzipped = response.headers.get("Content-Encoding", "") == "gzip"
        except urllib.error.HTTPError as exc:
            raise MonitorError(f"GET {url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise MonitorError(f"GET {url}: {exc}") from exc
        if len(data) > limit:
            raise MonitorError(f"GET {url}: more than {limit} bytes")
        if gzipped:
            data = _gunzip(data, limit, url)
        return data


def _gunzip(data: bytes, limit: int, url: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise MonitorError(f"GET {url}: bad gzip body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise MonitorError(f"GET {url}: more than {limit} bytes once decompressed")
    return out


def _tiles(fetcher: _Fetcher, kind: str, start: int, end: int) -> list[tuple[int, bytes]]:
    """The tiles of ``kind`` (``0`` or ``entries``) covering entries start..end-1 of a tree of
    ``end`` entries, each with the seq of its first entry."""
    out = []
    for n in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, end - n * TILE_WIDTH)
        limit = _MAX_TILE_BYTES if kind == "0" else _MAX_BUNDLE_BYTES
        path = tile_path(0 if kind == "0" else None, n, width)
        out.append((n * TILE_WIDTH, fetcher.get(path, limit)))
    return out


def _leaf_hashes(fetcher: _Fetcher, start: int, end: int) -> list[bytes]:
    hashes: list[bytes] = []
    for first, data in _tiles(fetcher, "0", start, end):
        width = min(TILE_WIDTH, end - first)
        if len(data) != width * HASH_SIZE:
            raise _ProblemError(f"level-0 tile at {first}: {len(data)} bytes, not {width} hashes")
        chunk = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
        hashes += chunk[max(0, start - first) :]
    return hashes


def _entries(fetcher: _Fetcher, start: int, end: int) -> list[bytes]:
    entries: list[bytes] = []
    for first, data in _tiles(fetcher, "entries", start, end):
        bundle = _split_bundle(data, first)
        if len(bundle) != min(TILE_WIDTH, end - first):
            raise _ProblemError(f"entry bundle at {first}: {len(bundle)} entries, wrong width")
        entries += bundle[max(0, start - first) :]
    return entries


def _split_bundle(data: bytes, first: int) -> list[bytes]:
    out: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise _ProblemError(f"entry bundle at {first}: truncated length prefix")
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data):
            raise _BadEntryError(f"entry {first + len(out)}: truncated in its bundle")
        out.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return out


def _consistency_hashes(fetcher: _Fetcher, first: int, second: int) -> list[bytes]:
    raw = fetcher.get(f"proof/consistency?first={first}&second={second}", _MAX_PROOF_BYTES)
    try:
        hashes = json.loads(raw)["hashes"]
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _ForkError(f"consistency proof {first}→{second} is malformed: {exc}") from exc


# --- state -----------------------------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_state(state_dir: Path, verifier: NoteVerifier) -> tuple[str | None, list[bytes]]:
    note_path = state_dir / _CHECKPOINT_FILE
    if not note_path.exists():
        (state_dir / _ENTRIES_FILE).unlink(missing_ok=True)  # from a first run that crashed
        return None, []
    note = note_path.read_text(encoding="utf-8")
    try:
        old = open_checkpoint(note, verifier=verifier)
    except CredentialError as exc:
        raise MonitorError(f"{note_path}: not a checkpoint of this log: {exc}") from exc
    entries_path = state_dir / _ENTRIES_FILE
    data = entries_path.read_bytes() if entries_path.exists() else b""
    entries: list[bytes] = []
    end = 0
    while len(entries) < old.size:
        newline = data.find(b"\n", end)
        if newline < 0:
            raise MonitorError(f"{entries_path}: {len(entries)} entries for a tree of {old.size}")
        entries.append(data[end:newline])
        end = newline + 1
    if end < len(data):
        # Lines past the checkpoint: a run that crashed after saving its entries and before
        # its checkpoint. They were never adopted; cut them so the next append lines up.
        with entries_path.open("r+b") as f:
            f.truncate(end)
    return note, entries


def _append_entries(path: Path, entries: Sequence[bytes]) -> None:
    """Append (and fsync) before the checkpoint moves: see :func:`_load_state`."""
    with path.open("ab") as f:
        f.write(b"".join(e + b"\n" for e in entries))
        f.flush()
        os.fsync(f.fileno())


def _keep_evidence(state_dir: Path, when: datetime, kind: str, files: dict[str, str]) -> Path:
    folder = state_dir / "evidence" / f"{when.strftime('%Y%m%dT%H%M%SZ')}-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        _write_atomically(folder / name, text.encode("utf-8"))
    return folder


# --- the run ---------------------------------------------------------------------------------


def _check_growth(
    fetcher: _Fetcher, old: Checkpoint, new: Checkpoint, old_entries: Sequence[bytes]
) -> list[bytes]:
    """The new entries, once the log proved it only appended to the old tree."""
    if new.size < old.size or (new.size == old.size and new.root_hash != old.root_hash):
        raise _ForkError(f"tree {new.size} does not extend the verified tree {old.size}")
    if new.size == old.size:
        return []
    if old.size:
        proof = _consistency_hashes(fetcher, old.size, new.size)
        try:
            verify_consistency(
                first=old.size,
                second=new.size,
                first_root=old.root_hash,
                second_root=new.root_hash,
                proof=proof,
            )
        except CredentialError as exc:
            raise _ForkError(f"no valid consistency proof {old.size}→{new.size}: {exc}") from exc
    frontier = Frontier()
    for entry in old_entries:
        frontier.push(leaf_hash(entry))
    leaves = _leaf_hashes(fetcher, old.size, new.size)
    for leaf in leaves:
        frontier.push(leaf)
    if frontier.root() != new.root_hash:
        raise _ProblemError(f"the level-0 tiles do not build the root of tree {new.size}")
    entries = _entries(fetcher, old.size, new.size)
    for seq, (entry, leaf) in enumerate(zip(entries, leaves, strict=True), start=old.size):
        if leaf_hash(entry) != leaf:
            raise _BadEntryError(f"entry {seq}: its bytes do not hash to leaf {seq} of the tree")
        if b"\n" in entry:
            # RFC 8785 escapes every control character; a raw newline is not canonical JSON
            # (and would break the one-entry-a-line state file).
            raise _BadEntryError(f"entry {seq}: a raw newline, so not RFC 8785 canonical JSON")
    return entries


def run_monitor(
    url: str, log_key: str, state_dir: Path, *, out: TextIO, at: datetime | None = None
) -> int:
    """Check the registry at ``url`` against the log key and what ``state_dir`` saw before.

    Writes one plain report line (``OK``, ``FORK/REWRITE``, ``BAD CHECKPOINT``, ``BAD LOG``,
    ``BAD ENTRY`` naming the entry, or ``ERROR`` when nothing could be checked)
    and returns the exit code. ``at`` names the evidence folder (default: now).
    """
    when = at or datetime.now(UTC)
    try:
        verifier = NoteVerifier.from_verifier_key(log_key)
        state_dir.mkdir(parents=True, exist_ok=True)
        old_note, old_entries = _load_state(state_dir, verifier)
        fetcher = _Fetcher(url.rstrip("/"))
        new_note = fetcher.get("checkpoint", MAX_NOTE_CHARS).decode("utf-8", errors="replace")
    except (MonitorError, CredentialError, OSError) as exc:
        print(f"ERROR: cannot check the log: {exc}", file=out)
        return EXIT_UNCHECKED
    try:
        new = open_checkpoint(new_note, verifier=verifier)
    except CredentialError as exc:
        print(f"BAD CHECKPOINT: not signed by the pinned log key: {exc}", file=out)
        return EXIT_PROBLEM
    # A first run starts from the empty tree, which every log extends.
    if old_note is None:
        old = Checkpoint(new.origin, 0, EMPTY_ROOT)
    else:
        old = open_checkpoint(old_note, verifier=verifier)
    try:
        new_entries = _check_growth(fetcher, old, new, old_entries)
    except _ForkError as exc:
        folder = _keep_evidence(
            state_dir,
            when,
            "fork",
            {
                "old.checkpoint": old_note or "",
                "new.checkpoint": new_note,
                "reason.txt": f"{exc}\n",
            },
        )
        print(f"FORK/REWRITE: {exc}; both signed checkpoints kept in {folder}", file=out)
        return EXIT_PROBLEM
    except _BadEntryError as exc:
        print(f"BAD ENTRY: {exc}", file=out)
        return EXIT_PROBLEM
    except _ProblemError as exc:
        print(f"BAD LOG: {exc}", file=out)
        return EXIT_PROBLEM
    except MonitorError as exc:
        print(f"ERROR: cannot check the log: {exc}", file=out)
        return EXIT_UNCHECKED
    entries = [*old_entries, *new_entries]
    result = replay(entries)
    if result.violation is not None:
        print(f"BAD ENTRY: {result.violation}", file=out)
        return EXIT_PROBLEM
    if new_entries or old_note is None:
        _append_entries(state_dir / _ENTRIES_FILE, new_entries)
        _write_atomically(state_dir / _CHECKPOINT_FILE, new_note.encode("utf-8"))
    print(
        f"OK: {new.origin} size {new.size} (was {old.size}, {len(new_entries)} new entries "
        f"verified; {result.size} replayed)",
        file=out,
    )
    return EXIT_OK

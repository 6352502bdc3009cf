"""The monitor against a hostile or broken log: a stdlib HTTP server serving what each test
decides, built from the kit alone (real signatures, real hashes; no registry).

The end-to-end runs against the real registry are in tests/e2e/test_monitor.py.
"""

from __future__ import annotations

import gzip
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from credentials import Checkpoint, KeyPair, NoteSigner, leaf_hash, root_hash, sign_checkpoint
from credentials.monitor import EXIT_OK, EXIT_PROBLEM, EXIT_UNCHECKED, run_monitor
from tests.credentials.ledger_fixtures import entries, world

ORIGIN = "monitor.test/log"
SIGNER = NoteSigner(ORIGIN, KeyPair.from_seed(b"\x11" * 32))
VKEY = SIGNER.verifier_key()
Reply = tuple[int, dict[str, str], bytes]


class FakeLog:
    """Serves a ledger of the given entries as tlog-tiles; tests overwrite any path."""

    def __init__(self, ledger: list[bytes]) -> None:
        self.routes: dict[str, Reply] = {}
        self.publish(ledger)

    def publish(self, ledger: list[bytes]) -> None:
        assert len(ledger) < 256  # one partial tile of each kind is enough here
        leaves = [leaf_hash(e) for e in ledger]
        note = sign_checkpoint(Checkpoint(ORIGIN, len(ledger), root_hash(leaves)), SIGNER)
        self.routes["/ledger/checkpoint"] = (200, {}, note.encode())
        if ledger:
            w = len(ledger)
            self.routes[f"/ledger/tile/0/000.p/{w}"] = (200, {}, b"".join(leaves))
            bundle = b"".join(len(e).to_bytes(2, "big") + e for e in ledger)
            self.routes[f"/ledger/tile/entries/000.p/{w}"] = (200, {}, bundle)


@pytest.fixture
def log() -> Iterator[tuple[FakeLog, str]]:
    fake = FakeLog(entries(world()))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            status, headers, body = fake.routes.get(path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run(url: str, state: Path) -> tuple[int, str]:
    out = io.StringIO()
    return run_monitor(url, VKEY, state, out=out), out.getvalue()


def test_a_clean_log_is_ok_and_kept(log: tuple[FakeLog, str], tmp_path: Path) -> None:
    _, url = log
    size = len(entries(world()))
    code, report = _run(url, tmp_path)
    assert code == EXIT_OK, report
    assert report.startswith(f"OK: {ORIGIN} size {size} (was 0, {size} new entries verified")
    assert (tmp_path / "entries.jsonl").read_bytes() == b"".join(
        e + b"\n" for e in entries(world())
    )


def test_same_size_with_another_root_is_a_fork_with_evidence(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    fake, url = log
    assert _run(url, tmp_path)[0] == EXIT_OK
    kept = (tmp_path / "checkpoint").read_text()
    ledger = entries(world())
    other = sign_checkpoint(Checkpoint(ORIGIN, len(ledger), b"\x01" * 32), SIGNER)
    fake.routes["/ledger/checkpoint"] = (200, {}, other.encode())
    code, report = _run(url, tmp_path)
    assert code == EXIT_PROBLEM
    assert report.startswith(f"FORK/REWRITE: tree {len(ledger)} does not extend")
    (evidence,) = (tmp_path / "evidence").iterdir()
    assert (evidence / "old.checkpoint").read_text() == kept
    assert (evidence / "new.checkpoint").read_text() == other
    assert (tmp_path / "checkpoint").read_text() == kept  # the fork is never adopted


def test_a_shrunk_log_is_a_rewrite(log: tuple[FakeLog, str], tmp_path: Path) -> None:
    fake, url = log
    assert _run(url, tmp_path)[0] == EXIT_OK
    fake.publish(entries(world())[:3])
    code, report = _run(url, tmp_path)
    assert code == EXIT_PROBLEM
    assert "FORK/REWRITE: tree 3 does not extend" in report


def test_tiles_that_do_not_build_the_signed_root_are_refused(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    fake, url = log
    w = len(entries(world()))
    status, headers, tile = fake.routes[f"/ledger/tile/0/000.p/{w}"]
    fake.routes[f"/ledger/tile/0/000.p/{w}"] = (status, headers, tile[:-1] + b"\x00")
    code, report = _run(url, tmp_path)
    assert code == EXIT_PROBLEM
    assert "the level-0 tiles do not build the root" in report
    assert not (tmp_path / "checkpoint").exists()


def test_a_truncated_bundle_names_the_entry(log: tuple[FakeLog, str], tmp_path: Path) -> None:
    fake, url = log
    w = len(entries(world()))
    status, headers, bundle = fake.routes[f"/ledger/tile/entries/000.p/{w}"]
    fake.routes[f"/ledger/tile/entries/000.p/{w}"] = (status, headers, bundle[:-5])
    code, report = _run(url, tmp_path)
    assert code == EXIT_PROBLEM
    assert report.startswith(f"BAD ENTRY: entry {w - 1}: truncated in its bundle")


def test_an_oversized_checkpoint_is_not_read_in_full(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    fake, url = log
    fake.routes["/ledger/checkpoint"] = (200, {}, b"x" * (1 << 20))
    code, report = _run(url, tmp_path)
    assert code == EXIT_UNCHECKED
    assert "more than 65536 bytes" in report


def test_a_gzip_bomb_bundle_is_refused(log: tuple[FakeLog, str], tmp_path: Path) -> None:
    fake, url = log
    w = len(entries(world()))
    bomb = gzip.compress(b"\x00" * (64 << 20))  # 64 MiB of zeros in about 64 KiB
    fake.routes[f"/ledger/tile/entries/000.p/{w}"] = (200, {"Content-Encoding": "gzip"}, bomb)
    code, report = _run(url, tmp_path)
    assert code == EXIT_UNCHECKED
    assert "once decompressed" in report


def test_a_redirect_to_a_local_file_is_not_followed(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    fake, url = log
    fake.routes["/ledger/checkpoint"] = (302, {"Location": "file:///etc/passwd"}, b"")
    code, report = _run(url, tmp_path)
    assert code == EXIT_UNCHECKED, report


def test_lines_left_by_a_crash_before_the_checkpoint_are_cut(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    _, url = log
    assert _run(url, tmp_path)[0] == EXIT_OK
    saved = (tmp_path / "entries.jsonl").read_bytes()
    with (tmp_path / "entries.jsonl").open("ab") as f:
        f.write(b'{"seq":99,"half-writ')  # a run that died mid-append
    code, report = _run(url, tmp_path)
    assert code == EXIT_OK, report
    assert (tmp_path / "entries.jsonl").read_bytes() == saved


def test_state_missing_entries_is_refused_not_trusted(
    log: tuple[FakeLog, str], tmp_path: Path
) -> None:
    _, url = log
    assert _run(url, tmp_path)[0] == EXIT_OK
    lines = (tmp_path / "entries.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "entries.jsonl").write_bytes(b"".join(lines[:-1]))
    code, report = _run(url, tmp_path)
    assert code == EXIT_UNCHECKED
    assert "entries for a tree of" in report

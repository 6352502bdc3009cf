"""The README's shell examples, run as written against a real registry (SQLite and PostgreSQL).

Every ```sh block of README.md runs, in README order, in one temporary directory (a block may
use a file an earlier one downloaded), with ``bash -euo pipefail``, against a live server as
``tests/browser/server.py`` runs it over a fresh database with the demo loaded. The
environment is what the README promises: ``B`` the registry's URL, ``T`` a certifier token
(Lingnan's), ``R`` the regulator's, ``O`` the operator's, all from the demo load document (the
same document as ``instance/demo.json``, also written there for the README to read), plus the
server's own settings so that ``flask --app wsgi`` commands act on the database it serves.
``.venv/bin/`` means the venv of the interpreter running the tests, whose bin also comes first
on PATH.

A block is skipped only when the line before it is a ``<!-- not run: reason -->`` marker; any
other block that exits non-zero fails the test with the block and its output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tests.browser.server as live
from tests.browser.server import ROOT, live_server

README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, not the base interpreter's
CERTIFIER = "lingnan-pcc"
BLOCK_TIMEOUT = 300

_FENCE = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- not run: (?P<reason>[^>]+?) -->\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # 1-based line of the opening fence
    code: str
    skip_reason: str | None


def readme_blocks(text: str) -> list[Block]:
    """Every ```sh block, with the reason of the not-run marker on the line before it."""
    blocks = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        blocks.append(
            Block(
                line=text.count("\n", 0, match.start()) + 1,
                code=match.group(1),
                skip_reason=marker.group("reason").strip() if marker else None,
            )
        )
    return blocks


def test_the_readme_marks_few_blocks_and_each_with_a_reason() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    skipped = [b for b in blocks if b.skip_reason is not None]
    assert len(blocks) - len(skipped) >= 8, "most examples must run"
    # Those that cannot run here: the two commands, servers, PyPI, a key rotation under the
    # demo's feet; each says why.
    assert len(skipped) <= 8, [(b.line, b.skip_reason) for b in skipped]
    assert all(len(b.skip_reason or "") >= 10 for b in skipped)


def test_the_marker_is_read_only_directly_before_a_block() -> None:
    text = "<!-- not run: long-running server -->\n```sh\nfalse\n```\n\n```sh\ntrue\n```\n"
    first, second = readme_blocks(text)
    assert first.skip_reason == "long-running server"
    assert first.code == "false\n"
    assert second.skip_reason is None
    assert second.line == 6


def test_every_readme_example_runs(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's environment holds its fresh secrets (the log key above all): the examples'
    # ``flask`` commands must run with the same ones, so keep what live_server made.
    served: dict[str, str] = {}

    def keep(**kwargs: Any) -> dict[str, str]:
        served.update(make_environment(**kwargs))
        return served

    make_environment = live.server_environment
    monkeypatch.setattr(live, "server_environment", keep)
    backend = "sqlite" if fresh_database_url.startswith("sqlite") else "postgresql"
    blocks = [b for b in readme_blocks(README.read_text(encoding="utf-8")) if not b.skip_reason]
    work = tmp_path / "examples"
    work.mkdir()
    with live_server(backend, fresh_database_url, tmp_path / "server") as server:
        document = server.demo.as_json()
        # Where the first run keeps the demo's tokens; the README reads them from here.
        (work / "instance").mkdir()
        (work / "instance" / "demo.json").write_text(json.dumps(document), encoding="utf-8")
        tokens = document["tokens"]
        env = {
            **served,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "B": server.base_url,
            "T": tokens["certifier"][CERTIFIER],
            "R": tokens["regulator"],
            "O": tokens["operator"],
        }
        for block in blocks:
            code = block.code.replace(".venv/bin/", f"{VENV_BIN}/")
            done = subprocess.run(  # noqa: S603 - bash on the README's own examples
                ["/bin/bash", "-euo", "pipefail", "-c", code],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, (
                f"README.md block at line {block.line} exited {done.returncode} ({backend}):\n"
                f"{block.code}\n--- stdout ---\n{done.stdout[-4000:]}\n"
                f"--- stderr ---\n{done.stderr[-4000:]}"
            )

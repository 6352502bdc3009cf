"""The lock file the test command installs from is current and complete, checked offline.

``requirements.lock`` pins every distribution with its hashes (``pip install --require-hashes``
refuses anything else); this checks that every requirement the project states (runtime, the
``dev`` extra, the build system) is met by the version the lock pins, that each pin carries a
hash, and that the lock was compiled for the extras and build dependencies the test command
needs. A requirement added to ``pyproject.toml`` without recompiling the lock fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", re.MULTILINE)


def _pins() -> dict[str, tuple[Version, int]]:
    """Each pinned distribution: its version and how many hashes it has."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    starts = [(m.start(), m) for m in _PIN.finditer(text)]
    pins = {}
    for i, (start, match) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        hashes = text.count("--hash=sha256:", start, end)
        pins[canonicalize_name(match.group(1))] = (Version(match.group(2)), hashes)
    return pins


def _stated() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    texts = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(t) for t in texts]


def test_every_stated_requirement_is_pinned_within_its_range() -> None:
    pins = _pins()
    problems = []
    for requirement in _stated():
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        if name not in pins:
            problems.append(f"{requirement} is not in requirements.lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement} is not met by the pinned {name}=={pins[name][0]}")
    assert not problems, "recompile the lock (README, 'The lock file'):\n" + "\n".join(problems)


def test_every_pin_has_a_hash_and_the_dev_tools_are_pinned() -> None:
    pins = _pins()
    assert len(pins) > 50
    assert all(hashes >= 1 for _, hashes in pins.values()), [
        name for name, (_, hashes) in pins.items() if hashes == 0
    ]
    for tool in ("ruff", "mypy", "pytest", "setuptools", "babel"):
        assert tool in pins, f"{tool} is not pinned"


def test_the_test_command_installs_from_the_lock() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^python3 -m venv \.venv .*-m pytest$", ci, re.MULTILINE)
    assert command is not None
    assert "--require-hashes -r requirements.lock" in command.group(0)
    assert "--no-deps" in command.group(0)
    assert command.group(0) in readme, "the README's test command is .ci/run's"

"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _vectors_dir() -> Path:
    # The W3C/C2SP vectors live in shared/ beside the clone; they are data, not project code.
    configured = os.environ.get("CARBONLABEL_VECTORS")
    path = Path(configured) if configured else ROOT.parent / "shared" / "vectors"
    if not path.is_dir():
        raise RuntimeError(
            f"test vectors not found at {path}; set CARBONLABEL_VECTORS to ../shared/vectors"
        )
    return path


VECTORS = _vectors_dir()


def load_vector(relative: str) -> Any:
    path = VECTORS / relative
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def vectors() -> Path:
    return VECTORS


def npm_pins_installed(folder: Path) -> bool:
    """Whether ``folder/node_modules`` holds exactly the versions ``folder/package.json`` pins
    (installed by ``npm ci``, which writes ``node_modules/.package-lock.json``)."""
    pins = json.loads((folder / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, version in pins.items():
        manifest = folder / "node_modules" / name / "package.json"
        if not manifest.is_file():
            return False
        if json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
            return False
    return (folder / "node_modules" / ".package-lock.json").is_file()

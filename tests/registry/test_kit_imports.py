"""The registry uses the verifier kit as a third party would: through ``credentials.__all__``.

A ``from credentials.<module> import …`` would tie the registry to the kit's internals, which
the kit may then not change without breaking it; a name missing from ``__all__`` is one the
kit does not promise to keep.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import credentials

REGISTRY = Path(__file__).resolve().parents[2] / "registry"
PUBLIC = frozenset(credentials.__all__)


def kit_import_problems(source: str, where: str = "<source>") -> list[str]:
    """Each import of the kit in ``source`` that goes past its public names."""
    problems: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("credentials."):
                problems.append(f"{line}: from {node.module} import …")
            elif node.module == "credentials":
                problems.extend(
                    f"{line}: {alias.name} is not in credentials.__all__"
                    for alias in node.names
                    if alias.name not in PUBLIC
                )
        elif isinstance(node, ast.Import):
            problems.extend(
                f"{line}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("credentials.")
            )
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "credentials"
            and node.attr not in PUBLIC
        ):
            problems.append(f"{line}: credentials.{node.attr} is not in credentials.__all__")
    return problems


def test_the_registry_imports_only_the_kits_public_names() -> None:
    sources = sorted(REGISTRY.rglob("*.py"))
    assert len(sources) > 40  # the walk found the registry, not an empty folder
    problems = [
        problem
        for path in sources
        for problem in kit_import_problems(path.read_text("utf-8"), str(path.relative_to(REGISTRY)))
    ]
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "from credentials.merkle import node_hash",
        "from credentials.credential import Boundary as B",
        "import credentials.trust",
        "import credentials.trust as trust",
        "from credentials import _internal",
        "from credentials import format_datetime",
        "import credentials\nx = credentials.trust",
        "def f() -> None:\n    from credentials.errors import NoteError",
    ],
)
def test_the_check_catches_each_way_past_the_public_names(source: str) -> None:
    assert kit_import_problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "from credentials import TrustBundle, verify_label",
        "import credentials\nx = credentials.TrustedKey",
        "from registry.credentials import anything",
        "from .credentials import anything",
    ],
)
def test_the_check_accepts_public_names(source: str) -> None:
    assert kit_import_problems(source) == []


def test_every_public_name_exists() -> None:
    assert [name for name in credentials.__all__ if not hasattr(credentials, name)] == []

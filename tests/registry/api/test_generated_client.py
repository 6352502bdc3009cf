"""A Python client generated from the served OpenAPI document works against a live registry.

``openapi-python-client`` generates a package from ``/api/v1/openapi.json`` (once per session,
into a temporary folder); the tests import it and call the registry through it, gunicorn over
the demo data, on SQLite and PostgreSQL. A document that a generator cannot read, an operation
it has to drop, or a schema that does not fit what the registry answers fails here.
"""

from __future__ import annotations

import base64
import importlib
import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from credentials import NoteVerifier, open_checkpoint
from registry.labels.models import LabelStatus
from tests.browser.conftest import server
from tests.browser.server import LiveServer

__all__ = ["server"]  # the live registry fixture (gunicorn over the demo), per backend

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="session")
def client_package(
    server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The client generated from the document this server serves, imported."""
    with urllib.request.urlopen(f"{server.base_url}/api/v1/openapi.json") as response:  # noqa: S310 - loopback
        document = json.load(response)
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    # Media types the generator does not know, told what they are to a client: a report's
    # photo, a batch's artwork ZIP and its CSV upload are bytes; JSON Lines and SVG are text.
    overrides = dict.fromkeys(
        ("image/jpeg", "image/png", "image/webp", "application/zip", "text/csv"),
        "application/octet-stream",
    )
    overrides.update(dict.fromkeys(("application/jsonl", "image/svg+xml"), "text/plain"))
    (folder / "config.json").write_text(
        json.dumps({"content_type_overrides": overrides}), encoding="utf-8"
    )
    name = f"registry_client_{secrets.token_hex(4)}"
    result = subprocess.run(  # noqa: S603 - our venv's generator, our own document
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--output-path",
            str(folder / name),
            "--meta",
            "none",
            "--config",
            str(folder / "config.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about each operation or response it could not model and leaves it
    # out: a usable document has none.
    output = result.stdout + result.stderr
    dropped = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert not dropped, output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


def _op(package: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation}")


def _client(package: ModuleType, server: LiveServer, token: str | None = None) -> Any:
    if token is None:
        return package.Client(base_url=server.base_url)
    return package.AuthenticatedClient(base_url=server.base_url, token=token)


def test_get_a_label_through_the_generated_client(
    server: LiveServer, client_package: ModuleType
) -> None:
    label_id = server.demo.ids_with(LabelStatus.ACTIVE)[0]
    get_label = _op(client_package, "labels", "get_label")
    with _client(client_package, server) as client:
        label = get_label.sync(label_id=label_id, client=client)
        # An unknown label is the documented 404 problem, parsed as such.
        missing = get_label.sync_detailed(label_id="0000000000", client=client)
    assert isinstance(label, client_package.models.Label)
    assert label.id == label_id
    assert label.status.value == "active"
    assert label.grade in "ABCDE"
    assert label.url == f"{server.base_url}/l/{label_id}"
    assert label.credential["id"] == label.url
    assert missing.status_code == 404
    assert isinstance(missing.parsed, client_package.models.Problem)
    assert missing.parsed.type_.endswith("/not-found")


def test_list_labels_with_a_certifier_token(server: LiveServer, client_package: ModuleType) -> None:
    body, token = next(iter(server.demo.certifier_tokens.items()))
    list_labels = _op(client_package, "labels", "list_labels")
    with _client(client_package, server, token) as client:
        first = list_labels.sync(client=client, limit=2)
        after = int(first.next_.split("after=")[1].split("&")[0])
        second = list_labels.sync(client=client, limit=2, after=after)
    with _client(client_package, server) as anonymous:
        refused = list_labels.sync_detailed(client=anonymous)
    listed = [label.id for label in first.labels + second.labels]
    assert len(listed) == len(set(listed)) == 4
    assert all(server.demo.bodies[label_id] == body for label_id in listed)
    # Without a token the generated client gets the documented 401 problem.
    assert refused.status_code == 401
    assert refused.parsed.type_.endswith("/unauthenticated")


def test_read_the_checkpoint_and_an_inclusion_proof(
    server: LiveServer, client_package: ModuleType
) -> None:
    with _client(client_package, server) as client:
        key = _op(client_package, "ledger", "get_log_key").sync(client=client)
        text = _op(client_package, "ledger", "get_checkpoint").sync(client=client)
        checkpoint = open_checkpoint(text, verifier=NoteVerifier.from_verifier_key(key))
        proof = _op(client_package, "ledger", "get_inclusion_proof").sync(
            client=client, index=0, size=checkpoint.size
        )
    assert checkpoint.size > 1
    assert (proof.index, proof.size) == (0, checkpoint.size)
    assert proof.root_hash == base64.b64encode(checkpoint.root_hash).decode()

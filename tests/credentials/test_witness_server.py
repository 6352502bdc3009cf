"""The witness's HTTP server: only POST /add-checkpoint, bounded bodies, keep-alive."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from credentials.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from credentials.keys import KeyPair
from credentials.merkle import EMPTY_ROOT
from credentials.witness import (
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    Witness,
    add_checkpoint_request,
    make_server,
)

LOG = NoteSigner("log.example/carbon", KeyPair.from_seed(b"\x01" * 32))


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[http.client.HTTPConnection]:
    witness = Witness.init(tmp_path / "w", "witness.example/w1")
    witness.trust(LOG.verifier_key())
    server = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        yield conn
    finally:
        conn.close()
        server.shutdown()
        server.server_close()
        thread.join(10)


def _post(
    conn: http.client.HTTPConnection, body: bytes, path: str = "/add-checkpoint"
) -> tuple[int, str, bytes]:
    conn.request("POST", path, body=body)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def test_add_checkpoint_over_http_on_one_kept_alive_connection(
    connection: http.client.HTTPConnection,
) -> None:
    note = sign_checkpoint(Checkpoint(LOG.name, 1, b"\x01" * 32), LOG)
    status, _, body = _post(connection, add_checkpoint_request(0, [], note))
    assert status == 200
    assert body.startswith("— witness.example/w1 ".encode())
    status, content_type, body = _post(connection, add_checkpoint_request(5, [], note))
    assert (status, body) == (400, b"old size is larger than the checkpoint size\n")
    status, content_type, body = _post(
        connection,
        add_checkpoint_request(0, [], sign_checkpoint(Checkpoint(LOG.name, 0, EMPTY_ROOT), LOG)),
    )
    assert (status, content_type, body) == (409, SIZE_CONTENT_TYPE, b"1\n")


def test_other_paths_and_methods_are_refused(connection: http.client.HTTPConnection) -> None:
    assert _post(connection, b"old 0\n\n", "/other")[0] == 404
    connection.request("GET", "/add-checkpoint")
    response = connection.getresponse()
    response.read()
    assert response.status == 405


def test_an_oversized_body_is_refused_unread(connection: http.client.HTTPConnection) -> None:
    status, _, _ = _post(connection, b"x" * (MAX_REQUEST_BYTES + 1))
    assert status == 413


def test_a_body_without_length_is_refused(connection: http.client.HTTPConnection) -> None:
    connection.putrequest("POST", "/add-checkpoint")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    response.read()
    assert response.status == 411

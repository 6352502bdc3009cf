"""The public ledger paths, checked the way an independent log client would check them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from credentials import NoteVerifier, leaf_hash, open_checkpoint, root_hash
from credentials.merkle import verify_consistency, verify_inclusion
from tests.registry.factories import LOG_SIGNER, PROBLEM_BASE, append_entries

SIZE = 40


def b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def served_leaves(client: FlaskClient, start: int, end: int) -> list[bytes]:
    response = client.get(f"/ledger/entries?start={start}&end={end}")
    assert response.status_code == 200, response.get_json()
    lines: list[bytes] = response.data.split(b"\n")
    assert lines.pop() == b"", "JSON Lines end with a newline"
    return lines


def test_log_key_is_the_verifier_key(client: FlaskClient) -> None:
    response = client.get("/ledger/log-key")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == LOG_SIGNER.verifier_key()
    assert "max-age" in response.headers["Cache-Control"]


def test_checkpoint_root_equals_root_recomputed_from_served_entries(client: FlaskClient) -> None:
    append_entries(11)
    response = client.get("/ledger/checkpoint")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-cache"
    verifier = NoteVerifier.from_verifier_key(client.get("/ledger/log-key").get_data(as_text=True))
    checkpoint = open_checkpoint(response.data, verifier=verifier)
    assert checkpoint.origin == "registry.example.test/carbon-label-log"
    assert checkpoint.size == 11
    leaves = served_leaves(client, 0, 11)
    assert checkpoint.root_hash == root_hash([leaf_hash(line) for line in leaves])


def test_checkpoint_is_conditional(client: FlaskClient) -> None:
    append_entries(2)
    first = client.get("/ledger/checkpoint")
    again = client.get("/ledger/checkpoint", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    append_entries(1)
    moved = client.get("/ledger/checkpoint", headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200
    assert moved.headers["ETag"] != first.headers["ETag"]


def test_entries_are_the_exact_leaf_bytes(client: FlaskClient) -> None:
    entries = append_entries(7)
    response = client.get("/ledger/entries?start=2&end=6")
    assert response.mimetype == "application/jsonl"
    assert "immutable" in response.headers["Cache-Control"]
    lines = served_leaves(client, 2, 6)
    assert lines == [e.body for e in entries[2:6]]
    assert [json.loads(line)["seq"] for line in lines] == [2, 3, 4, 5]


def test_every_proof_verifies_with_the_kit(client: FlaskClient) -> None:
    """Every inclusion proof for sizes 1..40 and every consistency pair, over HTTP."""
    append_entries(SIZE)
    leaves = [leaf_hash(line) for line in served_leaves(client, 0, SIZE)]
    roots = {size: root_hash(leaves[:size]) for size in range(1, SIZE + 1)}
    for size in range(1, SIZE + 1):
        for index in range(size):
            body = client.get(f"/ledger/proof/inclusion?index={index}&size={size}").get_json()
            assert (body["index"], body["size"]) == (index, size)
            assert b64(body["root_hash"]) == roots[size]
            assert b64(body["leaf_hash"]) == leaves[index]
            verify_inclusion(
                index=index,
                size=size,
                leaf_hash=leaves[index],
                proof=[b64(h) for h in body["hashes"]],
                root=roots[size],
            )
        for first in range(1, size + 1):
            body = client.get(f"/ledger/proof/consistency?first={first}&second={size}").get_json()
            assert (body["first"], body["second"]) == (first, size)
            assert b64(body["first_root"]) == roots[first]
            assert b64(body["second_root"]) == roots[size]
            verify_consistency(
                first=first,
                second=size,
                first_root=roots[first],
                second_root=roots[size],
                proof=[b64(h) for h in body["hashes"]],
            )


def test_proofs_are_cacheable(client: FlaskClient) -> None:
    append_entries(3)
    for url in (
        "/ledger/proof/inclusion?index=1&size=3",
        "/ledger/proof/consistency?first=1&second=3",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert "immutable" in response.headers["Cache-Control"]


BAD_REQUESTS = [
    ("/ledger/entries", {"start", "end"}),
    ("/ledger/entries?start=0", {"end"}),
    ("/ledger/entries?start=abc&end=2", {"start"}),
    ("/ledger/entries?start=-1&end=2", {"start"}),
    ("/ledger/entries?start=3&end=3", {"end"}),
    ("/ledger/entries?start=5&end=2", {"end"}),
    ("/ledger/entries?start=0&end=1001", {"end"}),
    ("/ledger/entries?start=0&end=9", {"end"}),  # beyond the 5 entries
    ("/ledger/entries?start=0&end=2&format=csv", {"format"}),
    ("/ledger/entries?start=0&end=99999999999999999999", {"end"}),
    ("/ledger/proof/inclusion?index=5&size=5", {"index"}),
    ("/ledger/proof/inclusion?index=0&size=6", {"size"}),
    ("/ledger/proof/inclusion?index=1.5&size=2", {"index"}),
    ("/ledger/proof/inclusion?index=0&size=2&root_hash=AAAA", {"root_hash"}),
    ("/ledger/proof/inclusion?size=2", {"index"}),
    ("/ledger/proof/consistency?first=0&second=3", {"first"}),
    ("/ledger/proof/consistency?first=4&second=3", {"first"}),
    ("/ledger/proof/consistency?first=1&second=6", {"second"}),
    ("/ledger/proof/consistency?first=1", {"second"}),
]


@pytest.mark.parametrize(("url", "fields"), BAD_REQUESTS)
def test_bad_parameters_are_problem_details(
    client: FlaskClient, url: str, fields: set[str]
) -> None:
    append_entries(5)
    response = client.get(url)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["type"] == PROBLEM_BASE + "validation-failed"
    assert body["title"] == "Validation failed"
    assert body["status"] == 422
    assert body["instance"] == url.split("?")[0]
    assert body["detail"]
    assert set(body["errors"]) == fields
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_ledger_path_and_method_are_problems(client: FlaskClient) -> None:
    missing = client.get("/ledger/tiles/0/000")
    assert missing.status_code == 404
    assert missing.get_json(force=True)["type"] == PROBLEM_BASE + "not-found"
    wrong = client.post("/ledger/checkpoint")
    assert wrong.status_code == 405
    assert wrong.mimetype == "application/problem+json"

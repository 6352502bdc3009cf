"""C2SP tlog-tiles served from the stored tree, checked against the entries themselves.

Every level's hashes are rebuilt from the entry bytes with the kit's Merkle functions; the
served tiles and bundles must be exactly those bytes, and a client holding only tiles must
reach the signed checkpoint's root.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from credentials import NoteVerifier, leaf_hash, open_checkpoint, root_hash
from credentials.merkle import fold_perfect, perfect_subtrees
from registry.ledger.services import append_entries, publish_checkpoint
from registry.ledger.tiles import (
    TILE_WIDTH,
    TileId,
    entry_bundle,
    parse_tile_index,
    tile_hashes,
    tile_path,
)
from tests.registry.factories import LOG_SIGNER
from tests.registry.test_errors import assert_problem

Db = scoped_session[Session]
IMMUTABLE = "public, max-age=31536000, immutable"
BATCH = 10_000


def _append(count: int, *, note: str = "fictitious test data") -> list[bytes]:
    """``count`` cheap entries through the ledger service, in a few large appends."""
    bodies: list[bytes] = []
    for start in range(0, count, BATCH):
        events = [
            ("test.appended", {"ordinal": n, "note": note})
            for n in range(start, min(count, start + BATCH))
        ]
        bodies += [bytes(entry.body) for entry in append_entries(events)]
    publish_checkpoint()  # the empty tree's checkpoint; a no-op once an append signed one
    return bodies


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every tile level's hashes: level l + 1 holds the MTH of each full tile of level l."""
    levels = [leaves]
    while len(levels[-1]) >= TILE_WIDTH:
        below = levels[-1]
        levels.append(
            [root_hash(below[i : i + TILE_WIDTH]) for i in range(0, len(below) // 256 * 256, 256)]
        )
    return levels


def _get(client: FlaskClient, path: str, **headers: str) -> Any:
    return client.get(f"/ledger/{path}", headers=headers)


def _tile(client: FlaskClient, tile: TileId) -> bytes:
    response = _get(client, tile_path(tile))
    assert response.status_code == 200, (tile, response.get_data())
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Cache-Control"] == IMMUTABLE
    return bytes(response.get_data())


def _bundle(bodies: list[bytes]) -> bytes:
    return b"".join(len(b).to_bytes(2, "big") + b for b in bodies)


def _root_from_tiles(client: FlaskClient, size: int) -> bytes:
    """What a tiles-only client does: each perfect subtree of the tree from the fewest tiles."""
    pieces = []
    for height, index in perfect_subtrees(0, size):
        level, rest = divmod(height, 8)
        first = index << rest  # the subtree's first hash among the tile level's hashes
        tile_index, offset = divmod(first, TILE_WIDTH)
        width = min(TILE_WIDTH, (size >> (8 * level)) - tile_index * TILE_WIDTH)
        data = _tile(client, TileId(level, tile_index, width))
        hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
        pieces.append(root_hash(hashes[offset : offset + (1 << rest)]))
    return fold_perfect(pieces)


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 70_000])
def test_tiles_and_bundles_are_the_entries(client: FlaskClient, size: int) -> None:
    bodies = _append(size)
    levels = _levels([leaf_hash(body) for body in bodies])
    for level, hashes in enumerate(levels):
        full, width = divmod(len(hashes), TILE_WIDTH)
        for n in range(full):
            expected = b"".join(hashes[n * 256 : (n + 1) * 256])
            assert _tile(client, TileId(level, n)) == expected
        if width:
            assert _tile(client, TileId(level, full, width)) == b"".join(hashes[full * 256 :])
            assert _get(client, tile_path(TileId(level, full))).status_code == 404
            wider = TileId(level, full, width + 1) if width < 255 else TileId(level, full)
            assert _get(client, tile_path(wider)).status_code == 404
        else:
            assert _get(client, tile_path(TileId(level, full, 1))).status_code == 404
    # No tile at the first level the tree does not reach, nor an entry bundle past the end.
    assert _get(client, tile_path(TileId(len(levels), 0, 1))).status_code == 404
    full, width = divmod(size, TILE_WIDTH)
    for n in range(full):
        got = _tile(client, TileId(None, n))
        assert got == _bundle(bodies[n * 256 : (n + 1) * 256])
    if width:
        assert _tile(client, TileId(None, full, width)) == _bundle(bodies[full * 256 :])
    assert _get(client, tile_path(TileId(None, full + 1, 1))).status_code == 404

    note = _get(client, "checkpoint").get_data()
    checkpoint = open_checkpoint(
        note, verifier=NoteVerifier.from_verifier_key(LOG_SIGNER.verifier_key())
    )
    assert checkpoint.size == size
    assert _root_from_tiles(client, size) == checkpoint.root_hash
    if size == 70_000:  # the spec's own example, built once here: the slowest case
        _check_the_spec_example(client)


def _check_the_spec_example(client: FlaskClient) -> None:
    """ "A tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    partial level 2 tile of width 1"."""
    assert _get(client, tile_path(TileId(0, 272))).status_code == 200
    assert _get(client, tile_path(TileId(0, 273))).status_code == 404
    assert _get(client, tile_path(TileId(0, 273, 112))).status_code == 200
    assert _get(client, tile_path(TileId(1, 0))).status_code == 200
    assert _get(client, tile_path(TileId(1, 1, 17))).status_code == 200
    assert _get(client, tile_path(TileId(1, 1, 18))).status_code == 404
    assert _get(client, tile_path(TileId(2, 0, 1))).status_code == 200
    assert _get(client, tile_path(TileId(2, 0, 2))).status_code == 404
    assert _get(client, "tile/1/000.p/1").status_code == 200  # a narrower prefix: still served
    assert _get(client, "tile/3/000.p/1").status_code == 404


def test_a_partial_tile_stays_the_same_bytes_as_the_tree_grows(client: FlaskClient) -> None:
    _append(3)
    before = _tile(client, TileId(0, 0, 3))
    _append(300)
    assert _tile(client, TileId(0, 0, 3)) == before
    assert _tile(client, TileId(0, 0))[: 3 * 32] == before


def test_bundles_are_gzipped_for_clients_that_accept_gzip(client: FlaskClient) -> None:
    bodies = _append(5)
    response = _get(client, "tile/entries/000.p/5", **{"Accept-Encoding": "gzip, identity"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.get_data()) == _bundle(bodies)
    plain = _get(client, "tile/entries/000.p/5", **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == _bundle(bodies)


def test_an_entry_too_long_for_a_bundle_is_refused_not_truncated(client: FlaskClient) -> None:
    _append(1, note="x" * 70_000)
    body = assert_problem(_get(client, "tile/entries/000.p/1"), 409, "conflict")
    assert "entry 0" in body["detail"].lower()
    assert _get(client, "tile/0/000.p/1").status_code == 200  # its leaf hash is still served


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/0",  # not three digits
        "tile/0/0000",
        "tile/0/x000/001",  # a leading zero group: not the one canonical name
        "tile/0/001/002",  # inner group without x
        "tile/0/x001",  # last group with x
        "tile/00/000.p/1",  # level with a leading zero
        "tile/64/000.p/1",  # level beyond 63
        "tile/-1/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/0/\u0661\u0662\u0663",  # digits, but not ASCII
        "tile/entries/000.p/1x",
        "tile/0/" + "x999/" * 8 + "999",  # beyond a 64-bit index
        "tile/7/x999/x999/x999/x999/x999/999",
    ],
)
def test_malformed_or_impossible_tile_paths_are_404(client: FlaskClient, path: str) -> None:
    _append(2)
    assert_problem(_get(client, path), 404, "not-found")


def test_tile_index_round_trips() -> None:
    assert tile_path(TileId(0, 1234067)) == "tile/0/x001/x234/067"
    assert tile_path(TileId(None, 5, 7)) == "tile/entries/005.p/7"
    for index in (0, 1, 999, 1000, 1_234_067, 2**56):
        assert parse_tile_index(tile_path(TileId(0, index)).removeprefix("tile/0/")) == index


def test_a_tile_or_bundle_read_is_one_query(db_session: Db) -> None:
    _append(600)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        tile_hashes(TileId(0, 1))
        tile_hashes(TileId(1, 0, 2))
        entry_bundle(TileId(None, 2, 88))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3

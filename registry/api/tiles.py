"""The ledger as C2SP tlog-tiles: static-looking, immutable resources a CDN can serve.

https://c2sp.org/tlog-tiles: ``/ledger/tile/<L>/<N>[.p/<W>]`` (Merkle tree tiles) and
``/ledger/tile/entries/<N>[.p/<W>]`` (entry bundles); the log's checkpoint stays at
``/ledger/checkpoint`` (registry/api/ledger.py), so ``/ledger`` is the tlog-tiles prefix.
Every tile that exists never changes, partial ones included (a wider tile is another URL), so
all are cached for a year as immutable; a 404 may become a tile later and is not cached.
"""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, request

from registry.api.ledger import IMMUTABLE
from registry.ledger.tiles import (
    TILE_WIDTH,
    TileId,
    entry_bundle,
    parse_tile_index,
    parse_tile_level,
    parse_tile_width,
    tile_hashes,
)

__all__ = ["bp"]

bp = Blueprint("tiles", __name__, url_prefix="/ledger/tile")

OCTET_STREAM = "application/octet-stream"


def _split(rest: str) -> tuple[int, int]:
    """``<N>[.p/<W>]`` into the tile index and width."""
    index_part, partial, width_part = rest.partition(".p/")
    width = parse_tile_width(width_part) if partial else TILE_WIDTH
    return parse_tile_index(index_part), width


def _immutable(body: bytes) -> Response:
    response = Response(body, mimetype=OCTET_STREAM)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.get("/entries/<path:rest>")
def get_entry_bundle(rest: str) -> Response:
    """An entry bundle.
    ---
    get:
      summary: C2SP tlog-tiles entry bundle (uint16-length-prefixed entries)
      description: >
        Entries 256·N .. 256·N+W-1 (W is 256, or the .p/W suffix), each the exact bytes of its
        leaf after its length as a big-endian uint16. N is in 3-digit groups (x001/x234/067).
        Gzip-encoded when the client accepts gzip. 404 for a bundle beyond the tree; 409 if an
        entry is longer than 65,535 bytes (read it from /ledger/entries).
      tags: [ledger]
      parameters:
        - {in: path, name: rest, required: true, schema: {type: string}, example: 'x001/067.p/5'}
      responses:
        200:
          description: The tile
          content:
            application/octet-stream:
              schema: {type: string, format: binary, description: 'A C2SP tlog-tiles tile'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
    """
    index, width = _split(rest)
    body = entry_bundle(TileId(None, index, width))
    if request.accept_encodings["gzip"]:
        # mtime=0: the same bundle is the same bytes every time, so caches and ETags agree.
        response = _immutable(gzip.compress(body, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = _immutable(body)
    response.vary.add("Accept-Encoding")
    return response


@bp.get("/<level>/<path:rest>")
def get_tile(level: str, rest: str) -> Response:
    """A Merkle tree tile.
    ---
    get:
      summary: C2SP tlog-tiles Merkle tree tile (concatenated 32-byte hashes)
      description: >
        Level L holds the hashes of the subtrees of 256^L leaves (level 0 the leaf hashes):
        tile N is those numbered 256·N .. 256·N+W-1 (W is 256, or the .p/W suffix). N is in
        3-digit groups (x001/x234/067). 404 for a tile beyond the tree.
      tags: [ledger]
      parameters:
        - {in: path, name: level, required: true, schema: {type: integer, minimum: 0, maximum: 63}}
        - {in: path, name: rest, required: true, schema: {type: string}, example: 'x001/067.p/5'}
      responses:
        200:
          description: The tile
          content:
            application/octet-stream:
              schema: {type: string, format: binary, description: 'A C2SP tlog-tiles tile'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    index, width = _split(rest)
    return _immutable(tile_hashes(TileId(parse_tile_level(level), index, width)))

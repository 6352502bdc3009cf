"""The ledger as C2SP tlog-tiles (https://c2sp.org/tlog-tiles), computed from the stored tree.

A tile at level ``L`` holds the hashes of the perfect subtrees of height ``8·L``, which
``ledger_nodes`` already stores (every perfect subtree, level 0 being the leaves): tile ``N`` of
width ``W`` is the ``W`` nodes at tree level ``8·L`` from index ``256·N``, one primary-key range
scan. An entry bundle is the ``W`` entry bodies from ``seq = 256·N``, one range scan too.

Stored nodes and entries never change once committed, so every tile served, full or partial,
is immutable; a tile whose nodes are not all committed yet does not exist (404) rather than
being served short.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from credentials import TILE_HEIGHT, TILE_WIDTH
from credentials import tile_path as kit_tile_path
from registry.db import db
from registry.errors import ConflictError, NotFoundError
from registry.ledger.models import LedgerEntry, LedgerNode

__all__ = [
    "MAX_BUNDLE_ENTRY_BYTES",
    "TILE_WIDTH",
    "TileId",
    "entry_bundle",
    "parse_tile_index",
    "parse_tile_level",
    "parse_tile_width",
    "tile_hashes",
    "tile_path",
]

MAX_LEVEL = 63  # the spec's bound for <L>
# ledger_nodes levels are 0..63 (a CHECK constraint), so tile levels above 7 are always empty.
_MAX_STORED_LEVEL = 63
MAX_BUNDLE_ENTRY_BYTES = 0xFFFF  # a bundle prefixes each entry with a big-endian uint16 length
# Node indexes are signed 64-bit in the database: a tile starting beyond that cannot exist.
_MAX_POSITION = 2**63 - 1
_MAX_GROUPS = 7  # 3-digit groups in the largest index below 2**63


@dataclass(frozen=True, slots=True)
class TileId:
    """Tile ``index`` at ``level`` (``level`` None for an entry bundle), ``width`` hashes wide."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def start(self) -> int:
        """The first node index (at tree level 8·level) or entry seq the tile holds."""
        return self.index * TILE_WIDTH


def parse_tile_index(path: str) -> int:
    """``<N>`` in its one canonical form: 3-digit groups, all but the last ``x``-prefixed.

    Only the form :func:`tile_path` writes is accepted (``x000/001`` is not ``001``), so every
    tile has exactly one URL and a cache never holds two copies.
    """
    groups = path.split("/")
    if len(groups) > _MAX_GROUPS:
        raise _no_tile(path)
    index = 0
    for position, group in enumerate(groups):
        last = position == len(groups) - 1
        digits = group if last else group.removeprefix("x")
        well_formed = len(digits) == 3 and digits.isascii() and digits.isdigit()
        if not well_formed or (not last and not group.startswith("x")):
            raise _no_tile(path)
        index = index * 1000 + int(digits)
    if kit_tile_path(0, index).removeprefix("tile/0/") != path:
        raise _no_tile(path)
    return index


def parse_tile_level(text: str) -> int:
    """``<L>``: 0..63 in decimal with no leading zero."""
    if not (text.isascii() and text.isdigit()) or text != str(int(text)) or int(text) > MAX_LEVEL:
        raise _no_tile(f"level {text}")
    return int(text)


def parse_tile_width(text: str) -> int:
    """``<W>`` of a partial tile: 1..255 in decimal with no leading zero."""
    if not (text.isascii() and text.isdigit()) or text != str(int(text)):
        raise _no_tile(f".p/{text}")
    width = int(text)
    if not 1 <= width < TILE_WIDTH:
        raise _no_tile(f".p/{text}")
    return width


def tile_path(tile: TileId) -> str:
    """The tile's path below the log prefix: ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/…``."""
    return kit_tile_path(tile.level, tile.index, tile.width)


def _no_tile(what: str) -> NotFoundError:
    return NotFoundError(f"No such tile: {what}.")


def _absent(tile: TileId) -> NotFoundError:
    return NotFoundError(f"{tile_path(tile)} is beyond the ledger's committed tree.")


def tile_hashes(tile: TileId) -> bytes:
    """The tile's bytes: its ``width`` 32-byte hashes in order, from one range query."""
    if tile.level is None or not 0 <= tile.level <= MAX_LEVEL:
        raise _no_tile(str(tile.level))
    tree_level = TILE_HEIGHT * tile.level
    if tree_level > _MAX_STORED_LEVEL or tile.start + tile.width > _MAX_POSITION:
        raise _absent(tile)
    stmt = (
        select(LedgerNode.hash)
        .where(
            LedgerNode.level == tree_level,
            LedgerNode.index >= tile.start,
            LedgerNode.index < tile.start + tile.width,
        )
        .order_by(LedgerNode.index)
    )
    hashes = [bytes(h) for h in db.session.execute(stmt).scalars()]
    if len(hashes) != tile.width:
        raise _absent(tile)
    return b"".join(hashes)


def entry_bundle(tile: TileId) -> bytes:
    """The bundle's bytes: each entry's exact leaf bytes after its big-endian uint16 length.

    The ledger itself sets no length limit below the request body cap (1 MiB), so an entry
    longer than 65,535 bytes is possible in principle; a bundle holding one cannot be written
    in this format and is refused (409) rather than truncated. ``/ledger/entries`` still
    serves it.
    """
    if tile.start + tile.width > _MAX_POSITION:
        raise _absent(tile)
    stmt = (
        select(LedgerEntry.seq, LedgerEntry.body)
        .where(LedgerEntry.seq >= tile.start, LedgerEntry.seq < tile.start + tile.width)
        .order_by(LedgerEntry.seq)
    )
    rows = db.session.execute(stmt).all()
    if len(rows) != tile.width:
        raise _absent(tile)
    parts: list[bytes] = []
    for seq, body in rows:
        if len(body) > MAX_BUNDLE_ENTRY_BYTES:
            raise ConflictError(
                f"Entry {seq} is {len(body)} bytes, longer than an entry bundle can carry "
                f"({MAX_BUNDLE_ENTRY_BYTES}); read it from /ledger/entries."
            )
        parts += (len(body).to_bytes(2, "big"), bytes(body))
    return b"".join(parts)

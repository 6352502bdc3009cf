"""RFC 9162 Merkle tree hashing, proof construction and proof verification (SHA-256).

Everything is iterative and O(log n) per proof, so sizes up to 2^64 - 1 are fine. Builders work
on leaf-hash ranges: a store that keeps only perfect subtree hashes can answer any proof by
fetching :func:`perfect_subtrees` of each range in :func:`inclusion_proof_ranges` or
:func:`consistency_proof_ranges` and folding them with :func:`fold_perfect`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from credentials.errors import ConsistencyProofError, InclusionProofError, MerkleError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Frontier",
    "consistency_proof",
    "consistency_proof_ranges",
    "fold_perfect",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_from_inclusion_proof",
    "root_hash",
    "tile_path",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: C2SP tlog-tiles: a tile holds 2^8 hashes (or entries), a level of tiles spans 8 tree levels.
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


def tile_path(level: int | None, index: int, width: int = TILE_WIDTH) -> str:
    """A tile's path below the log prefix (C2SP tlog-tiles): ``tile/<L>/<N>[.p/<W>]``, or
    ``tile/entries/<N>[.p/<W>]`` for the entry bundle when ``level`` is None. ``<N>`` is written
    in 3-digit groups, all but the last prefixed with ``x``."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    head = "entries" if level is None else str(level)
    tail = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{head}/{'/'.join(reversed(groups))}{tail}"


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data): the prefix keeps leaves and nodes in separate domains."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right). Lengths are not checked: RFC 6962 test vectors hash strings."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2): where MTH splits."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise MerkleError(f"{what} must be {HASH_SIZE}-byte hashes, got {len(h)} bytes")


def fold_perfect(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its :func:`perfect_subtrees`, in order.

    The pieces have strictly decreasing power-of-two sizes, so MTH's split point is always the
    end of the first piece: MTH = node(p0, node(p1, … node(p_{r-1}, p_r))), a right fold.
    """
    _check_hashes(hashes, "subtree hashes")
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


class Frontier:
    """The right edge of a growing tree: the hashes of its :func:`perfect_subtrees`.

    The one place leaves are merged into a tree as they arrive. Start it empty, or from the
    stored frontier of a tree of ``size`` leaves (the hashes of ``perfect_subtrees(0, size)``,
    largest first) to continue a tree without reading its leaves.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != len(perfect_subtrees(0, size)):
            raise MerkleError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
        _check_hashes(hashes, "frontier hashes")
        self._size = size
        self._stack = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; the ``(level, index, hash)`` of every node it completes, itself first.

        Leaf i completes one perfect subtree per trailing 1 bit of i (a binary counter).
        """
        _check_hashes((leaf,), "leaf hashes")
        h, index, level = leaf, self._size, 0
        completed = [(0, index, h)]
        while index & 1:
            h = node_hash(self._stack.pop(), h)
            index, level = index >> 1, level + 1
            completed.append((level, index, h))
        self._stack.append(h)
        self._size += 1
        return completed

    def push(self, leaf: bytes) -> None:
        """:meth:`append` for callers that discard the completed nodes: no list is built.

        The audit's hash-and-tree loop pushes every leaf of a ledger, so the per-leaf tuple and
        list :meth:`append` returns are most of its cost after the hashing itself.
        """
        if len(leaf) != HASH_SIZE:
            _check_hashes((leaf,), "leaf hashes")
        h, index, stack = leaf, self._size, self._stack
        while index & 1:
            h = node_hash(stack.pop(), h)
            index >>= 1
        stack.append(h)
        self._size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far."""
        return fold_perfect(self._stack)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, in one pass (no recursion)."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.push(h)
    return frontier.root()


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) the way MTH does, into aligned perfect subtrees ``(level, index)``.

    Only ranges MTH itself produces for some tree decompose into *aligned* subtrees: the start
    must be a multiple of the largest power of two ≤ end - start. Every root, proof element and
    subtree of a tree has this form; other ranges raise :class:`MerkleError` instead of folding
    to a hash that is not the MTH of the slice.
    """
    if not 0 <= start <= end:
        raise MerkleError(f"invalid leaf range [{start}, {end})")
    n = end - start
    if n and start % (1 << (n.bit_length() - 1)):
        raise MerkleError(f"leaf range [{start}, {end}) is not a Merkle tree node")
    out: list[tuple[int, int]] = []
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def inclusion_proof_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTH form PATH(index, D[size]) (RFC 9162 §2.1.3.1), bottom-up."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo = mid
    out.reverse()
    return out


def consistency_proof_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTH form PROOF(first, D[second]) (RFC 9162 §2.1.4.1), bottom-up.

    first == second gives the empty proof; first == 0 is refused because nothing can be
    verified against an empty tree (see :func:`verify_consistency`).
    """
    if not 0 < first <= second:
        raise MerkleError(f"no consistency proof from size {first} to size {second}")
    out: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree over ``leaf_hashes``."""
    ranges = inclusion_proof_ranges(index, len(leaf_hashes))
    return [root_hash(leaf_hashes[s:e]) for s, e in ranges]


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The proof that the first ``first`` leaves are a prefix of the tree over ``leaf_hashes``."""
    ranges = consistency_proof_ranges(first, len(leaf_hashes))
    return [root_hash(leaf_hashes[s:e]) for s, e in ranges]


def _inclusion_proof_size(index: int, size: int) -> int:
    """len(inclusion_proof_ranges(index, size)) in O(1): inner path plus right-border nodes."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` (RFC 9162 §2.1.3.2).

    Raises :class:`InclusionProofError` for an index out of range, a wrong proof length or a
    hash that is not 32 bytes; the caller still has to compare the result with a trusted root.
    """
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise InclusionProofError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise InclusionProofError(f"every proof element must be {HASH_SIZE} bytes")
    expected = _inclusion_proof_size(index, size)
    if len(proof) != expected:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of {size} has {expected} elements, not {len(proof)}"
        )
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise InclusionProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`InclusionProofError` unless ``proof`` puts ``leaf_hash`` at ``index``."""
    if len(root) != HASH_SIZE:
        raise InclusionProofError(f"root must be {HASH_SIZE} bytes, got {len(root)}")
    computed = root_from_inclusion_proof(index=index, size=size, leaf_hash=leaf_hash, proof=proof)
    if computed != root:
        raise InclusionProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    *,
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Raise :class:`ConsistencyProofError` unless tree ``first`` is a prefix of tree ``second``.

    RFC 9162 §2.1.4.2, plus the edges transparency-dev/merkle defines: first == second needs an
    empty proof and equal roots; first == 0 is always rejected (an empty tree proves nothing
    and the caller should not be asking). All hashes must be 32 bytes.
    """
    if not 0 < first <= second:
        raise ConsistencyProofError(f"no consistency proof from size {first} to size {second}")
    for name, h in (("first root", first_root), ("second root", second_root)):
        if len(h) != HASH_SIZE:
            raise ConsistencyProofError(f"{name} must be {HASH_SIZE} bytes, got {len(h)}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ConsistencyProofError(f"every proof element must be {HASH_SIZE} bytes")
    if first == second:
        if proof:
            raise ConsistencyProofError("proof between equal sizes must be empty")
        if first_root != second_root:
            raise ConsistencyProofError("roots of equal-size trees differ")
        return
    expected = len(consistency_proof_ranges(first, second))
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"consistency proof {first}→{second} has {expected} elements, not {len(proof)}"
        )
    path = list(proof)
    if first & (first - 1) == 0:  # the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError("consistency proof is too short")
    if fr != first_root:
        raise ConsistencyProofError("consistency proof does not lead to the first root")
    if sr != second_root:
        raise ConsistencyProofError("consistency proof does not lead to the second root")

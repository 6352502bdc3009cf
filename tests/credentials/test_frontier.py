"""The Merkle frontier: the one merge of arriving leaves, for the kit and the registry's ledger."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials.errors import MerkleError
from credentials.merkle import EMPTY_ROOT, Frontier, leaf_hash, perfect_subtrees, root_hash


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


@given(st.integers(min_value=0, max_value=300), st.data())
def test_a_frontier_continued_from_any_prefix_gives_the_root(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    m = data.draw(st.integers(min_value=0, max_value=n))
    stored = {
        (level, index): root_hash(leaves[index << level : (index + 1) << level])
        for level, index in perfect_subtrees(0, m)
    }
    frontier = Frontier(m, [stored[node] for node in perfect_subtrees(0, m)])
    for leaf in leaves[m:]:
        for level, index, h in frontier.append(leaf):
            assert h == root_hash(leaves[index << level : (index + 1) << level])
    assert frontier.size == n
    assert frontier.root() == root_hash(leaves)


def test_an_empty_frontier_has_the_empty_root() -> None:
    assert Frontier().root() == EMPTY_ROOT


def test_a_frontier_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(MerkleError, match="frontier hashes"):
        Frontier(5, [bytes(32)])  # 5 = 4 + 1 needs two subtrees
    with pytest.raises(MerkleError, match="32-byte"):
        Frontier(1, [bytes(31)])


@given(st.integers(min_value=0, max_value=300), st.data())
def test_push_builds_the_same_tree_as_append(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    m = data.draw(st.integers(min_value=0, max_value=n))
    appended, pushed = Frontier(), Frontier()
    for leaf in leaves[:m]:
        appended.append(leaf)
        pushed.push(leaf)
    # Continuing from the pushed frontier's state must also agree: push keeps the same stack.
    continued = Frontier(m, pushed._stack)
    for leaf in leaves[m:]:
        appended.append(leaf)
        pushed.push(leaf)
        continued.push(leaf)
    assert pushed.size == continued.size == appended.size == n
    assert pushed.root() == continued.root() == appended.root() == root_hash(leaves)


def test_push_refuses_a_leaf_that_is_not_a_hash() -> None:
    frontier = Frontier()
    with pytest.raises(MerkleError, match="32-byte"):
        frontier.push(bytes(31))
    assert frontier.size == 0  # nothing half-written
    assert frontier.root() == EMPTY_ROOT

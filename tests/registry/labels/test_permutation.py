"""The keyed permutation status-list indexes are drawn with, and the draw it gives a list."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from registry.db import db
from registry.labels.models import Label, StatusListRecord
from registry.labels.permutation import KEY_BYTES, permute
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import issue

keys = st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES)


@settings(max_examples=200, deadline=None)
@given(key=keys, size=st.integers(min_value=1, max_value=1500))
def test_the_permutation_is_a_bijection_on_the_domain(key: bytes, size: int) -> None:
    images = [permute(key, size, n) for n in range(size)]
    assert sorted(images) == list(range(size))


@settings(max_examples=50, deadline=None)
@given(key=keys, n=st.integers(min_value=0, max_value=(1 << 17) - 1))
def test_the_permutation_stays_inside_a_full_size_list(key: bytes, n: int) -> None:
    assert 0 <= permute(key, 1 << 17, n) < 1 << 17


def test_the_permutation_is_bijective_on_a_full_size_list() -> None:
    size = 1 << 17
    assert len({permute(b"\x01" * KEY_BYTES, size, n) for n in range(size)}) == size


def test_another_key_gives_another_order() -> None:
    size = 1 << 17
    first = [permute(b"\x01" * KEY_BYTES, size, n) for n in range(64)]
    second = [permute(b"\x02" * KEY_BYTES, size, n) for n in range(64)]
    assert first != second
    assert first != sorted(first), "issuance order does not show in the indexes"


@pytest.mark.parametrize("n", [-1, 10])
def test_outside_the_domain_is_refused(n: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        permute(b"\x00" * KEY_BYTES, 10, n)


def test_a_new_list_draws_its_counter_through_its_key(
    client: FlaskClient, world: LabelWorld
) -> None:
    labels = [issue(client, world.certifier) for _ in range(3)]
    ids = [label["id"] for label in labels]
    rows = db.session.execute(select(Label).where(Label.id.in_(ids))).scalars().all()
    assert len(rows) == 3
    for row in rows:
        for list_id, index in (
            (row.revocation_list_id, row.revocation_index),
            (row.suspension_list_id, row.suspension_index),
        ):
            record = db.session.get_one(StatusListRecord, list_id)
            assert record.draw_key is not None
            assert len(record.draw_key) == KEY_BYTES
            drawn = [permute(record.draw_key, record.size, n) for n in range(record.allocated)]
            assert index in drawn

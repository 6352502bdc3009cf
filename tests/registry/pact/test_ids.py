"""The label id <-> footprint id mapping: stable, reversible, and nothing else maps."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from credentials.lexical import CROCKFORD, LABEL_ID_LENGTH
from registry.pact.ids import footprint_id, footprint_path, label_id_of

label_ids = st.text(alphabet=CROCKFORD, min_size=LABEL_ID_LENGTH, max_size=LABEL_ID_LENGTH)


@given(label_ids)
def test_round_trip(label_id: str) -> None:
    pf_id = footprint_id(label_id)
    parsed = uuid.UUID(pf_id)
    assert str(parsed) == pf_id  # canonical lower-case form
    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122
    assert label_id_of(pf_id) == label_id
    assert footprint_id(label_id.lower()) == pf_id  # label ids are case-insensitive
    assert footprint_path(label_id) == f"/3/footprints/{pf_id}"


def test_a_fixed_value_so_links_never_change() -> None:
    assert footprint_id("0000000000") == footprint_id("0000000000")
    assert label_id_of(footprint_id("ZZZZZZZZZZ")) == "ZZZZZZZZZZ"


@given(st.uuids())
def test_foreign_uuids_are_not_ours(value: uuid.UUID) -> None:
    assert label_id_of(str(value)) is None


@given(label_ids, st.integers(min_value=0, max_value=127))
def test_a_flipped_bit_is_not_another_label(label_id: str, bit: int) -> None:
    pf = uuid.UUID(footprint_id(label_id))
    flipped = str(uuid.UUID(int=pf.int ^ (1 << bit)))
    # Either no footprint of ours, or (a bit inside the label's 50) another well-formed id.
    found = label_id_of(flipped)
    assert found is None or (found != label_id and footprint_id(found) == flipped)


def test_non_canonical_spellings_are_refused() -> None:
    pf_id = footprint_id("7K3M9Q2D4F")
    for spelling in (pf_id.upper(), "{" + pf_id + "}", pf_id.replace("-", ""), "urn:uuid:" + pf_id):
        assert label_id_of(spelling) is None
    assert label_id_of("") is None
    assert label_id_of("random-string-as-id") is None

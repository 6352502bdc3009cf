"""The ledger's event types: every payload reads back as the event that wrote it, byte for byte,
and anything else is refused with a typed error."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credentials import (
    EVENT_TYPES,
    AccreditationStatusChanged,
    Actor,
    ActorRole,
    BodyStatusChanged,
    CredentialError,
    KeyRetired,
    LabelReinstated,
    LabelRevoked,
    LabelSuspended,
    LedgerEvent,
    MappingPublished,
    MappingWithdrawn,
    parse_entry,
)
from credentials.errors import LedgerEventError, UnknownLedgerEventError
from credentials.ledger_events import parse_entry_time, parse_event
from tests.credentials.ledger_fixtures import (
    CERTIFIER,
    HK_REGULATOR,
    KEY,
    OPERATOR,
    T0,
    entries,
    gd_hk_mapping,
    issued,
    world,
)


def every_kind() -> list[LedgerEvent]:
    """One event of each kind (the world, an issuance, and every change)."""
    return [
        *world(),
        BodyStatusChanged("lingnan", "suspended", "active", "Finding (fictitious)", OPERATOR),
        AccreditationStatusChanged(1, "lingnan", "withdrawn", "active", "Audit", T0, OPERATOR),
        KeyRetired("lingnan", KEY, T0 + timedelta(days=2), OPERATOR),
        issued("7K3M9QH2XD", supersedes="0000000000"),
        LabelSuspended("7K3M9QH2XD", "lingnan", "active", "Audit", CERTIFIER),
        LabelReinstated("7K3M9QH2XD", "lingnan", "suspended", "Cleared", CERTIFIER),
        LabelRevoked("7K3M9QH2XD", "lingnan", "active", "Withdrawn", CERTIFIER),
        MappingPublished(gd_hk_mapping(), HK_REGULATOR),
        MappingWithdrawn("GD-HK-LIB", 2, "HK", "Arrangement ended (fictitious)", HK_REGULATOR),
    ]


def test_every_kind_has_one_type_and_is_covered_here() -> None:
    assert {event.KIND for event in every_kind()} == set(EVENT_TYPES)
    assert all(kind == EVENT_TYPES[kind].KIND for kind in EVENT_TYPES)


@pytest.mark.parametrize("event", every_kind(), ids=lambda e: e.KIND)
def test_a_payload_reads_back_as_the_event_and_rewrites_to_the_same_bytes(
    event: LedgerEvent,
) -> None:
    payload = event.to_payload()
    assert payload["v"] == 1
    assert "by" in payload, "every change names who made it"
    assert type(event).from_payload(payload) == event
    assert parse_event(event.KIND, json.loads(json.dumps(payload))) == event
    [body] = entries([event])
    record = parse_entry(body)
    assert (record.seq, record.time, record.event) == (0, T0, event)
    assert entries([record.event]) == [body]


def test_the_actor_names_role_and_registry_ids_only() -> None:
    assert CERTIFIER.to_json() == {
        "role": "certifier",
        "token": 2,
        "body": "lingnan",
        "schemes": [],
    }
    assert Actor.from_json(Actor(ActorRole.OPERATOR).to_json()) == Actor(ActorRole.OPERATOR)


def test_an_actor_without_a_person_keeps_the_bytes_entries_had_before_person_existed() -> None:
    # The shape every entry written before portal people existed has: four members, no more.
    assert list(CERTIFIER.to_json()) == ["role", "token", "body", "schemes"]
    assert all(b"person" not in entry for entry in entries(world()))


def test_a_portal_person_is_named_by_registry_id_and_reads_back() -> None:
    signatory = Actor(ActorRole.CERTIFIER, body="lingnan", person=7)
    shape = signatory.to_json()
    assert shape == {
        "role": "certifier",
        "token": None,
        "body": "lingnan",
        "schemes": [],
        "person": 7,
    }
    assert Actor.from_json(shape) == signatory
    assert Actor.from_json(CERTIFIER.to_json()).person is None


@pytest.mark.parametrize(
    ("person", "attack"),
    [
        (None, "a null person would be a second byte form of the same entry"),
        (-1, "registry ids are never negative"),
        ("7", "a string id"),
        (True, "a boolean that Python calls an integer"),
    ],
)
def test_a_malformed_person_is_refused(person: object, attack: str) -> None:
    shape = {**CERTIFIER.to_json(), "person": person}
    with pytest.raises(LedgerEventError, match="person"):
        Actor.from_json(shape)


@pytest.mark.parametrize(
    ("role", "body", "schemes"),
    [
        (ActorRole.CERTIFIER, None, ()),
        (ActorRole.OPERATOR, "lingnan", ()),
        (ActorRole.REGULATOR, None, ()),
        (ActorRole.OPERATOR, None, ("CN-GD",)),
        (ActorRole.REGULATOR, None, ("HK", "CN-GD")),
    ],
)
def test_an_actor_that_cannot_exist_is_refused(
    role: ActorRole, body: str | None, schemes: tuple[str, ...]
) -> None:
    with pytest.raises(LedgerEventError):
        Actor(role, token=1, body=body, schemes=schemes)


def _label_issued() -> dict[str, Any]:
    return issued("7K3M9QH2XD").to_payload()


TAMPERED: list[tuple[str, dict[str, Any]]] = [
    ("unknown member", {**_label_issued(), "note": "x"}),
    ("missing member", {k: v for k, v in _label_issued().items() if k != "grade"}),
    ("missing version", {k: v for k, v in _label_issued().items() if k != "v"}),
    ("future version", {**_label_issued(), "v": 2}),
    ("version as bool", {**_label_issued(), "v": True}),
    ("version as text", {**_label_issued(), "v": "1"}),
    ("footprint as number", {**_label_issued(), "footprint": 61.2}),
    ("footprint not canonical", {**_label_issued(), "footprint": "61.20"}),
    ("footprint exponent", {**_label_issued(), "footprint": "6.12E+1"}),
    ("footprint negative", {**_label_issued(), "footprint": "-1"}),
    ("footprint NaN", {**_label_issued(), "footprint": "NaN"}),
    ("grade outside A-E", {**_label_issued(), "grade": "F"}),
    ("time without milliseconds", {**_label_issued(), "validFrom": "2026-01-02T00:00:00Z"}),
    ("time with an offset", {**_label_issued(), "validFrom": "2026-01-02T08:00:00.000+08:00"}),
    ("impossible date", {**_label_issued(), "validFrom": "2026-02-30T00:00:00.000Z"}),
    ("empty label id", {**_label_issued(), "label": ""}),
    ("label id as number", {**_label_issued(), "label": 7}),
    ("supersedes as list", {**_label_issued(), "supersedes": []}),
    ("status list index as bool", {
        **_label_issued(),
        "statusLists": {
            "revocation": {"list": "r-1", "index": True},
            "suspension": {"list": "s-1", "index": 0},
        },
    }),
    ("status list member missing", {
        **_label_issued(), "statusLists": {"revocation": {"list": "r-1", "index": 0}}
    }),
    ("actor as text", {**_label_issued(), "by": "certifier"}),
    ("actor with a secret", {**_label_issued(), "by": {**CERTIFIER.to_json(), "secret": "x"}}),
    ("actor without body", {**_label_issued(), "by": {**CERTIFIER.to_json(), "body": None}}),
    ("actor role unknown", {**_label_issued(), "by": {**CERTIFIER.to_json(), "role": "root"}}),
    ("token negative", {**_label_issued(), "by": {**CERTIFIER.to_json(), "token": -1}}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "payload"), TAMPERED, ids=[c for c, _ in TAMPERED])
def test_a_payload_this_module_would_not_write_is_refused(case: str, payload: Any) -> None:
    with pytest.raises(LedgerEventError):
        parse_event("label.issued", payload)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("body.status_changed", {**BodyStatusChanged("b", "active", "suspended", "r", OPERATOR)
                                 .to_payload(), "status": "closed"}),
        ("accreditation.granted", {**world()[6].to_payload(), "categories": ["b", "a"]}),
        ("accreditation.granted", {**world()[6].to_payload(), "categories": []}),
        ("accreditation.granted", {**world()[6].to_payload(), "accreditation": "1"}),
        ("key.added", {**world()[7].to_payload(), "managed": 1}),
        ("rule_version.published", {**world()[3].to_payload(), "thresholds": {"A": "1"}}),
        ("rule_version.published",
         {**world()[3].to_payload(), "thresholds": {"A": "9", "B": "1", "C": "2", "D": "3"}}),
        ("scheme.registered", {**world()[0].to_payload(), "names": {"en": 1}}),
        ("scheme.registered", ["not", "an", "object"]),
    ],
)  # fmt: skip
def test_every_member_type_is_checked(kind: str, payload: Any) -> None:
    with pytest.raises(LedgerEventError):
        parse_event(kind, payload)


def test_an_unknown_kind_is_its_own_error() -> None:
    with pytest.raises(UnknownLedgerEventError):
        parse_event("label.teleported", {"v": 1})
    assert issubclass(LedgerEventError, CredentialError)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"seq": 0, "time": "2026-01-01T00:00:00.000Z"}',
        b'{"seq": -1, "time": "2026-01-01T00:00:00.000Z", "event": "scheme.registered"}',
        b'{"seq": 0, "time": "yesterday", "event": "scheme.registered"}',
    ],
)
def test_a_malformed_entry_is_refused(body: bytes) -> None:
    with pytest.raises(LedgerEventError):
        parse_entry(body)


@given(
    footprint=st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False),
    index=st.integers(min_value=0, max_value=2**20),
    reason=st.text(min_size=1, max_size=40),
)
def test_round_trip_holds_for_any_values(footprint: Any, index: int, reason: str) -> None:
    event = issued("7K3M9QH2XD", n=index, footprint=str(footprint))
    assert parse_entry(entries([event])[0]).event == event
    change = LabelSuspended("7K3M9QH2XD", "lingnan", "active", reason, CERTIFIER)
    assert parse_entry(entries([change])[0]).event == change


# The reference shape is ASCII-only: an entry the kit writes has ASCII digits, and a time spelt
# with other digits would be a second spelling of the same instant.
_OLD_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", re.ASCII)


def _strptime_entry_time(value: object) -> datetime | str:
    """The strptime parser parse_entry_time replaced: its result, or its refusal's message."""
    if not isinstance(value, str) or not _OLD_TIME.fullmatch(value):
        return "shape"
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return "range"


def _new_entry_time(value: object) -> datetime | str:
    try:
        return parse_entry_time(value)
    except LedgerEventError as exc:
        return "shape" if "must be a UTC time" in str(exc) else "range"


# Field values around every boundary (0, the month's last day, 23:59:59.999, leap years), and
# digits beyond ASCII, which \d and int() would accept without re.ASCII and which are refused.
_DIGIT = st.sampled_from("0123456789") | st.characters(categories=["Nd"])
_FIELD = {2: st.integers(0, 99).map(lambda v: f"{v:02d}"), 3: st.integers(0, 999).map(str)}
_TIMES = st.one_of(
    st.builds(
        "{:04d}-{}-{}T{}:{}:{}.{:03d}Z".format,
        st.integers(0, 9999),
        _FIELD[2],
        _FIELD[2],
        _FIELD[2],
        _FIELD[2],
        _FIELD[2],
        st.integers(0, 999),
    ),
    st.from_regex(_OLD_TIME, fullmatch=True),
    st.lists(_DIGIT, min_size=17, max_size=17).map(
        lambda d: "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{}{}.{}{}{}Z".format(*d)
    ),
    st.text(max_size=30),
    st.builds(lambda t, s: t[:3] + s + t[3:], st.just("2026-01-31T08:00:00.000Z"), st.text()),
)


@given(_TIMES)
def test_entry_times_are_read_exactly_as_strptime_read_them(value: str) -> None:
    assert _new_entry_time(value) == _strptime_entry_time(value)


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-29T23:59:59.999Z",
        "2025-02-29T00:00:00.000Z",
        "0000-01-01T00:00:00.000Z",
        "2026-01-31T24:00:00.000Z",
        "2026-01-31T08:00:60.000Z",
        "2026-13-01T00:00:00.000Z",
        "2026-01-31T08:00:00.000Z\n",
        "2026-01-31T08:00:00.000z",
        "2026-01-31 08:00:00.000Z",
        None,
        20260131,
    ],
)
def test_entry_time_boundaries_match_strptime(value: object) -> None:
    assert _new_entry_time(value) == _strptime_entry_time(value)


def test_an_entry_time_keeps_its_milliseconds() -> None:
    assert parse_entry_time("2026-01-31T08:00:00.007Z") == datetime(
        2026, 1, 31, 8, 0, 0, 7000, tzinfo=UTC
    )


def test_an_entry_time_with_other_digits_is_refused() -> None:
    with pytest.raises(LedgerEventError, match="must be a UTC time"):
        parse_entry_time("２０２６-01-31T08:00:00.000Z")

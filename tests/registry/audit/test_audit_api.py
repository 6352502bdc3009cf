"""The audit views: what was issued and changed under a regulator's schemes, a body's
accreditations and keys next to what it issued, a label's ledger history; and another
scheme's data refused with a 403 naming the schemes the token oversees."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from registry.auth.models import Role
from registry.auth.services import authenticate, create_token
from registry.clock import FixedClock
from registry.db import transaction
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import (
    app,
    auth,
    change_status,
    issue,
    label_app,
    problem,
    world,
)

__all__ = ["app", "label_app", "world"]  # the label registry's fixtures


def hk_regulator() -> str:
    with transaction():
        return create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])[1]


def get(client: FlaskClient, secret: str, path: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/audit/{path}", query_string=query, headers=auth(secret))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def ledger_entry(client: FlaskClient, seq: int) -> dict[str, Any]:
    lines = client.get(f"/ledger/entries?start={seq}&end={seq + 1}").data.splitlines()
    entry: dict[str, Any] = json.loads(lines[0])
    return entry


def monday(when: datetime) -> str:
    return (when - timedelta(days=when.weekday())).date().isoformat()


def test_issuance_over_time_counts_what_was_issued_per_period(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    # A coming Wednesday noon (after the world's keys became active), so labels a day and a
    # week apart fall in different days and weeks.
    now = clock.now()
    start = (now + timedelta(days=(2 - now.weekday()) % 7 + 7)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    clock.set(start)
    issued = [issue(client, world.certifier), issue(client, world.certifier, label_request("90"))]
    clock.advance(timedelta(days=8))
    issued.append(issue(client, world.other_certifier))
    times = [start, start, start + timedelta(days=8)]
    bodies = ["lingnan", "lingnan", "pearl"]
    for by, period in (
        ("day", lambda t: t.date().isoformat()),
        ("week", monday),
        ("month", lambda t: t.date().replace(day=1).isoformat()),
    ):
        expected = Counter(
            (period(t), "CN-GD", b, "battery", label["grade"])
            for t, b, label in zip(times, bodies, issued, strict=True)
        )
        answer = get(client, world.regulator, "issuance", by=by)
        assert answer["truncated"] is False
        got = Counter(
            {
                (r["period"], r["scheme"], r["body"], r["category"], r["grade"]): r["count"]
                for r in answer["buckets"]
            }
        )
        assert got == expected, by
    # Filters: body, and a window that leaves the first day out.
    only = get(client, world.operator, "issuance", by="day", body="lingnan")
    assert sum(r["count"] for r in only["buckets"]) == 2
    later = (start + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    window = get(client, world.regulator, "issuance", by="day", scheme="CN-GD", **{"from": later})
    assert [(r["body"], r["count"]) for r in window["buckets"]] == [("pearl", 1)]


def test_another_schemes_data_is_refused_naming_the_schemes_overseen(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    hk = hk_regulator()
    for path, query in (
        ("issuance", {"scheme": "CN-GD"}),
        ("issuance", {"body": "lingnan"}),
        ("status-changes", {"scheme": "CN-GD"}),
        ("status-changes", {"body": "lingnan"}),
        ("bodies/lingnan", {}),
        (f"labels/{label['id']}/history", {}),
    ):
        response = client.get(f"/api/v1/audit/{path}", query_string=query, headers=auth(hk))
        detail = problem(response, 403, "forbidden")["detail"]
        assert "HK" in detail, (path, detail)
    # Its own scheme is answered (nothing was issued under HK).
    assert get(client, hk, "issuance")["buckets"] == []
    # Listing labels by another scheme is refused as well, not answered with none.
    listed = client.get("/api/v1/labels?scheme=CN-GD", headers=auth(hk))
    assert "HK" in problem(listed, 403, "forbidden")["detail"]
    assert client.get("/api/v1/labels?scheme=HK", headers=auth(hk)).get_json()["labels"] == []


@pytest.mark.parametrize(
    "path", ["issuance", "status-changes", "bodies/lingnan", "labels/ZZZZZZZZZZ/history"]
)
def test_a_certifier_may_not_audit(client: FlaskClient, world: LabelWorld, path: str) -> None:
    problem(client.get(f"/api/v1/audit/{path}", headers=auth(world.certifier)), 403, "forbidden")
    problem(client.get(f"/api/v1/audit/{path}"), 401, "unauthenticated")


@pytest.mark.parametrize(
    "query",
    [
        {"colour": "red"},
        {"by": "year"},
        {"limit": "0"},
        {"limit": "501"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "yesterday"},
    ],
)
def test_bad_queries_are_refused(
    client: FlaskClient, world: LabelWorld, query: dict[str, str]
) -> None:
    path = "issuance" if "by" in query else "status-changes"
    response = client.get(
        f"/api/v1/audit/{path}", query_string=query, headers=auth(world.regulator)
    )
    problem(response, 422, "validation-failed")


def test_status_changes_name_reason_who_and_seq(client: FlaskClient, world: LabelWorld) -> None:
    first, second = issue(client, world.certifier), issue(client, world.certifier)
    steps = [
        (world.regulator, first, "suspend", "Market surveillance: recall"),
        (world.regulator, first, "reinstate", "Recall closed"),
        (world.certifier, second, "revoke", "Data error"),
    ]
    for secret, label, action, reason in steps:
        assert change_status(client, secret, label["id"], action, reason=reason).status_code == 200
    successor = issue(client, world.certifier, label_request("58.1", supersedes=first["id"]))
    changes = get(client, world.regulator, "status-changes")["changes"]
    regulator = authenticate(world.regulator).token_id
    certifier = authenticate(world.certifier).token_id
    assert [
        (c["change"], c["label"], c["reason"], c["by"]["role"], c["by"]["token"]) for c in changes
    ] == [
        ("suspension", first["id"], "Market surveillance: recall", "regulator", regulator),
        ("reinstatement", first["id"], "Recall closed", "regulator", regulator),
        ("revocation", second["id"], "Data error", "certifier", certifier),
        ("supersession", first["id"], None, "certifier", certifier),
    ]
    assert changes[-1]["superseded_by"] == successor["id"]
    for change in changes:  # each can be proven against the public log by its seq
        entry = ledger_entry(client, change["seq"])
        assert entry["by"] == change["by"]
        assert entry.get("label", entry.get("supersedes")) in (change["label"], successor["id"])
    # Keyset paging: two pages of two, the same changes in the same order.
    page = client.get(
        "/api/v1/audit/status-changes?limit=2", headers=auth(world.regulator)
    ).get_json()
    assert [c["seq"] for c in page["changes"]] == [c["seq"] for c in changes[:2]]
    rest = client.get(page["next"], headers=auth(world.regulator)).get_json()
    assert [c["seq"] for c in rest["changes"]] == [c["seq"] for c in changes[2:]]


def test_a_bodys_accreditations_and_keys_next_to_what_it_issued(
    client: FlaskClient, world: LabelWorld
) -> None:
    for _ in range(3):
        issue(client, world.certifier)
    issue(client, world.other_certifier)
    history = get(client, world.regulator, "bodies/lingnan")
    assert history["body"] == "lingnan"
    assert [
        (a["scheme"], a["categories"], a["labels_issued"]) for a in history["accreditations"]
    ] == [("CN-GD", ["battery"], 3)]
    assert [k["labels_issued"] for k in history["keys"]] == [3]
    assert history["keys"][0]["public_key_multibase"].startswith("z6Mk")


def test_a_labels_history_is_every_entry_naming_it(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    assert change_status(client, world.regulator, label["id"], "suspend").status_code == 200
    assert change_status(client, world.regulator, label["id"], "reinstate").status_code == 200
    issue(client, world.other_certifier)  # another label's entry, not in this history
    successor = issue(client, world.certifier, label_request("58.1", supersedes=label["id"]))
    history = get(client, world.operator, f"labels/{label['id'].lower()}/history")
    assert (history["label"], history["scheme"]) == (label["id"], "CN-GD")
    events = history["entries"]
    assert [e["event"] for e in events] == [
        "label.issued",
        "label.suspended",
        "label.reinstated",
        "label.issued",
    ]
    assert events[-1]["entry"]["label"] == successor["id"]
    assert events[-1]["entry"]["supersedes"] == label["id"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    for event in events:
        assert ledger_entry(client, event["seq"]) == event["entry"]
        assert event["by"] == event["entry"]["by"]

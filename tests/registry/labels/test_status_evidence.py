"""When, why and by whom a label was revoked or suspended, offline: the bundle carries the
change's own ledger entry with its inclusion proof, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from credentials import CheckName, Outcome, TrustBundle, render_message, verify_label
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import change_status, issue, label_bundle


def _revocation(credential: dict[str, Any], bundle: dict[str, Any]) -> Any:
    report = verify_label(credential, trust=TrustBundle.from_json(bundle))
    return report.check(CheckName.REVOCATION), report


def test_a_revocation_says_when_why_and_by_whom_offline(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    reason = "Footprint data withdrawn after audit (fictitious)"
    assert (
        change_status(client, world.certifier, label["id"], "revoke", reason=reason).status_code
        == 200
    )
    bundle = label_bundle(client, label["id"])
    events = bundle["ledger"][label["id"]]["statusEvents"]
    assert len(events) == 1
    assert '"event":"label.revoked"' in events[0]["entry"]
    check, report = _revocation(label["credential"], bundle)
    assert check.outcome is Outcome.REVOKED
    assert check.message == "revocation.revoked_by_certifier"
    assert check.params["reason"] == reason
    assert render_message(check.message, check.params).startswith("revoked since 20")
    assert report.verdict.value == "revoked"


def test_an_operator_suspension_names_the_operator(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    change_status(client, world.operator, label["id"], "suspend", reason="Market surveillance")
    bundle = label_bundle(client, label["id"])
    report = verify_label(label["credential"], trust=TrustBundle.from_json(bundle))
    check = report.check(CheckName.SUSPENSION)
    assert check.message == "suspension.suspended_by_operator"
    assert check.params["reason"] == "Market surveillance"


def test_an_altered_status_entry_says_nothing_beyond_the_bit(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    change_status(client, world.certifier, label["id"], "revoke", reason="Data error")
    bundle = label_bundle(client, label["id"])
    forged = copy.deepcopy(bundle)
    event = forged["ledger"][label["id"]]["statusEvents"][0]
    event["entry"] = event["entry"].replace("Data error", "Bought out by a rival")
    check, _ = _revocation(label["credential"], forged)
    assert check.outcome is Outcome.REVOKED  # the signed status list still says revoked
    assert check.message == "revocation.revoked"  # but the unproven reason is not repeated
    assert "reason" not in check.params


def test_the_label_json_carries_the_status_evidence_too(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    change_status(client, world.certifier, label["id"], "suspend", reason="Re-test pending")
    read = client.get(f"/api/v1/labels/{label['id']}").get_json()
    assert read["ledgerEvidence"]["statusEvents"][0]["index"] > read["ledger_index"]

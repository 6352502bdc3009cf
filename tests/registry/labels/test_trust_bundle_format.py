"""The served trust bundle is exactly what the kit writes: the format has one home.

Read back by the kit and written again, the served JSON is unchanged, member for member; and
the members are the ones offline verifiers have always read.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from credentials import TrustBundle
from registry.auth.services import OPERATOR_CONSOLE
from registry.bodies.services import rotate_body_key
from tests.registry.factories import LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import issue

_OWN = ("registry", "issued", "validUntil")  # the signed form's own members


def _bundle(client: FlaskClient, label_id: str) -> dict[str, Any]:
    """The served payload, less the signed form's own members: the kit's bundle JSON."""
    response = client.get(f"/api/v1/labels/{label_id}/trust-bundle")
    assert response.status_code == 200
    signed: dict[str, Any] = response.get_json()
    assert set(signed) == {"payload", "signature"}
    assert set(signed["payload"]) >= set(_OWN)
    return {k: v for k, v in signed["payload"].items() if k not in _OWN}


def test_the_served_bundle_is_what_the_kit_writes(client: FlaskClient, world: LabelWorld) -> None:
    old = issue(client, world.certifier)
    new = issue(client, world.certifier, label_request("58.4", supersedes=old["id"]))
    rotate_body_key(LABEL_BODY, actor=OPERATOR_CONSOLE)  # a retired key, with its end

    for label in (old, new):
        served = _bundle(client, label["id"])
        assert TrustBundle.from_json(served).to_json() == served

    served = _bundle(client, old["id"])
    assert set(served) == {
        "bodies",
        "rules",
        "statusLists",
        "logKey",
        "ledger",
        "schemes",
        "mappings",
        "checkpoint",
    }
    (body,) = served["bodies"]
    assert set(body) == {"name", "keys", "accreditations"}
    assert {frozenset(k) for k in body["keys"]} == {
        frozenset({"publicKeyMultibase", "activeFrom", "activeUntil"})
    }
    assert [k["activeUntil"] is None for k in body["keys"]][-2:] == [False, True]
    assert {frozenset(a) for a in body["accreditations"]} == {
        frozenset({"scheme", "categories", "validFrom", "validUntil"})
    }
    # The label's own rule first; then any rule version a recognition mapping recomputes under.
    rule = served["rules"][0]
    assert (rule["scheme"], rule["ruleId"]) == ("CN-GD", "PCR-LIB")
    assert set(rule) == {
        "standard",
        "scheme",
        "ruleId",
        "version",
        "category",
        "declaredUnit",
        "thresholds",
        "inForceFrom",
        "inForceUntil",
    }
    assert rule["thresholds"] == {"A": "45", "B": "65", "C": "85", "D": "110"}
    assert len(served["statusLists"]) == 2
    evidence = served["ledger"][old["id"]]
    assert set(evidence) == {"entry", "index", "size", "proof", "checkpoint", "supersededBy"}
    assert evidence["supersededBy"] == new["url"]
    assert "supersededBy" not in _bundle(client, new["id"])["ledger"][new["id"]]

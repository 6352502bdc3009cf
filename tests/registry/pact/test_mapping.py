"""What a label becomes as a ProductFootprint: statuses, past versions, the certified values
and the extension, over HTTP on both backends."""

from __future__ import annotations

from decimal import Decimal

from registry.pact.ids import footprint_id
from registry.pact.mapping import CERTIFIED
from tests.registry.factories import LabelWorld, label_request
from tests.registry.labels.support import change_status, issue
from tests.registry.pact.support import HTTPS, Pact, validate


def test_the_newer_label_names_the_one_it_superseded(pact: Pact) -> None:
    newer = pact.get(f"/3/footprints/{footprint_id(pact.newer['id'])}").get_json()["data"]
    old = pact.get(f"/3/footprints/{footprint_id(pact.old['id'])}").get_json()["data"]
    assert newer["status"] == "Active"
    assert newer["precedingPfIds"] == [footprint_id(pact.old["id"])]
    assert old["status"] == "Deprecated"
    assert "precedingPfIds" not in old


def test_a_chain_of_supersessions_lists_every_past_version(pact: Pact, world: LabelWorld) -> None:
    third = issue(
        pact.http,
        world.certifier,
        label_request("60", name="LFP module 48 V", supersedes=pact.newer["id"]),
    )
    body = pact.get(f"/3/footprints/{footprint_id(third['id'])}").get_json()["data"]
    validate(body, "ProductFootprint")
    assert body["precedingPfIds"] == [footprint_id(pact.newer["id"]), footprint_id(pact.old["id"])]


def test_suspension_hides_the_footprint_until_reinstated(pact: Pact, world: LabelWorld) -> None:
    path = f"/3/footprints/{footprint_id(pact.active['id'])}"
    assert (
        change_status(pact.http, world.certifier, pact.active["id"], "suspend").status_code == 200
    )
    assert pact.get(path).status_code == 404
    assert footprint_id(pact.active["id"]) not in {
        f["id"] for f in pact.get("/3/footprints").get_json()["data"]
    }
    assert (
        change_status(pact.http, world.certifier, pact.active["id"], "reinstate").status_code == 200
    )
    assert pact.get(path).get_json()["data"]["status"] == "Active"


def test_the_certified_values_and_the_extension(pact: Pact) -> None:
    body = pact.get(f"/3/footprints/{footprint_id(pact.active['id'])}").get_json()["data"]
    label = pact.active
    pcf = body["pcf"]
    assert Decimal(pcf["pcfExcludingBiogenicUptake"]) == Decimal(label["footprint"]["value"])
    assert pcf["declaredUnitOfMeasurement"] == "kilowatt hour"
    assert pcf["declaredUnitAmount"] == "1"
    assert pcf["productMassPerDeclaredUnit"] == "0"  # not a mass: PACT's 0
    assert pcf["geographyCountrySubdivision"] == "CN-GD"
    assert pcf["referencePeriodStart"] == "2025-01-01T00:00:00Z"
    assert pcf["referencePeriodEnd"] == "2025-12-31T23:59:59Z"
    assert pcf["crossSectoralStandards"] == ["ISO14067"]
    assert pcf["boundaryProcessesDescription"] == "cradle-to-gate"
    assert pcf["verification"]["providerName"] == label["body"]["name"]
    assert body["productIds"][0] == "urn:gtin:06901234567892"
    assert f"urn:pact:registry.example.test:carbon-label:{label['id']}" in body["productIds"]
    assert body["companyName"] == label["product"]["manufacturer"]
    assert body["validityPeriodStart"].startswith(label["valid_from"][:19])
    assert "not verified data" in body["comment"]
    data = body["extensions"][0]["data"]
    assert data == {
        "labelId": label["id"],
        "labelUrl": f"{HTTPS}/l/{label['id']}",
        "grade": label["grade"],
        "credentialUrl": f"{HTTPS}/l/{label['id']}/credential.json",
        "credentialDigest": data["credentialDigest"],
        "ledgerIndex": label["ledger_index"],
        "registryStatus": "active",
        "certified": CERTIFIED,
    }
    assert data["credentialDigest"]

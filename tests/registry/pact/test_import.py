"""PACT in, on SQLite and PostgreSQL: the specification's own footprints (v3 examples, the v2
messages) import, issue, verify offline with the kit, export over ``GET /3/footprints/{id}``
and compare member by member; the exported footprint validates against PACT's v3 schema;
malformed footprints are refused with the PACT member named; nothing half-written."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from credentials import TrustBundle, verify_label
from credentials._internal.timefmt import parse_datetime
from registry.clock import utcnow
from registry.db import transaction
from registry.pact.ids import footprint_id
from registry.pact.mapping import SOURCE_EXTENSION_SCHEMA_PATH
from tests.registry.factories import LabelWorld
from tests.registry.labels.support import (
    auth,
    entries_since,
    issue,
    label_bundle,
    ledger_size,
    problem,
    snapshot,
)
from tests.registry.pact.support import (
    HTTPS,
    VECTORS,
    make_pact_rules,
    pact_client_token,
    rule_for,
    validate,
)

PACT = VECTORS / "pact"
V3_EXAMPLES = sorted((PACT / "v3").glob("example-*.json"))


def _v2_footprints() -> list[dict[str, Any]]:
    single = json.loads((PACT / "v2" / "get-footprint-response.json").read_text())["data"]
    listed = json.loads((PACT / "v2" / "list-footprints-response.json").read_text())["data"]
    return [single, *listed]


@pytest.fixture
def pact_rules(client: FlaskClient) -> None:
    """The rules, committed once per registry (the accreditation covers CN-GD / battery)."""
    with transaction():
        make_pact_rules()


def _body(footprint: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {
        "footprint": footprint,
        "rule": {"scheme": "CN-GD", "rule": rule_for(footprint), "version": "1.0"},
        "system_boundary": "cradle-to-gate",
    }
    if footprint.get("specVersion", "").startswith("2."):
        # The v2 messages' validity ended in 2024: the certifier states the label's own.
        body["valid_until"] = "2028-12-31T00:00:00Z"
    return {**body, **extra}


def _post(client: FlaskClient, secret: str, body: Any, path: str = "", **headers: str) -> Any:
    return client.post(f"/api/v1/labels/from-pact{path}", json=body, headers=auth(secret) | headers)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _compare(source: dict[str, Any], exported: dict[str, Any], label: dict[str, Any]) -> None:
    """Every member the label maps, one by one, source against export."""
    v3 = source["specVersion"].startswith("3.")
    spcf, epcf = source["pcf"], exported["pcf"]
    assert exported["productNameCompany"] == source["productNameCompany"]
    assert exported["companyName"] == source["companyName"]
    assert [i for i in exported["productIds"] if ":carbon-label:" not in i] == source["productIds"]
    unit = spcf["declaredUnitOfMeasurement"] if v3 else spcf["declaredUnit"]
    amount = spcf["declaredUnitAmount"] if v3 else spcf["unitaryProductAmount"]
    value = spcf["pcfExcludingBiogenicUptake"] if v3 else spcf["pCfExcludingBiogenic"]
    assert epcf["declaredUnitOfMeasurement"] == unit
    assert Decimal(epcf["declaredUnitAmount"]) == Decimal(amount)
    assert Decimal(epcf["pcfExcludingBiogenicUptake"]) == Decimal(value)
    assert _instant(epcf["referencePeriodStart"]) == _instant(spcf["referencePeriodStart"])
    # PACT's end is exclusive; the label's last day ends at 23:59:59 of the day before it.
    end = _instant(spcf["referencePeriodEnd"])
    assert _instant(epcf["referencePeriodEnd"]) + timedelta(seconds=1) == end
    standards = spcf.get("crossSectoralStandards") or spcf["crossSectoralStandardsUsed"]
    assert set(epcf["crossSectoralStandards"]) & {
        {"GHG Protocol Product standard": "GHGP-Product", "ISO Standard 14067": "ISO14067"}.get(
            s, s
        )
        for s in standards
    }
    assert epcf["boundaryProcessesDescription"] == "cradle-to-gate"
    if v3 and source.get("validityPeriodEnd"):
        assert _instant(exported["validityPeriodEnd"]) == _instant(source["validityPeriodEnd"])
    # The source: listed as the preceding footprint, and stated in its own extension.
    assert source["id"].lower() in exported["precedingPfIds"]
    extension = next(
        e for e in exported["extensions"] if e["dataSchema"].endswith(SOURCE_EXTENSION_SCHEMA_PATH)
    )
    assert extension["data"]["id"] == source["id"].lower()
    assert extension["data"]["specVersion"] == source["specVersion"]
    assert extension["data"].get("version") == source.get("version")
    assert exported["id"] == footprint_id(label["id"])


def _round_trip(client: FlaskClient, world: LabelWorld, footprint: dict[str, Any]) -> None:
    seq = ledger_size()
    response = _post(client, world.certifier, _body(footprint))
    assert response.status_code == 201, response.get_json()
    label = response.get_json()
    credential = label["credential"]
    source = credential["credentialSubject"]["pactSource"]
    assert credential["@context"][-1] == "https://w3id.org/carbon-label/pact/v1"
    assert source["pfId"] == footprint["id"].lower()
    assert source["pfSpecVersion"] == footprint["specVersion"]
    assert source.get("pfVersion") == (
        None if "version" not in footprint else str(footprint["version"])
    )
    # The kit, offline, from the label's own signed bundle.
    bundle = label_bundle(client, label["id"])
    report = verify_label(credential, trust=TrustBundle.from_json(bundle))
    assert report.verified, report.to_json()
    assert report.label is not None
    assert report.label.pact is not None
    assert report.label.pact.footprint_id == footprint["id"].lower()
    # The ledger records it too.
    (entry,) = [e for e in entries_since(seq) if e["event"] == "label.issued"]
    assert entry["pact"]["id"] == footprint["id"].lower()
    assert entry["pact"]["specVersion"] == footprint["specVersion"]
    assert entry["pact"].get("version") == footprint.get("version")
    # Exported again over PACT, valid against the v3 schema.
    token = pact_client_token(client)[2]
    exported = client.get(
        f"/3/footprints/{footprint_id(label['id'])}",
        headers=auth(token),
        base_url=HTTPS,
    )
    assert exported.status_code == 200, exported.get_json()
    served = exported.get_json()["data"]
    validate(served, "ProductFootprint")
    _compare(footprint, served, label)
    schema = client.get(SOURCE_EXTENSION_SCHEMA_PATH).get_json(force=True)
    (source_extension,) = [
        e for e in served["extensions"] if e["dataSchema"].endswith(SOURCE_EXTENSION_SCHEMA_PATH)
    ]
    jsonschema.validate(source_extension["data"], schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("path", V3_EXAMPLES, ids=lambda p: p.stem)
def test_v3_examples_round_trip(
    client: FlaskClient, world: LabelWorld, pact_rules: None, path: Path
) -> None:
    _round_trip(client, world, json.loads(path.read_text()))


@pytest.mark.parametrize("n", range(len(_v2_footprints())))
def test_v2_messages_round_trip(
    client: FlaskClient, world: LabelWorld, pact_rules: None, n: int
) -> None:
    _round_trip(client, world, _v2_footprints()[n])


def test_a_label_without_pact_keeps_its_export_unchanged(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    assert label["credential"]["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://w3id.org/carbon-label/v1",
    ]
    (entry,) = [e for e in entries_since(label["ledger_index"]) if e["event"] == "label.issued"]
    assert "pact" not in entry
    served = client.get(
        f"/3/footprints/{footprint_id(label['id'])}",
        headers=auth(pact_client_token(client)[2]),
        base_url=HTTPS,
    ).get_json()["data"]
    assert "precedingPfIds" not in served
    assert len(served["extensions"]) == 1


def test_the_source_extension_schema_is_served_and_the_export_fits_it(
    client: FlaskClient,
) -> None:
    schema = client.get(SOURCE_EXTENSION_SCHEMA_PATH).get_json(force=True)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(
        {"id": "12345678-9abc-def0-1234-567812345678", "specVersion": "3.0.0"}, schema
    )


def _example(n: int = 1) -> dict[str, Any]:
    footprint: dict[str, Any] = json.loads((PACT / "v3" / f"example-{n}.json").read_text())
    return footprint


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    footprint = _example()
    node = footprint
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return footprint


def _with(path: tuple[str, ...], value: Any, n: int = 1) -> dict[str, Any]:
    footprint = _example(n)
    node = footprint
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return footprint


def _named(errors: dict[str, Any], path: tuple[str | int, ...]) -> None:
    node: Any = errors
    for part in path:
        assert isinstance(node, dict), (path, errors)
        assert str(part) in {str(k) for k in node}, (path, errors)
        node = next(v for k, v in node.items() if str(k) == str(part))
    assert isinstance(node, list)
    assert node
    assert all(isinstance(m, str) for m in node)


MALFORMED = [
    (_with(("pcf", "declaredUnitOfMeasurement"), "barrel"), ("pcf", "declaredUnitOfMeasurement")),
    # A PACT unit, but not the rule's (PACT-KG-GHGP declares per kg).
    (_with(("pcf", "declaredUnitOfMeasurement"), "liter"), ("pcf", "declaredUnitOfMeasurement")),
    (_without(("pcf", "referencePeriodStart")), ("pcf", "referencePeriodStart")),
    (_without(("pcf", "referencePeriodEnd")), ("pcf", "referencePeriodEnd")),
    (_with(("pcf", "referencePeriodEnd"), "2024-13-31"), ("pcf", "referencePeriodEnd")),
    (_with(("pcf", "pcfExcludingBiogenicUptake"), 0.384), ("pcf", "pcfExcludingBiogenicUptake")),
    (
        _with(("pcf", "pcfExcludingBiogenicUptake"), "3.84e-1"),
        ("pcf", "pcfExcludingBiogenicUptake"),
    ),
    (_with(("pcf", "declaredUnitAmount"), "0"), ("pcf", "declaredUnitAmount")),
    (_with(("pcf", "crossSectoralStandards"), ["ISO14083"]), ("pcf", "crossSectoralStandards")),
    (_with(("specVersion",), "1.0.0"), ("specVersion",)),
    (_with(("id",), "not-a-uuid"), ("id",)),
    (_with(("status",), "Deprecated"), ("status",)),
    (_with(("productIds",), []), ("productIds",)),
    (_with(("productIds",), ["not a urn"]), ("productIds", 0)),
    (_without(("productNameCompany",)), ("productNameCompany",)),
    (_with(("companyName",), ""), ("companyName",)),
    (_with(("pcf", "pCfExcludingBiogenic"), "1"), ("pcf", "pCfExcludingBiogenic")),
    (_with(("version",), 1), ("version",)),
    (_with(("validityPeriodEnd",), "2020-01-01T00:00:00Z"), ("validityPeriodEnd",)),
]


@pytest.mark.parametrize(("footprint", "field"), MALFORMED)
def test_malformed_footprints_are_refused_naming_the_pact_member(
    client: FlaskClient,
    world: LabelWorld,
    pact_rules: None,
    footprint: dict[str, Any],
    field: tuple[str | int, ...],
) -> None:
    before = snapshot()
    body = _body(footprint)
    body["rule"]["rule"] = "PACT-KG-GHGP"
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    _named(answer["errors"], ("footprint", *field))
    assert snapshot() == before


def test_the_specifications_invalid_footprint_is_refused_naming_the_member(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    invalid = json.loads((PACT / "v3" / "invalid-response-all-properties.json").read_text())
    body = _body(invalid["data"][0])
    before = snapshot()
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    # "updated" is a PACT 2.x member: the footprint is not the 3.0 footprint it says it is.
    _named(answer["errors"], ("footprint", "updated"))
    assert "footprint.updated" in answer["detail"]
    assert snapshot() == before


def test_the_boundary_must_be_stated_or_described(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    body = _body(_example())
    del body["system_boundary"]
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    _named(answer["errors"], ("footprint", "pcf", "boundaryProcessesDescription"))
    described = _with(("pcf", "boundaryProcessesDescription"), "Cradle-to-grave, all stages")
    body = _body(described)
    del body["system_boundary"]
    response = _post(client, world.certifier, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["footprint"]["system_boundary"] == "cradle-to-grave"
    body = _body(described)  # states cradle-to-gate: contradicts the description
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    _named(answer["errors"], ("footprint", "pcf", "boundaryProcessesDescription"))


def test_the_registrys_own_checks_name_the_pact_member(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    # A period that has not ended: refused by the registry's plausibility rule, named in PACT.
    future = (utcnow() + timedelta(days=40)).strftime("%Y-%m-%dT00:00:00Z")
    body = _body(_with(("pcf", "referencePeriodEnd"), future))
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    _named(answer["errors"], ("footprint", "pcf", "referencePeriodEnd"))


def test_forged_and_foreign_attempts_are_refused(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    body = _body(_example())
    problem(_post(client, None, body), 401, "unauthenticated")  # type: ignore[arg-type]
    problem(_post(client, world.regulator, body), 403, "forbidden")
    # Another body's label cannot be superseded from a footprint either.
    theirs = issue(client, world.other_certifier)
    problem(_post(client, world.certifier, {**body, "supersedes": theirs["id"]}), 403, "forbidden")
    # A footprint claiming our extension's grade changes nothing: the registry grades.
    forged = copy.deepcopy(body)
    forged["footprint"]["extensions"] = [
        {"specVersion": "2.0.0", "dataSchema": "https://x.example/s.json", "data": {"grade": "E"}}
    ]
    response = _post(client, world.certifier, forged)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["grade"] == "A"
    problem(_post(client, world.certifier, {**body, "grade": "C"}), 422, "grade-mismatch")
    # A label the registry serves, re-posted with the credential's id edited: never trusted,
    # the id is only what the certifier states; the signature covers what was issued.
    label = response.get_json()
    tampered = copy.deepcopy(label["credential"])
    tampered["credentialSubject"]["pactSource"]["pfId"] = "00000000-0000-0000-0000-000000000001"
    bundle = label_bundle(client, label["id"])
    assert not verify_label(tampered, trust=TrustBundle.from_json(bundle)).verified


def test_server_owned_and_unknown_members_of_the_request_are_refused(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    for extra in ({"id": "X"}, {"status": "active"}, {"credential": {}}, {"product": {}}):
        answer = problem(
            _post(client, world.certifier, {**_body(_example()), **extra}), 422, "validation-failed"
        )
        assert set(extra) <= set(answer["errors"])


def test_duplicate_json_keys_are_refused(client: FlaskClient, world: LabelWorld) -> None:
    raw = '{"footprint": {}, "footprint": {}, "rule": {}}'
    response = client.post(
        "/api/v1/labels/from-pact",
        data=raw,
        headers=auth(world.certifier) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_idempotency_replays_and_refuses_another_footprint(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    body = _body(_example())
    first = _post(client, world.certifier, body, **{"Idempotency-Key": "pact-1"})
    assert first.status_code == 201, first.get_json()
    again = _post(client, world.certifier, body, **{"Idempotency-Key": "pact-1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    other = _body(_with(("id",), "12345678-9abc-def0-1234-567812345679"))
    problem(
        _post(client, world.certifier, other, **{"Idempotency-Key": "pact-1"}),
        422,
        "idempotency-key-reused",
    )


def test_a_batch_issues_all_or_none_and_names_index_and_member(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    footprints = [json.loads(p.read_text()) for p in V3_EXAMPLES]
    items = [_body(f) for f in footprints]
    before = snapshot()
    broken = copy.deepcopy(items)
    del broken[2]["footprint"]["pcf"]["referencePeriodStart"]
    broken[3]["footprint"]["pcf"]["declaredUnitOfMeasurement"] = "barrel"
    answer = problem(
        _post(client, world.certifier, {"labels": broken}, "/batch"), 422, "validation-failed"
    )
    _named(answer["errors"], ("labels", 2, "footprint", "pcf", "referencePeriodStart"))
    _named(answer["errors"], ("labels", 3, "footprint", "pcf", "declaredUnitOfMeasurement"))
    assert set(answer["errors"]["labels"]) == {"2", "3"}
    # The registry's own check on one item: the index, and the PACT member, under items.
    future = (utcnow() + timedelta(days=40)).strftime("%Y-%m-%dT00:00:00Z")
    late = copy.deepcopy(items)
    late[1]["footprint"]["pcf"]["referencePeriodEnd"] = future
    answer = problem(
        _post(client, world.certifier, {"labels": late}, "/batch"), 422, "validation-failed"
    )
    (item,) = answer["items"]
    assert item["index"] == 1
    _named(item["errors"], ("footprint", "pcf", "referencePeriodEnd"))
    assert snapshot() == before
    response = _post(
        client, world.certifier, {"labels": items}, "/batch", **{"Idempotency-Key": "pact-batch"}
    )
    assert response.status_code == 201, response.get_json()
    labels = response.get_json()["labels"]
    assert [lb["credential"]["credentialSubject"]["pactSource"]["pfId"] for lb in labels] == [
        f["id"] for f in footprints
    ]
    replay = _post(
        client, world.certifier, {"labels": items}, "/batch", **{"Idempotency-Key": "pact-batch"}
    )
    assert replay.status_code == 200
    assert [lb["id"] for lb in replay.get_json()["labels"]] == [lb["id"] for lb in labels]
    problem(_post(client, world.certifier, items, "/batch"), 422, "validation-failed")


def test_valid_until_defaults_to_the_footprints_validity(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    response = _post(client, world.certifier, _body(_example()))
    assert response.status_code == 201, response.get_json()
    assert parse_datetime(response.get_json()["valid_until"].replace("+00:00", "Z")) == (
        _instant(_example()["validityPeriodEnd"])
    )


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("productNameCompany", "x" * 501),
        ("productNameCompany", "two\nlines"),
        ("companyName", 7),
        ("productIds", [f"urn:x:{n}" for n in range(21)]),
    ],
)
def test_product_members_follow_the_label_requests_own_rules(
    client: FlaskClient, world: LabelWorld, pact_rules: None, member: str, value: Any
) -> None:
    body = _body(_with((member,), value))
    answer = problem(_post(client, world.certifier, body), 422, "validation-failed")
    _named(answer["errors"], ("footprint", member))


def test_a_gtin_with_a_wrong_check_digit_is_kept_as_a_product_id(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    # The specification's own example 1 carries urn:gtin:5695872369587 (check digit wrong).
    response = _post(client, world.certifier, _body(_example()))
    assert response.status_code == 201, response.get_json()
    product = response.get_json()["product"]
    assert product["gtin"] is None
    assert product["identifiers"] == ["urn:gtin:5695872369587"]
    valid = _with(("productIds",), ["urn:x:1", "urn:gtin:4712345060507", "urn:gtin:5268596541023"])
    product = _post(client, world.certifier, _body(valid)).get_json()["product"]
    assert product["gtin"] == "4712345060507"
    assert product["identifiers"] == ["urn:x:1", "urn:gtin:5268596541023"]


def test_a_dry_run_maps_and_checks_and_writes_nothing(
    client: FlaskClient, world: LabelWorld, pact_rules: None
) -> None:
    before = snapshot()
    response = _post(client, world.certifier, _body(_example()), "?dry_run=true")
    assert response.status_code == 200, response.get_json()
    label = response.get_json()
    assert label["dry_run"] is True
    assert label["credential"]["credentialSubject"]["pactSource"]["pfId"] == _example()["id"]
    items = [_body(json.loads(p.read_text())) for p in V3_EXAMPLES]
    batch = _post(client, world.certifier, {"labels": items}, "/batch?dry_run=true")
    assert batch.status_code == 200, batch.get_json()
    assert len(batch.get_json()["labels"]) == len(items)
    future = (utcnow() + timedelta(days=40)).strftime("%Y-%m-%dT00:00:00Z")
    late = _body(_with(("pcf", "referencePeriodEnd"), future))
    answer = problem(
        _post(client, world.certifier, late, "?dry_run=true"), 422, "validation-failed"
    )
    _named(answer["errors"], ("footprint", "pcf", "referencePeriodEnd"))
    assert snapshot() == before

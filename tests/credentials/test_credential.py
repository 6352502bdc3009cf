"""The CarbonLabelCredential: building, strict reading, decimal forms and label ids."""

from __future__ import annotations

import copy
import hashlib
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials._internal.jcs import canonical_json
from credentials.credential import (
    CREDENTIAL_CONTEXT,
    CarbonLabel,
    Footprint,
    Product,
    RuleRef,
    StatusRef,
    build_label_credential,
    credential_digest,
    label_url,
    parse_label_credential,
)
from credentials.cryptosuites import verify_document
from credentials.errors import CredentialError, CredentialFormatError
from credentials.jsonld import CARBON_LABEL_V1, CREDENTIALS_V2
from credentials.lexical import (
    CROCKFORD,
    MAX_STATUS_INDEX,
    check_gtin,
    decimal_text,
    new_label_id,
    normalize_label_id,
)
from tests.credentials.factories import BASE, body_key, sample_label, signed_credential

LABEL = sample_label()
CREDENTIAL = build_label_credential(LABEL)
LABEL_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")


def _mutated(path: tuple[Any, ...], value: Any = ..., *, delete: bool = False) -> dict[str, Any]:
    credential = copy.deepcopy(CREDENTIAL)
    node: Any = credential
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return credential


def _refused(credential: Any) -> None:
    with pytest.raises(CredentialFormatError):
        parse_label_credential(credential)


# --- round trips ---------------------------------------------------------------------------------


def test_build_then_parse_round_trips_the_sample_label() -> None:
    assert parse_label_credential(CREDENTIAL) == LABEL


def test_parse_reads_a_signed_credential() -> None:
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        assert parse_label_credential(signed_credential(cryptosuite=suite)) == LABEL


def test_built_credential_shape() -> None:
    assert CREDENTIAL["@context"] == [CREDENTIALS_V2, CARBON_LABEL_V1]
    assert CREDENTIAL["id"] == f"{BASE}/l/7K3M9QH2XD"
    assert CREDENTIAL["type"] == ["VerifiableCredential", "CarbonLabelCredential"]
    assert CREDENTIAL["validFrom"] == "2026-03-01T00:00:00Z"
    footprint = CREDENTIAL["credentialSubject"]["footprint"]
    assert footprint["value"] == "61.2"
    assert footprint["declaredUnitAmount"] == "1"
    assert [s["id"] for s in CREDENTIAL["credentialStatus"]] == [
        f"{BASE}/status-lists/r1#4711",
        f"{BASE}/status-lists/s1#4711",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"supersedes": f"{BASE}/l/0000000000"},
        {"product": Product(name="Cell", manufacturer="Maker")},
        {"grade": "E"},
        {"valid_from": datetime(2026, 3, 1, 8, 0, tzinfo=UTC)},
    ],
    ids=["supersedes", "minimal-product", "grade-E", "valid-from"],
)
def test_round_trip_variants(changes: dict[str, Any]) -> None:
    label = sample_label(**changes)
    assert parse_label_credential(build_label_credential(label)) == label


NAMES = st.text(min_size=1, max_size=30).filter(lambda s: s.strip())
IRI = st.sampled_from(
    ["urn:epc:id:sgtin:6901234.056789.1", "https://example.org/p/1", "did:example:x", "urn:a:b"]
)


def _with_check_digit(body: str) -> str:
    digits = [int(c) for c in body.zfill(13)]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


@st.composite
def labels(draw: st.DrawFn) -> CarbonLabel:
    key = body_key(draw(st.integers(1, 255)))
    label_id = draw(st.text(alphabet=CROCKFORD, min_size=10, max_size=10))
    start = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)))
    valid_from = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**8)))
    gtin_body = draw(st.none() | st.sampled_from(["0690123456789", "9638507", "01234567890"]))
    return CarbonLabel(
        label_id=label_id,
        url=label_url(draw(st.sampled_from([BASE, BASE + "/", "https://x.example/a"])), label_id),
        issuer_did=key.did,
        issuer_name=draw(NAMES),
        valid_from=valid_from,
        valid_until=valid_from + timedelta(seconds=draw(st.integers(1, 10**9))),
        product=Product(
            name=draw(NAMES),
            manufacturer=draw(NAMES),
            model=draw(st.none() | NAMES),
            gtin=None if gtin_body is None else _with_check_digit(gtin_body),
            identifiers=tuple(draw(st.lists(IRI, max_size=3))),
        ),
        footprint=Footprint(
            value=draw(st.decimals(min_value=0, max_value=10**12, places=draw(st.integers(0, 6)))),
            declared_unit=draw(NAMES),
            system_boundary=draw(st.sampled_from(["cradle-to-gate", "cradle-to-grave"])),
            period_start=start,
            period_end=start + timedelta(days=draw(st.integers(0, 3650))),
            declared_unit_amount=draw(
                st.decimals(min_value=Decimal("0.001"), max_value=10**6, places=3)
            ),
        ),
        grade=draw(st.sampled_from(["A", "B", "C", "D", "E"])),
        rule=RuleRef(rule_id=draw(NAMES), version=draw(NAMES), scheme=draw(NAMES)),
        status=(
            StatusRef(
                "revocation",
                f"{BASE}/status/r{draw(st.integers(0, 9))}",
                draw(st.integers(0, MAX_STATUS_INDEX)),
            ),
            StatusRef(
                "suspension",
                f"{BASE}/status/s{draw(st.integers(0, 9))}",
                draw(st.integers(0, MAX_STATUS_INDEX)),
            ),
        ),
        supersedes=draw(st.none() | IRI),
    )


@settings(max_examples=100, deadline=None)
@given(labels())
def test_build_then_parse_round_trips(label: CarbonLabel) -> None:
    assert parse_label_credential(build_label_credential(label)) == label


# --- parse rejects -------------------------------------------------------------------------------

REQUIRED = [
    ("@context",),
    ("id",),
    ("type",),
    ("issuer",),
    ("issuer", "id"),
    ("issuer", "name"),
    ("validFrom",),
    ("validUntil",),
    ("credentialSubject",),
    ("credentialSubject", "labelId"),
    ("credentialSubject", "grade"),
    ("credentialSubject", "product"),
    ("credentialSubject", "product", "name"),
    ("credentialSubject", "product", "manufacturer"),
    ("credentialSubject", "product", "manufacturer", "name"),
    ("credentialSubject", "footprint"),
    ("credentialSubject", "footprint", "value"),
    ("credentialSubject", "footprint", "unit"),
    ("credentialSubject", "footprint", "declaredUnit"),
    ("credentialSubject", "footprint", "declaredUnitAmount"),
    ("credentialSubject", "footprint", "systemBoundary"),
    ("credentialSubject", "footprint", "referencePeriod"),
    ("credentialSubject", "footprint", "referencePeriod", "startDate"),
    ("credentialSubject", "footprint", "referencePeriod", "endDate"),
    ("credentialSubject", "rule"),
    ("credentialSubject", "rule", "ruleId"),
    ("credentialSubject", "rule", "ruleVersion"),
    ("credentialSubject", "rule", "scheme"),
    ("credentialStatus",),
    ("credentialStatus", 0),
    ("credentialStatus", 1, "id"),
    ("credentialStatus", 1, "type"),
    ("credentialStatus", 1, "statusPurpose"),
    ("credentialStatus", 1, "statusListIndex"),
    ("credentialStatus", 1, "statusListCredential"),
]


@pytest.mark.parametrize("path", REQUIRED, ids=lambda p: ".".join(map(str, p)))
def test_missing_required_field_is_refused(path: tuple[Any, ...]) -> None:
    _refused(_mutated(path, delete=True))


@pytest.mark.parametrize("path", REQUIRED, ids=lambda p: ".".join(map(str, p)))
def test_null_required_field_is_refused(path: tuple[Any, ...]) -> None:
    _refused(_mutated(path, None))


@pytest.mark.parametrize(
    "path",
    [
        ("credentialSubject", "product", "model"),
        ("credentialSubject", "product", "gtin"),
        ("credentialSubject", "product", "identifier"),
    ],
)
def test_optional_fields_may_be_absent(path: tuple[Any, ...]) -> None:
    parse_label_credential(_mutated(path, delete=True))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), "l/7K3M9QH2XD"),
        (("id",), "/l/7K3M9QH2XD"),
        (("id",), "_:l/7K3M9QH2XD"),
        (("id",), "https://registry.example.cn/l/7K3M9QH2XD withspace"),
        (("issuer", "id"), "z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"),
        (("issuer", "id"), "_:issuer"),
        (("credentialStatus", 0, "statusListCredential"), "status-lists/r1"),
        (("credentialSubject", "product", "identifier"), ["sgtin/6901234"]),
        (("credentialSubject", "product", "identifier"), ["_:b0"]),
        (("credentialSubject", "supersedes"), "l/0000000000"),
    ],
    ids=str,
)
def test_relative_iri_ids_are_refused(path: tuple[Any, ...], value: Any) -> None:
    _refused(_mutated(path, value))


@pytest.mark.parametrize(
    "value", [61.2, 61, Decimal("61.2"), True, ["61.2"], {"@value": "61.2"}], ids=repr
)
def test_footprint_must_be_a_decimal_string_not_a_json_number(value: Any) -> None:
    _refused(_mutated(("credentialSubject", "footprint", "value"), value))


@pytest.mark.parametrize(
    "value",
    [
        "6.12E1",
        "6.12e1",
        "1E+2",
        "-61.2",
        "-0",
        "+61.2",
        "61.",
        ".5",
        "061.2",
        "61,2",
        " 61.2",
        "61.2 ",
        "61.2000000000001",  # 13 fractional digits
        "1000000000000000000",  # 19 integer digits
        "NaN",
        "Infinity",
        "0x10",
        "",
        "6١.2",  # ARABIC-INDIC DIGIT ONE: not an xsd:decimal lexical form
        "61.２",  # FULLWIDTH DIGIT TWO
    ],
)
def test_footprint_exponent_negative_and_other_non_canonical_decimals_are_refused(
    value: str,
) -> None:
    _refused(_mutated(("credentialSubject", "footprint", "value"), value))


@pytest.mark.parametrize("value", ["0", "-1", "1E+1", "1٠", 1])
def test_declared_unit_amount_must_be_a_positive_decimal_string(value: Any) -> None:
    _refused(_mutated(("credentialSubject", "footprint", "declaredUnitAmount"), value))


@pytest.mark.parametrize("grade", ["F", "a", "b", "", " A", "AB", None, 1, ["A"]])
def test_unknown_grade_is_refused(grade: Any) -> None:
    _refused(_mutated(("credentialSubject", "grade"), grade))


@pytest.mark.parametrize(
    "context",
    [
        [CARBON_LABEL_V1, CREDENTIALS_V2],
        [CREDENTIALS_V2],
        [CARBON_LABEL_V1],
        [CREDENTIALS_V2, CARBON_LABEL_V1, "https://www.w3.org/ns/credentials/examples/v2"],
        [CREDENTIALS_V2, "https://www.w3.org/ns/credentials/examples/v2", CARBON_LABEL_V1],
        [CREDENTIALS_V2, CARBON_LABEL_V1, {"extra": "https://example.org/extra"}],
        [CREDENTIALS_V2, CARBON_LABEL_V1, CARBON_LABEL_V1],
        CREDENTIALS_V2,
        [CREDENTIALS_V2, "https://w3id.org/carbon-label/v1/"],
        [],
    ],
    ids=str,
)
def test_wrong_context_order_or_extra_context_is_refused(context: Any) -> None:
    _refused(_mutated(("@context",), context))


def test_credential_context_constant() -> None:
    assert list(CREDENTIAL_CONTEXT) == [CREDENTIALS_V2, CARBON_LABEL_V1]


@pytest.mark.parametrize(
    "types",
    [["VerifiableCredential"], ["CarbonLabelCredential"], "VerifiableCredential", []],
)
def test_credential_types_are_required(types: Any) -> None:
    _refused(_mutated(("type",), types))


@pytest.mark.parametrize(
    "gtin",
    [
        "06901234567893",  # bad check digit
        "06901234567890",
        "6901234567893",
        "96385075",
        "123456789",  # 9 digits: no such GTIN length
        "0690123456789A",
        "",
        "069012345678920",
        "０６９０１２３４５６７８９２",  # FULLWIDTH digits
        "٠٦٩٠١٢٣٤٥٦٧٨٩٢",  # ARABIC-INDIC digits
        6901234567892,
    ],
)
def test_bad_gtin_is_refused(gtin: Any) -> None:
    _refused(_mutated(("credentialSubject", "product", "gtin"), gtin))


@pytest.mark.parametrize("gtin", ["06901234567892", "6901234567892", "96385074", "036000291452"])
def test_valid_gtins_pass_the_check_digit(gtin: str) -> None:
    assert check_gtin(gtin) == gtin
    parse_label_credential(_mutated(("credentialSubject", "product", "gtin"), gtin))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), f"{BASE}/l/8K3M9QH2XD"),
        (("id",), f"{BASE}/7K3M9QH2XD"),
        (("id",), f"{BASE}/l/7K3M9QH2XD/extra"),
        (("id",), f"{BASE}/l/7K3M9QH2XDX"),
        (("credentialSubject", "labelId"), "8K3M9QH2XD"),
        (("credentialSubject", "labelId"), "7k3m9qh2xd"),  # not the canonical upper case
        (("credentialSubject", "labelId"), "7K3M9QH2XI"),  # I is not Crockford base32
        (("credentialSubject", "labelId"), "7K3M9QH2X"),
    ],
    ids=str,
)
def test_label_id_not_matching_the_url_is_refused(path: tuple[Any, ...], value: str) -> None:
    _refused(_mutated(path, value))


def test_missing_suspension_entry_is_refused() -> None:
    credential = copy.deepcopy(CREDENTIAL)
    credential["credentialStatus"] = credential["credentialStatus"][:1]
    _refused(credential)
    credential["credentialStatus"] = credential["credentialStatus"][0]  # a lone object
    _refused(credential)


@pytest.mark.parametrize(
    "purposes",
    [("revocation", "revocation"), ("suspension", "suspension"), ("revocation", "message")],
)
def test_status_entries_need_one_revocation_and_one_suspension(
    purposes: tuple[str, str],
) -> None:
    credential = copy.deepcopy(CREDENTIAL)
    for entry, purpose in zip(credential["credentialStatus"], purposes, strict=True):
        entry["statusPurpose"] = purpose
    _refused(credential)


def test_a_third_status_entry_is_refused() -> None:
    credential = copy.deepcopy(CREDENTIAL)
    credential["credentialStatus"].append(copy.deepcopy(credential["credentialStatus"][1]))
    _refused(credential)


@pytest.mark.parametrize(
    "entry_id",
    [
        f"{BASE}/status-lists/r1#4712",
        f"{BASE}/status-lists/s1#4711",  # the other list
        f"{BASE}/status-lists/r1",
        "urn:uuid:0b2d9a8c-0000-4000-8000-000000000000",
        f"{BASE}/status-lists/r1#04711",
    ],
)
def test_status_entry_id_mismatch_is_refused(entry_id: str) -> None:
    _refused(_mutated(("credentialStatus", 0, "id"), entry_id))


@pytest.mark.parametrize(
    "index",
    ["-1", "1.5", "1e3", "", " 1", "1234567890", 4711, "０", "٤٧١١", "４７１１"],
)
def test_status_list_index_must_be_an_ascii_decimal_string(index: Any) -> None:
    _refused(_mutated(("credentialStatus", 0, "statusListIndex"), index))


@pytest.mark.parametrize("index", ["²", "①", "4711²"])
def test_status_list_index_with_non_decimal_digit_is_a_format_error(index: str) -> None:
    # str.isdigit() accepts superscripts and circled digits that int() cannot parse.
    with pytest.raises(CredentialError):
        parse_label_credential(_mutated(("credentialStatus", 0, "statusListIndex"), index))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("validFrom",), "2026-03-01"),
        (("validFrom",), "2026-03-01T00:00:00"),  # no time zone
        (("validFrom",), "2029-03-01T00:00:00Z"),  # after validUntil
        (("validUntil",), "2026-03-01T00:00:00Z"),  # equal to validFrom
        (("validFrom",), 1772323200),
        (("issuer", "id"), "did:web:registry.example.cn"),
        (("issuer",), "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"),
        (("issuer", "name"), "   "),
        (("issuer", "name"), "x" * 501),
        (("credentialSubject", "product", "name"), ""),
        (("credentialSubject", "product", "model"), 5),
        (("credentialSubject", "product", "identifier"), "urn:a:b"),
        (("credentialSubject", "footprint", "unit"), "kgCO2"),
        (("credentialSubject", "footprint", "systemBoundary"), "gate-to-gate"),
        (("credentialSubject", "footprint", "referencePeriod", "endDate"), "2024-12-31"),
        (("credentialSubject", "footprint", "referencePeriod", "startDate"), "20250101"),
        (("credentialSubject", "footprint", "referencePeriod", "startDate"), "2025-1-01"),
        (("credentialSubject", "footprint", "referencePeriod", "startDate"), "2025-02-30"),
        (("credentialSubject", "supersedes"), 7),
        (("credentialStatus", 0, "type"), "StatusList2021Entry"),
    ],
    ids=str,
)
def test_malformed_values_are_refused(path: tuple[Any, ...], value: Any) -> None:
    _refused(_mutated(path, value))


@pytest.mark.parametrize("value", ["2025-W01-1", "2025-W01-7"])
def test_iso_week_dates_are_not_yyyy_mm_dd(value: str) -> None:
    # 10 characters long, and Python 3.11's date.fromisoformat accepts ISO week dates.
    _refused(_mutated(("credentialSubject", "footprint", "referencePeriod", "startDate"), value))


@pytest.mark.parametrize("credential", [None, [], "credential", 1])
def test_parse_needs_an_object(credential: Any) -> None:
    _refused(credential)


def test_build_validates_by_reading_back() -> None:
    with pytest.raises(CredentialFormatError):
        build_label_credential(replace(LABEL, grade="F"))  # type: ignore[arg-type]
    with pytest.raises(CredentialFormatError):
        build_label_credential(replace(LABEL, url=f"{BASE}/l/8K3M9QH2XD"))
    with pytest.raises(CredentialFormatError):
        build_label_credential(replace(LABEL, status=LABEL.status[:1]))
    with pytest.raises(CredentialFormatError):
        build_label_credential(
            replace(LABEL, footprint=replace(LABEL.footprint, value=Decimal("-1")))
        )


# --- decimal_text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("61.20"), "61.2"),
        (Decimal("61.2"), "61.2"),
        (Decimal("1E+2"), "100"),
        (Decimal("100"), "100"),
        (Decimal("1.00"), "1"),
        (Decimal("0.000"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("0E+5"), "0"),
        (Decimal("0.10"), "0.1"),
        (Decimal("1E-12"), "0.000000000001"),
        (Decimal("12345678901234567.5"), "12345678901234567.5"),
        (Decimal("2.50E+3"), "2500"),
    ],
)
def test_decimal_text_canonical_forms(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), 61.2, "61.2", 61]
)
def test_decimal_text_refuses_non_finite_and_non_decimals(value: Any) -> None:
    with pytest.raises(CredentialFormatError):
        decimal_text(value)


# Up to 28 significant digits (16 + 12): the default decimal context's precision.
@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**16 - 1, places=12))
def test_decimal_text_is_exact_and_has_no_exponent(value: Decimal) -> None:
    text = decimal_text(value)
    assert Decimal(text) == value
    assert "E" not in text.upper()
    assert not ("." in text and text.endswith("0"))
    assert decimal_text(Decimal(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678.123456789012",  # 30 digits: the most the credential format allows
        "99999999999999999.999999999999",
        "677.10337340223510325551858641",
    ],
)
def test_decimal_text_keeps_every_digit_the_format_allows(text: str) -> None:
    # Decimal.normalize() rounds to the context precision (28 digits by default).
    assert decimal_text(Decimal(text)) == text


def test_thirty_digit_footprint_round_trips() -> None:
    value = Decimal("123456789012345678.123456789012")
    label = replace(LABEL, footprint=replace(LABEL.footprint, value=value))
    credential = build_label_credential(label)
    assert credential["credentialSubject"]["footprint"]["value"] == str(value)
    assert parse_label_credential(credential) == label


# --- label ids -----------------------------------------------------------------------------------


def test_new_label_id_format_and_randomness() -> None:
    ids = [new_label_id() for _ in range(2000)]
    assert all(LABEL_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(normalize_label_id(i) == i for i in ids)
    counts = Counter("".join(ids))
    assert set(counts) == set(CROCKFORD)  # every symbol of the alphabet shows up
    # 20 000 symbols over 32: expected 625 each; a fair source stays far inside these bounds.
    assert min(counts.values()) > 450
    assert max(counts.values()) < 800
    assert len({i[0] for i in ids}) == 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7k3m9qh2xd", "7K3M9QH2XD"), (" 7K3M9QH2XD\n", "7K3M9QH2XD"), ("0000000000", "0000000000")],
)
def test_normalize_label_id(value: str, expected: str) -> None:
    assert normalize_label_id(value) == expected


@pytest.mark.parametrize(
    "value",
    ["7K3M9QH2X", "7K3M9QH2XDD", "7K3M9QH2XU", "", None],
)
def test_normalize_label_id_refuses_non_crockford(value: Any) -> None:
    with pytest.raises(CredentialFormatError):
        normalize_label_id(value)


def test_label_url() -> None:
    assert label_url(BASE, "7k3m9qh2xd") == f"{BASE}/l/7K3M9QH2XD"
    assert label_url(BASE + "/", "7K3M9QH2XD") == f"{BASE}/l/7K3M9QH2XD"
    with pytest.raises(CredentialFormatError):
        label_url(BASE, "nope")


def test_credential_digest_is_sha256_of_rfc8785() -> None:
    signed = signed_credential()
    digest = credential_digest(signed)
    assert digest == "sha256:" + hashlib.sha256(canonical_json(signed)).hexdigest()
    reordered = dict(reversed(list(signed.items())))
    assert credential_digest(reordered) == digest
    assert credential_digest(signed_credential(cryptosuite="eddsa-jcs-2022")) != digest


# --- assurance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("assurance", ["limited", "reasonable", None])
def test_the_stated_assurance_is_signed_and_read_back(assurance: str | None) -> None:
    signed = signed_credential(assurance=assurance)
    subject = signed["credentialSubject"]
    assert subject.get("assurance") == assurance
    assert ("assurance" in subject) is (assurance is not None)  # unstated: no member, not null
    assert parse_label_credential(signed).assurance == assurance
    assert len(verify_document(signed)) == 1


def test_an_assurance_changed_after_signing_breaks_the_proof() -> None:
    signed = signed_credential(assurance="limited")
    upgraded = copy.deepcopy(signed)
    upgraded["credentialSubject"]["assurance"] = "reasonable"
    with pytest.raises(CredentialError):
        verify_document(upgraded)
    added = copy.deepcopy(signed_credential())
    added["credentialSubject"]["assurance"] = "reasonable"
    with pytest.raises(CredentialError):
        verify_document(added)


# (null is read as not stated, as for every optional member: JSON-LD drops it before signing.)
@pytest.mark.parametrize("value", ["high", "Reasonable", "", 1, True, ["limited"], {"@id": "x"}])
def test_an_assurance_outside_the_two_levels_is_refused(value: Any) -> None:
    credential = build_label_credential(sample_label(assurance="limited"))
    credential["credentialSubject"]["assurance"] = value
    with pytest.raises(CredentialFormatError, match="assurance"):
        parse_label_credential(credential)

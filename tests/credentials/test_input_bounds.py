"""Issue 7, point 11: every encoded value is measured before it is decoded.

base58 decoding is quadratic: a ~900 KB proofValue held a worker for 30 s. Each test sends the
hostile value and asserts refusal by error type (never by timing), naming the value.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from credentials._internal.base58 import b58decode
from credentials._internal.timefmt import parse_datetime
from credentials.checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from credentials.credential import parse_label_credential
from credentials.cryptosuites import verify_document
from credentials.errors import (
    CredentialFormatError,
    KeyFormatError,
    KeyTooLongError,
    MalformedInputError,
    NoteError,
    NoteTooLongError,
    ProofError,
    ProofTooLongError,
    TrustError,
    TrustValueTooLongError,
    ValueTooLongError,
)
from credentials.jsonld import parse_json
from credentials.keys import (
    PublicKey,
    _key_from_did,
    decode_multibase_base58,
    public_key_from_did,
    public_key_from_verification_method,
)
from credentials.trust import TrustBundle
from credentials.verify import CheckName, Outcome, Verdict, verify_label
from tests.credentials.factories import body_key, signed_credential
from tests.credentials.trust_fixtures import LABEL_ID, LOG, NOW, trust_bundle_json

KEY = body_key(1)
MEGABYTE_BASE58 = "z" + "2" * 900_000


@pytest.fixture
def credential() -> dict[str, Any]:
    return signed_credential(KEY)


# --- base58 and multibase ------------------------------------------------------------------


def test_proof_value_megabyte_refused_fast(credential: dict[str, Any]) -> None:
    credential["proof"]["proofValue"] = MEGABYTE_BASE58
    with pytest.raises(ProofTooLongError) as caught:
        verify_document(credential)
    assert caught.value.what == "proofValue"
    assert isinstance(caught.value, ValueTooLongError)
    assert isinstance(caught.value, ProofError)


def test_proof_value_megabyte_in_a_label_fails_the_proof_without_raising(
    credential: dict[str, Any],
) -> None:
    credential["proof"]["proofValue"] = MEGABYTE_BASE58
    report = verify_label(credential, trust=TrustBundle.from_json(trust_bundle_json(credential)))
    proof = report.check(CheckName.PROOF)
    assert proof.outcome is Outcome.PROOF_INVALID
    assert "proofValue" in proof.params["detail"]
    assert report.verdict is Verdict.NOT_GENUINE


def test_proof_value_one_character_too_long_is_refused(credential: dict[str, Any]) -> None:
    credential["proof"]["proofValue"] = "z" + "1" * 90
    with pytest.raises(ProofTooLongError):
        verify_document(credential)


def test_many_proofs_refused_before_any_is_canonicalized(credential: dict[str, Any]) -> None:
    credential["proof"] = [copy.deepcopy(credential["proof"]) for _ in range(500)]
    with pytest.raises(ProofTooLongError) as caught:
        verify_document(credential)
    assert caught.value.what == "proof set"


def test_bad_second_proof_refused_before_the_first_is_canonicalized(
    credential: dict[str, Any],
) -> None:
    bad = {**credential["proof"], "proofValue": MEGABYTE_BASE58}
    credential["proof"] = [credential["proof"], bad]
    with pytest.raises(ProofTooLongError):
        verify_document(credential)


def test_multibase_key_megabyte_refused_fast() -> None:
    with pytest.raises(KeyTooLongError) as caught:
        PublicKey.from_multibase(MEGABYTE_BASE58)
    assert isinstance(caught.value, KeyFormatError)
    with pytest.raises(KeyTooLongError):
        decode_multibase_base58(MEGABYTE_BASE58)


def test_raw_base58_megabyte_refused_fast() -> None:
    with pytest.raises(ValueTooLongError):
        b58decode("2" * 900_000)
    with pytest.raises(ValueTooLongError):
        b58decode("2" * 500, max_chars=10_000)  # no caller can lift the kit's own ceiling


def test_did_key_megabyte_refused_before_the_cache() -> None:
    before = _key_from_did.cache_info().currsize
    with pytest.raises(KeyTooLongError):
        public_key_from_did("did:key:" + MEGABYTE_BASE58)
    with pytest.raises(KeyTooLongError):
        public_key_from_verification_method(f"did:key:{MEGABYTE_BASE58}#{MEGABYTE_BASE58}")
    assert _key_from_did.cache_info().currsize == before


def test_verification_method_megabyte_fails_the_proof(credential: dict[str, Any]) -> None:
    credential["proof"]["verificationMethod"] = f"did:key:{MEGABYTE_BASE58}#{MEGABYTE_BASE58}"
    with pytest.raises(ProofError):
        verify_document(credential)


def test_issuer_did_megabyte_never_raises(credential: dict[str, Any]) -> None:
    credential["issuer"]["id"] = "did:key:" + MEGABYTE_BASE58
    trust = TrustBundle.from_json(trust_bundle_json(signed_credential(KEY)))
    report = verify_label(credential, trust=trust, now=NOW)
    assert report.verdict is Verdict.NOT_GENUINE


# --- notes and checkpoints -----------------------------------------------------------------


def test_checkpoint_note_megabyte_refused_fast() -> None:
    verifier = NoteVerifier.from_verifier_key(LOG.verifier_key())
    with pytest.raises(NoteTooLongError) as caught:
        open_checkpoint("x" * 1_000_000, verifier=verifier)
    assert caught.value.what == "signed note"


def test_checkpoint_signature_line_megabyte_base64_refused() -> None:
    verifier = NoteVerifier.from_verifier_key(LOG.verifier_key())
    note = f"{LOG.name}\n1\n{'A' * 43}=\n\n— {LOG.name} {'A' * 60_000}\n"
    with pytest.raises(NoteTooLongError) as caught:
        open_checkpoint(note, verifier=verifier)
    assert caught.value.what == "signature"


def test_checkpoint_size_with_thousands_of_digits_is_a_note_error() -> None:
    """int() of 5,000 digits raises ValueError (and costs quadratic time): refused by pattern."""
    with pytest.raises(NoteError):
        Checkpoint.parse(f"{LOG.name}\n{'9' * 5000}\n{'A' * 43}=\n")


def test_checkpoint_size_in_unicode_digits_is_refused() -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(f"{LOG.name}\n٣\n{'A' * 43}=\n")


def test_verifier_key_megabyte_refused() -> None:
    with pytest.raises(NoteTooLongError):
        NoteVerifier.from_verifier_key("log+01234567+" + "A" * 1_000_000)


# --- trust bundles -------------------------------------------------------------------------


def _with_evidence(credential: dict[str, Any], **changes: Any) -> dict[str, Any]:
    bundle = trust_bundle_json(credential)
    bundle["ledger"][LABEL_ID].update(changes)
    return bundle


def test_trust_bundle_inclusion_hash_megabyte_refused(credential: dict[str, Any]) -> None:
    with pytest.raises(TrustValueTooLongError) as caught:
        TrustBundle.from_json(_with_evidence(credential, proof=["A" * 1_000_000]))
    assert isinstance(caught.value, TrustError)
    assert caught.value.what == "inclusion proof hash"


def test_trust_bundle_inclusion_proof_of_a_million_hashes_refused(
    credential: dict[str, Any],
) -> None:
    with pytest.raises(TrustValueTooLongError):
        TrustBundle.from_json(_with_evidence(credential, proof=["A" * 43 + "="] * 100_000))


@pytest.mark.parametrize("index", ["2", "٢", True, 2.0, -1, 2**63, int("9" * 30)], ids=repr)
def test_trust_bundle_ledger_index_is_a_bounded_json_integer(
    credential: dict[str, Any], index: Any
) -> None:
    with pytest.raises(TrustError):
        TrustBundle.from_json(_with_evidence(credential, index=index))


@pytest.mark.parametrize("value", ["٤٥", "45\n", "４５", "1e3", "-1", " 45"])
def test_trust_bundle_threshold_in_ascii_decimal_only(
    credential: dict[str, Any], value: str
) -> None:
    bundle = trust_bundle_json(credential)
    bundle["rules"][0]["thresholds"]["A"] = value
    with pytest.raises(TrustError):
        TrustBundle.from_json(bundle)


# --- numbers and dates in text -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "٢٠٢٦-03-01T00:00:00Z",  # Arabic-Indic digits
        "2026-03-01T00:00:00Z\n",  # a trailing newline that $ would allow
        "2026-03-01T00:00:00." + "0" * 100_000 + "Z",
        "9" * 100_000 + "-03-01T00:00:00Z",
    ],
    ids=["arabic-digits", "trailing-newline", "long-fraction", "long-year"],
)
def test_datetimes_are_ascii_and_bounded(value: str) -> None:
    with pytest.raises(MalformedInputError):
        parse_datetime(value)
    assert parse_datetime("2026-03-01T00:00:00.5Z") == datetime(2026, 3, 1, 0, 0, 0, 500000, UTC)


@pytest.mark.parametrize("value", ["61.2\n", "٦١.٢", "６１.２"])
def test_footprint_decimal_in_ascii_digits_only(credential: dict[str, Any], value: str) -> None:
    credential["credentialSubject"]["footprint"]["value"] = value
    with pytest.raises(CredentialFormatError):
        parse_label_credential(credential)


def test_gtin_with_a_trailing_newline_is_refused(credential: dict[str, Any]) -> None:
    product = credential["credentialSubject"]["product"]
    assert product["gtin"]
    product["gtin"] += "\n"
    with pytest.raises(CredentialFormatError):
        parse_label_credential(credential)


# --- JSON: values counted before they are built --------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_megabyte_of_nested_lists_refused_before_parsing() -> None:
    """400,000 lists, each under the depth limit: refused from a count, not after building."""
    body = json.dumps({"a": [_nested(28)] * 13_000})
    with pytest.raises(MalformedInputError, match="more than 20000 JSON values"):
        parse_json(body)


@pytest.mark.parametrize(
    "document",
    [
        [[]] * 19_998,  # the most empty containers whose upper bound stays under the check
        ["a,,,,,[{"] * 15_000,  # structural characters inside strings are not values
        ['\\"a,,,"\\\\'] * 15_000,  # nor are they after escaped quotes and backslashes
    ],
    ids=["empty-containers", "commas-in-strings", "escapes"],
)
def test_the_value_count_refuses_nothing_the_full_check_accepts(document: list[Any]) -> None:
    assert parse_json(json.dumps(document)) == document


def test_more_values_than_the_limit_are_still_refused_by_the_full_check() -> None:
    with pytest.raises(MalformedInputError, match="more than 20000 JSON values"):
        parse_json(json.dumps([1] * 20_001))


# --- status lists --------------------------------------------------------------------------


def test_status_list_encoded_list_megabytes_refused_before_decoding() -> None:
    from credentials.errors import StatusListError, StatusListTooLongError
    from credentials.status_list import StatusList

    with pytest.raises(StatusListTooLongError) as caught:
        StatusList.decode("u" + "A" * 3_000_000)
    assert isinstance(caught.value, StatusListError)
    assert caught.value.what == "encodedList"


def test_status_list_small_gzip_bomb_refused_at_the_inflated_cap() -> None:
    """21 KB that inflate to 16 MiB: refused at 1 MiB, so the work is bounded by the cap."""
    import base64
    import gzip

    from credentials.errors import StatusListError
    from credentials.status_list import MAX_STATUS_LIST_BYTES, StatusList

    bomb = gzip.compress(bytes(16 * 1024 * 1024), mtime=0)
    assert len(bomb) < 32_000
    encoded = "u" + base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()
    with pytest.raises(StatusListError, match="GZIP bomb"):
        StatusList.decode(encoded)
    assert MAX_STATUS_LIST_BYTES == 1024 * 1024


def test_json_integer_of_thousands_of_digits_refused_before_int() -> None:
    with pytest.raises(MalformedInputError, match="digits"):
        parse_json("[" + "9" * 4000 + "]")
    assert parse_json("[18446744073709551615]") == [2**64 - 1]


def test_gtin_check_digit_in_unicode_digits_is_not_ok() -> None:
    from credentials.lexical import check_gtin

    assert check_gtin("06901234567892") == "06901234567892"
    with pytest.raises(CredentialFormatError):
        check_gtin("٠٦٩٠١٢٣٤٥٦٧٨٩٢")


def test_label_iri_megabyte_fails_the_structure_before_any_pattern(
    credential: dict[str, Any],
) -> None:
    credential["issuer"]["id"] = "did:key:" + MEGABYTE_BASE58
    with pytest.raises(CredentialFormatError, match="longer than 2048"):
        parse_label_credential(credential)
    report = verify_label(credential, now=NOW)
    assert report.check(CheckName.STRUCTURE).outcome is Outcome.MALFORMED

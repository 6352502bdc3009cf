"""The ``carbonlabel`` CLI: keygen, sign, verify and contexts export, in-process and for real.

Exit codes: 0 success / verified, 1 not verified, 2 bad usage or unreadable input. Every error
is one line on stderr, never a traceback.
"""

from __future__ import annotations

import copy
import io
import json
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from credentials import KeyPair, TrustBundle, sign_bundle
from credentials._internal.timefmt import parse_datetime
from credentials.cli import main
from credentials.credential import build_label_credential
from credentials.keys import decode_multibase_base58
from tests.conftest import VECTORS, load_vector
from tests.credentials.factories import body_key, sample_label, signed_credential
from tests.credentials.trust_fixtures import (
    LABEL_ID,
    REVOCATION_URL,
    SUSPENSION_URL,
    status_lists_json,
    trust_bundle_json,
)

KEY = body_key(1)
KEY_PAIR = load_vector("eddsa-common/keyPair.json")
SECRET = KEY_PAIR["privateKeyMultibase"]
SEED_HEX = decode_multibase_base58(SECRET)[2:].hex()  # the 32 bytes after 0x8026
VECTOR_CREATED = "2023-02-24T23:36:38Z"
UNSIGNED = VECTORS / "eddsa-common" / "unsigned.json"
SIGNED_RDFC = VECTORS / "eddsa-rdfc-2022" / "signedDataInt.json"
SIGNED_JCS = VECTORS / "eddsa-jcs-2022" / "signedJCS.json"
AT = "2026-06-01T00:00:00Z"  # inside the sample label's validity
CONSOLE_SCRIPT = Path(sys.executable).with_name("carbonlabel")
CONTEXTS_DIR = Path(__file__).resolve().parents[2] / "credentials" / "contexts"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` → (exit code, stdout, stderr); argparse's own exits count as codes."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses bad usage by exiting with 2
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def label_file(tmp_path: Path) -> Path:
    return write_json(tmp_path / "label.json", signed_credential(KEY))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every attempt to resolve a name or open a connection."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# --- keygen --------------------------------------------------------------------------------


def test_keygen_with_seed_reproduces_the_w3c_key_pair(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "keygen", "--seed", SEED_HEX)
    assert (code, err) == (0, "")
    key = json.loads(out)
    public = KEY_PAIR["publicKeyMultibase"]
    assert key == {
        "did": f"did:key:{public}",
        "verificationMethod": f"did:key:{public}#{public}",
        "publicKeyMultibase": public,
        "secretKeyMultibase": SECRET,
    }


def test_keygen_without_seed_makes_a_fresh_key_each_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = []
    for _ in range(2):
        code, out, _ = run(capsys, "keygen")
        assert code == 0
        keys.append(json.loads(out))
    assert keys[0]["secretKeyMultibase"] != keys[1]["secretKeyMultibase"]
    for key in keys:
        assert key["publicKeyMultibase"].startswith("z6Mk")
        assert key["secretKeyMultibase"].startswith("z3u2")


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param("zz" * 32, id="not-hex"),
        pytest.param("00" * 31, id="31-bytes"),
        pytest.param("00" * 33, id="33-bytes"),
        pytest.param("", id="empty"),
    ],
)
def test_keygen_bad_seed(capsys: pytest.CaptureFixture[str], seed: str) -> None:
    code, out, err = run(capsys, "keygen", "--seed", seed)
    assert code == 2
    assert out == ""
    assert err.startswith("carbonlabel: error:")
    assert err.count("\n") == 1


# --- sign ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cryptosuite", "expected"),
    [("eddsa-rdfc-2022", SIGNED_RDFC), ("eddsa-jcs-2022", SIGNED_JCS)],
)
def test_sign_reproduces_the_w3c_signed_vector(
    capsys: pytest.CaptureFixture[str], cryptosuite: str, expected: Path
) -> None:
    code, out, err = run(
        capsys,
        "sign",
        str(UNSIGNED),
        "--secret-key",
        SECRET,
        "--cryptosuite",
        cryptosuite,
        "--created",
        VECTOR_CREATED,
    )
    assert (code, err) == (0, "")
    signed = json.loads(out)
    vector = json.loads(expected.read_text(encoding="utf-8"))
    assert signed == vector
    # byte-equivalent JSON: the same members in the same order, the same proofValue
    assert json.dumps(signed) == json.dumps(vector)


def test_sign_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(UNSIGNED.read_bytes())))
    code, out, _ = run(capsys, "sign", "-", "--secret-key", SECRET, "--created", VECTOR_CREATED)
    assert code == 0
    assert json.loads(out) == load_vector("eddsa-rdfc-2022/signedDataInt.json")


def test_sign_set_issuer_makes_the_signing_key_the_issuer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = body_key(2)
    unsigned = write_json(tmp_path / "u.json", build_label_credential(sample_label(KEY)))
    code, out, _ = run(
        capsys,
        "sign",
        str(unsigned),
        "--secret-key",
        other.secret_multibase,
        "--created",
        "2026-03-01T08:30:00Z",
        "--set-issuer",
    )
    assert code == 0
    signed = json.loads(out)
    assert signed["issuer"] == {"id": other.did, "name": sample_label(KEY).issuer_name}
    assert signed["proof"]["verificationMethod"] == other.verification_method
    signed_file = write_json(tmp_path / "s.json", signed)
    code, out, _ = run(capsys, "verify", str(signed_file), "--at", AT)
    # Intact, but signed by a key nobody registered: never "verified" without trust (issue 7).
    assert code == 1, out
    assert out.startswith("NOT VERIFIED: signer_not_checked")


def test_sign_without_set_issuer_keeps_the_issuer_and_fails_to_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    unsigned = write_json(tmp_path / "u.json", build_label_credential(sample_label(KEY)))
    code, out, _ = run(capsys, "sign", str(unsigned), "--secret-key", body_key(2).secret_multibase)
    assert code == 0
    assert json.loads(out)["issuer"]["id"] == KEY.did
    signed_file = write_json(tmp_path / "s.json", json.loads(out))
    code, out, _ = run(capsys, "verify", str(signed_file), "--at", AT)
    assert code == 1
    assert "no proof was made with the issuer's key" in out


def _preparation(created: str = "2026-03-01T08:30:00Z") -> dict[str, Any]:
    """A registry's preparation (POST /api/v1/labels/prepare) of a label of KEY's body."""
    return {
        "id": "5f0c8e2a9b7d4c1e8a6f3b2d1c0e9f8a",
        "credential": build_label_credential(sample_label(KEY)),
        "signing": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": created,
            "verificationMethod": KEY.verification_method,
            "proofPurpose": "assertionMethod",
        },
    }


def test_sign_a_preparation_signs_its_credential_as_it_asks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    preparation = _preparation()
    path = write_json(tmp_path / "p.json", preparation)
    code, out, err = run(capsys, "sign", str(path), "--secret-key", KEY.secret_multibase)
    assert code == 0, err
    signed = json.loads(out)
    assert {k: v for k, v in signed.items() if k != "proof"} == preparation["credential"]
    proof = signed["proof"]
    assert {k: proof[k] for k in preparation["signing"]} == preparation["signing"]
    code, out, _ = run(capsys, "verify", str(write_json(tmp_path / "s.json", signed)), "--at", AT)
    # Intact and by the issuer's key; only no trust bundle was given.
    assert out.startswith("NOT VERIFIED: signer_not_checked")


def test_sign_a_preparation_for_another_key_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_json(tmp_path / "p.json", _preparation())
    other = body_key(2)
    code, _, err = run(capsys, "sign", str(path), "--secret-key", other.secret_multibase)
    assert code == 2
    assert KEY.verification_method in err
    assert other.did in err


def test_sign_with_a_verification_method_names_it_in_the_proof(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    unsigned = write_json(tmp_path / "u.json", build_label_credential(sample_label(KEY)))
    method = f"{KEY.did}#key-1"
    code, out, err = run(
        capsys,
        "sign",
        str(unsigned),
        "--secret-key",
        KEY.secret_multibase,
        "--verification-method",
        method,
        "--created",
        "2026-03-01T08:30:00Z",
    )
    assert code == 0, err
    proof = json.loads(out)["proof"]
    assert (proof["verificationMethod"], proof["created"]) == (method, "2026-03-01T08:30:00Z")


def test_sign_set_issuer_on_a_string_issuer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sign", str(UNSIGNED), "--secret-key", SECRET, "--set-issuer")
    assert code == 0
    assert json.loads(out)["issuer"] == f"did:key:{KEY_PAIR['publicKeyMultibase']}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--secret-key", KEY_PAIR["publicKeyMultibase"]], "secret", id="public-key"),
        pytest.param(["--secret-key", "not-multibase"], "multibase", id="garbage-key"),
        pytest.param(["--secret-key", SECRET, "--created", "noon"], "--created", id="bad-created"),
        pytest.param(["--secret-key", SECRET, "--context", "nope"], "URL=FILE", id="bad-context"),
    ],
)
def test_sign_bad_arguments(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = run(capsys, "sign", str(UNSIGNED), *extra)
    assert code == 2
    assert out == ""
    assert message in err


def test_sign_refuses_a_json_array(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = write_json(tmp_path / "a.json", [load_vector("eddsa-common/unsigned.json")])
    code, _, err = run(capsys, "sign", str(doc), "--secret-key", SECRET)
    assert code == 2
    assert "JSON object" in err


def test_sign_unknown_cryptosuite_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sign", str(UNSIGNED), "--secret-key", SECRET, "--cryptosuite", "x")
    assert code == 2
    assert out == ""


# --- verify: exit codes --------------------------------------------------------------------


@pytest.mark.parametrize("path", [SIGNED_RDFC, SIGNED_JCS], ids=["rdfc", "jcs"])
def test_verify_w3c_vectors_signature_intact_signer_not_checked(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    code, out, err = run(capsys, "verify", str(path))
    assert (code, err) == (1, "")
    assert out.startswith("NOT VERIFIED: signer_not_checked")
    assert "the signature is intact, but who signed it was not checked" in out
    assert "FAIL" not in out


def test_verify_signed_label_without_trust_exit_1(
    capsys: pytest.CaptureFixture[str], label_file: Path
) -> None:
    code, out, _ = run(capsys, "verify", str(label_file), "--at", AT)
    assert code == 1
    assert out.startswith("NOT VERIFIED: signer_not_checked")
    assert "the signature is intact, but who signed it was not checked against the register" in out
    assert "VERIFIED: genuine" not in out
    assert "note: trust was not checked" in out


def test_verify_tampered_label_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    label = signed_credential(KEY)
    label["credentialSubject"]["footprint"]["value"] = "40"
    code, out, _ = run(capsys, "verify", str(write_json(tmp_path / "t.json", label)), "--at", AT)
    assert code == 1
    assert out.startswith("NOT VERIFIED: not_genuine")
    assert "FAIL proof" in out


def test_verify_forged_valid_until_shows_no_content_as_ok(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 7: a forged validUntil used to print "ok validity: valid until 2039-…"."""
    label = signed_credential(KEY)
    label["validUntil"] = "2039-02-28T23:59:59Z"
    bundle = write_json(tmp_path / "trust.json", trust_bundle_json(signed_credential(KEY)))
    for extra in ([], ["--trust", str(bundle)]):
        path = write_json(tmp_path / "forged.json", label)
        code, out, _ = run(capsys, "verify", str(path), "--at", AT, *extra)
        assert code == 1
        assert out.startswith("NOT VERIFIED: not_genuine")
        assert "altered after signing" in out
        assert "none of its contents can be trusted" in out
        assert "2039" not in out
        assert "ok   validity" not in out
        lines = [line for line in out.splitlines() if line.startswith("  ok")]
        assert lines == ["  ok   structure: a well-formed CarbonLabelCredential"]


def test_verify_label_forged_with_a_random_key_in_a_real_bodys_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """keygen, then sign --set-issuer: never "VERIFIED: genuine", with or without trust."""
    code, out, _ = run(capsys, "keygen")
    rogue = json.loads(out)["secretKeyMultibase"]
    unsigned = write_json(tmp_path / "u.json", build_label_credential(sample_label(KEY)))
    code, out, _ = run(capsys, "sign", str(unsigned), "--secret-key", rogue, "--set-issuer")
    assert code == 0
    forged = write_json(tmp_path / "forged.json", json.loads(out))
    code, out, _ = run(capsys, "verify", str(forged), "--at", AT)
    assert (code, out.splitlines()[0]) == (1, "NOT VERIFIED: signer_not_checked")
    bundle = write_json(tmp_path / "trust.json", trust_bundle_json(signed_credential(KEY)))
    code, out, _ = run(capsys, "verify", str(forged), "--at", AT, "--trust", str(bundle))
    assert (code, out.splitlines()[0]) == (1, "NOT VERIFIED: not_genuine")
    assert "FAIL issuer_key: this trust bundle does not cover the issuer" in out


def test_verify_tampered_vector_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vector = load_vector("eddsa-rdfc-2022/signedDataInt.json")
    vector["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    code, out, _ = run(capsys, "verify", str(write_json(tmp_path / "t.json", vector)))
    assert code == 1
    assert "FAIL proof" in out


def test_verify_expired_label_exit_1(capsys: pytest.CaptureFixture[str], label_file: Path) -> None:
    code, out, _ = run(capsys, "verify", str(label_file), "--at", "2030-01-01T00:00:00Z")
    assert code == 1
    assert out.startswith("NOT VERIFIED: expired")


def test_verify_missing_file_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    code, out, err = run(capsys, "verify", str(missing))
    assert code == 2
    assert out == ""
    assert str(missing) in err
    assert "No such file" in err


def test_verify_directory_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "verify", str(tmp_path))
    assert code == 2
    assert "cannot read" in err


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not json", id="text"),
        pytest.param(b'{"a": 1', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"a": NaN}', id="NaN"),
        pytest.param(b'{"a": "\xff\xfe"}', id="not-utf8"),
    ],
)
def test_verify_not_json_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, out, err = run(capsys, "verify", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("carbonlabel: error: credential")


def test_verify_refuses_a_signed_label_with_a_member_named_twice(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 14: a second "grade" after the signed one was taken, last one winning."""
    label = signed_credential(KEY)
    text = json.dumps(label)
    grade = label["credentialSubject"]["grade"]
    forged = text.replace(f'"grade": "{grade}"', f'"grade": "{grade}", "grade": "A"', 1)
    assert forged != text
    path = tmp_path / "twice.json"
    path.write_text(forged, encoding="utf-8")
    code, out, err = run(capsys, "verify", str(path), "--at", AT)
    assert code == 2
    assert out == ""
    assert "'grade' appears twice" in err


def test_verify_10mb_file_fails_fast_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"padding": "' + "x" * (10 * 1024 * 1024) + '"}', encoding="ascii")
    start = time.perf_counter()
    code, out, err = run(capsys, "verify", str(path))
    elapsed = time.perf_counter() - start
    assert code == 2
    assert out == ""
    assert "limit is 1000000" in err
    assert elapsed < 1.0


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_verify_10000_deep_nesting_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    path = tmp_path / "deep.json"
    path.write_text(opener * 10_000 + "1" + closer * 10_000, encoding="ascii")
    code, out, err = run(capsys, "verify", str(path))
    assert code == 2
    assert out == ""
    assert "nested deeper" in err


def test_verify_unknown_context_is_refused_without_fetching(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_network: list[Any]
) -> None:
    """A context URL the kit does not bundle: exit 1, the URL named, nothing fetched."""
    url = "https://contexts.attacker.example/v1"
    vector = load_vector("eddsa-rdfc-2022/signedDataInt.json")
    vector["@context"].append(url)
    code, out, _ = run(capsys, "verify", str(write_json(tmp_path / "c.json", vector)))
    assert code == 1
    assert url in out
    assert "never fetches" in out
    assert no_network == []


def test_verify_context_from_file_is_used_offline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, no_network: list[Any]
) -> None:
    """--context URL=FILE serves the URL from the file: the term is defined, still no fetch."""
    url = "https://contexts.partner.example/v1"
    context = write_json(
        tmp_path / "ctx.json", {"@context": {"note": "https://contexts.partner.example/v1#note"}}
    )
    doc = load_vector("eddsa-common/unsigned.json")
    doc["@context"].append(url)
    doc["note"] = "signed with a partner context"
    source = write_json(tmp_path / "u.json", doc)
    code, out, _ = run(
        capsys, "sign", str(source), "--secret-key", SECRET, "--context", f"{url}={context}"
    )
    assert code == 0
    signed = write_json(tmp_path / "s.json", json.loads(out))
    code, out, _ = run(capsys, "verify", str(signed), "--context", f"{url}={context}")
    assert code == 1, out
    assert out.startswith("NOT VERIFIED: signer_not_checked"), out
    code, out, _ = run(capsys, "verify", str(signed))
    assert code == 1
    assert url in out
    assert no_network == []


@pytest.mark.parametrize(
    "at", ["yesterday", "2026-06-01", "2026-06-01T00:00:00", "2026-13-01T00:00:00Z"]
)
def test_verify_bad_at_exit_2(
    capsys: pytest.CaptureFixture[str], label_file: Path, at: str
) -> None:
    code, out, err = run(capsys, "verify", str(label_file), "--at", at)
    assert code == 2
    assert out == ""
    assert "--at" in err


@pytest.mark.parametrize(
    "pair",
    ["no-equals-sign", "=ctx.json", "https://a.example/v1=", ""],
)
def test_verify_bad_context_syntax_exit_2(
    capsys: pytest.CaptureFixture[str], label_file: Path, pair: str
) -> None:
    code, out, err = run(capsys, "verify", str(label_file), "--context", pair)
    assert code == 2
    assert out == ""
    assert "URL=FILE" in err


def test_verify_context_that_is_not_a_context_exit_2(
    capsys: pytest.CaptureFixture[str], label_file: Path, tmp_path: Path
) -> None:
    bogus = write_json(tmp_path / "ctx.json", {"not": "a context"})
    code, _, err = run(
        capsys, "verify", str(label_file), "--context", f"https://a.example/v1={bogus}"
    )
    assert code == 2
    assert "not a JSON-LD context" in err


def test_verify_context_cannot_replace_a_bundled_one(
    capsys: pytest.CaptureFixture[str], label_file: Path, tmp_path: Path
) -> None:
    evil = write_json(tmp_path / "ctx.json", {"@context": {"grade": "https://evil.example/grade"}})
    code, _, err = run(
        capsys, "verify", str(label_file), "--context", f"https://w3id.org/carbon-label/v1={evil}"
    )
    assert code == 2
    assert "refusing to replace" in err


def test_verify_unknown_subcommand_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "frobnicate")
    assert code == 2
    assert out == ""


# --- verify: output ------------------------------------------------------------------------


def test_verify_json_output(capsys: pytest.CaptureFixture[str], label_file: Path) -> None:
    code, out, _ = run(capsys, "verify", str(label_file), "--at", AT, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["verified"] is False
    assert report["verdict"] == "signer_not_checked"
    assert report["trustChecked"] is False
    assert len(report["checks"]) == 10
    assert {"check", "status", "required", "outcome", "message", "params", "reason"} <= set(
        report["checks"][0]
    )


def test_verify_json_output_for_a_generic_credential(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(SIGNED_JCS), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["verified"] is False
    assert report["verdict"] == "signer_not_checked"
    assert [c["outcome"] for c in report["checks"]] == ["ok", "ok"]
    assert [c["check"] for c in report["checks"]] == ["proof", "validity"]


def test_verify_generic_credential_not_yet_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", str(SIGNED_RDFC), "--at", "2022-01-01T00:00:00Z")
    assert code == 1
    assert "FAIL validity" in out


def test_verify_note_only_without_trust(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    label = signed_credential(KEY)
    label_path = write_json(tmp_path / "label.json", label)
    trust = write_json(tmp_path / "trust.json", trust_bundle_json(label))
    _, out, _ = run(capsys, "verify", str(label_path), "--at", AT)
    assert "trust was not checked" in out
    code, out, _ = run(capsys, "verify", str(label_path), "--at", AT, "--trust", str(trust))
    assert code == 0, out
    assert "trust was not checked" not in out
    assert out.count("  ok   ") == 10


# --- verify with a trust bundle and status list files --------------------------------------


def _trust_and_lists(
    tmp_path: Path, label: dict[str, Any], *, revoked: bool = False
) -> tuple[Path, list[str]]:
    trust = write_json(tmp_path / "trust.json", trust_bundle_json(label, statusLists=None))
    lists = status_lists_json(signer=KEY, revoked=revoked)
    args = []
    for name, url in (("revocation", REVOCATION_URL), ("suspension", SUSPENSION_URL)):
        args += ["--status-list", str(write_json(tmp_path / f"{name}.json", lists[url]))]
    return trust, args


def test_verify_with_trust_and_status_list_files_exit_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    trust, list_args = _trust_and_lists(tmp_path, label)
    path = write_json(tmp_path / "label.json", label)
    code, out, _ = run(
        capsys, "verify", str(path), "--trust", str(trust), *list_args, "--at", AT, "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["verdict"] == "genuine"
    assert report["trustChecked"] is True
    assert all(c["status"] == "passed" and c["required"] for c in report["checks"])


def test_verify_with_trust_but_no_status_lists_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    trust, _ = _trust_and_lists(tmp_path, label)
    path = write_json(tmp_path / "label.json", label)
    code, out, _ = run(capsys, "verify", str(path), "--trust", str(trust), "--at", AT, "--json")
    assert code == 1
    assert json.loads(out)["verdict"] == "unverified"


def test_verify_revoked_label_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    label = signed_credential(KEY)
    trust, list_args = _trust_and_lists(tmp_path, label, revoked=True)
    path = write_json(tmp_path / "label.json", label)
    code, out, _ = run(
        capsys, "verify", str(path), "--trust", str(trust), *list_args, "--at", AT, "--json"
    )
    assert code == 1
    report = json.loads(out)
    assert report["verdict"] == "revoked"
    assert report["verified"] is False
    revocation = next(c for c in report["checks"] if c["check"] == "revocation")
    assert revocation["status"] == "failed"


def test_verify_revoked_label_text_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    trust, list_args = _trust_and_lists(tmp_path, label, revoked=True)
    path = write_json(tmp_path / "label.json", label)
    code, out, _ = run(capsys, "verify", str(path), "--trust", str(trust), *list_args, "--at", AT)
    assert code == 1
    assert out.startswith("NOT VERIFIED: revoked")
    assert "FAIL revocation: revoked" in out


def test_verify_malformed_trust_bundle_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, label_file: Path
) -> None:
    bundle = trust_bundle_json(signed_credential(KEY))
    bundle["rules"][0]["thresholds"]["A"] = "cheap"
    trust = write_json(tmp_path / "trust.json", bundle)
    code, out, err = run(capsys, "verify", str(label_file), "--trust", str(trust))
    assert code == 2
    assert out == ""
    assert "'cheap' is not a decimal" in err


def test_verify_unreadable_trust_bundle_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, label_file: Path
) -> None:
    code, _, err = run(capsys, "verify", str(label_file), "--trust", str(tmp_path / "none.json"))
    assert code == 2
    assert "trust bundle" in err


@pytest.mark.parametrize(
    "content", [[], {"type": "BitstringStatusListCredential"}, {"id": 7}], ids=repr
)
def test_verify_status_list_file_without_id_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, label_file: Path, content: Any
) -> None:
    path = write_json(tmp_path / "list.json", content)
    code, _, err = run(capsys, "verify", str(label_file), "--status-list", str(path))
    assert code == 2
    assert "status list" in err


def test_verify_status_list_from_another_issuer_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    trust, _ = _trust_and_lists(tmp_path, label)
    lists = status_lists_json(signer=body_key(2))
    args = [
        a
        for url in (REVOCATION_URL, SUSPENSION_URL)
        for a in ("--status-list", str(write_json(tmp_path / f"{url[-2:]}.json", lists[url])))
    ]
    path = write_json(tmp_path / "label.json", label)
    code, out, _ = run(capsys, "verify", str(path), "--trust", str(trust), *args, "--at", AT)
    assert code == 1
    assert "another issuer" in out


# --- contexts export -----------------------------------------------------------------------


def test_contexts_export_writes_the_bundled_bytes_and_an_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "contexts"
    code, out, _ = run(capsys, "contexts", "export", str(target))
    assert code == 0
    bundled_index = json.loads((CONTEXTS_DIR / "index.json").read_text(encoding="utf-8"))
    exported_index = json.loads((target / "index.json").read_text(encoding="utf-8"))
    assert {e["url"]: e["file"] for e in exported_index} == {
        e["url"]: e["file"] for e in bundled_index
    }
    written = {p.name for p in target.iterdir()} - {"index.json"}
    assert written == {e["file"] for e in bundled_index}
    for name in written:
        assert (target / name).read_bytes() == (CONTEXTS_DIR / name).read_bytes(), name
    assert f"wrote {len(written)} contexts" in out


def test_contexts_export_twice_is_idempotent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "contexts", "export", str(tmp_path))[0] == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert run(capsys, "contexts", "export", str(tmp_path))[0] == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


def test_contexts_without_subcommand_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "contexts")[0] == 2


# --- the installed console script ----------------------------------------------------------


def console(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CONSOLE_SCRIPT), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_console_script_keygen_and_verify_vector() -> None:
    keygen = console("keygen", "--seed", SEED_HEX)
    assert keygen.returncode == 0, keygen.stderr
    assert json.loads(keygen.stdout)["publicKeyMultibase"] == KEY_PAIR["publicKeyMultibase"]
    verify = console("verify", str(SIGNED_RDFC), "--json")
    assert verify.returncode == 1, verify.stderr
    assert json.loads(verify.stdout)["verdict"] == "signer_not_checked"


def test_console_script_bad_inputs_exit_2_without_traceback(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text('["' + "x" * (10 * 1024 * 1024) + '"]', encoding="ascii")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000, encoding="ascii")
    for argv in (
        ["verify", str(tmp_path / "missing.json")],
        ["verify", str(huge)],
        ["verify", str(deep)],
        ["verify", str(SIGNED_RDFC), "--at", "soon"],
        ["frobnicate"],
    ):
        result = console(*argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert "Traceback" not in result.stderr, argv
        assert result.stdout == ""


def test_console_script_trust_bundle_with_a_status_list_that_is_not_an_object(
    tmp_path: Path,
) -> None:
    """A trust bundle whose statusLists maps a URL to a string: an error line, no traceback."""
    label = signed_credential(KEY)
    bundle = trust_bundle_json(label)
    bundle["statusLists"][REVOCATION_URL] = "x"
    trust = write_json(tmp_path / "trust.json", bundle)
    path = write_json(tmp_path / "label.json", label)
    result = console("verify", str(path), "--trust", str(trust), "--at", AT)
    assert "Traceback" not in result.stderr
    assert result.returncode in (1, 2)


def test_console_script_signed_label_tamper_round_trip(tmp_path: Path) -> None:
    label = copy.deepcopy(signed_credential(KEY))
    good = write_json(tmp_path / "good.json", label)
    label["credentialSubject"]["grade"] = "A"
    bad = write_json(tmp_path / "bad.json", label)
    assert console("verify", str(good), "--at", AT).stdout.startswith(
        "NOT VERIFIED: signer_not_checked"
    )
    tampered = console("verify", str(bad), "--at", AT)
    assert tampered.returncode == 1
    assert tampered.stdout.startswith("NOT VERIFIED: not_genuine")


# --- verify for a region -------------------------------------------------------------------


def _regional_bundle(label: dict[str, Any]) -> dict[str, Any]:
    hk_rule = {
        "scheme": "HK",
        "ruleId": "HK-PCR-LIB",
        "version": "1.0",
        "category": "lithium-battery",
        "declaredUnit": "kWh",
        "thresholds": {"A": "40", "B": "55", "C": "70", "D": "90"},
        "inForceFrom": "2025-01-01T00:00:00Z",
    }
    to_hk = {
        "mappingId": "GD-HK-LIB",
        "revision": 1,
        "source": {"scheme": "CN-GD", "rules": ["CN-GD-PCR-LIB"]},
        "target": {"scheme": "HK", "region": "HK", "ruleId": "HK-PCR-LIB", "ruleVersion": "1.0"},
        "mode": "recompute",
        "effectiveFrom": "2025-01-01T00:00:00Z",
        "approvedBy": "HK regulator (fictitious)",
        "agreementSha256": "ab" * 32,
    }
    to_eu = {
        **to_hk,
        "mappingId": "GD-EU",
        "target": {"scheme": "EU-PEF", "region": "EU"},
        "mode": "value-only",
        "conditions": {"systemBoundaries": ["cradle-to-grave"]},
    }
    bundle = trust_bundle_json(label)
    bundle["rules"].append(hk_rule)
    bundle["schemes"] = {"CN-GD": "CN-GD", "HK": "HK", "EU-PEF": "EU"}
    bundle["mappings"] = [to_hk, to_eu]
    return bundle


def test_verify_for_regions_answers_each_with_its_conditions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    label_path = write_json(tmp_path / "label.json", label)
    trust = write_json(tmp_path / "trust.json", _regional_bundle(label))
    base = ["verify", str(label_path), "--at", AT, "--trust", str(trust)]
    code, out, _ = run(capsys, *base, "--region", "HK")
    assert code == 0, out
    assert "RECOGNISED in HK: recognised" in out
    assert "under mapping GD-HK-LIB revision 1" in out
    assert "grade there: C" in out  # 61.2 kgCO2e/kWh is over HK's B bound of 55
    code, out, _ = run(capsys, *base, "--region", "HK", "--region", "EU")
    assert code == 1  # not recognised in the EU
    assert "NOT RECOGNISED in EU: not_recognised" in out
    assert "FAIL boundary: system boundary cradle-to-gate is not accepted" in out
    code, out, _ = run(capsys, *base, "--region", "EU", "--json")
    answer = json.loads(out)["recognition"][0]
    assert (answer["region"], answer["recognised"], answer["outcome"]) == (
        "EU",
        False,
        "not_recognised",
    )


def test_verify_for_a_region_needs_a_bundle_and_a_verified_label(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    label_path = write_json(tmp_path / "label.json", label)
    code, _, err = run(capsys, "verify", str(label_path), "--region", "HK")
    assert code == 2
    assert "--region needs --trust" in err
    forged = write_json(tmp_path / "forged.json", {**label, "validUntil": "2039-01-01T00:00:00Z"})
    trust = write_json(tmp_path / "trust.json", _regional_bundle(label))
    code, out, _ = run(
        capsys, "verify", str(forged), "--at", AT, "--trust", str(trust), "--region", "HK"
    )
    assert code == 1
    assert "NOT RECOGNISED in HK: not_verified" in out


# --- a signed registry bundle, pinned --------------------------------------------------------

BUNDLE_KEY = KeyPair.from_seed(b"\x31" * 32)


def _signed_bundle(label: dict[str, Any], **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "registry": "https://registry.example.cn",
        "issued": parse_datetime(AT) - timedelta(hours=1),
        "valid_until": parse_datetime(AT) + timedelta(hours=23),
    } | changes
    signer = values.pop("signer", BUNDLE_KEY)
    return sign_bundle(TrustBundle.from_json(trust_bundle_json(label)), signer, **values)


def test_verify_with_a_pinned_signed_bundle(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    label_path = write_json(tmp_path / "label.json", label)
    bundle = write_json(tmp_path / "bundle.json", _signed_bundle(label))
    args = ["verify", str(label_path), "--at", AT, "--trust", str(bundle)]
    code, out, _ = run(capsys, *args, "--registry-key", BUNDLE_KEY.public_key.multibase)
    assert code == 0, out
    assert "VERIFIED: genuine" in out
    signer = BUNDLE_KEY.public_key.multibase
    assert f"trusted: registry https://registry.example.cn, bundle key {signer}" in out
    code, out, _ = run(capsys, *args)
    assert code == 1
    assert "TRUST BUNDLE REFUSED (not_pinned)" in out
    assert BUNDLE_KEY.public_key.multibase in out
    assert "VERIFIED: genuine" not in out


@pytest.mark.parametrize(
    ("bundle", "refusal"),
    [
        (lambda label: _signed_bundle(label, signer=KeyPair.from_seed(b"\x32" * 32)), "other_key"),
        (
            lambda label: _signed_bundle(
                label,
                issued=parse_datetime(AT) - timedelta(days=3),
                valid_until=parse_datetime(AT) - timedelta(days=2),
            ),
            "expired",
        ),
        (lambda label: trust_bundle_json(label), "unsigned"),
    ],
)
def test_verify_refuses_a_bundle_the_pinned_key_did_not_sign_in_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bundle: Any, refusal: str
) -> None:
    label = signed_credential(KEY)
    label_path = write_json(tmp_path / "label.json", label)
    path = write_json(tmp_path / "bundle.json", bundle(label))
    code, out, _ = run(
        capsys, "verify", str(label_path), "--at", AT, "--trust", str(path),
        "--registry-key", BUNDLE_KEY.public_key.multibase,
    )  # fmt: skip
    assert code == 1
    assert f"TRUST BUNDLE REFUSED ({refusal})" in out
    assert "VERIFIED: genuine" not in out


def test_a_malformed_registry_key_or_no_bundle_is_bad_usage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label_path = write_json(tmp_path / "label.json", signed_credential(KEY))
    code, _, err = run(capsys, "verify", str(label_path), "--registry-key", "zNope")
    assert code == 2
    assert "--registry-key" in err
    code, _, err = run(
        capsys, "verify", str(label_path), "--registry-key", BUNDLE_KEY.public_key.multibase
    )
    assert code == 2
    assert "give it with --trust" in err


def test_verify_takes_the_registrys_label_json_and_its_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    label = signed_credential(KEY)
    full = trust_bundle_json(label)
    evidence = full["ledger"].pop(LABEL_ID)  # the bundle without, the file with it
    label_json = {"id": LABEL_ID, "credential": label, "ledgerEvidence": evidence}
    label_path = write_json(tmp_path / "label.json", label_json)
    bare = write_json(tmp_path / "bare.json", full)
    code, out, _ = run(capsys, "verify", str(label_path), "--at", AT, "--trust", str(bare))
    assert code == 0, out
    assert "ok   ledger" in out

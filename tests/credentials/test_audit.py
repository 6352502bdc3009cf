"""The offline audit: a clean export passes; each tampering is found and its entry named."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credentials import (
    Checkpoint,
    KeyPair,
    NoteSigner,
    canonicalize_jcs,
    credential_digest,
    leaf_hash,
    sign_checkpoint,
)
from credentials.audit import audit_ledger, check_consistency, load_credentials
from credentials.cli import main
from credentials.credential import build_label_credential
from credentials.cryptosuites import sign_document
from credentials.ledger_events import LabelIssued, LedgerEvent
from credentials.merkle import consistency_proof, root_hash
from tests.credentials.factories import sample_label
from tests.credentials.ledger_fixtures import KEY, entries, issued, world

LOG = NoteSigner("registry.example/ledger", KeyPair.from_seed(b"\x07" * 32))
LOG_KEY = LOG.verifier_key()
BODY_KEY = KeyPair.from_seed(bytes(range(1, 33)))
assert BODY_KEY.public_key.multibase == KEY
LABELS = ("7K3M9QH2XD", "8M4N0RJ3YE", "9N5P1SK4ZF")
SIGNED_AT = datetime(2026, 1, 2, tzinfo=UTC)


def _credential(label: str, key: KeyPair = BODY_KEY) -> dict[str, Any]:
    unsigned = build_label_credential(sample_label(key, label_id=label))
    return sign_document(unsigned, key=key, cryptosuite="eddsa-rdfc-2022", created=SIGNED_AT)


def _world() -> tuple[list[LedgerEvent], list[dict[str, Any]]]:
    events, credentials = world(), []
    for n, label in enumerate(LABELS):
        credential = _credential(label)
        credentials.append(credential)
        events.append(replace(issued(label, n=n), credential_digest=credential_digest(credential)))
    return events, credentials


def _checkpoint(lines: list[bytes]) -> str:
    root = root_hash([leaf_hash(line) for line in lines])
    return sign_checkpoint(Checkpoint(LOG.name, len(lines), root), LOG)


@pytest.fixture(scope="module")
def export() -> tuple[list[bytes], str, list[dict[str, Any]]]:
    events, credentials = _world()
    lines = entries(events)
    return lines, _checkpoint(lines), credentials


def _by_digest(credentials: list[dict[str, Any]]) -> dict[str, bytes]:
    return {credential_digest(c): canonicalize_jcs(c) for c in credentials}


def _renumber(lines: list[bytes]) -> list[bytes]:
    """What a careful forger does after editing: every seq made contiguous again."""
    out = []
    for seq, line in enumerate(lines):
        entry = json.loads(line)
        entry["seq"] = seq
        out.append(canonicalize_jcs(entry))
    return out


def _rewrite(line: bytes, **members: Any) -> bytes:
    return canonicalize_jcs({**json.loads(line), **members})


def _write(
    tmp_path: Path, lines: list[bytes], checkpoint: str, creds: list[dict[str, Any]]
) -> list[str]:
    (tmp_path / "ledger.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    (tmp_path / "checkpoint").write_text(checkpoint)
    (tmp_path / "credentials.jsonl").write_bytes(
        b"".join(canonicalize_jcs(c) + b"\n" for c in creds)
    )
    return [
        "audit",
        str(tmp_path / "ledger.jsonl"),
        "--checkpoint",
        str(tmp_path / "checkpoint"),
        "--log-key",
        LOG_KEY,
        "--credentials",
        str(tmp_path / "credentials.jsonl"),
    ]


def test_a_clean_export_passes_with_every_proof_verified(export: Any) -> None:
    lines, checkpoint, credentials = export
    report = audit_ledger(
        lines, checkpoint=checkpoint, log_key=LOG_KEY, jobs=1, credentials=_by_digest(credentials)
    )
    assert report.ok, report.problems
    assert (report.size, report.proofs_checked) == (len(lines), len(LABELS))
    assert report.root_hash == report.checkpoint.root_hash


def test_two_processes_report_what_one_does(export: Any) -> None:
    lines, _, credentials = export
    forged = [*credentials[:2], _credential(LABELS[2], KeyPair.from_seed(b"\x09" * 32))]
    tampered = [*lines[:-1], _rewrite(lines[-1], credentialDigest=credential_digest(forged[2]))]
    args = {"checkpoint": _checkpoint(tampered), "log_key": LOG_KEY}
    one = audit_ledger(tampered, jobs=1, credentials=_by_digest(forged), **args)
    two = audit_ledger(tampered, jobs=2, credentials=_by_digest(forged), **args)
    assert one.problems == two.problems
    assert [(p.index, p.reason) for p in two.problems] == [(len(lines) - 1, "bad_proof")]


def test_the_cli_exits_0_on_a_clean_export(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    assert main(_write(tmp_path, lines, checkpoint, credentials)) == 0
    assert capsys.readouterr().out.startswith(f"Clean: {len(lines)} entries")


def _first_issuance(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "label.issued")


def _audit_cli(tmp_path: Path, lines: list[bytes], checkpoint: str, creds: Any, capsys: Any) -> str:
    code = main(_write(tmp_path, lines, checkpoint, creds))
    out = capsys.readouterr().out
    assert code == 1, out
    return out.splitlines()[0]


def test_a_rewritten_footprint_is_named(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    n = _first_issuance(lines)
    tampered = list(lines)
    tampered[n] = _rewrite(lines[n], footprint="50")  # same grade: replay alone cannot see it
    first = _audit_cli(tmp_path, tampered, checkpoint, credentials, capsys)
    assert first.startswith(f"Not clean: entry {n}: the footprint is 61.2 in the credential, 50")
    assert "credential_mismatch" in first


def test_a_pact_source_the_credential_does_not_state_is_named(
    export: Any, tmp_path: Path, capsys: Any
) -> None:
    lines, checkpoint, credentials = export
    n = _first_issuance(lines)
    tampered = list(lines)
    source = {"id": "12345678-9abc-def0-1234-567812345678", "specVersion": "3.0.0"}
    tampered[n] = _rewrite(lines[n], pact=source)
    first = _audit_cli(tmp_path, tampered, checkpoint, credentials, capsys)
    assert "the PACT source is none in the credential, 12345678-" in first
    assert "credential_mismatch" in first


def test_the_rewritten_footprint_breaks_the_root_even_without_credentials(export: Any) -> None:
    lines, checkpoint, _ = export
    n = _first_issuance(lines)
    tampered = [*lines[:n], _rewrite(lines[n], footprint="50"), *lines[n + 1 :]]
    report = audit_ledger(tampered, checkpoint=checkpoint, log_key=LOG_KEY, replay=False)
    assert [p.reason for p in report.problems] == ["root_mismatch"]


def test_a_deleted_entry_is_named(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    tampered = lines[:3] + lines[4:]
    first = _audit_cli(tmp_path, tampered, checkpoint, credentials, capsys)
    assert first.startswith("Not clean: entry 3: ")
    assert "expected entry 3, got 4" in first


def test_a_deleted_entry_renumbered_still_breaks_the_root(export: Any) -> None:
    lines, checkpoint, _ = export
    tampered = _renumber(lines[:-2] + lines[-1:])
    report = audit_ledger(tampered, checkpoint=checkpoint, log_key=LOG_KEY)
    assert {p.reason for p in report.problems} == {"too_short"}


def test_two_reordered_entries_are_named(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    tampered = list(lines)
    tampered[5], tampered[6] = tampered[6], tampered[5]
    first = _audit_cli(tmp_path, tampered, checkpoint, credentials, capsys)
    assert first.startswith("Not clean: entry 5: ")
    assert "out_of_sequence" in first


def test_reordered_and_renumbered_entries_are_named(export: Any) -> None:
    lines, checkpoint, _ = export
    # The key before the body it belongs to: the replay refuses the key.
    n = next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "key.added")
    tampered = list(lines)
    tampered[n - 2], tampered[n] = tampered[n], tampered[n - 2]
    report = audit_ledger(_renumber(tampered), checkpoint=checkpoint, log_key=LOG_KEY)
    first = report.first_bad
    assert first is not None
    assert (first.index, first.reason) == (n - 2, "unknown_reference")
    assert "root_mismatch" in {p.reason for p in report.problems}


def test_a_forged_issuance_is_named(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    stranger = KeyPair.from_seed(b"\x66" * 32)
    label = "ABCDEFGHJK"
    forged = _credential(label, stranger)
    mb = stranger.public_key.multibase
    event: LabelIssued = replace(
        issued(label, n=9, key=mb), credential_digest=credential_digest(forged)
    )
    at = len(world())  # before the genuine issuances; every seq renumbered after it
    tampered = _renumber([*lines[:at], *entries([*world(), event])[-1:], *lines[at:]])
    first = _audit_cli(tmp_path, tampered, checkpoint, [*credentials, forged], capsys)
    assert first.startswith(f"Not clean: entry {at}: label.issued: key {mb}")
    assert "unknown_reference" in first


def test_a_forged_checkpoint_is_refused(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, _, credentials = export
    other = NoteSigner(LOG.name, KeyPair.from_seed(b"\x08" * 32))
    root = root_hash([leaf_hash(line) for line in lines])
    note = sign_checkpoint(Checkpoint(LOG.name, len(lines), root), other)
    assert main(_write(tmp_path, lines, note, credentials)) == 2
    assert "carbonlabel: error:" in capsys.readouterr().err


def test_a_missing_credential_is_named(export: Any) -> None:
    lines, checkpoint, credentials = export
    report = audit_ledger(
        lines, checkpoint=checkpoint, log_key=LOG_KEY, jobs=1,
        credentials=_by_digest(credentials[1:]),
    )  # fmt: skip
    assert [(p.index, p.reason) for p in report.problems] == [
        (_first_issuance(lines), "credential_missing")
    ]


def test_credentials_load_from_a_directory(export: Any, tmp_path: Path) -> None:
    _, _, credentials = export
    for n, credential in enumerate(credentials):
        (tmp_path / f"{n}.json").write_text(json.dumps(credential, indent=2))
    assert load_credentials(tmp_path).keys() == _by_digest(credentials).keys()


def test_an_uncovered_tail_is_reported(export: Any) -> None:
    lines, _, _ = export
    report = audit_ledger(lines, checkpoint=_checkpoint(lines[:-1]), log_key=LOG_KEY)
    assert [p.reason for p in report.problems] == ["not_covered"]


def _consistency_files(
    tmp_path: Path, lines: list[bytes], old: int, forked: bool = False
) -> list[str]:
    leaves = [leaf_hash(line) for line in lines]
    (tmp_path / "old").write_text(_checkpoint(lines[:old]))
    newer = list(lines)
    if forked:
        newer[0] = _rewrite(newer[0], names={"en": "forked"})
    new_leaves = [leaf_hash(line) for line in newer]
    (tmp_path / "new").write_text(_checkpoint(newer))
    proof = consistency_proof(old, new_leaves if forked else leaves)
    (tmp_path / "proof.json").write_text(
        json.dumps({
            "first": old, "second": len(lines),
            "hashes": [base64.b64encode(h).decode() for h in proof],
        })
    )  # fmt: skip
    return ["audit", "--consistency", str(tmp_path / "old"), str(tmp_path / "new"),
            "--proof", str(tmp_path / "proof.json"), "--log-key", LOG_KEY]  # fmt: skip


@pytest.mark.parametrize("old", [1, 4, 7, 12])
def test_an_older_checkpoint_is_consistent(
    export: Any, tmp_path: Path, capsys: Any, old: int
) -> None:
    lines, _, _ = export
    assert main(_consistency_files(tmp_path, lines, old)) == 0
    assert capsys.readouterr().out.startswith("Consistent:")


def test_a_forked_checkpoint_is_not(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, _, _ = export
    assert main(_consistency_files(tmp_path, lines, 7, forked=True)) == 1
    assert capsys.readouterr().out.startswith("Not consistent:")


def test_consistency_refuses_a_proof_for_other_sizes(export: Any) -> None:
    lines, _, _ = export
    leaves = [leaf_hash(line) for line in lines]
    proof = {"first": 3, "second": len(lines), "hashes": [
        base64.b64encode(h).decode() for h in consistency_proof(4, leaves)
    ]}  # fmt: skip
    with pytest.raises(Exception, match="first size is 3, not 4"):
        check_consistency(_checkpoint(lines[:4]), _checkpoint(lines), proof, LOG_KEY)


def test_a_malformed_entry_is_named(export: Any) -> None:
    lines, checkpoint, _ = export
    tampered = [*lines[:2], b'{"seq": 2, "event"', *lines[3:]]
    report = audit_ledger(tampered, checkpoint=checkpoint, log_key=LOG_KEY)
    first = report.first_bad
    assert first is not None
    assert (first.index, first.reason) == (2, "malformed_entry")


def test_bad_usage_exits_2(export: Any, tmp_path: Path, capsys: Any) -> None:
    lines, checkpoint, credentials = export
    args = _write(tmp_path, lines, checkpoint, credentials)
    assert main(args[:2] + args[4:]) == 2  # no --checkpoint
    assert main(["audit", "--consistency", "a", "b", "--log-key", LOG_KEY]) == 2  # no --proof
    assert main([*args[:-1], str(tmp_path / "missing.jsonl")]) == 2
    # The monitor keeps what it saw in --state: without one there is nothing to compare to.
    assert main(["audit", "--url", "http://127.0.0.1:9", "--log-key", LOG_KEY]) == 2
    assert capsys.readouterr().err.count("carbonlabel: error:") == 4

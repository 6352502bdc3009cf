"""The kit's C2SP tlog-witness: every add-checkpoint status code, durability, fork evidence."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from credentials.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_cosigned_checkpoint,
    sign_checkpoint,
)
from credentials.keys import KeyPair
from credentials.merkle import consistency_proof, leaf_hash, root_hash
from credentials.witness import (
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    STATE_FILE,
    Evidence,
    Witness,
    WitnessError,
    add_checkpoint_request,
)

ORIGIN = "log.example/carbon"
LOG = NoteSigner(ORIGIN, KeyPair.from_seed(b"\x01" * 32))
OTHER_LOG = NoteSigner("other.example/log", KeyPair.from_seed(b"\x05" * 32))
IMPOSTOR = NoteSigner(ORIGIN, KeyPair.from_seed(b"\x66" * 32))
LEAVES = [leaf_hash(b"entry %d" % i) for i in range(20)]
NOW = 1_780_000_000


def note(size: int, leaves: list[bytes] = LEAVES, signer: NoteSigner = LOG) -> str:
    return sign_checkpoint(Checkpoint(signer.name, size, root_hash(leaves[:size])), signer)


def proof(old: int, new: int, leaves: list[bytes] = LEAVES) -> list[bytes]:
    return consistency_proof(old, leaves[:new]) if old > 0 else []


@pytest.fixture
def reports() -> list[Evidence]:
    return []


@pytest.fixture
def witness(tmp_path: Path, reports: list[Evidence]) -> Witness:
    Witness.init(tmp_path / "w", "witness.example/w1")
    witness = Witness(tmp_path / "w", clock=lambda: NOW, on_evidence=reports.append)
    witness.trust(LOG.verifier_key())
    return witness


def add(witness: Witness, old: int, size: int, hashes: list[bytes] | None = None) -> int:
    body = add_checkpoint_request(old, proof(old, size) if hashes is None else hashes, note(size))
    return witness.add_checkpoint(body)[0]


def verify(witness: Witness, checkpoint_note: str, cosignature: bytes) -> int:
    witness_key = NoteVerifier.from_verifier_key(witness.verifier_key)
    opened = open_cosigned_checkpoint(
        checkpoint_note + cosignature.decode(),
        verifier=NoteVerifier.from_verifier_key(LOG.verifier_key()),
        witnesses=[witness_key],
        quorum=1,
    )
    assert opened.cosignatures[0].timestamp == NOW
    return opened.checkpoint.size


def test_init_makes_a_private_key_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    witness = Witness.init(tmp_path / "w", "witness.example/w1")
    mode = stat.S_IMODE((tmp_path / "w" / "witness.key").stat().st_mode)
    assert mode == 0o600
    assert witness.verifier_key.startswith("witness.example/w1+")
    assert NoteVerifier.from_verifier_key(witness.verifier_key).key_type == 0x04
    with pytest.raises(WitnessError, match="keeps its key"):
        Witness.init(tmp_path / "w", "witness.example/w2")
    os.chmod(tmp_path / "w" / "witness.key", 0o644)
    with pytest.raises(WitnessError, match="owner only"):
        Witness(tmp_path / "w")


def test_trust_refuses_a_cosignature_key_as_a_log_key(witness: Witness) -> None:
    with pytest.raises(WitnessError, match="Ed25519"):
        witness.trust(witness.verifier_key)
    with pytest.raises(WitnessError, match="verifier key"):
        witness.trust("not a key")


def test_first_and_following_checkpoints_are_cosigned(witness: Witness) -> None:
    body = add_checkpoint_request(0, [], note(5))
    status, headers, cosignature = witness.add_checkpoint(body)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert cosignature.startswith("— witness.example/w1 ".encode())
    assert verify(witness, note(5), cosignature) == 5
    status, _, cosignature = witness.add_checkpoint(
        add_checkpoint_request(5, proof(5, 13), note(13))
    )
    assert status == 200
    assert verify(witness, note(13), cosignature) == 13
    stored = witness.cosigned(ORIGIN)
    assert stored is not None
    assert stored[:2] == (13, root_hash(LEAVES[:13]))
    # Same size, same root: cosigned again (a log may re-ask after losing the answer).
    assert add(witness, 13, 13) == 200


def test_size_zero_needs_the_empty_root(witness: Witness) -> None:
    assert add(witness, 0, 0) == 200
    bad = sign_checkpoint(Checkpoint(ORIGIN, 0, hashlib.sha256(b"x").digest()), LOG)
    assert witness.add_checkpoint(add_checkpoint_request(0, [], bad))[0] == 422


def test_unknown_origin_is_404(witness: Witness) -> None:
    body = add_checkpoint_request(0, [], note(3, signer=OTHER_LOG))
    assert witness.add_checkpoint(body)[0] == 404


def test_bad_or_untrusted_log_signature_is_403(witness: Witness) -> None:
    forged = note(3, signer=IMPOSTOR)  # right origin, another key: no trusted signature
    assert witness.add_checkpoint(add_checkpoint_request(0, [], forged))[0] == 403
    genuine = note(3)
    text, _, line = genuine.partition("\n\n")
    tampered = text.replace("\n3\n", "\n4\n") + "\n\n" + line
    assert witness.add_checkpoint(add_checkpoint_request(0, [], tampered))[0] == 403
    assert witness.cosigned(ORIGIN) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 01\n\n",
        b"old -1\n\n",
        b"old 3\n",
        b"new 3\n\n",
        b"old 3\nnot base64!\n\n",
        b"old 3\nAAAA\n\n",
        b"\xff\xfe",
        b"old 0\n\nnot a note\n",
    ],
)
def test_malformed_requests_are_400(witness: Witness, body: bytes) -> None:
    assert witness.add_checkpoint(body)[0] == 400


def test_too_many_proof_lines_are_400(witness: Witness) -> None:
    hashes = [LEAVES[0]] * (MAX_PROOF_LINES + 1)
    assert add(witness, 3, 5, hashes) == 400


def test_old_above_the_checkpoint_size_is_400(witness: Witness) -> None:
    assert add(witness, 0, 8) == 200
    assert witness.add_checkpoint(add_checkpoint_request(9, [], note(8)))[0] == 400


def test_old_other_than_the_cosigned_size_is_409_with_that_size(witness: Witness) -> None:
    assert add(witness, 0, 7) == 200
    status, headers, body = witness.add_checkpoint(add_checkpoint_request(0, [], note(9)))
    assert (status, headers["Content-Type"], body) == (409, SIZE_CONTENT_TYPE, b"7\n")
    status, _, body = witness.add_checkpoint(add_checkpoint_request(5, proof(5, 9), note(9)))
    assert (status, body) == (409, b"7\n")
    assert add(witness, 7, 9) == 200


def test_failing_consistency_proof_is_422_and_kept_as_evidence(
    witness: Witness, reports: list[Evidence]
) -> None:
    assert add(witness, 0, 6) == 200
    assert add(witness, 6, 10, proof(5, 10)) == 422  # a proof from the wrong size
    forked = [*LEAVES[:3], leaf_hash(b"rewritten"), *LEAVES[4:]]
    body = add_checkpoint_request(6, proof(6, 10, forked), note(10, forked))
    assert witness.add_checkpoint(body)[0] == 422
    assert witness.cosigned(ORIGIN) is not None
    assert witness.cosigned(ORIGIN)[0] == 6  # type: ignore[index]
    evidence = witness.evidence()
    assert [e.offered_note for e in evidence] == [note(10), note(10, forked)]
    assert all(e.cosigned_note == note(6) and e.recorded_at == NOW for e in evidence)
    assert reports == evidence


def test_old_zero_with_a_proof_is_422(witness: Witness) -> None:
    assert add(witness, 0, 4, [LEAVES[0]]) == 422


def test_a_fork_at_one_size_is_refused_and_recorded(
    witness: Witness, reports: list[Evidence]
) -> None:
    assert add(witness, 0, 6) == 200
    forked = [leaf_hash(b"other"), *LEAVES[1:]]
    status, _, body = witness.add_checkpoint(add_checkpoint_request(6, [], note(6, forked)))
    assert status == 409  # tlog-witness: equal sizes with different roots is a Conflict
    assert b"two roots at size 6" in body
    (evidence,) = witness.evidence()
    assert (evidence.cosigned_note, evidence.offered_note) == (note(6), note(6, forked))
    assert reports == [evidence]
    # The evidence survives a restart: it is in the SQLite file, committed.
    with sqlite3.connect(witness.directory / STATE_FILE) as conn:
        assert conn.execute("SELECT count(*) FROM evidence").fetchone() == (1,)


def test_concurrent_requests_never_roll_the_state_back(witness: Witness) -> None:
    assert add(witness, 0, 4) == 200
    statuses: list[int] = []
    bodies = [add_checkpoint_request(4, proof(4, n), note(n)) for n in (8, 12, 16, 20)]
    threads = [
        threading.Thread(target=lambda b=b: statuses.append(witness.add_checkpoint(b)[0]))
        for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each saw old 4: exactly one wins; the others learn the new size.
    assert sorted(statuses) == [200, 409, 409, 409]
    stored = witness.cosigned(ORIGIN)
    assert stored is not None
    assert stored[0] in (8, 12, 16, 20)


def test_cli_init_trust_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from credentials.cli import main

    directory = str(tmp_path / "cli")
    assert main(["witness", "init", directory, "--name", "witness.example/cli"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert Witness(Path(directory)).verifier_key == vkey
    assert main(["witness", "trust", directory, LOG.verifier_key()]) == 0
    assert capsys.readouterr().out == f"trusting log {ORIGIN}\n"
    assert main(["witness", "trust", directory, vkey]) == 2  # a witness key is no log key
    assert main(["witness", "init", directory, "--name", "witness.example/cli"]) == 2
    assert main(["witness", "serve", directory, "--listen", "nowhere"]) == 2
    assert main(["witness", "trust", str(tmp_path / "missing"), LOG.verifier_key()]) == 2
    assert "not a witness directory" in capsys.readouterr().err

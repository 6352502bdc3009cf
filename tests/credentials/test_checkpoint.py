"""C2SP signed notes, checkpoints and cosignatures: spec and Go vectors, attacks, properties."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CosignatureSigner,
    NoteSigner,
    NoteVerifier,
    cosign,
    open_checkpoint,
    open_cosigned_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from credentials.errors import NoteError
from credentials.keys import KeyPair
from tests.conftest import load_vector

NOTES: dict[str, Any] = load_vector("signed-note/notes.json")
KEYS = {k["label"]: k for k in NOTES["keys"]}
PETER = NoteSigner.from_signer_key(KEYS["PeterNeumann"]["skey"])
ENOCH = NoteSigner.from_signer_key(KEYS["EnochRoot"]["skey"])

LOG = NoteSigner("log.example/carbon", KeyPair.from_seed(b"\x01" * 32))
WITNESS = CosignatureSigner("witness.example/w1", KeyPair.from_seed(b"\x02" * 32))
WITNESS2 = CosignatureSigner("witness.example/w2", KeyPair.from_seed(b"\x03" * 32))
ATTACKER = KeyPair.from_seed(b"\x66" * 32)
ROOT = hashlib.sha256(b"root").digest()
CHECKPOINT = Checkpoint(LOG.name, 42, ROOT)

# How each expected result must surface: every rejection is a NoteError, told apart by reason.
REASONS = {
    "invalid": "invalid signature for key",
    "unverified": "no verifiable signatures",
    "error": "ambiguous key",
}


def _record_ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _sig_b64(sig: Any) -> str:
    return base64.b64encode(sig.key_id + sig.signature).decode()


def _flip(data: bytes, position: int, mask: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] ^= mask
    return bytes(out)


# --- Vectors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", NOTES["verifierKeyCases"], ids=_record_ids(NOTES["verifierKeyCases"])
)
def test_verifier_key_case(case: dict[str, Any]) -> None:
    """vkey cases from Go's TestNewVerifier.

    vkey-wrong-length-key ("…BADKEY==") is refused earlier than in Go: its base64 has non-zero
    padding bits, and we only accept canonical base64. test_verifier_key_length_check covers
    the length check itself.
    """
    if case["expectedValid"]:
        verifier = NoteVerifier.from_verifier_key(case["vkey"])
        assert verifier.key_id.hex() == case["keyIdHex"]
        assert verifier.key_type == ED25519
        assert verifier.verifier_key() == case["vkey"]
    else:
        with pytest.raises(NoteError):
            NoteVerifier.from_verifier_key(case["vkey"])


@pytest.mark.parametrize("key", NOTES["keys"], ids=[k["label"] for k in NOTES["keys"]])
def test_published_keys(key: dict[str, Any]) -> None:
    verifier = NoteVerifier.from_verifier_key(key["vkey"])
    assert (verifier.name, verifier.key_id.hex()) == (key["name"], key["keyIdHex"])
    assert verifier.public_key.raw.hex() == key["publicKeyHex"]
    if "skey" in key:
        signer = NoteSigner.from_signer_key(key["skey"])
        assert signer.signer_key() == key["skey"]
        assert signer.verifier_key() == key["vkey"]
        assert signer.verifier() == verifier


@pytest.mark.parametrize("record", NOTES["records"], ids=_record_ids(NOTES["records"]))
def test_signed_note_record(record: dict[str, Any]) -> None:
    """Each record opened from its exact bytes; results follow Go's note.Open.

    Go-specific expectations we keep: duplicate lines are dropped, a key configured twice is
    an error only when a line selects it, more than 100 signature lines is malformed.
    """
    note = base64.b64decode(record["noteBase64"])
    verifiers = [NoteVerifier.from_verifier_key(v) for v in record["verifierKeys"]]
    for verifier in verifiers:
        assert verifier.key_id.hex() == record["expectedKeyIds"][verifier.verifier_key()]
    expected = record["expected"]
    if not expected["valid"]:
        with pytest.raises(NoteError) as info:
            open_note(note, verifiers=verifiers)
        reason = str(info.value)
        if expected["result"] in REASONS:
            assert REASONS[expected["result"]] in reason
        else:
            assert expected["result"] == "malformed"
            assert not any(r in reason for r in REASONS.values()), reason
        return
    opened = open_note(note, verifiers=verifiers)
    assert opened.text == record["noteText"]
    got = [(s.name, s.key_id.hex(), _sig_b64(s)) for s in opened.signatures]
    want = [
        (s["name"], s["keyIdHex"], s["signatureBase64"]) for s in expected["verifiedSignatures"]
    ]
    assert got == want
    ignored = [(s.name, s.key_id.hex(), _sig_b64(s)) for s in opened.unverified]
    assert ignored == [
        (s["name"], s["keyIdHex"], s["signatureBase64"]) for s in expected["ignoredSignatures"]
    ]
    if record["note"] is not None:
        assert open_note(record["note"], verifiers=verifiers) == opened


def test_signing_reproduces_go_notes() -> None:
    """Ed25519 is deterministic, so our signer must emit Go's notes byte for byte."""
    by_id = {r["id"]: r for r in NOTES["records"]}
    text = by_id["go-open-peter"]["noteText"]
    assert sign_note(text, PETER) == by_id["go-open-peter"]["note"]
    assert sign_note(text, PETER, ENOCH) == by_id["go-open-two-sigs-both-known"]["note"]


@pytest.mark.parametrize(
    "example", NOTES["parseOnlyExamples"], ids=_record_ids(NOTES["parseOnlyExamples"])
)
def test_parse_only_example_is_well_formed_but_unverified(example: dict[str, Any]) -> None:
    """No public key is published, so these must come out 'unverified' (not 'malformed')."""
    known = [NoteVerifier.from_verifier_key(k["vkey"]) for k in NOTES["keys"]]
    known += [NoteVerifier.for_key(v.name, v.public_key, key_type=COSIGNATURE_V1) for v in known]
    for verifiers in ([], known):
        with pytest.raises(NoteError, match="no verifiable signatures"):
            open_note(example["note"], verifiers=verifiers)
    if "checkpoint" in example:
        fields = example["checkpoint"]
        checkpoint = Checkpoint.parse(example["noteText"])
        assert checkpoint.origin == fields["origin"]
        assert checkpoint.size == fields["treeSize"]
        assert checkpoint.root_hash.hex() == fields["rootHashHex"]
        assert checkpoint.extensions == tuple(fields["extensionLines"])
        assert checkpoint.to_text() == example["noteText"]


def test_cosignature_example_layout_and_message() -> None:
    """The spec's cosignature: key ID ‖ u64 time ‖ Ed25519, over the spec's exact message."""
    example = next(e for e in NOTES["parseOnlyExamples"] if "cosignature" in e)
    cosig = example["cosignature"]
    raw = base64.b64decode(example["signatures"][1]["signatureBase64"])
    assert len(raw) == 4 + 8 + 64
    assert raw[:4].hex() == cosig["keyIdHex"]
    assert int.from_bytes(raw[4:12], "big") == cosig["timestamp"]
    assert raw[12:].hex() == cosig["ed25519SignatureHex"]
    Checkpoint.parse(example["noteText"])
    # Our witness signs exactly the spec's signed message for this body and time.
    signed = WITNESS.sign(example["noteText"].encode(), timestamp=cosig["timestamp"])
    assert signed[:8] == raw[4:12]
    verify_key = nacl.signing.VerifyKey(WITNESS.key_pair.public_key.raw)
    verify_key.verify(cosig["signedMessage"].encode(), signed[8:])


# --- Keys ---------------------------------------------------------------------------------------


def test_key_strings() -> None:
    pub = LOG.key_pair.public_key.raw
    key_id = hashlib.sha256(LOG.name.encode() + b"\n\x01" + pub).digest()[:4]
    assert LOG.key_id == key_id
    material = base64.b64encode(b"\x01" + pub).decode()
    assert LOG.verifier_key() == f"{LOG.name}+{key_id.hex()}+{material}"
    assert LOG.signer_key().startswith(f"PRIVATE+KEY+{LOG.name}+{key_id.hex()}+")
    assert NoteSigner.from_signer_key(LOG.signer_key()) == LOG
    witness = NoteVerifier.from_verifier_key(WITNESS.verifier_key())
    assert witness.key_type == COSIGNATURE_V1
    witness_pub = WITNESS.key_pair.public_key.raw
    assert witness.key_id == hashlib.sha256(b"witness.example/w1\n\x04" + witness_pub).digest()[:4]
    assert CosignatureSigner.from_signer_key(WITNESS.signer_key()) == WITNESS


@pytest.mark.parametrize(
    "vkey",
    [
        PETER.verifier_key().replace("c74f20a3", "C74F20A3"),  # Go's ParseUint would accept it
        PETER.verifier_key() + "\n",
        " " + PETER.verifier_key(),
        PETER.verifier_key().replace("PeterNeumann", "Peter Neumann"),
        PETER.verifier_key().replace("+c74f20a3+", "+0xc74f20a+"),
        "PeterNeumann++ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_verifier_key_strictness(vkey: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_verifier_key(vkey)


@pytest.mark.parametrize("key_type", [0x00, 0x02, 0x05, 0xFF, 0x100])
def test_unsupported_key_types(key_type: int) -> None:
    with pytest.raises(NoteError, match="unknown verifier algorithm"):
        NoteVerifier.for_key("n", LOG.key_pair.public_key, key_type=key_type)


def test_verifier_key_length_check() -> None:
    """A 33-byte key whose key ID is consistent is refused by the length check alone."""
    material = b"\x01" + bytes(33)
    key_id = hashlib.sha256(b"n\n" + material).digest()[:4].hex()
    vkey = f"n+{key_id}+{base64.b64encode(material).decode()}"
    with pytest.raises(NoteError, match="32 bytes"):
        NoteVerifier.from_verifier_key(vkey)


@pytest.mark.parametrize(
    "skey",
    [
        LOG.signer_key().replace("PRIVATE+KEY", "PRIVATE+KEYS"),
        WITNESS.signer_key(),  # a cosigner key is not a note key
        LOG.signer_key().replace(LOG.key_id.hex(), "00000000"),
        LOG.signer_key()[:-4],
    ],
)
def test_signer_key_rejects(skey: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner.from_signer_key(skey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\x01b", "a\u2028b", "\ud800"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(NoteError):
        NoteSigner(name, LOG.key_pair)
    with pytest.raises(NoteError):
        NoteVerifier.for_key(name, LOG.key_pair.public_key)


# --- Signing rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["no newline", "bell\x07\n", "tab\tinside\n", "\ud800\n"])
def test_sign_note_refuses_bad_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, LOG)


def test_sign_note_needs_a_signer() -> None:
    with pytest.raises(NoteError, match="at least one"):
        sign_note("text\n")


def test_text_with_blank_lines_round_trips() -> None:
    """The text may contain blank lines; the signatures start after the last one."""
    text = "a\n\nb\n\n"
    assert open_note(sign_note(text, LOG), verifiers=[LOG.verifier()]).text == text


# --- Named attacks ------------------------------------------------------------------------------


def test_attack_signature_from_another_key_with_the_same_name() -> None:
    """An impostor's key under the trusted name has another key ID: ignored, so unverified."""
    impostor = NoteSigner(LOG.name, ATTACKER)
    note = sign_note("pay mallory\n", impostor)
    with pytest.raises(NoteError, match="no verifiable signatures"):
        open_note(note, verifiers=[LOG.verifier()])


def test_attack_key_id_collision_with_wrong_key() -> None:
    """A line claiming the trusted (name, key ID) but signed by another key rejects the note.

    Key IDs are 32 bits, so grinding a colliding key is cheap; the signature check stops it,
    even when a genuine signature is also present.
    """
    text = "pay mallory\n"
    forged = ATTACKER.sign(text.encode())
    line = f"— {LOG.name} {base64.b64encode(LOG.key_id + forged).decode()}\n"
    with pytest.raises(NoteError, match="invalid signature for key"):
        open_note(text + "\n" + line, verifiers=[LOG.verifier()])
    with pytest.raises(NoteError, match="invalid signature for key"):
        open_note(sign_note(text, LOG) + line, verifiers=[LOG.verifier()])


def test_attack_ambiguous_verifier_configuration() -> None:
    verifier = LOG.verifier()
    with pytest.raises(NoteError, match="ambiguous key"):
        open_note(sign_note("x\n", LOG), verifiers=[verifier, verifier])


def test_attack_non_canonical_base64_signature() -> None:
    """Two encodings of one signature would let a copy slip past duplicate detection."""
    note = sign_note("x\n", LOG)
    body, b64 = note.rstrip("\n").rsplit(" ", 1)
    raw = base64.b64decode(b64)
    assert b64.endswith("=")
    assert len(raw) == 68
    last = base64.b64encode(raw).decode()[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = b64[:-2] + alphabet[alphabet.index(last) ^ 1] + "="
    assert base64.b64decode(twin) == raw
    with pytest.raises(NoteError, match="canonical"):
        open_note(f"{body} {twin}\n", verifiers=[LOG.verifier()])


@pytest.mark.parametrize(
    "line",
    [
        "— Bad Name {b64}",  # name with a space: the rest is not base64
        "—  {b64}",  # empty name
        "— {name}",  # no signature
        "— {name} AAAA",  # 3 bytes: no room for key ID and signature
        "-- {name} {b64}",  # ASCII dashes instead of U+2014
        "—{name} {b64}",  # no space after the dash
        "— {name} {b64} trailing",
        "— {name} {b64}\r",
    ],
)
def test_malformed_signature_lines(line: str) -> None:
    good = sign_note("x\n", LOG)
    b64 = good.rstrip("\n").rsplit(" ", 1)[1]
    bad = "x\n\n" + line.format(name=LOG.name, b64=b64) + "\n"
    with pytest.raises(NoteError) as info:
        open_note(bad, verifiers=[LOG.verifier()])
    assert not any(r in str(info.value) for r in REASONS.values())


def test_attack_checkpoint_origin_mismatch() -> None:
    other = Checkpoint("other.example/log", 42, ROOT)
    with pytest.raises(NoteError, match="origin"):
        sign_checkpoint(other, LOG)
    note = sign_note(other.to_text(), LOG)
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, verifier=LOG.verifier())


@pytest.mark.parametrize(
    "size", ["012", "00", "+12", " 12", "12 ", "1_000", "-1", "", "١٢", "0x1f"]
)
def test_attack_checkpoint_size_not_canonical_decimal(size: str) -> None:
    root = base64.b64encode(ROOT).decode()
    note = sign_note(f"{LOG.name}\n{size}\n{root}\n", LOG)
    with pytest.raises(NoteError, match="size"):
        open_checkpoint(note, verifier=LOG.verifier())


def test_attack_checkpoint_size_beyond_uint64() -> None:
    root = base64.b64encode(ROOT).decode()
    note = sign_note(f"{LOG.name}\n{2**64}\n{root}\n", LOG)
    with pytest.raises(NoteError, match="uint64"):
        open_checkpoint(note, verifier=LOG.verifier())


@pytest.mark.parametrize(
    "root",
    [
        base64.b64encode(ROOT[:31]).decode(),
        base64.b64encode(ROOT + b"\x00").decode(),
        base64.urlsafe_b64encode(b"\xff" * 32).decode(),
        base64.b64encode(ROOT).decode().rstrip("="),
        "",
    ],
)
def test_attack_checkpoint_root_hash_wrong_length_or_encoding(root: str) -> None:
    note = sign_note(f"{LOG.name}\n42\n{root}\n", LOG)
    with pytest.raises(NoteError, match="root hash"):
        open_checkpoint(note, verifier=LOG.verifier())


@pytest.mark.parametrize(
    "text",
    [
        "{origin}\n42\n{root}\n\n",  # trailing blank line
        "\n{origin}\n42\n{root}\n",  # leading blank line
        "{origin}\n\n42\n{root}\n",  # blank line inside
        "{origin}\n42\n{root}\next\n\n",  # blank line after an extension
        "{origin}\n42\n",  # no root
    ],
)
def test_attack_checkpoint_extra_blank_lines(text: str) -> None:
    body = text.format(origin=LOG.name, root=base64.b64encode(ROOT).decode())
    note = sign_note(body, LOG)
    with pytest.raises(NoteError):
        open_checkpoint(note, verifier=LOG.verifier())


def test_attack_witness_key_used_as_log_key() -> None:
    with pytest.raises(NoteError, match="type 0x01"):
        open_checkpoint(sign_checkpoint(CHECKPOINT, LOG), verifier=WITNESS.verifier())


def _cosigned(timestamp: int = 1_700_000_000) -> str:
    note = sign_checkpoint(CHECKPOINT, LOG)
    return cosign(note, WITNESS, timestamp=timestamp, log_verifier=LOG.verifier())


def test_attack_cosigned_note_without_the_log_signature() -> None:
    """A witness-only note passes open_note's generic rule; a checkpoint must not."""
    body = CHECKPOINT.to_text()
    signature = WITNESS.sign(body.encode(), timestamp=5)
    line = f"— {WITNESS.name} {base64.b64encode(WITNESS.key_id + signature).decode()}\n"
    note = body + "\n" + line
    open_note(note, verifiers=[LOG.verifier(), WITNESS.verifier()])
    with pytest.raises(NoteError, match="not signed by the log"):
        open_cosigned_checkpoint(
            note, verifier=LOG.verifier(), witnesses=[WITNESS.verifier()], quorum=1
        )


def test_attack_cosignature_moved_to_another_checkpoint() -> None:
    stolen = _cosigned().splitlines(keepends=True)[-1]
    other = sign_checkpoint(Checkpoint(LOG.name, 43, ROOT), LOG) + stolen
    with pytest.raises(NoteError, match="invalid signature for key"):
        open_cosigned_checkpoint(
            other, verifier=LOG.verifier(), witnesses=[WITNESS.verifier()], quorum=1
        )


def test_attack_one_witness_key_under_two_names_counts_once() -> None:
    alias = CosignatureSigner("alias.example/w", WITNESS.key_pair)
    note = cosign(_cosigned(), alias, timestamp=7, log_verifier=LOG.verifier())
    witnesses = [WITNESS.verifier(), alias.verifier()]
    opened = open_cosigned_checkpoint(note, verifier=LOG.verifier(), witnesses=witnesses, quorum=1)
    assert len(opened.cosignatures) == 2
    with pytest.raises(NoteError, match="1 distinct witness"):
        open_cosigned_checkpoint(note, verifier=LOG.verifier(), witnesses=witnesses, quorum=2)


def test_attack_cosignature_timestamp_beyond_2_63() -> None:
    body = CHECKPOINT.to_text().encode()
    timestamp = 2**63
    message = b"cosignature/v1\ntime %d\n" % timestamp + body
    raw = WITNESS.key_id + timestamp.to_bytes(8, "big") + WITNESS.key_pair.sign(message)
    note = sign_checkpoint(CHECKPOINT, LOG) + f"— {WITNESS.name} {base64.b64encode(raw).decode()}\n"
    with pytest.raises(NoteError, match="timestamp"):
        open_note(note, verifiers=[WITNESS.verifier()])
    with pytest.raises(NoteError, match="timestamp"):
        WITNESS.sign(body, timestamp=timestamp)


def test_witness_refuses_unverified_checkpoints() -> None:
    forged = sign_checkpoint(
        Checkpoint("log.example/carbon", 1, ROOT), NoteSigner(LOG.name, ATTACKER)
    )
    with pytest.raises(NoteError, match="no verifiable signatures"):
        cosign(forged, WITNESS, timestamp=1, log_verifier=LOG.verifier())


@pytest.mark.parametrize("quorum", [0, 2, -1])
def test_quorum_must_be_satisfiable(quorum: int) -> None:
    with pytest.raises(NoteError, match="quorum"):
        open_cosigned_checkpoint(
            _cosigned(), verifier=LOG.verifier(), witnesses=[WITNESS.verifier()], quorum=quorum
        )


def test_witnesses_must_be_cosignature_keys() -> None:
    with pytest.raises(NoteError, match="type 0x04"):
        open_cosigned_checkpoint(
            _cosigned(), verifier=LOG.verifier(), witnesses=[LOG.verifier()], quorum=1
        )


def test_quorum_counts_only_verified_witnesses() -> None:
    witnesses = [WITNESS.verifier(), WITNESS2.verifier()]
    with pytest.raises(NoteError, match="quorum is 2"):
        open_cosigned_checkpoint(
            _cosigned(), verifier=LOG.verifier(), witnesses=witnesses, quorum=2
        )
    both = cosign(_cosigned(), WITNESS2, timestamp=9, log_verifier=LOG.verifier())
    opened = open_cosigned_checkpoint(both, verifier=LOG.verifier(), witnesses=witnesses, quorum=2)
    assert [(s.name, s.timestamp) for s in opened.cosignatures] == [
        (WITNESS.name, 1_700_000_000),
        (WITNESS2.name, 9),
    ]


# --- Properties ---------------------------------------------------------------------------------

seeds = st.binary(min_size=32, max_size=32)
names = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="+"),
    min_size=1,
    max_size=16,
).filter(lambda s: not any(c.isspace() for c in s))
lines = st.text(st.characters(exclude_categories=["Cs"], min_codepoint=0x20), max_size=24)
texts = st.lists(lines, min_size=1, max_size=5).map(lambda ls: "\n".join(ls) + "\n")
checkpoints = st.builds(
    Checkpoint,
    origin=names,
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(lines.filter(bool), max_size=2).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(text=texts, keys=st.lists(st.tuples(names, seeds), min_size=1, max_size=3))
def test_sign_then_open_round_trips(text: str, keys: list[tuple[str, bytes]]) -> None:
    signers = [NoteSigner(name, KeyPair.from_seed(seed)) for name, seed in keys]
    distinct = {s.key_id + s.name.encode(): s for s in signers}
    opened = open_note(
        sign_note(text, *signers), verifiers=[s.verifier() for s in distinct.values()]
    )
    assert opened.text == text
    assert {(s.name, s.key_id) for s in opened.signatures} == {
        (s.name, s.key_id) for s in distinct.values()
    }


@settings(max_examples=200, deadline=None)
@given(text=texts, name=names, seed=seeds, pos=st.integers(0), mask=st.integers(1, 255))
def test_any_flipped_byte_of_a_note_fails(
    text: str, name: str, seed: bytes, pos: int, mask: int
) -> None:
    signer = NoteSigner(name, KeyPair.from_seed(seed))
    note = sign_note(text, signer).encode()
    with pytest.raises(NoteError):
        open_note(_flip(note, pos, mask), verifiers=[signer.verifier()])


@settings(max_examples=100, deadline=None)
@given(checkpoint=checkpoints, seed=seeds)
def test_checkpoint_round_trips(checkpoint: Checkpoint, seed: bytes) -> None:
    assert Checkpoint.parse(checkpoint.to_text()) == checkpoint
    signer = NoteSigner(checkpoint.origin, KeyPair.from_seed(seed))
    assert open_checkpoint(sign_checkpoint(checkpoint, signer), verifier=signer.verifier()) == (
        checkpoint
    )


@settings(max_examples=150, deadline=None)
@given(
    timestamp=st.integers(0, 2**63 - 1),
    pos=st.integers(0),
    mask=st.integers(1, 255),
)
def test_cosigned_checkpoint_round_trips_and_flips_fail(
    timestamp: int, pos: int, mask: int
) -> None:
    note = _cosigned(timestamp)
    args: dict[str, Any] = {"verifier": LOG.verifier(), "witnesses": [WITNESS.verifier()]}
    opened = open_cosigned_checkpoint(note, quorum=1, **args)
    assert opened.checkpoint == CHECKPOINT
    assert [(s.name, s.timestamp) for s in opened.cosignatures] == [(WITNESS.name, timestamp)]
    with pytest.raises(NoteError):
        open_cosigned_checkpoint(_flip(note.encode(), pos, mask), quorum=1, **args)

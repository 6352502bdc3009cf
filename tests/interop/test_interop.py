"""Cross-implementation interoperability: our kit against Digital Bazaar's JavaScript stack.

The second implementation is @digitalbazaar/vc + data-integrity + the eddsa-rdfc-2022 and
eddsa-jcs-2022 cryptosuites (jsonld.js toRDF in safe mode + rdf-canonize RDFC-1.0, the
W3C name of URDNA2015), pinned in ``package-lock.json`` beside this file and driven by
``verify.mjs``. Its document loader serves only the contexts we export to ``tmp_path`` and
did:key documents it builds from the DID itself: there is no network.

node and npm: when ``CI`` is unset and either is missing, these tests skip; when ``CI`` is
set, a missing node or npm is a failure. ``node_modules`` is installed with ``npm ci`` once
per session when it is missing or does not match the pinned versions.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from credentials.credential import PactSource, build_label_credential
from credentials.cryptosuites import sign_document, verify_document
from credentials.errors import CredentialError
from credentials.jsonld import DEFAULT_LOADER, canonicalize_rdfc
from credentials.keys import KeyPair
from tests.conftest import npm_pins_installed
from tests.credentials.factories import ISSUED_AT, body_key, sample_label

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "verify.mjs"
RDFC = "eddsa-rdfc-2022"
JCS = "eddsa-jcs-2022"
SUITES = [RDFC, JCS]
CREDENTIAL_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/carbon-label/v1"]
# inside every sample credential's validity window (2026-03-01 .. 2029-02-28)
VERIFY_AT = "2026-06-01T00:00:00Z"
CREATED = "2026-03-01T08:30:00Z"
NODE_TIMEOUT = 60
NPM_TIMEOUT = 600


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not on PATH: the interop tests need node >= 20 and npm"
        if "CI" in os.environ:
            pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def node() -> str:
    """Path of node, with this folder's pinned packages installed."""
    node_path = _tool("node")
    npm_path = _tool("npm")
    if not npm_pins_installed(HERE):
        result = subprocess.run(  # noqa: S603
            [npm_path, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {HERE}:\n{result.stdout}\n{result.stderr}")
        assert npm_pins_installed(HERE), "npm ci did not install the pinned versions"
    return node_path


@pytest.fixture(scope="session")
def contexts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every context our loader serves, as files + index.json (url, file, sha256)."""
    folder = tmp_path_factory.mktemp("exported-contexts")
    index = []
    for number, (url, data) in enumerate(sorted(DEFAULT_LOADER.export().items())):
        slug = re.sub(r"[^a-z0-9]+", "-", url.lower().split("://", 1)[-1]).strip("-")
        name = f"{number:02d}-{slug}.jsonld"
        (folder / name).write_bytes(data)
        index.append({"url": url, "file": name, "sha256": hashlib.sha256(data).hexdigest()})
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return folder


def _run_js(node: str, job: dict[str, Any], *, expect_exit: int = 0) -> Any:
    result = subprocess.run(  # noqa: S603
        [node, str(SCRIPT)],
        input=json.dumps(job),
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert result.returncode == expect_exit, (
        f"verify.mjs exited {result.returncode} (expected {expect_exit})\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return json.loads(result.stdout)


def _js_verify(node: str, contexts_dir: Path, credential: dict[str, Any]) -> dict[str, Any]:
    job = {
        "action": "verify",
        "contextsDir": str(contexts_dir),
        "credential": credential,
        "now": VERIFY_AT,
    }
    outcome: dict[str, Any] = _run_js(node, job)
    return outcome


def _key() -> KeyPair:
    return body_key(3)


def _unsigned(key: KeyPair) -> dict[str, Any]:
    return build_label_credential(sample_label(key))


def _ours(key: KeyPair, cryptosuite: str) -> dict[str, Any]:
    return sign_document(_unsigned(key), key=key, cryptosuite=cryptosuite, created=ISSUED_AT)


def test_sample_is_a_realistic_label_credential() -> None:
    credential = _unsigned(_key())
    assert credential["@context"] == CREDENTIAL_CONTEXTS
    assert credential["type"] == ["VerifiableCredential", "CarbonLabelCredential"]
    assert credential["credentialSubject"]["footprint"]["value"] == "61.2"
    assert credential["issuer"]["id"] == _key().did
    assert len(credential["credentialStatus"]) == 2


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_js_verifies_a_credential_our_kit_signed(
    node: str, contexts_dir: Path, cryptosuite: str
) -> None:
    key = _key()
    credential = _ours(key, cryptosuite)
    outcome = _js_verify(node, contexts_dir, credential)
    assert outcome["verified"] is True, outcome["errors"]
    assert outcome["errors"] == []
    assert outcome["proofs"] == [
        {
            "cryptosuite": cryptosuite,
            "verified": True,
            "verificationMethod": key.verification_method,
            "purposeValid": True,
        }
    ]
    # Only exported contexts and did:key documents were ever asked for.
    exported = set(DEFAULT_LOADER.export())
    outside = [u for u in outcome["loaded"] if u not in exported and not u.startswith("did:key:")]
    assert outside == []
    if cryptosuite == RDFC:
        assert set(CREDENTIAL_CONTEXTS) <= set(outcome["loaded"])


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_js_rejects_a_tampered_footprint(node: str, contexts_dir: Path, cryptosuite: str) -> None:
    credential = _ours(_key(), cryptosuite)
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["footprint"]["value"] = "16.2"
    outcome = _js_verify(node, contexts_dir, tampered)
    assert outcome["verified"] is False
    assert any("Invalid signature" in e for e in outcome["errors"]), outcome["errors"]
    with pytest.raises(CredentialError):
        verify_document(tampered)


def test_js_safe_mode_refuses_an_undefined_term(node: str, contexts_dir: Path) -> None:
    # Without safe mode, JSON-LD expansion would silently drop the undefined property, the
    # canonical N-Quads would be unchanged and the signature would still "verify".
    credential = _ours(_key(), RDFC)
    credential["credentialSubject"]["offsetBonus"] = "10 t"
    outcome = _js_verify(node, contexts_dir, credential)
    assert outcome["verified"] is False
    assert any("Safe mode validation error" in e for e in outcome["errors"]), outcome["errors"]
    assert any("offsetBonus" in e for e in outcome["errors"]), outcome["errors"]
    with pytest.raises(CredentialError):
        verify_document(credential)


def test_js_loader_refuses_a_context_we_did_not_export(node: str, contexts_dir: Path) -> None:
    credential = _unsigned(_key())
    credential["@context"] = [*CREDENTIAL_CONTEXTS, "https://example.org/not-exported/v1"]
    outcome = _run_js(
        node,
        {"action": "canonize", "contextsDir": str(contexts_dir), "credential": credential},
        expect_exit=2,
    )
    assert any("offline document loader" in e for e in outcome["errors"]), outcome["errors"]


def test_canonical_nquads_are_identical(node: str, contexts_dir: Path) -> None:
    credential = _unsigned(_key())
    job = {"action": "canonize", "contextsDir": str(contexts_dir), "credential": credential}
    theirs = _run_js(node, job)["nquads"]
    ours = canonicalize_rdfc(credential)
    assert theirs.encode("utf-8") == ours.encode("utf-8")
    assert "<https://w3id.org/carbon-label#value>" in ours


@pytest.mark.parametrize(
    ("cryptosuite", "key_form"),
    [(RDFC, "multibase"), (RDFC, "seed"), (JCS, "multibase"), (JCS, "seed")],
)
def test_our_kit_verifies_a_credential_js_signed(
    node: str, contexts_dir: Path, cryptosuite: str, key_form: str
) -> None:
    key = _key()
    job: dict[str, Any] = {
        "action": "sign",
        "contextsDir": str(contexts_dir),
        "credential": _unsigned(key),
        "cryptosuite": cryptosuite,
        "created": CREATED,
    }
    if key_form == "seed":
        job["seedHex"] = key.seed.hex()
    else:
        job["secretKeyMultibase"] = key.secret_multibase
        job["publicKeyMultibase"] = key.public_key.multibase
    signed = _run_js(node, job)

    (verified,) = verify_document(signed)
    assert verified.cryptosuite == cryptosuite
    assert verified.verification_method == key.verification_method
    assert verified.public_key == key.public_key
    assert verified.created is not None
    assert verified.created.isoformat() == ISSUED_AT.isoformat()

    # Ed25519 is deterministic: same key, same created, same canonical input -> the very
    # same signature, and (both sides emit the same proof options) the same document.
    ours = _ours(key, cryptosuite)
    assert signed["proof"]["proofValue"] == ours["proof"]["proofValue"]
    assert signed == ours


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_js_verifies_a_pact_sourced_credential_and_rejects_its_source_rewritten(
    node: str, contexts_dir: Path, cryptosuite: str
) -> None:
    # The PACT context is exported with the others: another implementation defines every
    # term (pactSource, pfId, pfVersion, pfSpecVersion) and so signs them.
    key = _key()
    product = replace(sample_label(key).product, model=None)
    source = PactSource("91715e5e-fd0b-4d1c-8fab-76290c46e6ed", "2.3.0", 3)
    unsigned = build_label_credential(sample_label(key, product=product, pact=source))
    credential = sign_document(unsigned, key=key, cryptosuite=cryptosuite, created=ISSUED_AT)
    outcome = _js_verify(node, contexts_dir, credential)
    assert outcome["verified"] is True, outcome["errors"]
    if cryptosuite == RDFC:
        assert "https://w3id.org/carbon-label/pact/v1" in outcome["loaded"]
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["pactSource"]["pfVersion"] = "4"
    assert _js_verify(node, contexts_dir, tampered)["verified"] is False

"""The demo data set: `flask demo load` and `python -m registry`, on SQLite and PostgreSQL.

Loading commits, so every test gets a fresh database (``fresh_database_url``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from credentials import (
    CheckName,
    CheckStatus,
    Condition,
    NoteVerifier,
    RecognitionOutcome,
    Verdict,
    label_url,
    open_checkpoint,
    recognise_label,
    verify_label,
)
from credentials.lexical import check_gtin
from registry.__main__ import DEMO_FILE, prepare_demo, serve_environment
from registry.auth.models import ApiToken, Role
from registry.auth.services import OPERATOR_CONSOLE, authenticate
from registry.bodies.models import Accreditation, CertificationBody
from registry.db import db, transaction
from registry.demo import DemoAlreadyLoadedError
from registry.demo_data import BODIES, FICTITIOUS_MARKERS, LABELS, PRODUCT_MARKER, RULES
from registry.labels.models import Label, LabelStatus
from registry.labels.verification import trust_for, verify_credential
from registry.ledger.models import LedgerEntry
from registry.ledger.verification import verify_ledger, verify_state
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.schemes.services import create_scheme
from tests.registry.conftest import build_app
from tests.registry.factories import BASE_URL, make_settings

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_COUNTS = {"active": 30, "suspended": 3, "revoked": 3, "superseded": 2}
BASIC = (CheckName.STRUCTURE, CheckName.PROOF, CheckName.VALIDITY)
VERDICTS = {
    LabelStatus.ACTIVE: Verdict.GENUINE,
    # Flagged in its suspension list (no longer current); the bundle says it was superseded.
    LabelStatus.SUPERSEDED: Verdict.SUPERSEDED,
    LabelStatus.SUSPENDED: Verdict.SUSPENDED,
    LabelStatus.REVOKED: Verdict.REVOKED,
}


@pytest.fixture
def demo_app(fresh_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(fresh_database_url, tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _load(app: Flask) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _rows() -> dict[str, int]:
    counted = {"labels": Label, "ledger": LedgerEntry, "tokens": ApiToken, "schemes": Scheme}
    return {
        name: db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for name, model in counted.items()
    }


def _marked(text: str) -> bool:
    return any(marker in text for marker in FICTITIOUS_MARKERS)


def test_demo_load_prints_tokens_and_labels_by_status(demo_app: Flask) -> None:
    out = _load(demo_app)
    assert out["base_url"] == BASE_URL
    labels = out["labels"]
    assert {s: len(labels[s]) for s in EXPECTED_COUNTS} == EXPECTED_COUNTS
    every = [i for s in EXPECTED_COUNTS for i in labels[s]]
    assert len(every) == len(set(every)) == len(LABELS)
    assert set(labels["reinstated"]) <= set(labels["active"])
    assert sorted(i for ids in labels["by_body"].values() for i in ids) == sorted(every)
    tokens = out["tokens"]
    assert set(tokens["certifier"]) == {b.code for b in BODIES}
    with demo_app.app_context():
        stored = {label.id: label for label in db.session.execute(select(Label)).scalars()}
        assert sorted(stored) == sorted(every)
        for status in EXPECTED_COUNTS:
            assert all(stored[i].status is LabelStatus(status) for i in labels[status])
        for code, ids in labels["by_body"].items():
            assert {stored[i].body.code for i in ids} <= {code}
        assert authenticate(tokens["operator"]).role is Role.OPERATOR
        regulator = authenticate(tokens["regulator"])
        assert regulator.role is Role.REGULATOR
        assert regulator.schemes == frozenset(out["regulator_schemes"]) == {"CN-GD", "HK"}
        for code, token in tokens["certifier"].items():
            principal = authenticate(token)
            assert (principal.role, principal.body_code) == (Role.CERTIFIER, code)
        # The spread a demo needs: every grade, scheme and body, and rules with two versions.
        assert {label.grade for label in stored.values()} == set("ABCDE")
        schemes = {label.rule_version.rule.scheme.code for label in stored.values()}
        assert schemes == {"CN-GD", "CN-JS", "CN-SH", "HK", "MO"}
        assert all(label.rule_version.in_force_until is None for label in stored.values())
        versions = Counter(
            db.session.execute(select(Rule.code).join(RuleVersion, RuleVersion.rule_id == Rule.id))
            .scalars()
            .all()
        )
        assert sum(1 for n in versions.values() if n == 2) >= 3
        assert len(versions) == len(RULES)


def test_every_demo_credential_verifies_and_the_ledger_is_intact(demo_app: Flask) -> None:
    out = _load(demo_app)
    with demo_app.app_context():
        labels = db.session.execute(select(Label)).scalars().all()
        for label in labels:
            # The kit alone, as a third party with nothing but the credential would check it.
            report = verify_label(json.loads(label.credential))
            checks = {c.name: c for c in report.checks}
            for name in BASIC:
                assert checks[name].status is CheckStatus.PASSED, (label.id, checks[name])
            assert report.label is not None
            assert report.label.grade == label.grade
            # Against the register (trust bundle: keys incl. rotated ones, rules, lists, ledger).
            with transaction():
                full = verify_credential(json.loads(label.credential))
            assert full.verdict is VERDICTS[label.status], (label.id, full.checks)
            status_checks = (CheckName.REVOCATION, CheckName.SUSPENSION)
            others = [c for c in full.checks if c.name not in status_checks]
            assert all(c.status is CheckStatus.PASSED for c in others), (label.id, others)
        for old_id, new_id in out["labels"]["superseded_by"].items():
            old, new = db.session.get_one(Label, old_id), db.session.get_one(Label, new_id)
            assert old.status is LabelStatus.SUPERSEDED
            assert (old.superseded_by_id, new.supersedes_id) == (new.id, old.id)
            assert new.gtin == old.gtin
            subject = json.loads(new.credential)["credentialSubject"]
            assert subject["supersedes"] == label_url(BASE_URL, old.id)
        ledger = verify_ledger()
        assert ledger.ok, ledger.problems
        assert ledger.uncovered == 0  # the load signs a checkpoint over everything
        state = verify_state()  # every entry an allowed transition, and the tables agree
        assert state.ok, (state.violation, state.mismatches)
        issued = select(func.count()).where(LedgerEntry.event == "label.issued")
        assert db.session.execute(issued).scalar_one() == len(labels)


def test_the_eu_style_mapping_checks_the_assurance_each_demo_label_states(
    demo_app: Flask,
) -> None:
    _load(demo_app)
    stated = {spec.product: spec.assurance for spec in LABELS if spec.rule.startswith("CN-GD")}
    assert set(stated.values()) == {"reasonable", "limited", None}  # all three cases shown
    seen: set[tuple[str | None, bool]] = set()
    with demo_app.app_context():
        gd = select(Label).where(Label.status == LabelStatus.ACTIVE).order_by(Label.id)
        for label in db.session.execute(gd).scalars():
            if label.product_name not in stated:
                continue
            credential = json.loads(label.credential)
            with transaction():
                trust = trust_for(credential)
                report = verify_credential(credential, trust=trust)
            assert report.label is not None
            answer = recognise_label(report, trust, "EU", at=report.label.valid_from)
            assert answer.outcome is RecognitionOutcome.NOT_RECOGNISED  # cradle-to-gate
            (checked,) = [c for c in answer.conditions if c.condition is Condition.ASSURANCE]
            assert label.assurance == stated[label.product_name]
            assert checked.passed is (label.assurance == "reasonable"), label.id
            seen.add((label.assurance, checked.passed))
    assert seen == {("reasonable", True), ("limited", False), (None, False)}


def test_demo_names_are_marked_fictitious(demo_app: Flask) -> None:
    _load(demo_app)
    with demo_app.app_context():
        for scheme in db.session.execute(select(Scheme)).scalars():
            assert _marked(scheme.owner), scheme.owner
            assert {"en", "zh-Hans", "zh-Hant"} <= set(scheme.names)
            assert any(lang.startswith("pt") for lang in scheme.names)
            assert all(_marked(name) for name in scheme.names.values()), scheme.names
        assert (
            "pt-MO"
            in db.session.execute(select(Scheme).where(Scheme.code == "MO")).scalar_one().names
        )
        for body in db.session.execute(select(CertificationBody)).scalars():
            assert _marked(body.name)
            assert all(_marked(name) for name in body.names.values()), body.names
        for acc in db.session.execute(select(Accreditation)).scalars():
            assert _marked(acc.accreditation_body), acc.accreditation_body
        for label in db.session.execute(select(Label)).scalars():
            assert label.product_name.endswith(PRODUCT_MARKER), label.product_name
            assert _marked(label.manufacturer), label.manufacturer
            # GS1 prefix 952 is reserved for demonstrations.
            assert label.gtin is not None
            assert label.gtin.startswith("952")
            assert check_gtin(label.gtin) == label.gtin


def test_a_second_load_refuses_and_adds_nothing(demo_app: Flask) -> None:
    _load(demo_app)
    with demo_app.app_context():
        before = _rows()
    result = demo_app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1
    assert "already loaded" in result.stderr
    assert result.stdout == ""
    with demo_app.app_context():
        assert _rows() == before


def test_load_refuses_a_database_with_one_of_its_schemes(demo_app: Flask) -> None:
    with demo_app.app_context(), transaction():
        create_scheme(
            actor=OPERATOR_CONSOLE,
            code="HK",
            region="HK",
            names={"en": "Real scheme"},
            owner="Someone",
        )
    with demo_app.app_context():
        before = _rows()
    result = demo_app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1
    assert "HK" in result.stderr
    with demo_app.app_context():
        assert _rows() == before


def test_the_run_command_loads_once_and_keeps_the_tokens(
    fresh_database_url: str, tmp_path: Path
) -> None:
    app = build_app(fresh_database_url, tmp_path)
    with app.app_context():
        db.engine.dispose()
    settings = make_settings(fresh_database_url, tmp_path)
    first = prepare_demo(settings)
    assert first is not None
    path = tmp_path / DEMO_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secrets
    assert json.loads(path.read_text(encoding="utf-8")) == first
    assert prepare_demo(settings) == first  # the second run reads the file, loads nothing
    with app.app_context():
        assert _rows()["labels"] == len(LABELS)
        db.session.remove()
        db.engine.dispose()


def test_the_run_command_neither_loads_nor_pretends_on_a_clash(
    demo_app: Flask, tmp_path: Path
) -> None:
    settings = make_settings(demo_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "other")
    with demo_app.app_context(), transaction():
        create_scheme(
            actor=OPERATOR_CONSOLE,
            code="MO",
            region="MO",
            names={"en": "Real scheme"},
            owner="Someone",
        )
    with pytest.raises(DemoAlreadyLoadedError, match="MO"):
        prepare_demo(settings)  # some demo codes but not the demo: neither load nor pretend
    assert not (tmp_path / "other" / DEMO_FILE).exists()


def test_the_run_command_after_flask_demo_load_has_no_tokens(
    demo_app: Flask, tmp_path: Path
) -> None:
    _load(demo_app)  # loaded by `flask demo load`: the tokens were only printed
    settings = make_settings(demo_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "other")
    assert prepare_demo(settings) is None


def test_serve_environment_defaults_the_base_url_to_the_served_address() -> None:
    assert serve_environment({"PORT": "9123"})["REGISTRY_PUBLIC_BASE_URL"] == (
        "http://127.0.0.1:9123"
    )
    assert serve_environment({})["REGISTRY_PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    given = {"PORT": "9123", "REGISTRY_PUBLIC_BASE_URL": "https://labels.example"}
    assert serve_environment(given)["REGISTRY_PUBLIC_BASE_URL"] == "https://labels.example"


# --- `python -m registry` end to end -------------------------------------------------------


def test_python_m_registry_help_prints_help_and_starts_nothing(tmp_path: Path) -> None:
    result = subprocess.run(  # our own interpreter, fixed argv
        [sys.executable, "-m", "registry", "--help"],
        cwd=ROOT,
        env={**os.environ, "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m registry")
    assert "PORT" in result.stdout
    assert "DATABASE_URL" in result.stdout
    assert not (tmp_path / "instance").exists()  # no database made, no demo loaded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def _wait_for(pattern: str, log: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"no {pattern!r} in the output of `python -m registry`:\n{log.read_text()}")


def _wait_until_served(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "`python -m registry` exited"
        try:
            _get(port, "/ledger/log-key")
        except OSError:
            time.sleep(0.2)
        else:
            return
    pytest.fail("gunicorn did not start listening")


def _labels_api_built(tmp_path: Path) -> bool:
    app = build_app(f"sqlite:///{tmp_path / 'probe.sqlite3'}", tmp_path / "probe", upgrade=False)
    with app.app_context():
        db.engine.dispose()
    return any(r.rule.startswith("/api/v1/labels/<") for r in app.url_map.iter_rules())


def test_python_m_registry_serves_the_demo(tmp_path: Path) -> None:
    port = _free_port()
    instance = tmp_path / "instance"
    drop = ("DATABASE_URL", "SECRET_KEY", "REGISTRY_ENV", "REGISTRY_PUBLIC_BASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("REGISTRY_")}
    env |= {"PORT": str(port), "REGISTRY_INSTANCE_PATH": str(instance), "WEB_CONCURRENCY": "2"}
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(  # our own interpreter, fixed argv
            [sys.executable, "-m", "registry"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        served = f"http://127.0.0.1:{port}"
        opened = _wait_for(r"registry: open (\S+)", out, proc, timeout=120)
        assert opened == f"{served}/"
        label_path = _wait_for(rf"registry: demo label {re.escape(served)}(\S+)", out, proc, 1)
        _wait_until_served(port, proc, timeout=60)
        printed = out.read_text(encoding="utf-8")
        # The figures come from the database, and the kit checks a label that is really there.
        counts = ", ".join(f"{n} {status}" for status, n in EXPECTED_COUNTS.items())
        assert (
            f"registry: {sum(EXPECTED_COUNTS.values())} labels in the database ({counts})"
            in printed
        )
        checked = re.search(r"verifier kit: label (\w{10}) .* trust bundle: (\w+)", printed)
        assert checked is not None, printed
        assert checked.group(2) == "genuine"
        assert f"{served}/api/docs" in printed
        assert "it is not in the registry" in printed  # the self-test says what it is

        saved = json.loads((instance / DEMO_FILE).read_text(encoding="utf-8"))
        printed = out.read_text(encoding="utf-8")
        assert saved["base_url"] == served
        assert saved["tokens"]["operator"] in printed
        assert all(token in printed for token in saved["tokens"]["certifier"].values())

        status, ctype, note = _get(port, "/ledger/checkpoint")
        assert status == 200, note
        assert ctype.startswith("text/plain")
        assert note.decode().splitlines()[0] == f"127.0.0.1:{port}/carbon-label-log"
        _, _, vkey = _get(port, "/ledger/log-key")
        checkpoint = open_checkpoint(note, verifier=NoteVerifier.from_verifier_key(vkey.decode()))
        assert checkpoint.size > len(LABELS)

        status, _, checked_label = _get(port, f"/api/v1/labels/{checked.group(1)}")
        assert status == 200, checked_label
        status, ctype, body = _get(port, label_path)
        if status == 404 and not _labels_api_built(tmp_path):
            pytest.skip("GET /api/v1/labels/{id} is not built yet; the ledger part passed")
        assert status == 200, body
        credential = json.loads(body)["credential"]
        assert credential["id"] == label_url(served, label_path.rsplit("/", 1)[1])
        report = verify_label(credential)
        assert all(c.status is CheckStatus.PASSED for c in report.checks if c.name in BASIC)
    finally:
        proc.terminate()  # gunicorn's master stops its workers on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the session this test started, nothing else
            proc.wait(timeout=10)

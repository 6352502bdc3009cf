"""``python -m registry``: the README's run command.

Checks the verifier kit end to end on a fictitious demo label (sign, verify with a trust
bundle, QR round trip); upgrades the database (SQLite under ``instance/`` unless
``DATABASE_URL`` says otherwise); on the first run loads the fictitious demo data set and keeps
its tokens in ``instance/demo.json`` (tokens are shown only once, so later runs read them from
there); then serves the registry with gunicorn, printing the URLs to open and the demo tokens.

``PORT`` picks the port (8000). Unless ``REGISTRY_PUBLIC_BASE_URL`` is set, the public base URL
is the address actually served, so the label URLs and the checkpoint origin match it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from credentials import (
    Accreditation,
    CarbonLabel,
    Footprint,
    KeyPair,
    Product,
    RuleRef,
    StatusRef,
    Thresholds,
    TrustBundle,
    TrustedBody,
    TrustedKey,
    TrustedRule,
    build_label_credential,
    grade_for,
    label_url,
    new_label_id,
    open_bundle,
    qr_payload,
    sign_document,
    verify_label,
)
from registry import create_app
from registry.clock import utcnow
from registry.config import ConfigError, Settings
from registry.db import db
from registry.demo import DemoAlreadyLoadedError, demo_present, load_demo
from registry.labels.models import Label, LabelStatus
from registry.labels.verification import signed_label_trust

__all__ = ["DEMO_FILE", "check_kit", "main", "prepare_demo", "serve_environment"]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEMO_FILE = "demo.json"


def check_kit(base: str) -> None:
    """Sign and verify a throwaway demo label with the kit alone; exit if anything fails."""
    now = datetime.now(UTC).replace(microsecond=0)
    key = KeyPair.generate()
    thresholds = Thresholds(Decimal(45), Decimal(65), Decimal(85), Decimal(110))
    footprint = Decimal("61.2")
    label_id = new_label_id()
    label = CarbonLabel(
        label_id=label_id,
        url=label_url(base, label_id),
        issuer_did=key.did,
        issuer_name="Lingnan Product Carbon Certification Co. (fictitious)",
        valid_from=now,
        valid_until=now + timedelta(days=3 * 365),
        product=Product(name="LFP battery module 51.2 V 100 Ah (demo)", manufacturer="Demo Ltd."),
        footprint=Footprint(
            footprint, "kWh", "cradle-to-gate", date(2025, 1, 1), date(2025, 12, 31)
        ),
        grade=grade_for(footprint, thresholds),
        rule=RuleRef("CN-GD-PCR-LIB", "2.1", "CN-GD"),
        status=(
            StatusRef("revocation", f"{base}/status-lists/r1", 1),
            StatusRef("suspension", f"{base}/status-lists/s1", 1),
        ),
    )
    signed = sign_document(build_label_credential(label), key=key, created=now)
    start = now - timedelta(days=1)
    trust = TrustBundle(
        bodies=(
            TrustedBody(
                name=label.issuer_name,
                keys=(TrustedKey(key.public_key.multibase, start),),
                accreditations=(Accreditation("CN-GD", frozenset({"battery"}), start),),
            ),
        ),
        rules=(TrustedRule("CN-GD", "CN-GD-PCR-LIB", "2.1", "battery", "kWh", thresholds, start),),
    )
    report = verify_label(signed, trust=trust)
    if qr_payload(label.url) != label.url.upper() or any(
        c.status.value == "failed" for c in report.checks
    ):
        for check in report.checks:
            print(f"  {check.status.value:12} {check.name.value}: {check.reason}")
        sys.exit("verifier kit self-test failed")
    print(
        "verifier kit: self-test passed (a throwaway label signed with a throwaway key and "
        "verified; it is not in the registry)"
    )


def check_demo_label(label_id: str, registry_key: str, now: datetime) -> list[str]:
    """Verify a real label of this registry with the kit alone, as a buyer would offline: its
    stored credential against its signed trust bundle, opened under the pinned registry key.

    Runs inside an app context; returns the lines to print, the first naming the verdict.
    """
    label = db.session.get(Label, label_id)
    if label is None:
        return [f"verifier kit: demo label {label_id} is not in this database; not checked"]
    bundle = open_bundle(signed_label_trust(label), pinned=registry_key, now=now)
    report = verify_label(json.loads(label.credential), trust=bundle.bundle, now=now)
    lines = [
        f"verifier kit: label {label.id} ({label.product_name}, grade {label.grade}) of this "
        f"registry, verified offline against its signed trust bundle: {report.verdict.value}"
    ]
    lines += [f"  {c.status.value:12} {c.name.value}: {c.reason}" for c in report.checks]
    return lines


def label_counts() -> dict[str, int]:
    """How many labels the database holds in each status."""
    rows = db.session.execute(select(Label.status, func.count()).group_by(Label.status)).all()
    counts = {status.value: 0 for status in LabelStatus} | {s.value: n for s, n in rows}
    return counts


def serve_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment to serve with: the public base URL defaults to the address served."""
    env = {**environ, "FLASK_APP": "wsgi"}
    if not env.get("REGISTRY_PUBLIC_BASE_URL"):
        env["REGISTRY_PUBLIC_BASE_URL"] = f"http://{HOST}:{env.get('PORT') or '8000'}"
    return env


def prepare_demo(settings: Settings) -> dict[str, Any] | None:
    """Load the demo on first run and keep its document; later runs read it back.

    Returns ``None`` when the database holds the demo but its tokens were never saved here
    (it was loaded with ``flask demo load``, which only prints them). Raises
    :class:`DemoAlreadyLoadedError` if the database has some of the demo's schemes or bodies
    but not the demo.
    """
    path = settings.instance_path / DEMO_FILE
    app = create_app(settings)
    with app.app_context():
        try:
            if demo_present():
                return _read_json(path) if path.exists() else None
            document = load_demo().as_json()
        finally:
            db.session.remove()
            db.engine.dispose()
    _write_private(path, document)
    return document


def _read_json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _write_private(path: Path, document: Mapping[str, Any]) -> None:
    """Write the tokens readable by this user only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    tmp.replace(path)


def _print_demo(document: Mapping[str, Any] | None, served: str, public: str) -> None:
    if document is None:
        print(
            "demo: this database holds the demo, but its tokens are not in "
            f"instance/{DEMO_FILE} (they are shown once, when it is loaded)"
        )
        return
    if document.get("base_url") != public:
        print(f"demo: note, its labels were issued for {document.get('base_url')}, not {public}")
    tokens, labels = document["tokens"], document["labels"]
    schemes = ", ".join(document.get("regulator_schemes", []))
    print("demo tokens (fictitious data; send as 'Authorization: Bearer <token>'):")
    print(f"  operator                 {tokens['operator']}")
    print(f"  regulator ({schemes})".ljust(27) + tokens["regulator"])
    for body, token in tokens["certifier"].items():
        print(f"  certifier {body}".ljust(27) + token)
    if labels["active"]:
        print(f"registry: demo label {served}/api/v1/labels/{labels['active'][0]}")
        print(f"registry: its page, as its QR code opens it: {served}/l/{labels['active'][0]}")
    pact = document.get("pact")
    if pact:
        print(f"PACT v3: POST {served}/auth/token with HTTP Basic {pact['client_id']}:<secret>")
        print(f"  (client_secret in instance/{DEMO_FILE}), then GET {served}/3/footprints")


def _print_registry(settings: Settings, document: Mapping[str, Any] | None) -> None:
    """What the database holds, read from it, and a real label of it checked with the kit."""
    app = create_app(settings)
    with app.app_context():
        try:
            counts = label_counts()
            active = (document or {}).get("labels", {}).get("active") or db.session.scalars(
                select(Label.id).where(Label.status == LabelStatus.ACTIVE).limit(1)
            ).all()
            lines = (
                check_demo_label(active[0], settings.bundle_signer().public_key.multibase, utcnow())
                if active
                else ["verifier kit: no active label in this database to check yet"]
            )
        finally:
            db.session.remove()
            db.engine.dispose()
    text = ", ".join(f"{n} {status}" for status, n in counts.items())
    print(f"registry: {sum(counts.values())} labels in the database ({text})")
    for line in lines:
        print(line)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m registry",
        description=(
            "Set up and serve the carbon-label registry: self-test the verifier kit, upgrade the "
            "database, load the fictitious demo on the first run, check one of its labels with "
            "the kit, and serve with gunicorn."
        ),
        epilog=(
            "Environment: PORT (default 8000); DATABASE_URL (default SQLite under instance/); "
            "REGISTRY_PUBLIC_BASE_URL (default the address served). The demo's API tokens are "
            f"kept in instance/{DEMO_FILE}. For the operator's commands: .venv/bin/flask --app "
            "wsgi --help."
        ),
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    _arguments(argv)
    env = serve_environment(os.environ)
    port = env.get("PORT") or "8000"
    served = f"http://{HOST}:{port}"
    check_kit(served)
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        sys.exit(f"registry: {exc}")
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True)  # noqa: S603
    document = None
    try:
        document = prepare_demo(settings)
        _print_demo(document, served, settings.public_base_url)
    except DemoAlreadyLoadedError as exc:
        print(f"demo: not loaded: {exc}")
    _print_registry(settings, document)
    print(f"registry: open {served}/  (API documentation: {served}/api/docs; Ctrl-C to stop)")
    sys.stdout.flush()
    os.chdir(ROOT)
    os.execve(  # noqa: S606 - replace this process with gunicorn
        bin_dir / "gunicorn",
        ["gunicorn", "-c", "registry/gunicorn_conf.py", "-b", f"{HOST}:{port}", "wsgi:app"],
        env,
    )


if __name__ == "__main__":
    main()

"""``python -m registry``: the README's run command.

Checks the verifier kit end to end on a fictitious demo label (sign, verify with a trust
bundle, QR round trip), then, when the service is present, upgrades the SQLite database and
serves the registry with gunicorn, printing the URL to open.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from credentials import (
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
    qr_payload,
    sign_document,
    verify_label,
)
from credentials.trust import Accreditation

ROOT = Path(__file__).resolve().parent.parent
HOST, PORT = "127.0.0.1", int(os.environ.get("PORT", "8000"))


def check_kit() -> None:
    base = f"http://{HOST}:{PORT}"
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
    qr = qr_payload(label.url)
    print(f"verifier kit: signed demo label {label_id}, grade {label.grade}, QR {qr}")
    for check in report.checks:
        print(f"  {check.status.value:12} {check.name.value}: {check.reason}")
    if any(c.status.value == "failed" for c in report.checks):
        sys.exit("verifier kit self-check failed")


def serve() -> None:
    if not (ROOT / "wsgi.py").exists() or not (ROOT / "migrations" / "env.py").exists():
        print("registry service: not built yet (see the open issues); the kit is ready to use:")
        print("  .venv/bin/carbonlabel --help")
        return
    env = {**os.environ, "FLASK_APP": "wsgi"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True)  # noqa: S603
    print(f"registry: open http://{HOST}:{PORT}/ledger/checkpoint  (Ctrl-C to stop)", flush=True)
    os.chdir(ROOT)
    os.execve(  # noqa: S606 - replace this process with gunicorn
        bin_dir / "gunicorn",
        ["gunicorn", "-c", "registry/gunicorn_conf.py", "-b", f"{HOST}:{PORT}", "wsgi:app"],
        env,
    )


if __name__ == "__main__":
    check_kit()
    serve()

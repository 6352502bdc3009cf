"""Time from an append to a cosigned checkpoint with one local witness, against the append alone.

A real ``carbonlabel witness serve`` runs on the loopback interface (its SQLite state committed
with ``synchronous=FULL`` before each answer). Each round appends one entry as issuance does
(the round signs its checkpoint), then asks the witness as the ticker does
(``push_checkpoint``: consistency proof from the last cosigned size, HTTP, cosignature checked
and stored). The baseline, measured in the same run and the same rounds, is the append alone.

    .venv/bin/python bench/witness.py [--db sqlite|postgresql|both] [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    DATABASES,
    HOST,
    ROOT,
    exit_on_sigterm,
    load_average,
    migrate,
    ms,
    percentile,
    scratch_database,
    scratch_dir,
)
from registry import create_app
from registry.config import Settings, fresh_secrets
from registry.db import db, transaction
from registry.ledger.services import append_entry
from registry.ledger.witnessing import cosignature_lines, push_checkpoint

CLI = [sys.executable, "-m", "credentials.cli", "witness"]


def start_witness(workdir: Path, log_vkey: str) -> tuple[subprocess.Popen[str], str]:
    """A ``carbonlabel witness serve`` trusting ``log_vkey``, and its REGISTRY_WITNESSES entry."""
    directory = workdir / "witness"
    vkey = subprocess.run(  # noqa: S603
        [*CLI, "init", str(directory), "--name", "bench.example/witness"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    subprocess.run(  # noqa: S603
        [*CLI, "trust", str(directory), log_vkey], check=True, capture_output=True, cwd=ROOT
    )
    process = subprocess.Popen(  # noqa: S603
        [*CLI, "serve", str(directory), "--listen", f"{HOST}:0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the socket is bound
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"witness did not start: {line!r}")
    return process, f"{vkey}=http://{line.split()[2]}"


def run(kind: str, rounds: int) -> None:
    with scratch_dir("bench-witness-") as workdir, scratch_database(kind, workdir) as url:
        secrets = fresh_secrets("http://127.0.0.1:8000")
        probe = Settings.from_env({**secrets, "DATABASE_URL": url, "REGISTRY_ENV": "testing"})
        process, entry = start_witness(workdir, probe.log_signer().verifier_key())
        try:
            settings = Settings.from_env(
                {
                    **secrets,
                    "DATABASE_URL": url,
                    "REGISTRY_ENV": "testing",
                    "REGISTRY_INSTANCE_PATH": str(workdir),
                    "REGISTRY_WITNESSES": entry,
                }
            )
            app = create_app(settings)
            migrate(app)
            appends: list[float] = []
            cosigned: list[float] = []
            for i in range(rounds + 5):
                start = time.perf_counter()
                with app.app_context():
                    with transaction():
                        append_entry("bench.appended", {"n": i})
                    db.session.remove()
                appended = time.perf_counter()
                if push_checkpoint(app) != 1:
                    raise SystemExit("the witness did not cosign; see its output")
                done = time.perf_counter()
                if i >= 5:  # warm-up rounds: connection pools, first checkpoints
                    appends.append(appended - start)
                    cosigned.append(done - start)
            with app.app_context():
                assert len(cosignature_lines(rounds + 5)) == 1
                db.session.remove()
                db.engine.dispose()
        finally:
            process.terminate()
            process.wait(timeout=10)
    appends.sort()
    cosigned.sort()
    base_median, base_p95 = statistics.median(appends), percentile(appends, 95)
    median, p95 = statistics.median(cosigned), percentile(cosigned, 95)
    print(f"{kind}: {rounds} rounds, load {load_average()}")
    print(f"  append alone           median {ms(base_median)} ms  p95 {ms(base_p95)} ms  (1.00)")
    print(
        f"  append → cosigned      median {ms(median)} ms  p95 {ms(p95)} ms  "
        f"({median / base_median:.2f}× median, {p95 / base_p95:.2f}× p95)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    exit_on_sigterm()
    for kind in DATABASES if args.db == "both" else (args.db,):
        run(kind, args.rounds)


if __name__ == "__main__":
    main()

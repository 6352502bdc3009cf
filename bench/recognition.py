"""What asking "is it recognised in my region?" costs, offline and through the API.

Over the demo (its recognition mappings included), on a scratch SQLite registry served by
gunicorn as the README runs it:

1. Offline, one process, with the kit only: the registry's signed trust bundle is opened
   against its pinned key once, then each round verifies a demo label (its credential and the
   ledger evidence its label JSON carries) — plainly, and again followed by the recognition
   answer for four regions. Reported as rates and as the ratio of the two.
2. ``POST /credentials/verify`` under 16 concurrent keep-alive connections, plainly and with
   ``options.region``: rates, p50/p99, and the ratio.

    .venv/bin/python bench/recognition.py [--seconds 5] [--clients 16] [--workers N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate

from bench._common import (
    Gunicorn,
    free_port,
    json_request,
    load_average,
    ms,
    percentile,
    run_load,
    scratch_dir,
    server_environment,
    settings_for,
)
from credentials import (
    LedgerEvidence,
    open_bundle,
    recognise_label,
    verify_label,
)
from credentials._internal.timefmt import parse_datetime
from registry import create_app
from registry.db import db
from registry.demo import load_demo

REGIONS = ("HK", "MO", "CN-SH", "EU")


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return json.loads(response.read())


def offline(bundle: dict[str, Any], key: str, labels: list[dict[str, Any]], seconds: float) -> None:
    # Verify as of a moment inside every label's validity and the bundle's.
    at = max(
        parse_datetime(bundle["payload"]["issued"]),
        *(parse_datetime(label["credential"]["validFrom"]) for label in labels),
    )
    t0 = time.perf_counter()
    opened = open_bundle(bundle, pinned=key, now=at)
    opening = time.perf_counter() - t0
    trusts = [
        opened.bundle.with_evidence(label["id"], LedgerEvidence.from_json(label["ledgerEvidence"]))
        for label in labels
    ]
    answers: dict[str, int] = {}

    def rounds(with_regions: bool) -> tuple[float, int]:
        cycle = itertools.cycle(range(len(labels)))
        done, cpu0, end = 0, time.process_time(), time.perf_counter() + seconds
        while time.perf_counter() < end:
            i = next(cycle)
            report = verify_label(labels[i]["credential"], trust=trusts[i], now=at)
            if with_regions:
                for region in REGIONS:
                    outcome = recognise_label(report, trusts[i], region, at=at).outcome.value
                    answers[outcome] = answers.get(outcome, 0) + 1
            done += 1
        return done / (time.process_time() - cpu0), done

    plain, n_plain = rounds(False)
    regional, n_regional = rounds(True)
    size = len(json.dumps(bundle))
    print(f"\n== offline, one process: the demo's signed bundle ({size / 1024:.0f} KiB)")
    print(f"  opening the bundle (JCS + Ed25519 + parse): {ms(opening)} ms, once")
    print(f"  verify_label:                           {plain:8.1f} labels/s of CPU ({n_plain})")
    print(
        f"  verify_label + {len(REGIONS)} regions' recognition: {regional:8.1f} labels/s "
        f"({n_regional}) = {regional / plain:.3f} × plain"
    )
    print(f"  answers seen: {dict(sorted(answers.items()))}")


def online(port: int, labels: list[dict[str, Any]], clients: int, seconds: float) -> None:
    def make(options: dict[str, Any] | None) -> Any:
        def request(n: int) -> Any:
            body: dict[str, Any] = {"verifiableCredential": labels[n % len(labels)]["credential"]}
            if options:
                body["options"] = options
            return json_request("POST", "/credentials/verify", body)

        return request

    print(f"\n== POST /credentials/verify, {clients} keep-alive connections, {seconds:.0f} s each")
    rates = {}
    for name, options in (("plain", None), ("region HK", {"region": "HK"})):
        result = run_load(port, make(options), clients=clients, expect=frozenset({200}),
                          seconds=seconds)  # fmt: skip
        lat = result.latencies
        rates[name] = result.rate
        print(
            f"  {name:10} {result.rate:8.1f} req/s  p50 {ms(percentile(lat, 50))} ms  "
            f"p99 {ms(percentile(lat, 99))} ms  errors {result.errors}"
        )
        for failure in result.failures[:3]:
            print(f"    {failure}")
    print(f"  with a region = {rates['region HK'] / rates['plain']:.3f} × plain")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")
    with scratch_dir("bench-recognition-") as work:
        port = free_port()
        env = server_environment(
            database_url=f"sqlite:///{work / 'registry.sqlite3'}",
            instance=work,
            port=port,
            workers=args.workers,
        )
        app = create_app(settings_for(env))
        with app.app_context():
            flask_migrate.upgrade(
                directory=str(Path(__file__).resolve().parent.parent / "migrations")
            )
            demo = load_demo()
            db.session.remove()
            db.engine.dispose()
        with Gunicorn(env, work / "gunicorn.log"):
            key = _get(port, "/trust-bundle/key")["publicKeyMultibase"]
            bundle = _get(port, "/trust-bundle")
            labels = [
                label
                for label_id in demo.label_ids.values()
                if (label := _get(port, f"/api/v1/labels/{label_id}"))["status"] == "active"
            ]
            offline(bundle, key, labels, args.seconds)
            online(port, labels, args.clients, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

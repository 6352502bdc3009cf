"""Worst-case cost of one ``POST /credentials/verify`` at the request size limit (1 MiB).

The app is built with ``registry.create_app`` over a temporary SQLite database upgraded by the
migrations (as ``tests/registry/conftest.py`` does), one genuine label is issued, and then each
hostile body — built from that label, as large as the limit allows — is verified in process.
Figures are the median of ``--rounds`` runs, in ms of process CPU, and as a ratio to verifying
the genuine label in the same run.

    .venv/bin/python bench/verify_worst.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate

from registry import create_app
from registry.db import db
from tests.registry.factories import bearer, build_label_world, label_request, make_settings

# The app accepts 1 MiB (MAX_CONTENT_LENGTH); the kit's JSON parser refuses past 10**6 bytes.
LIMIT = 1_000_000


def _fill(credential: dict[str, Any], grow: Callable[[dict[str, Any], int], None]) -> bytes:
    """The largest body under the limit that ``grow(document, n)`` makes (binary search on n)."""
    low, high, best = 1, LIMIT, b""
    while low <= high:
        n = (low + high) // 2
        document = copy.deepcopy(credential)
        grow(document, n)
        body = json.dumps({"verifiableCredential": document}).encode()
        if len(body) <= LIMIT:
            best, low = body, n + 1
        else:
            high = n - 1
    return best


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def hostile(credential: dict[str, Any]) -> dict[str, bytes]:
    vm_did = "did:key:z"
    shapes: dict[str, Callable[[dict[str, Any], int], None]] = {
        "huge proofValue": lambda d, n: d["proof"].__setitem__("proofValue", "z" + "2" * n),
        "huge multibase issuer did:key": lambda d, n: d["issuer"].__setitem__(
            "id", vm_did + "2" * n
        ),
        "huge verificationMethod": lambda d, n: d["proof"].__setitem__(
            "verificationMethod", f"{vm_did}{'2' * (n // 2)}#z{'2' * (n // 2)}"
        ),
        "many proofs": lambda d, n: d.__setitem__("proof", [d["proof"]] * (n // 400)),
        "deep nesting (31 levels, repeated)": lambda d, n: d["credentialSubject"].__setitem__(
            "extra", [_nested(28)] * (n // 70)
        ),
        "many status entries": lambda d, n: d.__setitem__(
            "credentialStatus", d["credentialStatus"] * (n // 250)
        ),
        "long product name": lambda d, n: d["credentialSubject"]["product"].__setitem__(
            "name", "x" * n
        ),
        "many product identifiers": lambda d, n: d["credentialSubject"]["product"].__setitem__(
            "identifier", [f"urn:x:{i}" for i in range(n // 12)]
        ),
        "many defined terms (signed-looking)": lambda d, n: d["credentialSubject"][
            "product"
        ].__setitem__("model", ["m"] * (n // 5)),
    }
    return {name: _fill(credential, grow) for name, grow in shapes.items()}


def cpu_ms(post: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        start = time.process_time()
        result = post()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verify-worst-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'registry.sqlite3'}"
        app = create_app(make_settings(url, Path(tmp)))
        with app.app_context():
            flask_migrate.upgrade()
            world = build_label_world()
            db.session.commit()
            client = app.test_client()
            issued = client.post(
                "/api/v1/labels", json=label_request(), headers=bearer(world.certifier)
            )
            assert issued.status_code == 201, issued.get_json()
            credential = issued.get_json()["credential"]

            def verify(body: bytes) -> Callable[[], Any]:
                return lambda: client.post(
                    "/credentials/verify", data=body, content_type="application/json"
                )

            genuine = json.dumps({"verifiableCredential": credential}).encode()
            verify(genuine)()  # warm: templates, contexts
            normal, response = cpu_ms(verify(genuine), args.rounds * 4)
            assert response.get_json()["verdict"] == "genuine", response.get_json()
            print(f"{'body':38} {'bytes':>9} {'status':>6} {'verdict':>12} {'ms':>8} {'ratio':>7}")
            print(
                f"{'genuine label':38} {len(genuine):9,} {response.status_code:6} "
                f"{'genuine':>12} {normal:8.2f} {1:7.1f}"
            )
            worst = 0.0
            for name, body in hostile(credential).items():
                ms, response = cpu_ms(verify(body), args.rounds)
                worst = max(worst, ms)
                data = response.get_json() or {}
                verdict = data.get("verdict", data.get("title", "-"))[:12]
                print(
                    f"{name:38} {len(body):9,} {response.status_code:6} {verdict:>12} "
                    f"{ms:8.2f} {ms / normal:7.1f}"
                )
            print(f"\nworst case {worst:.1f} ms = {worst / normal:.1f}x a genuine verify")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()

"""Sign and verify rates of the verifier kit on realistic label credentials, one process.

Each round signs a *different* credential (other label id, product, figures), as a registry
does. Baselines measured in the same run: pyld's full normalize path instead of the shape
templates, the ``rfc8785`` package instead of the JCS fast path, and bare Ed25519. The verify
rate is given for the kit's own shapes (templated) and for shapes it did not build (one more
product identifier than any registered shape: pyld's reference path, as for any document an
attacker shapes), each also through ``verify_label``.

    .venv/bin/python bench/kit.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import rfc8785

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credentials.credential import Product, build_label_credential, label_url
from credentials.cryptosuites import sign_document, verify_document
from credentials.jsonld import DEFAULT_LOADER, canonicalize_rdfc, canonicalize_rdfc_reference
from credentials.lexical import new_label_id
from credentials.verify import verify_label
from tests.credentials.factories import BASE, ISSUED_AT, body_key, sample_label

PRODUCTS = [
    "LFP battery module",
    "Monocrystalline PV module",
    "Hot-rolled steel coil",
    "Oolong tea",
]


def credentials(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    key = body_key()
    out = []
    for i in range(n):
        label_id = new_label_id()
        base = sample_label(key, label_id=label_id)
        label = replace(
            base,
            url=label_url(BASE, label_id),
            product=Product(
                name=f"{rng.choice(PRODUCTS)} {i} (fictitious)",
                manufacturer=f"Manufacturer {rng.randrange(500)} Ltd. (fictitious)",
                model=f"M-{rng.randrange(10**6):06d}",
                gtin=None,
            ),
            footprint=replace(base.footprint, value=Decimal(rng.randrange(1, 99999)) / 100),
        )
        out.append(build_label_credential(label))
    return out


def rate(fn: Callable[[Any], object], items: list[Any], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in items:
            fn(item)
        done += len(items)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    key = body_key()
    docs = credentials(200)
    signed = {
        suite: [sign_document(d, key=key, cryptosuite=suite, created=ISSUED_AT) for d in docs]
        for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022")
    }
    unknown = []
    for d in docs:
        # Changed after the builder ran, so the shape is not one the kit registered.
        d = {**d, "credentialSubject": {**d["credentialSubject"]}}
        product = {**d["credentialSubject"]["product"]}
        product["identifier"] = [f"urn:x:{i}" for i in range(3)]
        d["credentialSubject"]["product"] = product
        unknown.append(sign_document(d, key=key, cryptosuite="eddsa-rdfc-2022", created=ISSUED_AT))
    msg = hashlib.sha256(b"x").digest() * 2
    sig = key.sign(msg)
    rows = [
        ("ed25519 sign (floor)", rate(lambda _: key.sign(msg), docs, args.seconds), None),
        (
            "ed25519 verify (floor)",
            rate(lambda _: key.public_key.verify(msg, sig), docs, args.seconds),
            None,
        ),
    ]
    for suite, target in (("eddsa-rdfc-2022", 1200), ("eddsa-jcs-2022", 10000)):
        rows.append(
            (
                f"{suite} sign",
                rate(
                    lambda d, s=suite: sign_document(d, key=key, cryptosuite=s), docs, args.seconds
                ),
                target,
            )
        )
        rows.append((f"{suite} verify", rate(verify_document, signed[suite], args.seconds), target))
    known_rate = rate(verify_document, signed["eddsa-rdfc-2022"], args.seconds)
    unknown_rate = rate(verify_document, unknown[:40], args.seconds)
    label_known = rate(verify_label, signed["eddsa-rdfc-2022"], args.seconds)
    label_unknown = rate(verify_label, unknown[:40], args.seconds)
    fast = rate(lambda d: canonicalize_rdfc(d, loader=DEFAULT_LOADER), docs, args.seconds)
    ref = rate(
        lambda d: canonicalize_rdfc_reference(d, loader=DEFAULT_LOADER), docs[:40], args.seconds
    )
    jcs_ref = rate(rfc8785.dumps, docs, args.seconds)
    from credentials.jsonld import canonicalize_jcs

    jcs_fast = rate(canonicalize_jcs, docs, args.seconds)
    print(f"{'operation':32} {'per second':>12} {'target':>8}")
    for name, value, target in rows:
        mark = "" if target is None else ("  ok" if value >= target else "  BELOW")
        print(f"{name:32} {value:12,.0f} {target or '':>8}{mark}")
    print()
    print(f"{'RDFC-1.0 canonicalize, templates':32} {fast:12,.0f}")
    print(f"{'RDFC-1.0 canonicalize, pyld full':32} {ref:12,.0f}   ratio {fast / ref:.1f}x")
    print()
    print(f"{'rdfc verify, kit shape':32} {known_rate:12,.0f}")
    print(
        f"{'rdfc verify, unknown shape':32} {unknown_rate:12,.0f}"
        f"   ratio {known_rate / unknown_rate:.1f}x (reference path)"
    )
    print(f"{'verify_label, kit shape':32} {label_known:12,.0f}")
    print(
        f"{'verify_label, unknown shape':32} {label_unknown:12,.0f}"
        f"   ratio {label_known / label_unknown:.1f}x"
    )
    print(f"{'RFC 8785, fast path':32} {jcs_fast:12,.0f}")
    print(f"{'RFC 8785, rfc8785 package':32} {jcs_ref:12,.0f}   ratio {jcs_fast / jcs_ref:.1f}x")


if __name__ == "__main__":
    main()

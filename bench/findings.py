"""Cost of the audit findings pass over a ledger, as a ratio to plain replay of the same bytes
(the baseline, measured in the same run): both parse and check every entry; the findings pass
also evaluates the issuance predicates one by one and computes the statistics.

    .venv/bin/python bench/findings.py [--labels 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credentials import find_findings, grade_for, replay
from tests.credentials.ledger_fixtures import THRESHOLDS, entries, issued, world


def ledger(labels: int) -> list[bytes]:
    rng = random.Random(7)
    events = world()
    for n in range(labels):
        footprint = Decimal(rng.randint(3000, 9000)) / 100
        grade = grade_for(footprint, THRESHOLDS)
        events.append(issued(f"B{n:09d}", n=n, footprint=str(footprint), grade=grade))
    return entries(events)


def best_of(rounds: int, fn: object) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stored = ledger(args.labels)
    base = best_of(args.rounds, lambda: replay(stored))
    audit = best_of(args.rounds, lambda: find_findings(stored))
    print(f"entries: {len(stored)}")
    print(f"replay (baseline): {len(stored) / base:,.0f} entries/s")
    print(f"findings pass:     {audit / base:.2f}x the replay time")


if __name__ == "__main__":
    main()

"""The registry's notion of now: aware UTC, truncated to what the ledger records (milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["to_millis", "utcnow", "utcnow_seconds"]


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_millis(value: datetime) -> datetime:
    """``value`` truncated to the millisecond: what the ledger records of a time."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow_seconds(*, round_up: bool = False) -> datetime:
    """Now, to the whole second: the precision of proofs' ``created`` and credentials' dates.

    Whatever the registry checks at issuance (key active, accreditation, rule in force) it
    checks at the instant the credential states, so a verifier reaches the same answer.
    """
    now = datetime.now(UTC)
    floor = now.replace(microsecond=0)
    return floor + timedelta(seconds=1) if round_up and floor != now else floor

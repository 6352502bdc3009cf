"""The registry's notion of now: one injected clock, aware UTC.

Every service asks :func:`utcnow` (or :func:`utcnow_seconds`), which reads the app's clock
(``create_app(clock=…)``, kept in ``app.extensions``), so a test sets the time instead of
sleeping or patching private functions, and production reads the system clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = [
    "CLOCK_KEY",
    "Clock",
    "FixedClock",
    "SystemClock",
    "current_clock",
    "to_millis",
    "utcnow",
    "utcnow_seconds",
]

CLOCK_KEY = "registry.clock"


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...


@dataclass(frozen=True, slots=True)
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class FixedClock:
    """A clock that moves only when told to (tests, replays, what-if audits)."""

    at: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.set(self.at)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock tells aware UTC time; give the time with tzinfo")
        self.at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self.set(self.at + delta)
        return self.at


SYSTEM_CLOCK = SystemClock()


def current_clock() -> Clock:
    """The running app's clock; the system clock outside an app context."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return SYSTEM_CLOCK
    clock: Clock = current_app.extensions.get(CLOCK_KEY, SYSTEM_CLOCK)
    return clock


def to_millis(value: datetime) -> datetime:
    """``value`` truncated to the millisecond: what the ledger records of a time."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """Now, to the millisecond (what the ledger records)."""
    return to_millis(current_clock().now())


def utcnow_seconds(*, round_up: bool = False) -> datetime:
    """Now, to the whole second: the precision of proofs' ``created`` and credentials' dates.

    Whatever the registry checks at issuance (key active, accreditation, rule in force) it
    checks at the instant the credential states, so a verifier reaches the same answer.
    """
    now = current_clock().now()
    floor = now.replace(microsecond=0)
    return floor + timedelta(seconds=1) if round_up and floor != now else floor

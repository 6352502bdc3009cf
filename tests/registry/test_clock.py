"""Every Clock the registry can be given behaves as the services assume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask

from registry.clock import (
    CLOCK_KEY,
    Clock,
    FixedClock,
    SystemClock,
    current_clock,
    utcnow,
    utcnow_seconds,
)

CLOCKS = [SystemClock(), FixedClock(datetime(2026, 6, 1, 12, 0, 0, 123_456, tzinfo=UTC))]


@pytest.mark.parametrize("clock", CLOCKS, ids=lambda c: type(c).__name__)
def test_clock_conformance(clock: Clock) -> None:
    assert isinstance(clock, Clock)
    first, second = clock.now(), clock.now()
    assert first.tzinfo is not None
    assert first.utcoffset() == timedelta(0)
    assert second >= first, "a clock never runs backwards"


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 6, 1, 20, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(timedelta(seconds=90)) == datetime(2026, 6, 1, 12, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 6, 1))  # noqa: DTZ001 - the naive time is the point


def test_services_read_the_apps_clock(app: Flask, clock: FixedClock) -> None:
    clock.set(datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC))
    with app.app_context():
        assert current_clock() is clock is app.extensions[CLOCK_KEY]
        assert utcnow() == datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
        assert utcnow_seconds() == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert utcnow_seconds(round_up=True) == datetime(2030, 1, 2, 3, 4, 6, tzinfo=UTC)


def test_outside_an_app_the_system_clock_answers() -> None:
    assert isinstance(current_clock(), SystemClock)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)

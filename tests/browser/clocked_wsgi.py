"""The browser tests' WSGI entry point: ``wsgi.py`` with a clock the tests can move forward.

The registry takes its clock through ``create_app(clock=…)`` only, so a gunicorn serving
``wsgi:app`` always reads the system clock. To show an expired label without sleeping, the
tests serve this module instead: the same app, whose clock is the system clock plus an offset
read from the file named by ``BROWSER_TEST_CLOCK_OFFSET_FILE`` (seconds; absent or empty is 0).
A file, not a variable, because every gunicorn worker must see the same time at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry import create_app

__all__ = ["OffsetFileClock", "app"]


@dataclass(frozen=True, slots=True)
class OffsetFileClock:
    """System time shifted by the number of seconds written in ``path``."""

    path: Path

    def now(self) -> datetime:
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            text = ""
        return datetime.now(UTC) + timedelta(seconds=float(text or 0))


app = create_app(clock=OffsetFileClock(Path(os.environ["BROWSER_TEST_CLOCK_OFFSET_FILE"])))

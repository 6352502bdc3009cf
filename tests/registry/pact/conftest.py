"""The PACT tests run on the label tests' registry (one per backend, see labels.support)."""

from __future__ import annotations

from tests.registry.pact.support import app, label_app, pact, world

__all__ = ["app", "label_app", "pact", "world"]

"""The resolver tests run on the label tests' registry (one per backend, see its ``support``)."""

from __future__ import annotations

from tests.registry.labels.support import app, label_app, world

__all__ = ["app", "label_app", "world"]

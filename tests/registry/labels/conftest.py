"""The label tests run on a registry of their own per backend (see ``support``)."""

from __future__ import annotations

from tests.registry.labels.support import app, label_app, world

__all__ = ["app", "label_app", "world"]

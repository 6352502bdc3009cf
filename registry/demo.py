"""Placeholder: the demo data set (being written)."""

from __future__ import annotations

from flask.cli import AppGroup

__all__ = ["demo_cli"]

demo_cli = AppGroup("demo", help="Load the fictitious demo data set.")

"""Placeholder: being written."""

from __future__ import annotations

from flask import Blueprint

__all__ = ["bp"]

bp = Blueprint("labels", __name__)

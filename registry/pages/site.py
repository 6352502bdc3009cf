"""The pages around the label page: the home page (what a label is, a box for a label code)."""

from __future__ import annotations

from flask import render_template

from registry.pages import bp

__all__ = ["home"]


@bp.get("/")
def home() -> str:
    return render_template("pages/home.html")

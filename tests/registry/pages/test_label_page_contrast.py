"""The label and error pages' text colours reach WCAG 2.2 AA contrast (4.5:1) on the
backgrounds they are used on, read from the stylesheet itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[3] / "registry/pages/static/site.css").read_text()


def _variable(name: str) -> str:
    found = re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", CSS)
    assert found, name
    return found.group(1)


def _background(selector: str) -> str:
    found = re.search(rf"{re.escape(selector)}\s*{{[^}}]*background:\s*(#[0-9a-fA-F]{{6}})", CSS)
    assert found, selector
    return found.group(1)


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("ink", "paper"),
        ("muted", "paper"),
        ("accent", "paper"),
        ("ok", "#ffffff"),
        ("warn", "#ffffff"),
        ("bad", "#ffffff"),
        ("ink", ".tone-good"),
        ("ink", ".tone-warning"),
        ("ink", ".tone-bad"),
        ("ink", ".tone-unknown"),
        ("accent", ".tone-good"),
        ("accent", ".tone-warning"),
        ("accent", ".tone-bad"),
    ],
)
def test_text_colours_reach_aa_contrast(text: str, background: str) -> None:
    if background.startswith("#"):
        behind = background
    elif background.startswith("."):
        behind = _background(background)
    else:
        behind = _variable(background)
    assert contrast(_variable(text), behind) >= 4.5

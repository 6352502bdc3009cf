"""Grades A–E from a footprint and a rule version's four upper bounds.

A ≤ a, B ≤ b, C ≤ c, D ≤ d, else E, in kgCO2e per declared unit. Comparisons are exact
``Decimal`` arithmetic: a footprint declared for ``amount`` units is compared as
``value ≤ bound × amount`` so no division ever rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

from credentials.errors import GradingError

__all__ = ["GRADES", "Grade", "Thresholds", "grade_for"]

Grade = Literal["A", "B", "C", "D", "E"]
GRADES: tuple[Grade, ...] = ("A", "B", "C", "D", "E")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Upper bounds of grades A–D, inclusive, in kgCO2e per declared unit."""

    a: Decimal
    b: Decimal
    c: Decimal
    d: Decimal

    def __post_init__(self) -> None:
        bounds = (self.a, self.b, self.c, self.d)
        if not all(isinstance(v, Decimal) and v.is_finite() for v in bounds):
            raise GradingError("thresholds must be finite Decimals")
        if any(v < 0 for v in bounds):
            raise GradingError("thresholds cannot be negative")
        if not (self.a <= self.b <= self.c <= self.d):
            raise GradingError("thresholds must satisfy a ≤ b ≤ c ≤ d")

    def as_tuple(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        return (self.a, self.b, self.c, self.d)


def grade_for(footprint: Decimal, thresholds: Thresholds, *, amount: Decimal = Decimal(1)) -> Grade:
    """The grade of ``footprint`` kgCO2e declared for ``amount`` declared units."""
    if not isinstance(footprint, Decimal) or not footprint.is_finite() or footprint < 0:
        raise GradingError("a footprint must be a finite, non-negative Decimal")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise GradingError("the declared unit amount must be a positive Decimal")
    with localcontext() as ctx:
        ctx.prec = 80  # bound × amount must be exact, not rounded to 28 digits
        for grade, bound in zip(GRADES, thresholds.as_tuple(), strict=False):
            if footprint <= bound * amount:
                return grade
    return "E"

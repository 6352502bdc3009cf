"""Grades A–E: exact Decimal bounds, declared-unit scaling, invalid thresholds, monotonicity."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.errors import CredentialError, GradingError
from credentials.grading import GRADES, Thresholds, grade_for

T = Thresholds(a=Decimal("50"), b=Decimal("80"), c=Decimal("120"), d=Decimal("200"))
STEP = Decimal("0.000001")


@pytest.mark.parametrize(
    ("footprint", "grade"),
    [
        (Decimal("0"), "A"),
        (Decimal("50"), "A"),
        (Decimal("50.000000"), "A"),
        (Decimal("50") + STEP, "B"),
        (Decimal("80"), "B"),
        (Decimal("80") + STEP, "C"),
        (Decimal("120"), "C"),
        (Decimal("120") + STEP, "D"),
        (Decimal("200"), "D"),
        (Decimal("200") + STEP, "E"),
        (Decimal("200.000000000000000001"), "E"),
        (Decimal("1E+9"), "E"),
    ],
)
def test_grade_is_exact_at_the_bounds(footprint: Decimal, grade: str) -> None:
    assert grade_for(footprint, T) == grade


def test_footprint_equal_to_a_is_a_and_one_millionth_more_is_b() -> None:
    a = Decimal("61.2")
    thresholds = Thresholds(a, Decimal("70"), Decimal("80"), Decimal("90"))
    assert grade_for(a, thresholds) == "A"
    assert grade_for(a + STEP, thresholds) == "B"
    assert grade_for(a - STEP, thresholds) == "A"


def test_e_above_d() -> None:
    assert grade_for(T.d + STEP, T) == "E"
    assert grade_for(T.d * 100, T) == "E"


@pytest.mark.parametrize(
    ("footprint", "amount", "grade"),
    [
        (Decimal("100"), Decimal("2"), "A"),  # 50 per unit
        (Decimal("100") + STEP, Decimal("2"), "B"),
        (Decimal("5"), Decimal("0.1"), "A"),  # 50 per unit
        (Decimal("5.000001"), Decimal("0.1"), "B"),
        (Decimal("16.66665"), Decimal("0.333333"), "A"),  # 0.333333 × 50 = 16.66665
        (Decimal("16.666651"), Decimal("0.333333"), "B"),
        (Decimal("20000"), Decimal("100"), "D"),
        (Decimal("20000.000001"), Decimal("100"), "E"),
        (Decimal("0.00005"), Decimal("0.000001"), "A"),
        (Decimal("0.000050000001"), Decimal("0.000001"), "B"),
    ],
)
def test_declared_unit_amount_scaling_is_exact(
    footprint: Decimal, amount: Decimal, grade: str
) -> None:
    assert grade_for(footprint, T, amount=amount) == grade


def test_declared_unit_amount_scaling_is_exact_beyond_28_digits() -> None:
    # The credential format allows 30-digit decimals. 1e17 exceeds 1 × amount by 1e-12, so it
    # is not an A; a product rounded to the default 28-digit context would say it is.
    thresholds = Thresholds(Decimal(1), Decimal(2), Decimal(3), Decimal(4))
    amount = Decimal("99999999999999999.999999999999")
    footprint = Decimal("100000000000000000")
    assert footprint > amount
    assert grade_for(footprint, thresholds, amount=amount) == "B"
    assert grade_for(amount, thresholds, amount=amount) == "A"


@pytest.mark.parametrize(
    "bounds",
    [
        ("80", "50", "120", "200"),  # descending
        ("50", "80", "200", "120"),
        ("200", "120", "80", "50"),
        ("-1", "80", "120", "200"),  # negative
        ("50", "80", "120", "-200"),
        ("NaN", "80", "120", "200"),
        ("50", "80", "120", "NaN"),
        ("sNaN", "80", "120", "200"),
        ("50", "80", "120", "Infinity"),
        ("-Infinity", "80", "120", "200"),
    ],
)
def test_invalid_thresholds_are_grading_errors(bounds: tuple[str, ...]) -> None:
    with pytest.raises(GradingError):
        Thresholds(*(Decimal(b) for b in bounds))


@pytest.mark.parametrize(
    "bounds",
    [(50.0, 80.0, 120.0, 200.0), (50, 80, 120, 200), ("50", "80", "120", "200"), (None,) * 4],
)
def test_thresholds_must_be_decimals(bounds: tuple[Any, ...]) -> None:
    with pytest.raises(GradingError):
        Thresholds(*bounds)


def test_equal_thresholds_are_allowed() -> None:
    flat = Thresholds(Decimal(10), Decimal(10), Decimal(10), Decimal(10))
    assert grade_for(Decimal(10), flat) == "A"
    assert grade_for(Decimal("10.000001"), flat) == "E"
    zero = Thresholds(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    assert grade_for(Decimal(0), zero) == "A"
    assert grade_for(Decimal("-0"), zero) == "A"


@pytest.mark.parametrize(
    "footprint", [Decimal("-0.000001"), Decimal("NaN"), Decimal("Infinity"), 61.2, 61, "61.2"]
)
def test_invalid_footprints_are_grading_errors(footprint: Any) -> None:
    with pytest.raises(GradingError):
        grade_for(footprint, T)


@pytest.mark.parametrize(
    "amount", [Decimal(0), Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), 1, 1.0]
)
def test_invalid_amounts_are_grading_errors(amount: Any) -> None:
    with pytest.raises(GradingError):
        grade_for(Decimal(1), T, amount=amount)


def test_grading_error_is_a_credential_error() -> None:
    assert issubclass(GradingError, CredentialError)


DECIMALS = st.decimals(min_value=0, max_value=10**6, places=6)


@st.composite
def thresholds(draw: st.DrawFn) -> Thresholds:
    bounds = sorted(draw(st.lists(DECIMALS, min_size=4, max_size=4)))
    return Thresholds(*bounds)


@settings(max_examples=300, deadline=None)
@given(thresholds(), DECIMALS, DECIMALS, st.decimals(min_value="0.001", max_value=1000, places=3))
def test_grade_is_monotone_in_footprint(
    limits: Thresholds, first: Decimal, second: Decimal, amount: Decimal
) -> None:
    low, high = sorted((first, second))
    assert GRADES.index(grade_for(low, limits, amount=amount)) <= GRADES.index(
        grade_for(high, limits, amount=amount)
    )


@settings(max_examples=300, deadline=None)
@given(thresholds(), DECIMALS, st.decimals(min_value="0.001", max_value=1000, places=3))
def test_grade_matches_exact_rational_arithmetic(
    limits: Thresholds, footprint: Decimal, amount: Decimal
) -> None:
    per_unit = Fraction(footprint) / Fraction(amount)
    expected = next(
        (g for g, bound in zip(GRADES, limits.as_tuple(), strict=False) if per_unit <= bound),
        "E",
    )
    assert grade_for(footprint, limits, amount=amount) == expected


@settings(max_examples=100, deadline=None)
@given(thresholds())
def test_each_bound_is_inclusive(limits: Thresholds) -> None:
    for grade, bound in zip(GRADES, limits.as_tuple(), strict=False):
        assert GRADES.index(grade_for(bound, limits)) <= GRADES.index(grade)
        assert GRADES.index(grade_for(bound + STEP, limits)) > GRADES.index(grade)

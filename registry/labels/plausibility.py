"""Plausibility of a label request against the clock and the rule version it is graded under.

Asked by issuance (and so by its dry run) after the rule version is known and before anything
is graded, drawn or signed. Each refusal names the field and says what to send instead: these
are the mistakes of a real integration (a period typed a year off, a boundary the rule does not
grade, a zero pasted in), not attacks, so the message is the fix.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from credentials import decimal_text
from registry.errors import ValidationFailedError

if TYPE_CHECKING:
    from registry.labels.issuance import LabelRequest
    from registry.schemes.models import RuleVersion

__all__ = ["check_plausible", "months_before"]


def months_before(day: date, months: int) -> date:
    """``day`` moved back ``months`` calendar months (the 31st becomes the month's last day)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _refuse(field: str, message: str) -> ValidationFailedError:
    errors: dict[str, Any] = {field: [message]}
    return ValidationFailedError({"footprint": errors}, detail=message)


def check_plausible(request: LabelRequest, rv: RuleVersion, now: datetime) -> None:
    """Refuse a request no registry should sign under ``rv`` at ``now`` (a UTC instant)."""
    rule = f"{rv.rule.code} v{rv.version}"
    today = now.date()
    start, end = request.period_start, request.period_end
    if start > end:
        raise _refuse(
            "reference_period",
            f"The reference period begins ({start.isoformat()}) after it ends "
            f"({end.isoformat()}); send start on or before end.",
        )
    if end > today:
        raise _refuse(
            "reference_period",
            f"The reference period ends in the future ({end.isoformat()}); a footprint can only "
            f"be declared for a period that has ended, on or before {today.isoformat()} (UTC).",
        )
    if rv.max_period_age_months is not None:
        oldest = months_before(today, rv.max_period_age_months)
        if end < oldest:
            raise _refuse(
                "reference_period",
                f"Under {rule} the reference period must have ended at most "
                f"{rv.max_period_age_months} months before issuance, on or after "
                f"{oldest.isoformat()}; it ended on {end.isoformat()}. Measure a more recent "
                "period.",
            )
    if request.system_boundary not in rv.system_boundaries:
        raise _refuse(
            "system_boundary",
            f"{rule} grades {' and '.join(rv.system_boundaries)} footprints only, not "
            f"{request.system_boundary}; declare the footprint for that boundary or issue under "
            "a rule version that grades yours.",
        )
    if request.declared_unit_amount <= 0:
        raise _refuse(
            "declared_unit_amount",
            "The declared unit amount must be greater than zero: the footprint is stated for "
            f"this many {rv.declared_unit} (leave it out for 1).",
        )
    if request.footprint < 0:
        # The kit grades, and the v1 context states, non-negative footprints only: a rule
        # allowing net-negative values admits zero here until a v2 credential carries a sign.
        raise _refuse(
            "value",
            f"A footprint of {decimal_text(request.footprint)} kgCO2e cannot be stated in a "
            "label credential; send zero or more.",
        )
    if request.footprint == 0 and not rv.allows_net_negative:
        raise _refuse(
            "value",
            f"A footprint of {decimal_text(request.footprint)} kgCO2e is not plausible under "
            f"{rule}, which does not allow net-zero or net-negative values; send the measured "
            "footprint, greater than zero.",
        )

"""Which label a GTIN resolves to.

A label is *current* for its GTIN while it is neither revoked nor superseded and the moment
lies inside its validity period (``valid_from`` ≤ now < ``valid_until``). A suspended label is
still current (the page tells the reader it is suspended), but an active label of the same
GTIN is preferred to it.

Among the current labels of the preferred status, labels are grouped by certification body
and scheme: within one group the newest issuance (the latest ledger position) wins, as a body
that labels its product again under the same scheme means the newer label. One group left:
the GTIN resolves to its winner. Several groups (different bodies, or one body under several
schemes): they match equally and the resolver answers 300 Multiple Choices with each group's
winner, newest first. Lot and serial qualifiers do not select a label (labels are per
product); they are checked and resolve as the GTIN does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from credentials import gtin_forms
from registry.db import db
from registry.errors import NotFoundError
from registry.labels.models import Label, LabelStatus
from registry.schemes.models import Rule, RuleVersion

__all__ = ["CURRENT_STATUSES", "NoCurrentLabelError", "Resolution", "resolve_gtin"]

CURRENT_STATUSES = (LabelStatus.ACTIVE, LabelStatus.SUSPENDED)  # preferred first


class NoCurrentLabelError(NotFoundError):
    """No current label of this GTIN is in the register."""

    def __init__(self, gtin: str) -> None:
        super().__init__(f"No current label is registered for GTIN {gtin}.")
        self.gtin = gtin

    @property
    def page(self) -> dict[str, str]:
        return {
            "explanation": _(
                "No current carbon label is registered for the product with GTIN %(gtin)s. "
                "A label that is not in the register, or was revoked or replaced, is not a "
                "valid carbon label.",
                gtin=self.gtin,
            )
        }


@dataclass(frozen=True, slots=True)
class Resolution:
    """The labels a GTIN resolves to: one (a redirect) or several equal choices (300)."""

    gtin: str
    labels: tuple[Label, ...]

    @property
    def single(self) -> Label | None:
        return self.labels[0] if len(self.labels) == 1 else None


def resolve_gtin(gtin: str, *, now: datetime) -> Resolution:
    """The current label(s) of the GTIN-14 ``gtin`` (see the module's rules)."""
    stmt = (
        select(Label, Rule.scheme_id)
        .join(RuleVersion, Label.rule_version_id == RuleVersion.id)
        .join(Rule, RuleVersion.rule_id == Rule.id)
        .where(
            Label.gtin.in_(gtin_forms(gtin)),
            Label.status.in_(CURRENT_STATUSES),
            Label.valid_from <= now,
            Label.valid_until > now,
        )
        .order_by(Label.ledger_seq.desc())
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        raise NoCurrentLabelError(gtin)
    best = next(s for s in CURRENT_STATUSES if any(label.status == s for label, _ in rows))
    winners: dict[tuple[int, int], Label] = {}
    for label, scheme_id in rows:  # newest first: the first of each group wins
        if label.status == best:
            winners.setdefault((label.body_id, scheme_id), label)
    return Resolution(gtin, tuple(winners.values()))

"""Schemes, rules and rule versions.

A rule version is immutable once published (a migration installs triggers refusing UPDATE and
DELETE): labels point at it, and a grade is only meaningful against the thresholds it was
computed from. A correction is a new version.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from credentials import BOUNDARIES, Thresholds, TrustedRule
from registry.db import Base, ExactDecimal

__all__ = ["THRESHOLD", "Rule", "RuleVersion", "Scheme"]

# kgCO2e per declared unit: 18 integer digits and 12 decimals, as the credential allows.
THRESHOLD = ExactDecimal()


class Scheme(Base):
    """A carbon-label programme run by a scheme owner for a region (CN-GD, HK, MO, …)."""

    __tablename__ = "schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    rules: Mapped[list[Rule]] = relationship(back_populates="scheme", lazy="raise")

    def __repr__(self) -> str:
        return f"<Scheme {self.code}>"


class Rule(Base):
    """A product category rule (PCR) of a scheme; its thresholds live in its versions."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    code: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    scheme: Mapped[Scheme] = relationship(back_populates="rules", lazy="joined")

    def __repr__(self) -> str:
        return f"<Rule {self.code}>"


class RuleVersion(Base):
    """One immutable version of a rule: declared unit, standard, period in force, thresholds."""

    __tablename__ = "rule_versions"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        CheckConstraint(
            # CAST: on SQLite the columns hold exact decimal text, compared as numbers here.
            "CAST(threshold_a AS REAL) >= 0 "
            "AND CAST(threshold_a AS REAL) <= CAST(threshold_b AS REAL) "
            "AND CAST(threshold_b AS REAL) <= CAST(threshold_c AS REAL) "
            "AND CAST(threshold_c AS REAL) <= CAST(threshold_d AS REAL)",
            name="thresholds_ordered",
        ),
        CheckConstraint(
            "in_force_until IS NULL OR in_force_until > in_force_from", name="period_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    version: Mapped[str] = mapped_column(String(32))
    declared_unit: Mapped[str] = mapped_column(String(32))
    standard: Mapped[str] = mapped_column(String(120))
    in_force_from: Mapped[datetime]
    in_force_until: Mapped[datetime | None]
    threshold_a: Mapped[Decimal] = mapped_column(THRESHOLD)
    threshold_b: Mapped[Decimal] = mapped_column(THRESHOLD)
    threshold_c: Mapped[Decimal] = mapped_column(THRESHOLD)
    threshold_d: Mapped[Decimal] = mapped_column(THRESHOLD)
    published_at: Mapped[datetime]
    # What a label graded under the version may state: its system boundaries (sorted), how
    # many months before issuance its reference period may have ended at most (None: no limit),
    # and whether a zero (net-zero or net-negative) footprint is admitted.
    system_boundaries: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(BOUNDARIES))
    max_period_age_months: Mapped[int | None] = mapped_column(default=None)
    allows_net_negative: Mapped[bool] = mapped_column(default=False)

    rule: Mapped[Rule] = relationship(lazy="joined")

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.threshold_a, self.threshold_b, self.threshold_c, self.threshold_d)

    def trusted(self) -> TrustedRule:
        """The version as a verifier trusts it; issuance asks the same value."""
        rule = self.rule
        return TrustedRule(
            scheme=rule.scheme.code,
            rule_id=rule.code,
            version=self.version,
            category=rule.category,
            declared_unit=self.declared_unit,
            thresholds=self.thresholds,
            in_force_from=self.in_force_from,
            in_force_until=self.in_force_until,
            standard=self.standard,
        )

    def summary(self) -> dict[str, Any]:
        return {"scheme": self.rule.scheme.code, "rule": self.rule.code, "version": self.version}

    def __repr__(self) -> str:
        return f"<RuleVersion {self.rule_id} v{self.version}>"

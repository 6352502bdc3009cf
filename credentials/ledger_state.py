"""What replaying a ledger derives: the state of every scheme, rule version, body,
accreditation, key and label, as the entries alone say it is (see :mod:`ledger_replay`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from credentials.grading import Thresholds
from credentials.ledger_events import Actor
from credentials.recognition import RecognitionMapping
from credentials.trust import Accreditation, TrustedKey, TrustedRule

__all__ = [
    "AccreditationState",
    "BodyState",
    "KeyState",
    "LabelState",
    "LedgerState",
    "RuleVersionState",
]


@dataclass(frozen=True, slots=True)
class BodyState:
    code: str
    name: str
    status: str
    status_by: Actor | None = None


@dataclass(frozen=True, slots=True)
class AccreditationState:
    id: int
    body: str
    scheme: str
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    status: str = "active"
    status_changed_at: datetime | None = None

    def period(self) -> Accreditation:
        """The kit's accreditation predicate over the period this one covered."""
        return Accreditation(self.scheme, self.categories, self.valid_from, self.valid_until)


@dataclass(frozen=True, slots=True)
class KeyState:
    body: str
    public_key_multibase: str
    managed: bool
    active_from: datetime
    retired_at: datetime | None = None

    def period(self) -> TrustedKey:
        return TrustedKey(self.public_key_multibase, self.active_from, self.retired_at)


@dataclass(frozen=True, slots=True)
class RuleVersionState:
    scheme: str
    rule: str
    version: str
    category: str
    declared_unit: str
    standard: str
    thresholds: Thresholds
    in_force_from: datetime
    in_force_until: datetime | None
    # What labels under the version may state (issuance's plausibility rules); not replayed
    # against labels: a label.issued entry states neither boundary nor period.
    system_boundaries: tuple[str, ...] = ("cradle-to-gate", "cradle-to-grave")
    max_period_age_months: int | None = None
    allows_net_negative: bool = False

    def period(self) -> TrustedRule:
        return TrustedRule(
            self.scheme,
            self.rule,
            self.version,
            self.category,
            self.declared_unit,
            self.thresholds,
            self.in_force_from,
            self.in_force_until,
        )


@dataclass(frozen=True, slots=True)
class LabelState:
    """``status_by`` made the latest suspension, reinstatement or revocation (``None`` while
    the label never had one); a supersession does not change it."""

    id: str
    body: str
    scheme: str
    seq: int
    grade: str
    credential_digest: str
    public_key_multibase: str
    status: str = "active"
    status_by: Actor | None = None
    supersedes: str | None = None
    superseded_by: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerState:
    """Everything the entries say, keyed as the registry keys it. Only the replayer that owns
    it adds to these tables; whoever reads a result treats them as read-only."""

    schemes: dict[str, str] = field(default_factory=dict)  # code -> region
    rules: dict[tuple[str, str], str] = field(default_factory=dict)  # -> category
    rule_versions: dict[tuple[str, str, str], RuleVersionState] = field(default_factory=dict)
    bodies: dict[str, BodyState] = field(default_factory=dict)
    accreditations: dict[int, AccreditationState] = field(default_factory=dict)
    keys: dict[str, KeyState] = field(default_factory=dict)  # by public key multibase
    labels: dict[str, LabelState] = field(default_factory=dict)
    slots: set[tuple[str, int]] = field(default_factory=set)
    # mapping id -> every revision, oldest first (a withdrawal is a revision marked withdrawn)
    mappings: dict[str, list[RecognitionMapping]] = field(default_factory=dict)

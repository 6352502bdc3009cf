"""Mutual recognition: is a label of one scheme recognised in another region, and as what?

A :class:`RecognitionMapping` is the machine form of an arrangement between programmes (as
ISO/TS 14029 describes them): labels of a source scheme — some of its rules, a range of their
versions, some grades — are recognised in a target scheme or region, the target answer
obtained by one :data:`Mode`:

- ``recompute``: the target rule version's thresholds are applied to the footprint. Only when
  the declared units match, or through the explicit :class:`Conversion` the mapping states;
- ``table``: an approved grade-to-grade table;
- ``value-only``: the footprint is accepted, no grade is given.

Each :class:`Conditions` member is checked and reported on its own. A mapping is never edited:
a new revision of the same ``mapping_id`` supersedes the older ones and a withdrawal is a
revision too (``withdrawn``). :func:`recognise` answers for a region at an instant, the same
answer in the registry, its pages and offline: it is the one home of these rules.
Recognition is never transitive unless the mapping that led there says ``transitive``.

Every result carries a machine outcome and a message id with string parameters (as the
verification report does, ``credentials.messages``), never prose to decide by.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, cast

from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.credential import ASSURANCE_LEVELS, BOUNDARIES, Assurance, Boundary
from credentials.errors import CredentialError
from credentials.grading import GRADES, Grade, grade_for
from credentials.keys import public_key_from_did
from credentials.lexical import decimal_text, parse_decimal

if TYPE_CHECKING:
    from credentials.report import VerificationReport
    from credentials.trust import TrustBundle, TrustedRule

__all__ = [
    "ASSURANCE_LEVELS",
    "MODES",
    "STANDARDS",
    "Condition",
    "ConditionResult",
    "Conditions",
    "Conversion",
    "LabelFacts",
    "MappingSource",
    "MappingTarget",
    "Mode",
    "Recognition",
    "RecognitionError",
    "RecognitionMapping",
    "RecognitionOutcome",
    "VersionRange",
    "accounting_standard",
    "current_revisions",
    "recognise",
    "recognise_label",
    "version_key",
]

Mode = Literal["recompute", "table", "value-only"]
MODES: tuple[Mode, ...] = ("recompute", "table", "value-only")
#: The accounting standards a mapping may require, by the names rules state them.
STANDARDS: tuple[str, ...] = ("ISO 14067", "GHG Protocol Product Standard", "PAS 2050")
MAX_CHAIN = 4  # mappings followed from one label; a transitive loop stops here at the latest
_MAX_ID = 64
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION_PART = re.compile(r"[0-9]+|[^0-9.]+")


class RecognitionError(CredentialError):
    """A mapping that cannot be (malformed JSON, contradictory members)."""


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """An order for rule versions: ``1.0 < 1.1 < 2.0 < 10.0``, ``2023 < 2025``; numeric parts
    compare as numbers and before text parts."""
    return tuple(
        (0, int(part)) if part.isascii() and part.isdigit() else (1, part)
        for part in _VERSION_PART.findall(version)
    )


@dataclass(frozen=True, slots=True)
class VersionRange:
    """Rule versions from ``minimum`` to ``maximum``, both inclusive; ``None`` is open."""

    minimum: str | None = None
    maximum: str | None = None

    def __post_init__(self) -> None:
        if (
            self.minimum is not None
            and self.maximum is not None
            and version_key(self.minimum) > version_key(self.maximum)
        ):
            raise RecognitionError(f"version range {self.minimum}–{self.maximum} is empty")

    def contains(self, version: str) -> bool:
        key = version_key(version)
        return (self.minimum is None or version_key(self.minimum) <= key) and (
            self.maximum is None or key <= version_key(self.maximum)
        )

    def text(self) -> str:
        return f"{self.minimum or '*'}–{self.maximum or '*'}"


@dataclass(frozen=True, slots=True)
class Conversion:
    """``1 from_unit = factor to_unit``: how a footprint per source declared unit becomes one
    per target declared unit (a footprint per ``from_unit`` is divided by ``factor``)."""

    from_unit: str
    to_unit: str
    factor: Decimal

    def __post_init__(self) -> None:
        if not self.factor.is_finite() or self.factor <= 0:
            raise RecognitionError("a conversion factor must be a positive number")


@dataclass(frozen=True, slots=True)
class MappingSource:
    scheme: str
    rules: frozenset[str]  # rule ids of the source scheme
    versions: VersionRange = field(default_factory=VersionRange)
    grades: frozenset[Grade] = frozenset(GRADES)


@dataclass(frozen=True, slots=True)
class MappingTarget:
    """Where labels are recognised: a scheme (and its region), and, for ``recompute`` and
    ``table``, the target rule version the answer is stated under."""

    scheme: str
    region: str
    rule_id: str | None = None
    rule_version: str | None = None


@dataclass(frozen=True, slots=True)
class Conditions:
    """What a label must also meet; ``None`` (or empty) means no such condition."""

    standards: frozenset[str] = frozenset()
    boundaries: frozenset[Boundary] = frozenset()
    max_period_age_days: int | None = None  # end of the reference period to the verification
    categories: frozenset[str] = frozenset()  # the issuer's accreditation must cover one
    min_assurance: str | None = None
    issued_from: datetime | None = None  # the label's validFrom at or after this
    issued_until: datetime | None = None  # and before this
    max_validity_days: int | None = None  # validFrom to validUntil at most this long


class Condition(StrEnum):
    """Each condition checked and reported on its own, in this order."""

    SOURCE = "source"
    EFFECTIVE = "effective"
    STANDARD = "standard"
    BOUNDARY = "boundary"
    PERIOD_AGE = "period_age"
    ACCREDITATION = "accreditation"
    ASSURANCE = "assurance"
    ISSUED = "issued"
    VALIDITY = "validity"
    UNIT = "unit"


@dataclass(frozen=True, slots=True)
class RecognitionMapping:
    mapping_id: str
    revision: int
    source: MappingSource
    target: MappingTarget
    mode: Mode
    effective_from: datetime
    approved_by: str
    agreement_sha256: str
    effective_until: datetime | None = None
    table: Mapping[Grade, Grade] = field(default_factory=dict)
    conversion: Conversion | None = None
    conditions: Conditions = field(default_factory=Conditions)
    transitive: bool = False
    withdrawn: bool = False  # a withdrawal: this revision ends the mapping

    def __post_init__(self) -> None:
        if not 0 < len(self.mapping_id) <= _MAX_ID or not self.mapping_id.isprintable():
            raise RecognitionError("a mapping id is 1–64 printable characters")
        if self.revision < 1:
            raise RecognitionError("revisions are numbered from 1")
        if self.mode not in MODES:
            raise RecognitionError(f"mode must be one of {', '.join(MODES)}")
        if not _SHA256.fullmatch(self.agreement_sha256):
            raise RecognitionError("agreementSha256 is 64 lower-case hex digits")
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise RecognitionError("a mapping's effective period ends after it starts")
        if self.mode == "recompute" and (
            self.target.rule_id is None or self.target.rule_version is None
        ):
            raise RecognitionError("recompute needs the target rule and version")
        if self.mode == "table":
            missing = self.source.grades - set(self.table)
            if missing:
                raise RecognitionError(f"the grade table lacks {', '.join(sorted(missing))}")
        elif self.table:
            raise RecognitionError("only a table mapping has a grade table")
        if self.mode != "recompute" and self.conversion is not None:
            raise RecognitionError("only a recompute mapping converts units")
        unknown = self.conditions.standards - set(STANDARDS)
        if unknown:
            raise RecognitionError(f"unknown accounting standard {sorted(unknown)[0]!r}")
        if self.conditions.min_assurance not in (None, *ASSURANCE_LEVELS):
            raise RecognitionError(f"assurance is one of {', '.join(ASSURANCE_LEVELS)}")

    def effective_at(self, at: datetime) -> bool:
        return self.effective_from <= at and (
            self.effective_until is None or at < self.effective_until
        )

    def to_json(self) -> dict[str, Any]:
        c = self.conditions
        conditions: dict[str, Any] = {
            "standards": sorted(c.standards),
            "systemBoundaries": sorted(c.boundaries),
            "maxPeriodAgeDays": c.max_period_age_days,
            "accreditationCategories": sorted(c.categories),
            "minAssurance": c.min_assurance,
            "issuedFrom": _optformat_datetime(c.issued_from),
            "issuedUntil": _optformat_datetime(c.issued_until),
            "maxValidityDays": c.max_validity_days,
        }
        return {
            "mappingId": self.mapping_id,
            "revision": self.revision,
            "source": {
                "scheme": self.source.scheme,
                "rules": sorted(self.source.rules),
                "versions": {
                    "minimum": self.source.versions.minimum,
                    "maximum": self.source.versions.maximum,
                },
                "grades": sorted(self.source.grades),
            },
            "target": {
                "scheme": self.target.scheme,
                "region": self.target.region,
                "ruleId": self.target.rule_id,
                "ruleVersion": self.target.rule_version,
            },
            "mode": self.mode,
            "table": {g: self.table[g] for g in sorted(self.table)},
            "conversion": None
            if self.conversion is None
            else {
                "fromUnit": self.conversion.from_unit,
                "toUnit": self.conversion.to_unit,
                "factor": decimal_text(self.conversion.factor),
            },
            "conditions": conditions,
            "effectiveFrom": format_datetime(self.effective_from),
            "effectiveUntil": _optformat_datetime(self.effective_until),
            "approvedBy": self.approved_by,
            "agreementSha256": self.agreement_sha256,
            "transitive": self.transitive,
            "withdrawn": self.withdrawn,
        }

    @classmethod
    def from_json(cls, data: Any) -> RecognitionMapping:
        """Read the JSON form; raise :class:`RecognitionError` on anything malformed."""
        try:
            return _mapping(data)
        except RecognitionError:
            raise
        except (CredentialError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RecognitionError(f"malformed recognition mapping: {exc!s}") from exc


@dataclass(frozen=True, slots=True)
class LabelFacts:
    """What recognition looks at: the label's values, its rule's and its issuer's scope."""

    scheme: str
    rule_id: str
    rule_version: str
    grade: Grade
    footprint: Decimal
    declared_unit: str
    declared_unit_amount: Decimal
    system_boundary: Boundary
    period_end: date
    valid_from: datetime
    valid_until: datetime
    standard: str | None = None
    assurance: Assurance | None = None
    categories: frozenset[str] = frozenset()  # the issuer's accreditation covered these


class RecognitionOutcome(StrEnum):
    NOT_VERIFIED = "not_verified"  # the label itself did not verify: nothing to recognise
    NATIVE = "native"  # the label's own scheme is of this region
    RECOGNISED = "recognised"
    NOT_RECOGNISED = "not_recognised"  # a mapping applies to the label, a condition fails
    NO_MAPPING = "no_mapping"  # no mapping in force leads from the label to the region


@dataclass(frozen=True, slots=True)
class ConditionResult:
    condition: Condition
    passed: bool
    message: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recognition:
    """The answer for one region: the outcome, the mapping revisions followed (the last one
    decides), the target answer, and every condition checked on the way."""

    region: str
    outcome: RecognitionOutcome
    via: tuple[tuple[str, int], ...] = ()  # (mapping id, revision) followed, in order
    target_scheme: str | None = None
    target_rule: str | None = None
    target_version: str | None = None
    mode: Mode | None = None
    grade: Grade | None = None  # None for value-only
    footprint: Decimal | None = None  # per target declared unit, after any conversion
    declared_unit: str | None = None
    conditions: tuple[ConditionResult, ...] = ()

    @property
    def recognised(self) -> bool:
        return self.outcome in (RecognitionOutcome.NATIVE, RecognitionOutcome.RECOGNISED)

    @property
    def message(self) -> str:
        return f"recognition.{self.outcome.value}"

    @property
    def params(self) -> dict[str, str]:
        params = {"region": self.region}
        if self.target_scheme is not None:
            params["scheme"] = self.target_scheme
        if self.grade is not None:
            params["grade"] = self.grade
        return params

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "recognised": self.recognised,
            "outcome": self.outcome.value,
            "message": self.message,
            "via": [{"mappingId": m, "revision": r} for m, r in self.via],
            "targetScheme": self.target_scheme,
            "targetRule": self.target_rule,
            "targetVersion": self.target_version,
            "mode": self.mode,
            "grade": self.grade,
            "footprint": None if self.footprint is None else decimal_text(self.footprint),
            "declaredUnit": self.declared_unit,
            "conditions": [
                {
                    "condition": c.condition.value,
                    "passed": c.passed,
                    "message": c.message,
                    "params": dict(c.params),
                }
                for c in self.conditions
            ],
        }


RuleLookup = Callable[[str, str, str], "TrustedRule | None"]


def accounting_standard(stated: str | None) -> str | None:
    """Which of :data:`STANDARDS` a rule's stated standard is (``"ISO 14067:2018; IEC 61215
    module scope"`` is ISO 14067), or ``None``."""
    if not stated:
        return None
    for name in STANDARDS:
        if stated == name or (stated.startswith(name) and stated[len(name)] in ":; ,("):
            return name
    return None


def recognise_label(
    report: VerificationReport, trust: TrustBundle, region: str, *, at: datetime
) -> Recognition:
    """The answer for the label a verification report is about, from the bundle it was checked
    with. A label that did not verify is not recognised anywhere (``not_verified``): whether
    it would be is not a question worth answering about a document that may be forged."""
    label = report.label
    if label is None or not report.verified:
        return Recognition(region, RecognitionOutcome.NOT_VERIFIED)
    rule = trust.rule(label.rule.scheme, label.rule.rule_id, label.rule.version)
    body = trust.body_with_key(public_key_from_did(label.issuer_did).multibase)
    if rule is None or body is None:  # verified with this bundle, so both are in it
        return Recognition(region, RecognitionOutcome.NOT_VERIFIED)
    categories = frozenset(
        category
        for accreditation in body.accreditations
        if accreditation.scheme == rule.scheme
        and accreditation.valid_from <= label.valid_from
        and (accreditation.valid_until is None or label.valid_from < accreditation.valid_until)
        for category in accreditation.categories
    )
    fp = label.footprint
    facts = LabelFacts(
        scheme=rule.scheme,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        grade=label.grade,
        footprint=fp.value,
        declared_unit=fp.declared_unit,
        declared_unit_amount=fp.declared_unit_amount,
        system_boundary=fp.system_boundary,
        period_end=fp.period_end,
        valid_from=label.valid_from,
        valid_until=label.valid_until,
        standard=accounting_standard(rule.standard),
        assurance=label.assurance,
        categories=categories,
    )
    return recognise(facts, region, trust.mappings, trust.rule, at=at, native_regions=trust.schemes)


def current_revisions(mappings: Iterable[RecognitionMapping]) -> list[RecognitionMapping]:
    """The newest revision of each mapping id, withdrawals dropped: what is published now.

    A revision supersedes every older one of its id whatever their periods, so a mapping is
    changed only by publishing its successor and ended only by a withdrawal.
    """
    newest: dict[str, RecognitionMapping] = {}
    for m in mappings:
        seen = newest.get(m.mapping_id)
        if seen is not None and seen.revision == m.revision and seen != m:
            raise RecognitionError(f"two different revisions {m.revision} of {m.mapping_id}")
        if seen is None or m.revision > seen.revision:
            newest[m.mapping_id] = m
    return [m for _, m in sorted(newest.items()) if not m.withdrawn]


def recognise(
    facts: LabelFacts,
    region: str,
    mappings: Sequence[RecognitionMapping],
    rules: RuleLookup,
    *,
    at: datetime,
    native_regions: Mapping[str, str],
) -> Recognition:
    """Whether and how the label is recognised in ``region`` at ``at`` (aware UTC).

    ``mappings`` may hold every revision; only the newest of each id counts.
    ``native_regions`` maps a scheme to its region (a label is native where its scheme is);
    ``rules`` finds a target rule version (for ``recompute`` thresholds).

    The answer is the first that recognises, preferring fewer mappings followed, then mapping
    id; if none does, the direct mapping that came closest says why (every condition
    reported), else ``no_mapping``.
    """
    if at.tzinfo is None:
        raise ValueError("recognition needs an aware instant")
    if native_regions.get(facts.scheme) == region:
        return Recognition(
            region,
            RecognitionOutcome.NATIVE,
            target_scheme=facts.scheme,
            target_rule=facts.rule_id,
            target_version=facts.rule_version,
            grade=facts.grade,
            footprint=facts.footprint / facts.declared_unit_amount,
            declared_unit=facts.declared_unit,
        )
    current = current_revisions(mappings)
    best_failure: Recognition | None = None
    # Breadth first: a shorter chain wins; a scheme is never entered twice.
    frontier: list[tuple[LabelFacts, tuple[tuple[str, int], ...], bool]] = [(facts, (), True)]
    visited = {facts.scheme}
    for _ in range(MAX_CHAIN):
        found: list[Recognition] = []
        onward: list[tuple[LabelFacts, tuple[tuple[str, int], ...], bool]] = []
        for here, via, may_continue in frontier:
            if not may_continue:
                continue
            for m in current:
                # A mapping of other rules of the scheme says nothing about this label; one of
                # its rule, outside the versions or grades it takes, says why it is refused.
                if m.source.scheme != here.scheme or here.rule_id not in m.source.rules:
                    continue
                answer, next_facts = _apply(m, here, region, rules, at, via)
                if m.target.region == region:
                    if answer.recognised:
                        found.append(answer)
                    elif best_failure is None and not via:
                        best_failure = answer
                elif (
                    answer.recognised
                    and next_facts is not None
                    and m.transitive
                    and m.target.scheme not in visited
                ):
                    onward.append((next_facts, answer.via, True))
        if found:
            return min(found, key=lambda r: tuple(m for m, _ in r.via))
        for next_facts, _, _ in onward:
            visited.add(next_facts.scheme)
        frontier = onward
        if not frontier:
            break
    return best_failure or Recognition(region, RecognitionOutcome.NO_MAPPING)


def _apply(
    m: RecognitionMapping,
    facts: LabelFacts,
    region: str,
    rules: RuleLookup,
    at: datetime,
    via: tuple[tuple[str, int], ...],
) -> tuple[Recognition, LabelFacts | None]:
    """Check every condition of ``m`` on ``facts`` and compute the target answer."""
    results = list(_conditions(m, facts, at))
    target_rule: TrustedRule | None = None
    if m.target.rule_id is not None and m.target.rule_version is not None:
        target_rule = rules(m.target.scheme, m.target.rule_id, m.target.rule_version)
    grade: Grade | None = None
    footprint = facts.footprint / facts.declared_unit_amount
    unit = facts.declared_unit
    if m.mode == "recompute":
        unit_result, footprint, unit = _unit(m, facts, target_rule)
        results.append(unit_result)
    passed = all(r.passed for r in results)
    if passed and m.mode == "recompute":
        assert target_rule is not None  # noqa: S101 - _unit failed otherwise
        grade = grade_for(_non_negative(footprint), target_rule.thresholds)
    elif passed and m.mode == "table":
        grade = m.table[facts.grade]
    chain = (*via, (m.mapping_id, m.revision))
    answer = Recognition(
        region,
        RecognitionOutcome.RECOGNISED if passed else RecognitionOutcome.NOT_RECOGNISED,
        via=chain,
        target_scheme=m.target.scheme,
        target_rule=m.target.rule_id,
        target_version=m.target.rule_version,
        mode=m.mode,
        grade=grade,
        footprint=footprint if passed else None,
        declared_unit=unit if passed else None,
        conditions=tuple(results),
    )
    if not passed or grade is None or m.target.rule_id is None or m.target.rule_version is None:
        return answer, None  # value-only answers have no grade to map onward from
    onward = LabelFacts(
        scheme=m.target.scheme,
        rule_id=m.target.rule_id,
        rule_version=m.target.rule_version,
        grade=grade,
        footprint=footprint,
        declared_unit=unit,
        declared_unit_amount=Decimal(1),
        system_boundary=facts.system_boundary,
        period_end=facts.period_end,
        valid_from=facts.valid_from,
        valid_until=facts.valid_until,
        standard=facts.standard,
        assurance=facts.assurance,
        categories=facts.categories,
    )
    return answer, onward


def _non_negative(value: Decimal) -> Decimal:
    return value if value >= 0 else Decimal(0)


def _conditions(m: RecognitionMapping, f: LabelFacts, at: datetime) -> Iterable[ConditionResult]:
    s, c = m.source, m.conditions
    source_ok = f.rule_id in s.rules and s.versions.contains(f.rule_version) and f.grade in s.grades
    yield ConditionResult(
        Condition.SOURCE,
        source_ok,
        "recognition.source.ok" if source_ok else "recognition.source.outside",
        {
            "rule": f.rule_id,
            "version": f.rule_version,
            "grade": f.grade,
            "rules": ", ".join(sorted(s.rules)),
            "versions": s.versions.text(),
            "grades": "".join(sorted(s.grades)),
        },
    )
    effective = m.effective_at(at)
    yield ConditionResult(
        Condition.EFFECTIVE,
        effective,
        "recognition.effective.ok" if effective else "recognition.effective.outside",
        {
            "from": format_datetime(m.effective_from),
            "until": _optformat_datetime(m.effective_until) or "",
        },
    )
    if c.standards:
        ok = f.standard in c.standards
        yield ConditionResult(
            Condition.STANDARD,
            ok,
            "recognition.standard.ok" if ok else "recognition.standard.other",
            {"standard": f.standard or "", "allowed": ", ".join(sorted(c.standards))},
        )
    if c.boundaries:
        ok = f.system_boundary in c.boundaries
        yield ConditionResult(
            Condition.BOUNDARY,
            ok,
            "recognition.boundary.ok" if ok else "recognition.boundary.other",
            {"boundary": f.system_boundary, "allowed": ", ".join(sorted(c.boundaries))},
        )
    if c.max_period_age_days is not None:
        age = (at.astimezone(UTC).date() - f.period_end).days
        ok = age <= c.max_period_age_days
        yield ConditionResult(
            Condition.PERIOD_AGE,
            ok,
            "recognition.period_age.ok" if ok else "recognition.period_age.too_old",
            {
                "period_end": f.period_end.isoformat(),
                "days": str(age),
                "max_days": str(c.max_period_age_days),
            },
        )
    if c.categories:
        ok = bool(f.categories & c.categories)
        yield ConditionResult(
            Condition.ACCREDITATION,
            ok,
            "recognition.accreditation.ok" if ok else "recognition.accreditation.outside",
            {
                "categories": ", ".join(sorted(f.categories)),
                "allowed": ", ".join(sorted(c.categories)),
            },
        )
    if c.min_assurance is not None:
        rank = ASSURANCE_LEVELS.index
        ok = f.assurance in ASSURANCE_LEVELS and rank(f.assurance) >= rank(c.min_assurance)
        yield ConditionResult(
            Condition.ASSURANCE,
            ok,
            "recognition.assurance.ok"
            if ok
            else (
                "recognition.assurance.not_stated"
                if f.assurance is None
                else "recognition.assurance.too_low"
            ),
            {"assurance": f.assurance or "", "minimum": c.min_assurance},
        )
    if c.issued_from is not None or c.issued_until is not None:
        ok = (c.issued_from is None or c.issued_from <= f.valid_from) and (
            c.issued_until is None or f.valid_from < c.issued_until
        )
        yield ConditionResult(
            Condition.ISSUED,
            ok,
            "recognition.issued.ok" if ok else "recognition.issued.outside",
            {
                "issued": format_datetime(f.valid_from),
                "from": _optformat_datetime(c.issued_from) or "",
                "until": _optformat_datetime(c.issued_until) or "",
            },
        )
    if c.max_validity_days is not None:
        days = (f.valid_until - f.valid_from).days
        ok = days <= c.max_validity_days
        yield ConditionResult(
            Condition.VALIDITY,
            ok,
            "recognition.validity.ok" if ok else "recognition.validity.too_long",
            {"days": str(days), "max_days": str(c.max_validity_days)},
        )


def _unit(
    m: RecognitionMapping, f: LabelFacts, target: TrustedRule | None
) -> tuple[ConditionResult, Decimal, str]:
    """Recompute's unit check: the footprint per target declared unit, or why there is none."""
    per_unit = f.footprint / f.declared_unit_amount
    if target is None:
        params = {"rule": m.target.rule_id or "", "version": m.target.rule_version or ""}
        return (
            ConditionResult(Condition.UNIT, False, "recognition.unit.target_unknown", params),
            per_unit,
            f.declared_unit,
        )
    params = {"unit": f.declared_unit, "target_unit": target.declared_unit}
    if f.declared_unit == target.declared_unit and m.conversion is None:
        return (
            ConditionResult(Condition.UNIT, True, "recognition.unit.same", params),
            per_unit,
            (target.declared_unit),
        )
    conv = m.conversion
    if (
        conv is not None
        and conv.from_unit == f.declared_unit
        and conv.to_unit == target.declared_unit
    ):
        with localcontext() as ctx:
            ctx.prec = 40
            converted = per_unit / conv.factor
        params = {**params, "factor": decimal_text(conv.factor)}
        return (
            ConditionResult(Condition.UNIT, True, "recognition.unit.converted", params),
            converted,
            target.declared_unit,
        )
    return (
        ConditionResult(Condition.UNIT, False, "recognition.unit.mismatch", params),
        per_unit,
        f.declared_unit,
    )


# --- JSON ------------------------------------------------------------------------------------


def _optformat_datetime(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else parse_datetime(_str(value, "time"))


def _str(value: Any, what: str, limit: int = 256) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise RecognitionError(f"{what} must be a string of 1–{limit} characters")
    return value


def _opt_str(value: Any, what: str) -> str | None:
    return None if value is None else _str(value, what)


def _opt_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100_000:
        raise RecognitionError(f"{what} must be a whole number of days, 0–100000")
    return value


def _strings(value: Any, what: str) -> frozenset[str]:
    if not isinstance(value, list) or len(value) > 64:
        raise RecognitionError(f"{what} must be a list of at most 64 strings")
    return frozenset(_str(v, what) for v in value)


def _grade(value: Any) -> Grade:
    if value not in GRADES:
        raise RecognitionError(f"a grade is one of {', '.join(GRADES)}")
    return cast(Grade, value)


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecognitionError(f"{what} must be an object")
    return value


def _mapping(data: Any) -> RecognitionMapping:
    d = _object(data, "a mapping")
    src = _object(d["source"], "source")
    versions = _object(src.get("versions") or {}, "source.versions")
    tgt = _object(d["target"], "target")
    cond = _object(d.get("conditions") or {}, "conditions")
    boundaries = _strings(cond.get("systemBoundaries", []), "systemBoundaries")
    if not boundaries <= set(BOUNDARIES):
        raise RecognitionError(f"a system boundary is one of {', '.join(BOUNDARIES)}")
    conv = d.get("conversion")
    conversion = None
    if conv is not None:
        c = _object(conv, "conversion")
        conversion = Conversion(
            _str(c["fromUnit"], "fromUnit", 32),
            _str(c["toUnit"], "toUnit", 32),
            parse_decimal(_str(c["factor"], "factor", 40)),
        )
    revision = d["revision"]
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise RecognitionError("revision must be a whole number")
    transitive, withdrawn = d.get("transitive", False), d.get("withdrawn", False)
    if not isinstance(transitive, bool) or not isinstance(withdrawn, bool):
        raise RecognitionError("transitive and withdrawn are true or false")
    mode = d["mode"]
    if mode not in MODES:
        raise RecognitionError(f"mode must be one of {', '.join(MODES)}")
    table = _object(d.get("table") or {}, "table")
    return RecognitionMapping(
        mapping_id=_str(d["mappingId"], "mappingId", _MAX_ID),
        revision=revision,
        source=MappingSource(
            scheme=_str(src["scheme"], "source.scheme", 32),
            rules=_strings(src["rules"], "source.rules"),
            versions=VersionRange(
                _opt_str(versions.get("minimum"), "minimum"),
                _opt_str(versions.get("maximum"), "maximum"),
            ),
            grades=frozenset(_grade(g) for g in src.get("grades", GRADES)),
        ),
        target=MappingTarget(
            scheme=_str(tgt["scheme"], "target.scheme", 32),
            region=_str(tgt["region"], "target.region", 16),
            rule_id=_opt_str(tgt.get("ruleId"), "target.ruleId"),
            rule_version=_opt_str(tgt.get("ruleVersion"), "target.ruleVersion"),
        ),
        mode=cast(Mode, mode),
        table={_grade(k): _grade(v) for k, v in table.items()},
        conversion=conversion,
        conditions=Conditions(
            standards=_strings(cond.get("standards", []), "standards"),
            boundaries=cast(frozenset[Boundary], boundaries),
            max_period_age_days=_opt_int(cond.get("maxPeriodAgeDays"), "maxPeriodAgeDays"),
            categories=_strings(cond.get("accreditationCategories", []), "categories"),
            min_assurance=_opt_str(cond.get("minAssurance"), "minAssurance"),
            issued_from=_opt_time(cond.get("issuedFrom")),
            issued_until=_opt_time(cond.get("issuedUntil")),
            max_validity_days=_opt_int(cond.get("maxValidityDays"), "maxValidityDays"),
        ),
        effective_from=parse_datetime(_str(d["effectiveFrom"], "effectiveFrom")),
        effective_until=_opt_time(d.get("effectiveUntil")),
        approved_by=_str(d["approvedBy"], "approvedBy"),
        agreement_sha256=_str(d["agreementSha256"], "agreementSha256", 64),
        transitive=transitive,
        withdrawn=withdrawn,
    )

"""Scheme set-up: schemes, rules and immutable rule versions, each one ledgered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from credentials import (
    BOUNDARIES,
    Actor,
    CredentialError,
    RuleRegistered,
    RuleVersionPublished,
    SchemeRegistered,
    Thresholds,
    check_decimal,
)
from registry.clock import to_millis, utcnow
from registry.db import db
from registry.errors import (
    ConflictError,
    NotFoundError,
    UnknownChoiceError,
    ValidationFailedError,
)
from registry.ledger.services import append_event
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.schemes.timezones import start_of_day

__all__ = [
    "MAX_PERIOD_AGE",
    "check_categories_covered",
    "create_rule",
    "create_scheme",
    "find_rule_version",
    "get_rule",
    "get_rule_version",
    "get_scheme",
    "list_rule_versions",
    "list_schemes",
    "publish_rule_version",
    "with_rules",
]


# Months: twenty years, beyond any scheme's rule and within every integer column.
MAX_PERIOD_AGE = 240


def list_schemes() -> list[Scheme]:
    return list(db.session.execute(select(Scheme).order_by(Scheme.code)).scalars())


def get_scheme(code: str) -> Scheme:
    scheme = db.session.execute(select(Scheme).where(Scheme.code == code)).scalar_one_or_none()
    if scheme is None:
        raise NotFoundError(f"There is no scheme {code!r}.")
    return scheme


def create_scheme(
    *, actor: Actor, code: str, region: str, names: Mapping[str, str], owner: str
) -> Scheme:
    if db.session.execute(select(Scheme.id).where(Scheme.code == code)).first():
        raise ConflictError(f"Scheme {code!r} already exists.")
    scheme = Scheme(code=code, region=region, names=dict(names), owner=owner, created_at=utcnow())
    db.session.add(scheme)
    append_event(
        SchemeRegistered(scheme=code, region=region, names=dict(names), owner=owner, by=actor)
    )
    return scheme


def get_rule(scheme_code: str, rule_code: str) -> Rule:
    stmt = select(Rule).join(Rule.scheme).where(Scheme.code == scheme_code, Rule.code == rule_code)
    rule = db.session.execute(stmt).scalar_one_or_none()
    if rule is None:
        raise NotFoundError(f"Scheme {scheme_code!r} has no rule {rule_code!r}.")
    return rule


def create_rule(
    *, actor: Actor, scheme_code: str, code: str, category: str, names: Mapping[str, str]
) -> Rule:
    scheme = get_scheme(scheme_code)
    exists = select(Rule.id).where(Rule.scheme_id == scheme.id, Rule.code == code)
    if db.session.execute(exists).first():
        raise ConflictError(f"Scheme {scheme_code!r} already has a rule {code!r}.")
    rule = Rule(scheme=scheme, code=code, category=category, names=dict(names), created_at=utcnow())
    db.session.add(rule)
    append_event(
        RuleRegistered(
            scheme=scheme_code, rule=code, category=category, names=dict(names), by=actor
        )
    )
    return rule


def check_categories_covered(scheme: Scheme, categories: Iterable[str]) -> None:
    """Refuse categories for which ``scheme`` has no rule: nothing could be issued for them."""
    stmt = select(Rule.category).where(Rule.scheme_id == scheme.id).distinct()
    covered = set(db.session.execute(stmt).scalars())
    missing = sorted(set(categories) - covered)
    if not missing:
        return
    choices = ", ".join(sorted(covered)) or "none yet"
    message = (
        f"No rule of {scheme.code} covers {', '.join(missing)}, so the body could issue "
        f"nothing for it; check the spelling (the scheme's categories: {choices}), or add "
        "the rule first, or grant it anyway with allow_uncovered_category "
        "(--allow-uncovered-category)."
    )
    raise ValidationFailedError({"categories": [message]}, detail=message)


def with_rules(scheme: Scheme) -> Scheme:
    """``scheme`` with its rules loaded (ordered by code), for showing it whole."""
    stmt = select(Rule).where(Rule.scheme_id == scheme.id).order_by(Rule.code)
    set_committed_value(scheme, "rules", list(db.session.execute(stmt).scalars()))
    return scheme


def get_rule_version(scheme_code: str, rule_code: str, version: str) -> RuleVersion:
    stmt = (
        select(RuleVersion)
        .join(RuleVersion.rule)
        .join(Rule.scheme)
        .where(Scheme.code == scheme_code, Rule.code == rule_code, RuleVersion.version == version)
    )
    found = db.session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"Rule {rule_code!r} of {scheme_code!r} has no version {version!r}.")
    return found


def list_rule_versions(rule: Rule) -> list[RuleVersion]:
    stmt = select(RuleVersion).where(RuleVersion.rule_id == rule.id).order_by(RuleVersion.id)
    return list(db.session.execute(stmt).scalars())


def publish_rule_version(
    *,
    actor: Actor,
    scheme_code: str,
    rule_code: str,
    version: str,
    declared_unit: str,
    standard: str,
    in_force_from: datetime | date,
    in_force_until: datetime | date | None,
    thresholds: tuple[Decimal, Decimal, Decimal, Decimal],
    system_boundaries: Iterable[str] = BOUNDARIES,
    max_period_age_months: int | None = None,
    allows_net_negative: bool = False,
) -> RuleVersion:
    """Publish a version; it can never change afterwards (a correction is a new version).

    Besides the thresholds, a version states what a label graded under it may be: the system
    boundaries it grades (both by default), how many months before issuance the reference
    period may have ended at most (``None``: no limit), and whether it admits a zero footprint
    (``allows_net_negative``). Issuance refuses a label outside them
    (:mod:`registry.labels.plausibility`).
    """
    rule = get_rule(scheme_code, rule_code)
    # A date alone is the start of that day where the scheme is.
    in_force_from = start_of_day(in_force_from, rule.scheme.region)
    in_force_until = (
        None if in_force_until is None else start_of_day(in_force_until, rule.scheme.region)
    )
    boundaries = tuple(sorted(set(system_boundaries)))
    if not boundaries or not set(boundaries) <= set(BOUNDARIES):
        raise ValidationFailedError(
            {"system_boundaries": [f"Name one or both of {', '.join(BOUNDARIES)}."]}
        )
    if max_period_age_months is not None and not 1 <= max_period_age_months <= MAX_PERIOD_AGE:
        raise ValidationFailedError(
            {
                "max_period_age_months": [
                    f"A whole number of months from 1 to {MAX_PERIOD_AGE}, or leave it out "
                    "for no limit."
                ]
            }
        )
    try:
        for bound in thresholds:
            check_decimal(bound)
    except CredentialError:
        raise ValidationFailedError(
            {"thresholds": ["Each bound needs at most 18 integer digits and 12 decimals."]}
        ) from None
    # Stored as the ledger states them (milliseconds), so row and entry never disagree.
    in_force_from = to_millis(in_force_from)
    in_force_until = None if in_force_until is None else to_millis(in_force_until)
    try:
        bounds = Thresholds(*thresholds)
    except CredentialError as exc:
        raise ValidationFailedError({"thresholds": [str(exc)]}) from exc
    if in_force_until is not None and in_force_until <= in_force_from:
        raise ValidationFailedError({"in_force_until": ["Must be after in_force_from."]})
    exists = select(RuleVersion.id).where(
        RuleVersion.rule_id == rule.id, RuleVersion.version == version
    )
    if db.session.execute(exists).first():
        raise ConflictError(
            f"Rule {rule_code!r} already has version {version!r}; versions are immutable, "
            "publish a new one."
        )
    rv = RuleVersion(
        rule=rule,
        version=version,
        declared_unit=declared_unit,
        standard=standard,
        in_force_from=in_force_from,
        in_force_until=in_force_until,
        threshold_a=bounds.a,
        threshold_b=bounds.b,
        threshold_c=bounds.c,
        threshold_d=bounds.d,
        published_at=utcnow(),
        system_boundaries=list(boundaries),
        max_period_age_months=max_period_age_months,
        allows_net_negative=allows_net_negative,
    )
    db.session.add(rv)
    append_event(
        RuleVersionPublished(
            scheme=scheme_code,
            rule=rule_code,
            version=version,
            category=rule.category,
            declared_unit=declared_unit,
            standard=standard,
            in_force_from=in_force_from,
            in_force_until=in_force_until,
            thresholds=bounds,
            by=actor,
            system_boundaries=boundaries,
            max_period_age_months=max_period_age_months,
            allows_net_negative=allows_net_negative,
        )
    )
    return rv


def _listed(choices: list[str]) -> str:
    return ", ".join(choices) if choices else "none"


def find_rule_version(
    scheme_code: str, rule_code: str, version: str, *, at: datetime
) -> RuleVersion:
    """The rule version a request names; if there is none, which of the three is missing and
    the valid choices: the schemes, the scheme's rules, or the versions in force at ``at``
    (else every published one)."""
    try:
        return get_rule_version(scheme_code, rule_code, version)
    except NotFoundError:
        pass
    scheme = db.session.execute(
        select(Scheme).where(Scheme.code == scheme_code)
    ).scalar_one_or_none()
    if scheme is None:
        schemes = list(db.session.execute(select(Scheme.code).order_by(Scheme.code)).scalars())
        raise UnknownChoiceError(
            f"There is no scheme {scheme_code!r}; the schemes are: {_listed(schemes)}.",
            missing="scheme",
            choices=schemes,
        )
    rule = db.session.execute(
        select(Rule).where(Rule.scheme_id == scheme.id, Rule.code == rule_code)
    ).scalar_one_or_none()
    if rule is None:
        rules = list(
            db.session.execute(
                select(Rule.code).where(Rule.scheme_id == scheme.id).order_by(Rule.code)
            ).scalars()
        )
        raise UnknownChoiceError(
            f"Scheme {scheme_code!r} has no rule {rule_code!r}; its rules are: {_listed(rules)}.",
            missing="rule",
            choices=rules,
        )
    versions = list_rule_versions(rule)
    in_force = [rv.version for rv in versions if rv.trusted().in_force_at(at)]
    if in_force:
        listed = f"the versions in force now are: {_listed(in_force)}"
    else:
        in_force = [rv.version for rv in versions]
        listed = f"none is in force now; the published versions are: {_listed(in_force)}"
    raise UnknownChoiceError(
        f"Rule {rule_code!r} of {scheme_code!r} has no version {version!r}; {listed}.",
        missing="version",
        choices=in_force,
    )

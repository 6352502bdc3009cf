"""The fictitious demo data set and ``flask --app wsgi demo load``.

Loading goes through the same services as the API (so every step is ledgered, checked and
signed) in one transaction: either the whole demo is there afterwards, or nothing is. A database
that already holds the demo, or any of its schemes or bodies, is refused instead of duplicated.
The data itself is in :mod:`registry.demo_data`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from credentials import Product
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, Principal, authenticate, create_token
from registry.bodies.models import CertificationBody
from registry.bodies.services import (
    add_body_key,
    grant_accreditation,
    register_body,
    rotate_body_key,
)
from registry.config import current_settings
from registry.db import db, transaction
from registry.demo_data import (
    BODIES,
    CATEGORY_NAMES,
    KEY_ROTATION,
    LABELS,
    MAPPINGS,
    MAX_PERIOD_AGE_MONTHS,
    REGULATOR_SCHEMES,
    RULES,
    SCHEMES,
    STATUS_CHANGES,
    LabelSpec,
    RuleSpec,
    demo_gtin,
)
from registry.errors import ConflictError
from registry.labels.issuance import LabelRequest, issue_label
from registry.labels.models import LabelStatus
from registry.labels.services import StatusAction, change_label_status
from registry.ledger.services import publish_checkpoint
from registry.pact.services import create_client as create_pact_client
from registry.recognition.services import publish_mapping
from registry.schemes.models import Scheme
from registry.schemes.services import create_rule, create_scheme, publish_rule_version

__all__ = [
    "DemoAlreadyLoadedError",
    "DemoLoad",
    "demo_cli",
    "demo_present",
    "load_demo",
]

demo_cli = AppGroup("demo", help="Load the fictitious demo data set.")


class DemoAlreadyLoadedError(ConflictError):
    """The database already holds the demo (or schemes or bodies with the demo's codes)."""


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What a load made: the tokens (shown only now) and the labels by status."""

    base_url: str
    operator_token: str
    regulator_token: str
    regulator_schemes: tuple[str, ...]
    certifier_tokens: dict[str, str]
    label_ids: dict[str, str]  # the data set's key -> the registry's label id
    statuses: dict[str, LabelStatus]  # label id -> status after loading
    bodies: dict[str, str]  # label id -> body code
    superseded_by: dict[str, str] = field(default_factory=dict)
    reinstated: tuple[str, ...] = ()
    pact_client: tuple[str, str] = ("", "")  # a PACT client's id and secret (shown only now)

    def ids_with(self, status: LabelStatus) -> list[str]:
        return [i for i in self.label_ids.values() if self.statuses[i] is status]

    def as_json(self) -> dict[str, Any]:
        """The document ``flask demo load`` prints, for scripts that drive the demo."""
        by_body: dict[str, list[str]] = {code: [] for code in self.certifier_tokens}
        for label_id in self.label_ids.values():
            by_body[self.bodies[label_id]].append(label_id)
        return {
            "base_url": self.base_url,
            "tokens": {
                "operator": self.operator_token,
                "regulator": self.regulator_token,
                "certifier": dict(self.certifier_tokens),
            },
            "regulator_schemes": list(self.regulator_schemes),
            "pact": {
                "client_id": self.pact_client[0],
                "client_secret": self.pact_client[1],
                "token_url": f"{self.base_url}/auth/token",
                "footprints_url": f"{self.base_url}/3/footprints",
            },
            "labels": {
                **{s.value: self.ids_with(s) for s in LabelStatus},
                "reinstated": list(self.reinstated),
                "superseded_by": dict(self.superseded_by),
                "by_body": by_body,
            },
        }


def demo_present() -> bool:
    """Whether the demo is loaded: all of its schemes and certification bodies are there."""
    return len(_taken()) == len(SCHEMES) + len(BODIES)


def _taken() -> list[str]:
    schemes = db.session.execute(
        select(Scheme.code).where(Scheme.code.in_([s.code for s in SCHEMES]))
    ).scalars()
    bodies = db.session.execute(
        select(CertificationBody.code).where(CertificationBody.code.in_([b.code for b in BODIES]))
    ).scalars()
    return sorted(schemes) + sorted(bodies)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def load_demo() -> DemoLoad:
    """Load the whole demo in one transaction; refuse if any part of it is already there."""
    with transaction():
        taken = _taken()
        if len(taken) == len(SCHEMES) + len(BODIES):
            raise DemoAlreadyLoadedError(
                "The demo is already loaded in this database; it is loaded once and never "
                "duplicated. Its tokens were printed when it was loaded (`python -m registry` "
                "keeps them in instance/demo.json); load into a fresh database to get new ones."
            )
        if taken:
            raise DemoAlreadyLoadedError(
                "This database already has schemes or certification bodies with the demo's "
                f"codes ({', '.join(taken)}); the demo loads only into a database without them."
            )
        _set_up_schemes()
        _set_up_bodies()
        for mapping in MAPPINGS:
            publish_mapping(OPERATOR_CONSOLE, mapping.to_json())
        operator = _token(Role.OPERATOR, "Demo operator")
        regulator = _token(Role.REGULATOR, "Demo regulator", schemes=REGULATOR_SCHEMES)
        certifiers = {b.code: _token(Role.CERTIFIER, f"Demo {b.code}", body=b.code) for b in BODIES}
        issued = _issue_and_change(operator, certifiers)
        pact_client, pact_secret = create_pact_client("Demo PACT data recipient")
        # Sign a checkpoint over everything now, so the demo is covered from the start.
        publish_checkpoint()
    return DemoLoad(
        base_url=current_settings().public_base_url,
        operator_token=operator,
        regulator_token=regulator,
        regulator_schemes=REGULATOR_SCHEMES,
        certifier_tokens=certifiers,
        label_ids=issued.label_ids,
        statuses=issued.statuses,
        bodies=issued.bodies,
        superseded_by=issued.superseded_by,
        reinstated=tuple(issued.reinstated),
        pact_client=(pact_client.client_id, pact_secret),
    )


def _set_up_schemes() -> None:
    for scheme in SCHEMES:
        create_scheme(
            actor=OPERATOR_CONSOLE,
            code=scheme.code,
            region=scheme.region,
            names=scheme.names,
            owner=scheme.owner,
        )
    for rule in RULES:
        create_rule(
            actor=OPERATOR_CONSOLE,
            scheme_code=rule.scheme,
            code=rule.code,
            category=rule.category,
            names=_rule_names(rule),
        )
        for v in rule.versions:
            publish_rule_version(
                actor=OPERATOR_CONSOLE,
                scheme_code=rule.scheme,
                rule_code=rule.code,
                version=v.version,
                declared_unit=rule.declared_unit,
                standard=rule.standard,
                in_force_from=_at(v.in_force_from),
                in_force_until=None if v.in_force_until is None else _at(v.in_force_until),
                thresholds=(
                    Decimal(v.thresholds[0]),
                    Decimal(v.thresholds[1]),
                    Decimal(v.thresholds[2]),
                    Decimal(v.thresholds[3]),
                ),
                system_boundaries=(rule.boundary,),
                max_period_age_months=MAX_PERIOD_AGE_MONTHS,
            )


def _rule_names(rule: RuleSpec) -> dict[str, str]:
    """The rule's name in each language its scheme is named in."""
    en, hans, hant, pt = CATEGORY_NAMES[rule.category]
    by_language = {"en": en, "zh-Hans": hans, "zh-Hant": hant, "pt": pt, "pt-MO": pt}
    scheme = next(s for s in SCHEMES if s.code == rule.scheme)
    return {lang: by_language[lang] for lang in scheme.names}


def _set_up_bodies() -> None:
    for body in BODIES:
        register_body(
            actor=OPERATOR_CONSOLE,
            code=body.code,
            name=body.name,
            region=body.region,
            names=body.names,
        )
        for acc in body.accreditations:
            grant_accreditation(
                actor=OPERATOR_CONSOLE,
                body_code=body.code,
                scheme_code=acc.scheme,
                categories=acc.categories,
                accreditation_body=acc.accreditation_body,
                reference=acc.reference,
                valid_from=_at(acc.valid_from),
                valid_until=None if acc.valid_until is None else _at(acc.valid_until),
            )
        add_body_key(body.code, actor=OPERATOR_CONSOLE)


def _token(role: Role, name: str, *, body: str | None = None, schemes: tuple[str, ...] = ()) -> str:
    _, secret = create_token(role=role, name=name, body_code=body, schemes=schemes)
    return secret


def _request(spec: LabelSpec, label_ids: dict[str, str]) -> LabelRequest:
    rule = next(r for r in RULES if r.code == spec.rule)
    return LabelRequest(
        product=Product(
            name=spec.product,
            manufacturer=spec.manufacturer,
            model=spec.model,
            gtin=demo_gtin(spec.gtin),
        ),
        footprint=Decimal(spec.footprint),
        declared_unit_amount=Decimal(spec.amount),
        system_boundary=rule.boundary,
        period_start=spec.period[0],
        period_end=spec.period[1],
        scheme=rule.scheme,
        rule=rule.code,
        rule_version=rule.current.version,
        declared_unit=rule.declared_unit,
        asserted_grade=spec.grade,  # the registry refuses the load if its grade differs
        supersedes=None if spec.supersedes is None else label_ids[spec.supersedes],
        assurance=spec.assurance,
    )


@dataclass(slots=True)
class _Issued:
    label_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, LabelStatus] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)
    superseded_by: dict[str, str] = field(default_factory=dict)
    reinstated: list[str] = field(default_factory=list)


def _issue_and_change(operator: str, certifiers: dict[str, str]) -> _Issued:
    principals: dict[str, Principal] = {code: authenticate(t) for code, t in certifiers.items()}
    issued = _Issued()
    label_ids, statuses = issued.label_ids, issued.statuses
    for spec in LABELS:
        if (spec.body, spec.key) == KEY_ROTATION:
            rotate_body_key(spec.body, actor=OPERATOR_CONSOLE)
        label = issue_label(principals[spec.body], _request(spec, label_ids)).label
        label_ids[spec.key] = label.id
        issued.bodies[label.id] = spec.body
        statuses[label.id] = label.status
        if spec.supersedes is not None:
            old = label_ids[spec.supersedes]
            issued.superseded_by[old] = label.id
            statuses[old] = LabelStatus.SUPERSEDED
    operator_principal = authenticate(operator)
    for change in STATUS_CHANGES:
        label_id = label_ids[change.label]
        spec = next(s for s in LABELS if s.key == change.label)
        who = operator_principal if change.by == "operator" else principals[spec.body]
        action = StatusAction(change.action)
        statuses[label_id] = change_label_status(who, label_id, action, reason=change.reason).status
        if action is StatusAction.REINSTATE:
            issued.reinstated.append(label_id)
    return issued


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo into the configured database and print its tokens and label ids as JSON.

    Create the schema first (``flask --app wsgi db upgrade``). The tokens are shown only here.
    """
    try:
        loaded = load_demo()
    except DemoAlreadyLoadedError as exc:
        click.echo(f"demo load: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(json.dumps(loaded.as_json(), indent=2, ensure_ascii=False))

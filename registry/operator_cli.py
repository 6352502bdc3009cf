"""The operator's read commands (``list``, ``show``), the status commands the API has, and the
set-up checklist.

``list`` prints one line a row for people, ``--json`` the same objects the API answers (each
dumped with the API's own schema, so the two cannot say different things). Reads run in a
read-only transaction; the status commands go through the same services and schemas as the API
and are ledgered like them, each in one transaction (see :mod:`registry.cli`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import func, inspect, select

from registry.auth.models import ApiToken
from registry.auth.schemas import api_token_schema
from registry.auth.services import CONSOLE, OPERATOR_CONSOLE, get_token
from registry.bodies.models import Accreditation, BodyKey, CertificationBody
from registry.bodies.schemas import (
    accreditation_schema,
    accreditation_status_change_schema,
    accreditation_status_for,
    body_detail_schema,
    body_key_schema,
    body_schema,
    body_status_change_schema,
    body_status_for,
)
from registry.bodies.services import (
    get_accreditation,
    get_body,
    list_bodies,
    set_accreditation_status,
    set_body_status,
)
from registry.cli import Said, _fail, _operator_command
from registry.clock import utcnow
from registry.db import db, read_only
from registry.errors import RegistryError
from registry.labels.held import prune_preparations
from registry.labels.schemas import status_change_schema
from registry.labels.services import change_label_status
from registry.recognition.schemas import mapping_revision_schema
from registry.recognition.services import current_mappings, publish_mapping, withdraw_mapping
from registry.reports.schemas import report_status_change_schema
from registry.reports.services import set_report_status
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.schemes.schemas import rule_schema, scheme_detail_schema, scheme_schema
from registry.schemes.services import get_rule, get_scheme, list_schemes, with_rules

__all__ = ["attach_operator_commands", "labels_cli", "mappings_cli", "reports_cli", "setup_cli"]

mappings_cli = AppGroup("mappings", help="List, publish and withdraw recognition mappings.")
labels_cli = AppGroup("labels", help="The operator's status changes of labels.")
reports_cli = AppGroup("reports", help="Reports of suspect labels.")
setup_cli = AppGroup("setup", help="Walk an operator from a new scheme to a first token.")

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


def _read(fn: Callable[[], object]) -> Any:
    """Run a read in a read-only transaction, turning a registry refusal into one error line."""
    try:
        with read_only():
            return fn()
    except RegistryError as exc:
        _fail(exc.detail or exc.title)


def _codes(model: type[Scheme] | type[CertificationBody]) -> dict[int, str]:
    return {row_id: code for row_id, code in db.session.execute(select(model.id, model.code))}


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _table(rows: Iterable[Sequence[object]], header: Sequence[str]) -> None:
    """Columns padded to their widest cell; ``-`` for what is empty."""
    cells = [[str(c) for c in header]] + [
        ["-" if v in (None, "") else str(v) for v in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


# --- schemes and rules ---------------------------------------------------------------------


def _schemes_list(as_json: bool) -> None:
    def read() -> None:
        schemes = list_schemes()
        if as_json:
            _echo_json(scheme_schema.dump(schemes, many=True))
            return
        rules: dict[int, int] = {
            scheme_id: n
            for scheme_id, n in db.session.execute(
                select(Rule.scheme_id, func.count()).group_by(Rule.scheme_id)
            )
        }
        _table(
            ((s.code, s.region, rules.get(s.id, 0), s.names.get("en") or s.owner) for s in schemes),
            ("CODE", "REGION", "RULES", "NAME (en)"),
        )

    _read(read)


def _schemes_show(code: str) -> None:
    _read(lambda: _echo_json(scheme_detail_schema.dump(with_rules(get_scheme(code)))))


def _rules_list(scheme: str | None, as_json: bool) -> None:
    def read() -> None:
        query = select(Rule).join(Scheme).order_by(Scheme.code, Rule.code)
        if scheme is not None:
            query = query.where(Scheme.id == get_scheme(scheme).id)
        rules = db.session.scalars(query).all()
        if as_json:
            _echo_json(rule_schema.dump(rules, many=True))
            return
        now = utcnow()
        in_force = {rule.id: _version_in_force(rule, now) for rule in rules}
        _table(
            ((r.scheme.code, r.code, r.category, in_force[r.id]) for r in rules),
            ("SCHEME", "RULE", "CATEGORY", "IN FORCE NOW"),
        )

    _read(read)


def _in_force(now: Any) -> tuple[Any, ...]:
    return (
        RuleVersion.in_force_from <= now,
        (RuleVersion.in_force_until.is_(None)) | (RuleVersion.in_force_until > now),
    )


def _version_in_force(rule: Rule, now: Any) -> str | None:
    versions = db.session.scalars(
        select(RuleVersion)
        .where(RuleVersion.rule_id == rule.id, *_in_force(now))
        .order_by(RuleVersion.in_force_from.desc())
        .limit(1)
    ).all()
    return versions[0].version if versions else None


def _rules_show(scheme: str, rule: str) -> None:
    _read(lambda: _echo_json(rule_schema.dump(get_rule(scheme, rule))))


# --- bodies, accreditations and keys ---------------------------------------------------------


def _bodies_list(as_json: bool) -> None:
    def read() -> None:
        bodies = list_bodies()
        if as_json:
            _echo_json(body_schema.dump(bodies, many=True))
            return
        _table(
            ((b.code, b.region, b.status.value, b.name) for b in bodies),
            ("CODE", "REGION", "STATUS", "NAME"),
        )

    _read(read)


def _bodies_show(code: str) -> None:
    _read(lambda: _echo_json(body_detail_schema.dump(get_body(code))))


def _accreditations_list(body: str | None, as_json: bool) -> None:
    def read() -> None:
        query = select(Accreditation).join(CertificationBody).order_by(Accreditation.id)
        if body is not None:
            query = query.where(CertificationBody.id == get_body(body).id)
        found = db.session.scalars(query).all()
        if as_json:
            _echo_json(accreditation_schema.dump(found, many=True))
            return
        codes = _codes(CertificationBody)
        _table(
            (
                (
                    a.id,
                    codes[a.body_id],
                    a.scheme.code,
                    ",".join(a.categories),
                    a.status.value,
                    a.valid_from.date(),
                    a.valid_until.date() if a.valid_until else None,
                )
                for a in found
            ),
            ("ID", "BODY", "SCHEME", "CATEGORIES", "STATUS", "FROM", "UNTIL"),
        )

    _read(read)


def _accreditations_show(accreditation_id: int) -> None:
    _read(lambda: _echo_json(accreditation_schema.dump(get_accreditation(accreditation_id))))


def _keys_list(body: str | None, as_json: bool) -> None:
    def read() -> None:
        query = select(BodyKey).join(CertificationBody).order_by(BodyKey.id)
        if body is not None:
            query = query.where(CertificationBody.id == get_body(body).id)
        keys = db.session.scalars(query).all()
        if as_json:
            _echo_json(body_key_schema.dump(keys, many=True))
            return
        codes = _codes(CertificationBody)
        _table(
            (
                (
                    codes[k.body_id],
                    k.public_key_multibase,
                    "registry" if k.secret_box is not None else "body",
                    k.active_from,
                    k.retired_at,
                )
                for k in keys
            ),
            ("BODY", "PUBLIC KEY", "HELD BY", "ACTIVE FROM", "RETIRED"),
        )

    _read(read)


# --- tokens: names and roles, never a secret ----------------------------------------------


def _tokens_list(as_json: bool) -> None:
    def read() -> None:
        tokens = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        if as_json:
            _echo_json(api_token_schema.dump(tokens, many=True))
            return
        _table(
            (
                (
                    t.id,
                    t.name,
                    t.role.value,
                    t.body.code if t.body else ",".join(t.schemes),
                    f"{t.prefix}…",
                    t.created_at,
                    t.revoked_at,
                )
                for t in tokens
            ),
            ("ID", "NAME", "ROLE", "BODY/SCHEMES", "PREFIX", "CREATED", "REVOKED"),
        )

    _read(read)


def _tokens_show(token_id: int) -> None:
    _read(lambda: _echo_json(api_token_schema.dump(get_token(token_id))))


# --- status changes the API offers the operator ---------------------------------------------


@_operator_command
def _body_status(code: str, status: str, reason: str) -> Said:
    change = body_status_change_schema.load({"status": status, "reason": reason})
    body = set_body_status(
        code, body_status_for(change["action"]), reason=change["reason"], actor=OPERATOR_CONSOLE
    )
    return Said(f"Body {body.code} is now {body.status.value}.")


@_operator_command
def _accreditation_status(accreditation_id: int, status: str, reason: str) -> Said:
    change = accreditation_status_change_schema.load({"status": status, "reason": reason})
    found = set_accreditation_status(
        accreditation_id,
        accreditation_status_for(change["action"]),
        reason=change["reason"],
        actor=OPERATOR_CONSOLE,
    )
    return Said(f"Accreditation {found.id} is now {found.status.value}.")


@_operator_command
def _label_status(label_id: str, action: str, reason: str) -> Said:
    change = status_change_schema.load({"action": action, "reason": reason})
    label = change_label_status(CONSOLE, label_id, change["action"], reason=change["reason"])
    return Said(f"Label {label.id} is now {label.status.value}.")


@_operator_command
def _prune_preparations() -> Said:
    pruned = prune_preparations(now=utcnow())
    return Said(f"{pruned} expired label preparations removed.")


@_operator_command
def _report_status(report_id: int, status: str) -> Said:
    change = report_status_change_schema.load({"status": status})
    report = set_report_status(CONSOLE, report_id, change["status"])
    return Said(f"Report {report.id} is now {report.status.value}.")


# --- recognition mappings --------------------------------------------------------------------


@mappings_cli.command("list")
@click.option("--withdrawn", is_flag=True, help="Include withdrawn mappings.")
@JSON_OPTION
def mappings_list_command(withdrawn: bool, as_json: bool) -> None:
    """The newest revision of every mapping in force (or withdrawn too)."""

    def read() -> None:
        revisions = current_mappings(include_withdrawn=withdrawn)
        if as_json:
            _echo_json(mapping_revision_schema.dump(revisions, many=True))
            return
        codes = _codes(Scheme)
        _table(
            (
                (
                    r.mapping_id,
                    r.revision,
                    codes[r.source_scheme_id],
                    codes[r.target_scheme_id],
                    "withdrawn" if r.withdrawn else "in force",
                    r.published_at,
                )
                for r in revisions
            ),
            ("MAPPING", "REVISION", "FROM", "TO", "STATE", "PUBLISHED"),
        )

    _read(read)


@mappings_cli.command("publish")
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_operator_command
def mappings_publish_command(document: Path) -> Said:
    """Publish the mapping in DOCUMENT (the JSON the API's POST /recognition/mappings takes)."""
    try:
        data = json.loads(document.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{document} is not UTF-8 JSON: {exc}")
    if not isinstance(data, dict):
        _fail(f"{document} must hold one JSON object, the mapping")
    revision = publish_mapping(OPERATOR_CONSOLE, data)
    return Said(json.dumps(mapping_revision_schema.dump(revision), ensure_ascii=False))


@mappings_cli.command("withdraw")
@click.argument("mapping_id")
@click.option("--reason", required=True, help="Why, as the ledger will say it.")
@_operator_command
def mappings_withdraw_command(mapping_id: str, reason: str) -> Said:
    """Withdraw MAPPING_ID from now on."""
    revision = withdraw_mapping(OPERATOR_CONSOLE, mapping_id, reason)
    return Said(f"Mapping {mapping_id} withdrawn (revision {revision.revision}).")


# --- the set-up checklist --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One step from a new scheme to a first token: done or not, and what to run next."""

    title: str
    done: bool
    detail: str
    next_command: str


def setup_steps() -> list[Step]:
    """The checklist, read from the database (inside a transaction)."""
    now = utcnow()

    def count(model: Any, *where: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    flask = ".venv/bin/flask --app wsgi"
    if not inspect(db.session.connection()).has_table(Scheme.__tablename__):
        return [Step("The database schema", False, "no tables yet", f"{flask} db upgrade")]
    schemes = count(Scheme)
    rules = count(Rule)
    in_force = count(RuleVersion, *_in_force(now))
    bodies = count(CertificationBody)
    accredited = count(Accreditation)
    keys = count(BodyKey, BodyKey.retired_at.is_(None))
    certifier_tokens = count(ApiToken, ApiToken.body_id.is_not(None), ApiToken.revoked_at.is_(None))
    return [
        Step(
            "A scheme",
            schemes > 0,
            f"{schemes} scheme(s)",
            f"{flask} schemes create CODE --region CN-GD --owner 'WHO RUNS IT' "
            "--name en='NAME' --name zh-Hans='名称'",
        ),
        Step(
            "A product rule of the scheme",
            rules > 0,
            f"{rules} rule(s)",
            f"{flask} rules create SCHEME RULE --category CATEGORY --name en='NAME'",
        ),
        Step(
            "A rule version in force (its grade thresholds)",
            in_force > 0,
            f"{in_force} version(s) in force now",
            f"{flask} rules publish-version SCHEME RULE VERSION --declared-unit kWh "
            "--standard 'ISO 14067:2018' --in-force-from 2026-01-01T00:00:00+08:00 "
            "--threshold A=45 --threshold B=65 --threshold C=85 --threshold D=110",
        ),
        Step(
            "A certification body",
            bodies > 0,
            f"{bodies} body(ies)",
            f"{flask} bodies register CODE --name 'ISSUER NAME' --region CN-GD",
        ),
        Step(
            "Its accreditation for the scheme and category",
            accredited > 0,
            f"{accredited} accreditation(s)",
            f"{flask} bodies accredit BODY SCHEME --category CATEGORY --accreditation-body CNAS "
            "--reference REF --valid-from 2026-01-01T00:00:00+08:00",
        ),
        Step(
            "A signing key of the body",
            keys > 0,
            f"{keys} key(s) in use",
            f"{flask} bodies add-key BODY",
        ),
        Step(
            "A certifier token for the body",
            certifier_tokens > 0,
            f"{certifier_tokens} certifier token(s)",
            f"{flask} tokens create --role certifier --body BODY --name 'WHO USES IT'",
        ),
    ]


@setup_cli.command("status")
@JSON_OPTION
def setup_status_command(as_json: bool) -> None:
    """Where this registry stands from a new scheme to a first token, and the next command.

    Exits 0 once every step is done, 1 while one is left.
    """
    steps: list[Step] = _read(setup_steps)
    pending = next((step for step in steps if not step.done), None)
    if as_json:
        _echo_json(
            [
                {"step": s.title, "done": s.done, "detail": s.detail, "command": s.next_command}
                for s in steps
            ]
        )
    else:
        for number, step in enumerate(steps, start=1):
            mark = "done" if step.done else "to do"
            click.echo(f"{number}. [{mark:5}] {step.title}: {step.detail}")
        if pending is None:
            click.echo("Every step is done: certifiers can issue with their token.")
        else:
            click.echo(f"Next: {pending.title}:\n  {pending.next_command}")
            click.echo("Each command's --help says what its options mean.")
    if pending is not None:
        raise click.exceptions.Exit(1)


def attach_operator_commands(groups: dict[str, click.Group]) -> None:
    """Add the read and status commands to the existing groups of :mod:`registry.cli`
    (module-level groups, shared by every app a process builds: added once)."""
    if "list" in groups["schemes"].commands:
        return
    schemes, rules, bodies, tokens, labels, reports = (
        groups[n] for n in ("schemes", "rules", "bodies", "tokens", "labels", "reports")
    )

    @schemes.command("list")
    @JSON_OPTION
    def schemes_list(as_json: bool) -> None:
        """Every scheme: code, region, number of rules, name."""
        _schemes_list(as_json)

    @schemes.command("show")
    @click.argument("code")
    def schemes_show(code: str) -> None:
        """One scheme with its rules and their versions, as the API shows it."""
        _schemes_show(code)

    @rules.command("list")
    @click.option("--scheme", default=None, help="Only this scheme's rules.")
    @JSON_OPTION
    def rules_list(scheme: str | None, as_json: bool) -> None:
        """Every rule: scheme, code, category and the version in force now."""
        _rules_list(scheme, as_json)

    @rules.command("show")
    @click.argument("scheme")
    @click.argument("rule")
    def rules_show(scheme: str, rule: str) -> None:
        """One rule with every version (thresholds, declared unit, in force from)."""
        _rules_show(scheme, rule)

    @bodies.command("list")
    @JSON_OPTION
    def bodies_list(as_json: bool) -> None:
        """Every certification body: code, region, status, name."""
        _bodies_list(as_json)

    @bodies.command("show")
    @click.argument("code")
    def bodies_show(code: str) -> None:
        """One body with its accreditations and keys, as the API shows it."""
        _bodies_show(code)

    @bodies.command("accreditations")
    @click.option("--body", default=None, help="Only this body's accreditations.")
    @JSON_OPTION
    def accreditations_list(body: str | None, as_json: bool) -> None:
        """Every accreditation: id, body, scheme, categories, status, validity."""
        _accreditations_list(body, as_json)

    @bodies.command("accreditation")
    @click.argument("accreditation_id", type=int)
    def accreditations_show(accreditation_id: int) -> None:
        """One accreditation, as the API shows it."""
        _accreditations_show(accreditation_id)

    @bodies.command("keys")
    @click.option("--body", default=None, help="Only this body's keys.")
    @JSON_OPTION
    def keys_list(body: str | None, as_json: bool) -> None:
        """Every signing key: body, public key, who holds the private key, active, retired."""
        _keys_list(body, as_json)

    @bodies.command("set-status")
    @click.argument("code")
    @click.option(
        "--status",
        required=True,
        type=click.Choice(["active", "suspended", "withdrawn"]),
        help="suspended stops issuance; active lifts a suspension; withdrawn is final.",
    )
    @click.option("--reason", required=True, help="Why, as the ledger will say it.")
    def body_status(code: str, status: str, reason: str) -> None:
        """Suspend, reinstate or withdraw certification body CODE (ledgered)."""
        _body_status(code, status, reason)

    @bodies.command("set-accreditation-status")
    @click.argument("accreditation_id", type=int)
    @click.option(
        "--status",
        required=True,
        type=click.Choice(["active", "suspended", "withdrawn"]),
        help="suspended stops issuance under it; active lifts that; withdrawn is final.",
    )
    @click.option("--reason", required=True, help="Why, as the ledger will say it.")
    def accreditation_status(accreditation_id: int, status: str, reason: str) -> None:
        """Suspend, reinstate or withdraw accreditation ACCREDITATION_ID (ledgered)."""
        _accreditation_status(accreditation_id, status, reason)

    @labels.command("set-status")
    @click.argument("label_id")
    @click.option(
        "--action",
        required=True,
        type=click.Choice(["suspend", "reinstate"]),
        help="The operator suspends, and lifts its own suspensions; revoking is the body's.",
    )
    @click.option("--reason", required=True, help="Why, as the ledger and the label page say.")
    def label_status(label_id: str, action: str, reason: str) -> None:
        """Suspend LABEL_ID, or lift the operator's suspension of it (ledgered)."""
        _label_status(label_id, action, reason)

    @labels.command("prune-preparations")
    def labels_prune_preparations() -> None:
        """Remove the label preparations that expired over a week ago unsigned (cron: daily)."""
        _prune_preparations()

    @reports.command("set-status")
    @click.argument("report_id", type=int)
    @click.option("--status", required=True, type=click.Choice(["new", "seen"]))
    def report_status(report_id: int, status: str) -> None:
        """Mark suspect-label report REPORT_ID seen (or new again)."""
        _report_status(report_id, status)

    @tokens.command("list")
    @JSON_OPTION
    def tokens_list(as_json: bool) -> None:
        """Every API token by id, name, role and prefix; never its secret."""
        _tokens_list(as_json)

    @tokens.command("show")
    @click.argument("token_id", type=int)
    def tokens_show(token_id: int) -> None:
        """One token by id: name, role, body or schemes, created, revoked; never its secret."""
        _tokens_show(token_id)

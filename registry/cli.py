"""Operator commands (``flask --app wsgi ...``); ``db`` comes from Flask-Migrate.

Set-up commands (``schemes``, ``rules``, ``bodies``, ``tokens``) parse their options with the
admin API's schemas and call the same services, each command in one transaction: it is written
and ledgered whole, or not at all. A refusal prints one line to stderr and exits 1.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, ParamSpec

import click
from flask import Flask
from flask.cli import AppGroup
from marshmallow import ValidationError

from credentials import BOUNDARIES, Severity
from registry.audit.findings import run_audit, visible_findings
from registry.auth.models import Role
from registry.auth.schemas import api_token_schema
from registry.auth.services import OPERATOR_CONSOLE, create_token, revoke_token
from registry.bodies.schemas import accreditation_schema, body_key_schema, body_schema
from registry.bodies.services import (
    add_body_key,
    grant_accreditation,
    register_body,
    retire_body_key,
    rotate_body_key,
)
from registry.db import read_snapshot, transaction
from registry.errors import RegistryError, ValidationFailedError
from registry.ledger.services import publish_checkpoint
from registry.ledger.verification import verify_ledger, verify_state
from registry.schemes.schemas import rule_schema, rule_version_schema, scheme_schema
from registry.schemes.services import create_rule, create_scheme, publish_rule_version

__all__ = ["register_cli"]

ledger_cli = AppGroup("ledger", help="Inspect and verify the append-only ledger.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Recompute every hash and the root from all entries, check the signed checkpoints, replay
    every state transition and compare the state the entries derive with the tables."""
    with read_snapshot():
        report = verify_ledger()
        state = verify_state()
    click.echo(f"entries:             {report.size}")
    click.echo(f"root hash:           {base64.b64encode(report.root_hash).decode()}")
    click.echo(f"checkpoints valid:   {report.checkpoints_verified}")
    if report.latest_checkpoint_size is None:
        click.echo("latest checkpoint:   none yet (`flask ledger checkpoint` signs one)")
    else:
        click.echo(f"latest checkpoint:   size {report.latest_checkpoint_size}")
        if report.uncovered:
            click.echo(f"not yet covered:     {report.uncovered} entries (the ticker signs them)")
    if state.violation is None:
        click.echo(f"transitions:         all {state.entries} allowed")
        click.echo(f"tables:              {len(state.mismatches) or 'none'} differ from the ledger")
    else:
        seq = state.violation.seq
        click.echo(f"transitions:         {state.entries} allowed, then entry {seq} refused")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if state.violation is not None:
        click.echo(f"PROBLEM: illegal transition: {state.violation}", err=True)
    for mismatch in state.mismatches:
        click.echo(f"PROBLEM: table differs: {mismatch}", err=True)
    if not (report.ok and state.ok):
        raise click.exceptions.Exit(1)
    click.echo("ledger OK")


audit_cli = AppGroup("audit", help="Audit the ledger: findings from the stored entries.")


@audit_cli.command("run")
@click.option("--scheme", default=None, help="Only findings whose evidence is under this scheme.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.HIGH.value,
    show_default=True,
    help="Exit 1 if any finding is at or above this severity.",
)
def audit_run_command(scheme: str | None, as_json: bool, fail_on: str) -> None:
    """Compute every finding from the stored ledger entries (and compare the tables)."""
    with read_snapshot():
        report = run_audit()
    findings = visible_findings(report.findings, None, scheme)
    if as_json:
        payload = {"entries": report.entries, "findings": [f.to_json() for f in findings]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            seqs = ", ".join(map(str, finding.evidence)) or "-"
            click.echo(f"{finding.severity.value.upper()} {finding.kind.value} [{seqs}]")
            click.echo(f"    {finding.message}")
        click.echo(f"{len(findings)} findings over {report.entries} entries")
    threshold = Severity(fail_on)
    if any(f.severity.at_least(threshold) for f in findings):
        raise click.exceptions.Exit(1)


@ledger_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint covering every entry (if the latest does not already) and print it."""
    with transaction():
        checkpoint = publish_checkpoint()
    click.echo(checkpoint.note, nl=False)


schemes_cli = AppGroup("schemes", help="Register carbon-label schemes.")
rules_cli = AppGroup("rules", help="Add product category rules and publish their versions.")
bodies_cli = AppGroup("bodies", help="Register certification bodies, accreditations and keys.")
tokens_cli = AppGroup("tokens", help="Create and revoke API tokens.")
keys_cli = AppGroup("keys", help="The secrets sealed under the key-encryption key (KEK).")

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Said:
    """What a command prints once its transaction has committed."""

    out: str
    note: str | None = None  # to stderr, so stdout stays machine-readable


def _operator_command(fn: Callable[P, Said]) -> Callable[P, None]:
    """Run ``fn`` in one transaction; print its answer after the commit, or one error line."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            with transaction():
                said = fn(*args, **kwargs)
        except ValidationError as exc:
            _fail(_flatten(exc.messages))
        except ValidationFailedError as exc:
            _fail(_flatten(exc.errors))
        except RegistryError as exc:
            _fail(exc.detail or exc.title)
        if said.note:
            click.echo(said.note, err=True)
        click.echo(said.out)

    return wrapper


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(1)


def _flatten(messages: Any, path: str = "") -> str:
    """Field errors on one line: ``thresholds.B: Not a decimal string.; in_force_from: …``."""
    if isinstance(messages, Mapping):
        return "; ".join(
            _flatten(value, path if key == "_schema" else f"{path}.{key}".lstrip("."))
            for key, value in messages.items()
        )
    text = " ".join(map(str, messages)) if isinstance(messages, list | tuple) else str(messages)
    return f"{path}: {text}" if path else text


class _Pair(click.ParamType[tuple[str, str]]):
    """``KEY=VALUE``, e.g. ``--name zh-Hans=广东碳标签`` or ``--threshold A=45``."""

    name = "KEY=VALUE"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        if not sep or not key:
            self.fail(f"{value!r} is not KEY=VALUE", param, ctx)
        return key, text


PAIR = _Pair()


@schemes_cli.command("create")
@click.argument("code")
@click.option("--region", required=True, help="ISO 3166 code: CN-GD, HK, MO, …")
@click.option("--owner", required=True, help="Who runs the scheme.")
@click.option("--name", "names", type=PAIR, multiple=True, help="LANG=NAME, once per language.")
@_operator_command
def create_scheme_command(code: str, region: str, owner: str, names: tuple[Any, ...]) -> Said:
    """Register scheme CODE."""
    data = scheme_schema.load(
        {"code": code, "region": region, "owner": owner, "names": dict(names)}
    )
    scheme = create_scheme(actor=OPERATOR_CONSOLE, **data)
    return Said(f"Registered scheme {scheme.code} ({scheme.region}), owned by {scheme.owner}.")


@rules_cli.command("create")
@click.argument("scheme")
@click.argument("code")
@click.option("--category", required=True, help="The product category the rule covers.")
@click.option("--name", "names", type=PAIR, multiple=True, help="LANG=NAME, once per language.")
@_operator_command
def create_rule_command(scheme: str, code: str, category: str, names: tuple[Any, ...]) -> Said:
    """Add rule CODE (for one product category) to SCHEME."""
    data = rule_schema.load({"code": code, "category": category, "names": dict(names)})
    rule = create_rule(actor=OPERATOR_CONSOLE, scheme_code=scheme, **data)
    return Said(f"Added rule {scheme}/{rule.code} for category {rule.category}.")


@rules_cli.command("publish-version")
@click.argument("scheme")
@click.argument("rule")
@click.argument("version")
@click.option("--declared-unit", required=True, help="kWh, kg, t, m2, …")
@click.option("--standard", required=True, help="e.g. ISO 14067:2018")
@click.option("--in-force-from", required=True, help="ISO 8601 with offset.")
@click.option("--in-force-until", default=None, help="ISO 8601 with offset (open if omitted).")
@click.option(
    "--threshold",
    "thresholds",
    type=PAIR,
    multiple=True,
    help="GRADE=BOUND in kgCO2e per declared unit, for each of A, B, C and D.",
)
@click.option(
    "--system-boundary",
    "system_boundaries",
    type=click.Choice(BOUNDARIES),
    multiple=True,
    help="A boundary labels under this version may declare; repeatable (both if omitted).",
)
@click.option(
    "--max-period-age-months",
    type=int,
    default=None,
    help="At most how many months before issuance a reference period may have ended.",
)
@click.option(
    "--allow-net-negative",
    "allows_net_negative",
    is_flag=True,
    help="Admit a zero (net-zero) footprint.",
)
@_operator_command
def publish_rule_version_command(
    scheme: str,
    rule: str,
    version: str,
    declared_unit: str,
    standard: str,
    in_force_from: str,
    in_force_until: str | None,
    thresholds: tuple[Any, ...],
    system_boundaries: tuple[str, ...],
    max_period_age_months: int | None,
    allows_net_negative: bool,
) -> Said:
    """Publish VERSION of SCHEME's RULE; it can never change afterwards."""
    data = rule_version_schema.load(
        {
            "version": version,
            "declared_unit": declared_unit,
            "standard": standard,
            "in_force_from": in_force_from,
            "in_force_until": in_force_until,
            "thresholds": dict(thresholds),
            "system_boundaries": list(system_boundaries or BOUNDARIES),
            "max_period_age_months": max_period_age_months,
            "allows_net_negative": allows_net_negative,
        }
    )
    rv = publish_rule_version(actor=OPERATOR_CONSOLE, scheme_code=scheme, rule_code=rule, **data)
    bounds = ", ".join(f"{g} <= {b}" for g, b in rule_version_schema.dump(rv)["thresholds"].items())
    return Said(
        f"Published {scheme}/{rule} version {rv.version}: {bounds} kgCO2e per {rv.declared_unit}."
    )


@bodies_cli.command("register")
@click.argument("code")
@click.option("--name", required=True, help="The issuer name its credentials state.")
@click.option("--region", required=True, help="ISO 3166 code: CN-GD, HK, MO, …")
@click.option("--local-name", "names", type=PAIR, multiple=True, help="LANG=NAME translations.")
@_operator_command
def register_body_command(code: str, name: str, region: str, names: tuple[Any, ...]) -> Said:
    """Register certification body CODE (active at once)."""
    data = body_schema.load({"code": code, "name": name, "region": region, "names": dict(names)})
    body = register_body(actor=OPERATOR_CONSOLE, **data)
    return Said(f"Registered certification body {body.code} ({body.name}).")


@bodies_cli.command("accredit")
@click.argument("body")
@click.argument("scheme")
@click.option("--category", "categories", multiple=True, required=True, help="Repeatable.")
@click.option("--accreditation-body", required=True, help="Who accredited it (e.g. CNAS).")
@click.option("--reference", required=True, help="The accreditation's reference number.")
@click.option("--valid-from", required=True, help="ISO 8601 with offset.")
@click.option("--valid-until", default=None, help="ISO 8601 with offset (open if omitted).")
@click.option(
    "--allow-uncovered-category",
    is_flag=True,
    help="Grant categories for which the scheme has no rule yet (refused otherwise).",
)
@_operator_command
def accredit_body_command(
    body: str,
    scheme: str,
    categories: tuple[str, ...],
    accreditation_body: str,
    reference: str,
    valid_from: str,
    valid_until: str | None,
    allow_uncovered_category: bool,
) -> Said:
    """Accredit BODY for SCHEME and some product categories."""
    data = accreditation_schema.load(
        {
            "scheme": scheme,
            "categories": list(categories),
            "accreditation_body": accreditation_body,
            "reference": reference,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "allow_uncovered_category": allow_uncovered_category,
        }
    )
    found = grant_accreditation(
        actor=OPERATOR_CONSOLE, body_code=body, scheme_code=data.pop("scheme"), **data
    )
    return Said(f"Accreditation {found.id}: {body} for {scheme} ({', '.join(found.categories)}).")


@bodies_cli.command("add-key")
@click.argument("body")
@click.option(
    "--public-key",
    default=None,
    help="Register this Multikey (z6Mk…) held by the body, instead of generating one.",
)
@_operator_command
def add_body_key_command(body: str, public_key: str | None) -> Said:
    """Add a signing key to BODY: generated and sealed by the registry, or --public-key."""
    data = body_key_schema.load({} if public_key is None else {"public_key_multibase": public_key})
    key, _ = add_body_key(body, actor=OPERATOR_CONSOLE, **data)
    held = "sealed by the registry" if key.managed else "held by the body"
    return Said(key.did, note=f"Added key {key.public_key_multibase} to {body} ({held}).")


@bodies_cli.command("rotate-key")
@click.argument("body")
@_operator_command
def rotate_body_key_command(body: str) -> Said:
    """Give BODY a new registry-held key and retire its previous keys."""
    key = rotate_body_key(body, actor=OPERATOR_CONSOLE)
    return Said(
        key.did, note=f"{body} now signs with {key.public_key_multibase}; older keys retired."
    )


@bodies_cli.command("retire-key")
@click.argument("body")
@click.argument("public_key")
@_operator_command
def retire_body_key_command(body: str, public_key: str) -> Said:
    """Stop BODY's key PUBLIC_KEY signing from now on."""
    key = retire_body_key(body, public_key, actor=OPERATOR_CONSOLE)
    return Said(f"Retired key {key.public_key_multibase} of {body}.")


@tokens_cli.command("create")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--name", default=None, help="What the token is for (default: its role).")
@click.option("--body", default=None, help="The certification body of a certifier token.")
@click.option("--scheme", "schemes", multiple=True, help="A scheme a regulator oversees.")
@_operator_command
def create_token_command(
    role: str, name: str | None, body: str | None, schemes: tuple[str, ...]
) -> Said:
    """Create an API token and print its secret: this once, never again."""
    data = api_token_schema.load(
        {"role": role, "name": name or f"{role} token", "body": body, "schemes": list(schemes)}
    )
    token, secret = create_token(
        role=data["role"], name=data["name"], body_code=data["body"], schemes=data["schemes"]
    )
    note = f"Created {token.role.value} token {token.id}; its secret is shown only now:"
    return Said(secret, note=note)


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
@_operator_command
def revoke_token_command(token_id: int) -> Said:
    """Revoke token TOKEN_ID at once."""
    revoke_token(token_id)
    return Said(f"Token {token_id} revoked.")


@keys_cli.command("rewrap")
@_operator_command
def rewrap_command() -> Said:
    """Seal every body signing key and portal TOTP secret under REGISTRY_KEK.

    Rotating the KEK without downtime: start every worker with the new key as REGISTRY_KEK and
    the old one as REGISTRY_KEK_PREVIOUS (both open secrets; new ones are sealed under the new
    key), run this once, then drop REGISTRY_KEK_PREVIOUS. One transaction: all or nothing;
    running it again re-seals nothing.
    """
    from registry.bodies.services import rewrap_body_keys
    from registry.portal.services import rewrap_totp_secrets

    keys, keys_current = rewrap_body_keys()
    totp, totp_current = rewrap_totp_secrets()
    return Said(
        f"Re-sealed under REGISTRY_KEK: {keys} body keys ({keys_current} already were), "
        f"{totp} TOTP secrets ({totp_current} already were)."
    )


def register_cli(app: Flask) -> None:
    from registry.batches.cli import batches_cli
    from registry.demo import demo_cli
    from registry.operator_cli import (
        attach_operator_commands,
        labels_cli,
        mappings_cli,
        reports_cli,
        setup_cli,
    )
    from registry.pact.cli import pact_cli

    app.cli.add_command(pact_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(batches_cli)
    app.cli.add_command(keys_cli)
    for group in (schemes_cli, rules_cli, bodies_cli, tokens_cli):
        app.cli.add_command(group)
    attach_operator_commands(
        {
            "schemes": schemes_cli,
            "rules": rules_cli,
            "bodies": bodies_cli,
            "tokens": tokens_cli,
            "labels": labels_cli,
            "reports": reports_cli,
        }
    )
    app.cli.add_command(labels_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(mappings_cli)
    app.cli.add_command(setup_cli)

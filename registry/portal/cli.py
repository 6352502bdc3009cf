"""``flask --app wsgi people …``: the operator invites people, changes roles, resets passwords,
reads the record.

Each changing command runs in one transaction (``registry.cli``'s operator wrapper): written
whole or not at all; a refusal prints one ``Error:`` line to stderr and exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec

import click
from flask.cli import AppGroup

from registry.cli import Said, _operator_command
from registry.config import current_settings
from registry.db import read_only
from registry.portal.models import PersonRole
from registry.portal.passwords import reset_password
from registry.portal.services import (
    change_role,
    disable_person,
    invite_person,
    list_access,
    list_people,
)

__all__ = ["people_cli"]

people_cli = AppGroup(
    "people", help="Portal people: invite, list, change roles, reset passwords, disable."
)
P = ParamSpec("P")


def _role_options(command: Callable[P, None]) -> Callable[P, None]:
    for option in (
        click.option("--operator", is_flag=True, help="The registry's operator."),
        click.option(
            "--regulator", "regulator", default=None, help="SCHEME[,SCHEME]: a regulator."
        ),
        click.option(
            "--role",
            type=click.Choice(["auditor", "signatory"]),
            default=None,
            help="With --body: the person's role in it.",
        ),
        click.option("--body", default=None, help="The certification body's code."),
    ):
        command = option(command)
    return command


def _role_of(
    body: str | None, role: str | None, regulator: str | None, operator: bool
) -> tuple[PersonRole, str | None, list[str]]:
    chosen = sum((body is not None or role is not None, regulator is not None, operator))
    if chosen != 1:
        raise click.UsageError(
            "Give exactly one of --body CODE --role ROLE, --regulator, --operator."
        )
    if regulator is not None:
        schemes = [code.strip() for code in regulator.split(",") if code.strip()]
        return PersonRole.REGULATOR, None, schemes
    if operator:
        return PersonRole.OPERATOR, None, []
    if body is None or role is None:
        raise click.UsageError("--body and --role go together.")
    return PersonRole(role), body, []


@people_cli.command("invite")
@click.option("--email", required=True)
@_role_options
@_operator_command
def invite_command(
    email: str, body: str | None, role: str | None, regulator: str | None, operator: bool
) -> Said:
    """Invite a person and print their one-time link (valid for 72 hours by default)."""
    person_role, body_code, schemes = _role_of(body, role, regulator, operator)
    invitation, secret = invite_person(
        email=email, role=person_role, body_code=body_code, schemes=schemes
    )
    base = current_settings().public_base_url
    return Said(
        f"{base}/portal/invitation/{secret}",
        note=f"Invited {invitation.person.email} as {person_role.value}; the link works once, "
        f"until {invitation.expires_at.isoformat()}:",
    )


@people_cli.command("reset")
@click.option("--email", required=True)
@click.option(
    "--reset-totp",
    is_flag=True,
    help="Also remove the second factor and its recovery codes (a lost phone).",
)
@_operator_command
def reset_command(email: str, reset_totp: bool) -> Said:
    """Disable a person's password and print a one-time link to set a new one (their sessions
    end; the second factor is kept unless --reset-totp)."""
    invitation, secret = reset_password(email, reset_totp=reset_totp)
    base = current_settings().public_base_url
    kept = "removed" if reset_totp else "kept"
    return Said(
        f"{base}/portal/invitation/{secret}",
        note=f"Reset the password of {invitation.person.email} (second factor {kept}); the link "
        f"works once, until {invitation.expires_at.isoformat()}:",
    )


@people_cli.command("role")
@click.option("--email", required=True)
@_role_options
@_operator_command
def role_command(
    email: str, body: str | None, role: str | None, regulator: str | None, operator: bool
) -> Said:
    """Give a person another role (their sessions end; the change is recorded)."""
    person_role, body_code, schemes = _role_of(body, role, regulator, operator)
    person = change_role(email, role=person_role, body_code=body_code, schemes=schemes)
    return Said(f"{person.email} is now {person.role.value}.")


@people_cli.command("disable")
@click.option("--email", required=True)
@_operator_command
def disable_command(email: str) -> Said:
    """Disable a person: no sign-in from now on, their sessions end."""
    person = disable_person(email)
    return Said(f"{person.email} is disabled.")


@people_cli.command("list")
def list_command() -> None:
    """Every person: id, e-mail, role, body or schemes, state."""
    with read_only():
        for person in list_people():
            where = person.body.code if person.body else ",".join(person.schemes) or "-"
            state = (
                "disabled" if person.disabled else "active" if person.password_hash else "invited"
            )
            totp = "totp" if person.totp_secret else "-"
            click.echo(
                f"{person.id}\t{person.email}\t{person.role.value}\t{where}\t{state}\t{totp}"
            )


@people_cli.command("log")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def log_command(limit: int) -> None:
    """The access record, newest first (no passwords, codes or secrets are ever in it)."""
    with read_only():
        for event in list_access(limit=limit):
            click.echo(
                f"{event.id}\t{event.at.isoformat()}\t{event.kind.value}\t"
                f"person={event.person_id or '-'}\tby={event.by_person_id or 'console'}\t"
                f"address={event.address or '-'}\t{event.detail}"
            )

"""``flask --app wsgi issuance two-people --body CODE --on|--off``: the operator sets whether a
body's drafts need a second person (the author of a draft then cannot issue it)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from registry.bodies.services import get_body
from registry.cli import Said, _operator_command
from registry.db import db
from registry.portal.issuing.models import IssuanceSetting

__all__ = ["issuance_cli", "set_two_people"]

issuance_cli = AppGroup("issuance", help="How the portal's issuance works for a body.")


def set_two_people(body_code: str, *, on: bool) -> IssuanceSetting:
    """Require (or stop requiring) two people for the body's portal issuances (caller commits)."""
    body = get_body(body_code, lock=True)
    setting = db.session.get(IssuanceSetting, body.id, with_for_update=True)
    if setting is None:
        setting = IssuanceSetting(body_id=body.id, two_people=on)
        db.session.add(setting)
    setting.two_people = on
    db.session.flush()
    return setting


@issuance_cli.command("two-people")
@click.option("--body", "body_code", required=True, help="The certification body's code.")
@click.option("--on/--off", default=True, help="Require a second person (default) or not.")
@_operator_command
def two_people_command(body_code: str, on: bool) -> Said:
    """Whether the author of a portal draft may also issue it."""
    set_two_people(body_code, on=on)
    state = "needs two people" if on else "may be issued by its author"
    return Said(f"A portal draft of {body_code} now {state}.")

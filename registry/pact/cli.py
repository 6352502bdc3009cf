"""``flask --app wsgi pact clients create|list|revoke``: the operator's PACT clients.

``create`` prints the client's ``client_id`` and ``client_secret`` as JSON, once: only the
secret's hash is kept.
"""

from __future__ import annotations

import json
from typing import NoReturn

import click
from flask.cli import AppGroup

from registry.db import read_only, transaction
from registry.pact.errors import PactError
from registry.pact.services import create_client, list_clients, revoke_client

__all__ = ["pact_cli"]

pact_cli = AppGroup("pact", help="The registry as a PACT v3 host system.")
clients_cli = AppGroup("clients", help="Create, list and revoke PACT clients (data recipients).")
pact_cli.add_command(clients_cli)


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(1)


@clients_cli.command("create")
@click.option("--name", required=True, help="Who the client is, e.g. the buyer's PACT tool.")
def create_command(name: str) -> None:
    """Create a client; its secret is shown only now."""
    try:
        with transaction():
            client, secret = create_client(name)
    except PactError as exc:
        _fail(exc.message)
    click.echo(
        json.dumps(
            {"client_id": client.client_id, "client_secret": secret, "name": client.name},
            ensure_ascii=False,
            indent=2,
        )
    )


@clients_cli.command("list")
def list_command() -> None:
    """Every client, active or revoked (never a secret)."""
    with read_only():
        rows = list_clients()
        for c in rows:
            state = "active" if c.revoked_at is None else f"revoked {c.revoked_at.isoformat()}"
            click.echo(f"{c.client_id}\t{state}\t{c.name}")


@clients_cli.command("revoke")
@click.argument("client_id")
def revoke_command(client_id: str) -> None:
    """Revoke CLIENT_ID: its tokens stop working at once."""
    try:
        with transaction():
            client = revoke_client(client_id)
    except PactError as exc:
        _fail(exc.message)
    click.echo(f"Revoked {client.client_id} ({client.name}).")

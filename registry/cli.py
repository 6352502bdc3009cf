"""Operator commands (``flask --app wsgi ...``); ``db`` comes from Flask-Migrate."""

from __future__ import annotations

import base64

import click
from flask import Flask
from flask.cli import AppGroup

from registry.db import read_snapshot, transaction
from registry.ledger.services import publish_checkpoint
from registry.ledger.verification import verify_ledger

__all__ = ["register_cli"]

ledger_cli = AppGroup("ledger", help="Inspect and verify the append-only ledger.")


@ledger_cli.command("verify")
def verify_command() -> None:
    """Recompute every hash and the root from all entries and check the signed checkpoints."""
    with read_snapshot():
        report = verify_ledger()
    click.echo(f"entries:             {report.size}")
    click.echo(f"root hash:           {base64.b64encode(report.root_hash).decode()}")
    click.echo(f"checkpoints valid:   {report.checkpoints_verified}")
    if report.latest_checkpoint_size is None:
        click.echo("latest checkpoint:   none yet (`flask ledger checkpoint` signs one)")
    else:
        click.echo(f"latest checkpoint:   size {report.latest_checkpoint_size}")
        if report.uncovered:
            click.echo(f"not yet covered:     {report.uncovered} entries (signed on next read)")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)
    click.echo("ledger OK")


@ledger_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint covering every entry (if the latest does not already) and print it."""
    with transaction():
        checkpoint = publish_checkpoint()
    click.echo(checkpoint.note, nl=False)


def register_cli(app: Flask) -> None:
    from registry.demo import demo_cli

    app.cli.add_command(ledger_cli)
    app.cli.add_command(demo_cli)

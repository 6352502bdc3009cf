"""``flask --app wsgi batches run-once|run``: run queued label batches in the foreground."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from registry.batches.runner import run_once

__all__ = ["batches_cli"]

batches_cli = AppGroup("batches", help="Run queued CSV label batches (the runner thread does too).")


@batches_cli.command("run-once")
def run_once_command() -> None:
    """Claim one queued (or abandoned) batch and run it to its end; exit 1 if none waits."""
    ran = run_once()
    if ran is None:
        click.echo("no batch waiting")
        raise SystemExit(1)
    batch_id, state = ran
    click.echo(f"batch {batch_id}: {state.value}")


@batches_cli.command("run")
def run_command() -> None:
    """Run batches until none waits."""
    while (ran := run_once()) is not None:
        click.echo(f"batch {ran[0]}: {ran[1].value}")

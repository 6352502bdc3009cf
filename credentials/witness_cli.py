"""``carbonlabel witness``: run a C2SP tlog-witness (see :mod:`credentials.witness`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from credentials.witness import Evidence, Witness, WitnessError, make_server

__all__ = ["add_witness_parser"]


def _init(args: argparse.Namespace) -> int:
    print(Witness.init(Path(args.dir), args.name).verifier_key)
    return 0


def _trust(args: argparse.Namespace) -> int:
    verifier = Witness(Path(args.dir)).trust(args.log_vkey)
    print(f"trusting log {verifier.name}")
    return 0


def _print_evidence(evidence: Evidence) -> None:
    print(
        f"MISBEHAVIOUR: log {evidence.origin}: {evidence.reason}; both notes recorded",
        file=sys.stderr,
        flush=True,
    )


def _serve(args: argparse.Namespace) -> int:
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise WitnessError("--listen must be HOST:PORT")
    witness = Witness(Path(args.dir), on_evidence=_print_evidence)
    server = make_server(witness, host, int(port))
    bound_host, bound_port = server.server_address[:2]
    # Port 0 picks a free port: print the real one so whoever started us can connect.
    print(f"listening on {bound_host!s}:{bound_port} as {witness.verifier_key}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _run(handler: argparse.Namespace) -> int:
    try:
        code: int = handler.witness_run(handler)
    except WitnessError as exc:
        print(f"carbonlabel witness: error: {exc}", file=sys.stderr)
        return 2
    return code


def add_witness_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``witness init|trust|serve`` to the ``carbonlabel`` command."""
    witness = sub.add_parser("witness", help="run a C2SP tlog-witness that cosigns checkpoints")
    commands = witness.add_subparsers(dest="witness_command", required=True)
    init = commands.add_parser("init", help="make a witness directory and key; print its vkey")
    init.add_argument("dir")
    init.add_argument("--name", required=True, help="the witness name, e.g. example.org/w1")
    init.set_defaults(run=_run, witness_run=_init)
    trust = commands.add_parser("trust", help="trust a log's verifier key (its name: the origin)")
    trust.add_argument("dir")
    trust.add_argument("log_vkey", metavar="LOG_VKEY")
    trust.set_defaults(run=_run, witness_run=_trust)
    serve = commands.add_parser("serve", help="serve POST /add-checkpoint")
    serve.add_argument("dir")
    serve.add_argument("--listen", default="127.0.0.1:7380", metavar="HOST:PORT")
    serve.set_defaults(run=_run, witness_run=_serve)

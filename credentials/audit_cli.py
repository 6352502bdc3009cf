"""``carbonlabel audit``: the offline audit of :mod:`credentials.audit` from the command line.

Exit codes: 0 clean, 1 something is wrong (each problem one line, ``entry N: …`` first),
2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from credentials.audit import audit_ledger, check_consistency, load_credentials
from credentials.errors import CredentialError

__all__ = ["add_audit_parser"]

_MAX_SMALL_FILE = 1_000_000


def _read_text(path: str, what: str) -> str:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(_MAX_SMALL_FILE + 1)
    except OSError as exc:
        raise CredentialError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if len(data) > _MAX_SMALL_FILE:
        raise CredentialError(f"{what} {path} is over 1 MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CredentialError(f"{what} {path} is not UTF-8") from exc


def _fail(message: str) -> int:
    print(f"carbonlabel: error: {message}", file=sys.stderr)
    return 2


def _consistency(args: argparse.Namespace) -> int:
    old_path, new_path = args.consistency
    if not args.proof:
        return _fail("--consistency needs --proof FILE")
    try:
        proof: Any = json.loads(_read_text(args.proof, "proof"))
    except ValueError:
        return _fail(f"proof {args.proof} is not JSON")
    try:
        old, new = check_consistency(
            _read_text(old_path, "checkpoint"), _read_text(new_path, "checkpoint"), proof,
            args.log_key,
        )  # fmt: skip
    except CredentialError as exc:
        print(f"Not consistent: {exc}")
        return 1
    print(f"Consistent: the tree of {new.size} entries extends the tree of {old.size}.")
    return 0


def _audit(args: argparse.Namespace) -> int:
    if args.url:
        if args.state is None:
            return _fail("--url needs --state DIR (what the monitor saw on its last run)")
        # Lazily: the monitor (network) is not loaded by an offline audit.
        try:
            from credentials.monitor import (  # type: ignore[import-not-found,unused-ignore]
                run_monitor,
            )
        except ImportError:
            return _fail("this kit has no monitor (credentials.monitor); --url is unavailable")
        return int(run_monitor(args.url, args.log_key, args.state, out=sys.stdout))
    if args.consistency:
        return _consistency(args)
    if not args.ledger or not args.checkpoint:
        return _fail("audit needs LEDGER and --checkpoint FILE (or --consistency, or --url)")
    try:
        checkpoint = _read_text(args.checkpoint, "checkpoint")
        credentials = load_credentials(args.credentials) if args.credentials else None
        with Path(args.ledger).open("rb") as lines:
            report = audit_ledger(
                lines,
                checkpoint=checkpoint,
                log_key=args.log_key,
                jobs=args.jobs,
                credentials=credentials,
                replay=not args.tree_only,
            )
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}")
    except CredentialError as exc:
        return _fail(str(exc))
    if report.ok:
        checked = f", {report.proofs_checked} credential proofs verified" if credentials else ""
        mode = "hashes and tree" if args.tree_only else "hashes, tree and every transition"
        print(f"Clean: {report.size} entries ({mode}{checked}) match the signed checkpoint.")
        return 0
    first = report.first_bad
    print(f"Not clean: {first}" if first else "Not clean")
    for problem in report.problems:
        if problem is not first:
            print(f"  also {problem}")
    return 1


def add_audit_parser(sub: Any) -> None:
    """Add ``audit`` to the ``carbonlabel`` sub-commands."""
    audit = sub.add_parser(
        "audit",
        help="audit an exported ledger offline; exit 0 if clean, 1 naming the first bad entry",
    )
    audit.add_argument("ledger", nargs="?", help="ledger.jsonl export (one entry per line)")
    audit.add_argument("--checkpoint", metavar="FILE", help="the signed checkpoint of the export")
    audit.add_argument("--log-key", required=True, metavar="KEY", help="the log's verifier key")
    audit.add_argument(
        "--credentials",
        metavar="F",
        help="signed credentials (JSONL file or directory): verify each issuance's proof",
    )
    audit.add_argument("--jobs", type=int, default=2, help="processes for the proof checks")
    audit.add_argument(
        "--tree-only", action="store_true", help="only the hashes and the tree (fast)"
    )
    audit.add_argument(
        "--consistency", nargs=2, metavar=("OLD", "NEW"), help="two signed checkpoints"
    )
    audit.add_argument("--proof", metavar="FILE", help="consistency proof JSON")
    audit.add_argument("--url", help="monitor a live registry instead")
    audit.add_argument(
        "--state", type=Path, metavar="DIR", help="the monitor's state directory (with --url)"
    )
    audit.set_defaults(run=_audit)

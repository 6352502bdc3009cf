"""``carbonlabel``: drive the verifier kit from scripts and other implementations.

Exit codes: 0 success (for ``verify``: verified, every check passed against a trust bundle),
1 not verified (also a signature that is intact but whose signer was not checked against the
register), 2 bad usage or unreadable input. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credentials._internal.timefmt import format_datetime, parse_datetime
from credentials.audit_cli import add_audit_parser
from credentials.certificate import (
    MAX_CERTIFICATE_BYTES,
    Certificate,
    is_pdf,
    read_certificate,
    unprinted_facts,
)
from credentials.credential import CREDENTIAL_TYPE
from credentials.cryptosuites import EDDSA_JCS_2022, EDDSA_RDFC_2022, sign_document, verify_document
from credentials.errors import CredentialError
from credentials.jsonld import DEFAULT_LOADER, DocumentLoader, parse_json
from credentials.keys import KeyPair, PublicKey
from credentials.messages import render
from credentials.recognition import Recognition, RecognitionOutcome, recognise_label
from credentials.signed_bundle import (
    OpenedBundle,
    SignedBundleError,
    is_signed_bundle,
    open_bundle,
)
from credentials.trust import LedgerEvidence, TrustBundle
from credentials.verify import CheckStatus, Outcome, Verdict, VerificationReport, verify_label
from credentials.witness_cli import add_witness_parser

MAX_INPUT_BYTES = 1_000_000


class _UsageError(Exception):
    pass


def _read_bytes(path: str, *, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read(limit + 1)
        with Path(path).open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _read_json(path: str, *, what: str, data: bytes | None = None) -> Any:
    if data is None:
        data = _read_bytes(path, what=what)
    try:
        return parse_json(data, max_bytes=MAX_INPUT_BYTES)
    except CredentialError as exc:
        raise _UsageError(f"{what} {path}: {exc}") from exc


def _loader(pairs: Sequence[str]) -> DocumentLoader:
    if not pairs:
        return DEFAULT_LOADER
    extra: dict[str, Any] = {}
    for pair in pairs:
        url, sep, file = pair.partition("=")
        if not sep or not url or not file:
            raise _UsageError(f"--context takes URL=FILE, not {pair!r}")
        extra[url] = _read_json(file, what="context")
    try:
        return DocumentLoader(extra)
    except CredentialError as exc:
        raise _UsageError(str(exc)) from exc


def _keygen(args: argparse.Namespace) -> int:
    if args.seed is not None:
        try:
            seed = bytes.fromhex(args.seed)
        except ValueError as exc:
            raise _UsageError("--seed must be 64 hex digits") from exc
        key = KeyPair.from_seed(seed)
    else:
        key = KeyPair.generate()
    print(
        json.dumps(
            {
                "did": key.did,
                "verificationMethod": key.verification_method,
                "publicKeyMultibase": key.public_key.multibase,
                "secretKeyMultibase": key.secret_multibase,
            },
            indent=2,
        )
    )
    return 0


def _sign(args: argparse.Namespace) -> int:
    document = _read_json(args.file, what="credential")
    if not isinstance(document, dict):
        raise _UsageError("the credential must be a JSON object")
    key = KeyPair.from_secret_multibase(args.secret_key)
    options = _preparation_options(document)
    if options is not None:
        # A registry's preparation: sign the credential in it as it asks, unless told otherwise.
        document = document["credential"]
        args.cryptosuite = args.cryptosuite or options.get("cryptosuite")
        args.created = args.created or options.get("created")
        args.verification_method = args.verification_method or options.get("verificationMethod")
        method = args.verification_method
        if method is not None and method.split("#")[0] != key.did:
            raise _UsageError(
                f"the preparation asks for a signature by {method}, not by this key ({key.did})"
            )
    if args.set_issuer:
        issuer = document.get("issuer")
        document["issuer"] = {**issuer, "id": key.did} if isinstance(issuer, dict) else key.did
    created = parse_datetime(args.created, field="--created") if args.created else None
    signed = sign_document(
        document,
        key=key,
        cryptosuite=args.cryptosuite or EDDSA_RDFC_2022,
        created=created,
        verification_method=args.verification_method,
        loader=_loader(args.context),
    )
    print(json.dumps(signed, indent=2, ensure_ascii=False))
    return 0


def _preparation_options(document: dict[str, Any]) -> dict[str, Any] | None:
    """The proof options of a registry's preparation (``{"credential": …, "signing": …}``, as
    ``POST /api/v1/labels/prepare`` answers), or ``None`` for a bare credential."""
    credential, signing = document.get("credential"), document.get("signing")
    if not isinstance(credential, dict) or not isinstance(signing, dict):
        return None
    if not all(isinstance(signing.get(name, ""), str) for name in _PREPARED_OPTIONS):
        raise _UsageError("the preparation's signing options must be strings")
    if signing.get("cryptosuite", EDDSA_RDFC_2022) not in (EDDSA_RDFC_2022, EDDSA_JCS_2022):
        raise _UsageError(f"the preparation asks for cryptosuite {signing['cryptosuite']!r}")
    if signing.get("proofPurpose", "assertionMethod") != "assertionMethod":
        raise _UsageError(f"the preparation asks for proof purpose {signing['proofPurpose']!r}")
    return {name: signing[name] for name in _PREPARED_OPTIONS if name in signing}


_PREPARED_OPTIONS = ("cryptosuite", "created", "verificationMethod", "proofPurpose")


def _verify(args: argparse.Namespace) -> int:
    raw = _read_bytes(args.file, what="credential", limit=MAX_CERTIFICATE_BYTES)
    certificate: Certificate | None = None
    evidence: LedgerEvidence | None = None
    if is_pdf(raw):
        try:
            certificate = read_certificate(raw)
        except CredentialError as exc:
            raise _UsageError(f"certificate {args.file}: {exc}") from exc
        credential: Any = certificate.credential
        if certificate.evidence is not None:
            evidence = LedgerEvidence.from_json(certificate.evidence)
    else:
        credential = _read_json(args.file, what="credential", data=raw)
    if isinstance(credential, dict) and isinstance(credential.get("credential"), dict):
        # The registry's label JSON: the credential is inside, with its ledger evidence.
        carried = credential.get("ledgerEvidence")
        evidence = None if carried is None else LedgerEvidence.from_json(carried)
        credential = credential["credential"]
    loader = _loader(args.context)
    at = parse_datetime(args.at, field="--at") if args.at else None
    trust = None
    opened: OpenedBundle | None = None
    refused: SignedBundleError | None = None
    pinned = _pinned_key(args.registry_key)
    embedded = None if certificate is None else certificate.trust
    if args.trust or embedded is not None:
        # A bundle given on the command line wins over the one the certificate embeds; either
        # way a signed one is trusted only under the pinned key.
        data = _read_json(args.trust, what="trust bundle") if args.trust else embedded
        if pinned is not None or is_signed_bundle(data):
            try:
                opened = open_bundle(data, pinned=pinned, now=at or datetime.now(UTC))
                trust = opened.bundle
            except SignedBundleError as exc:
                refused = exc  # verified without it: nothing reads as verified
        else:
            trust = TrustBundle.from_json(data)
    elif pinned is not None:
        raise _UsageError("--registry-key checks a signed bundle: give it with --trust")
    if certificate is not None and args.region and trust is None and refused is None:
        raise _UsageError("--region needs a trust bundle: this certificate embeds none")
    lists = {}
    for path in args.status_list:
        doc = _read_json(path, what="status list")
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            raise _UsageError(f"status list {path} is not a credential with an id")
        lists[doc["id"]] = doc
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    label_id = subject.get("labelId") if isinstance(subject, dict) else None
    if trust is not None and evidence is not None and isinstance(label_id, str):
        trust = trust.with_evidence(label_id, evidence)
    if args.region and not args.trust and certificate is None:
        raise _UsageError("--region needs --trust: recognition is read from the trust bundle")
    types = credential.get("type") if isinstance(credential, dict) else None
    recognitions: list[Recognition] = []
    report: VerificationReport | None = None
    if (isinstance(types, list) and CREDENTIAL_TYPE in types) or types == CREDENTIAL_TYPE:
        report = verify_label(credential, trust=trust, status_lists=lists, now=at, loader=loader)
        result = report.to_json()
        when = at or datetime.now(UTC)
        recognitions = [
            recognise_label(report, trust, r, at=when)
            if trust is not None
            else Recognition(r, RecognitionOutcome.NOT_VERIFIED)
            for r in args.region
        ]
    else:
        result = _verify_generic(credential, loader, at)
        recognitions = [Recognition(r, RecognitionOutcome.NOT_VERIFIED) for r in args.region]
    if recognitions:
        result["recognition"] = [r.to_json() for r in recognitions]
    misprinted: list[str] = []
    if certificate is not None:
        label = report.label if report is not None else None
        misprinted = (
            []
            if label is None or report is None or report.contents_untrusted
            else unprinted_facts(label, certificate.text)
        )
        result["certificate"] = {"printedFactsMatch": not misprinted, "notPrinted": misprinted}
        if misprinted:
            # The credential inside may be genuine; the document presented is not.
            result["verified"] = False
            result["verdict"] = Verdict.NOT_GENUINE.value
    if opened is not None:
        result["trustBundle"] = {
            "registry": opened.registry,
            "key": opened.key,
            "issued": format_datetime(opened.issued),
            "validUntil": format_datetime(opened.valid_until),
        }
    if refused is not None:
        result["verified"] = False
        result["trustBundle"] = {"refused": refused.refusal.value, "reason": str(refused)}
        if refused.key is not None:
            result["trustBundle"]["key"] = refused.key
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        if misprinted:
            print(
                "CERTIFICATE REFUSED: what it prints is not what its credential states; "
                "not printed as signed: " + "; ".join(misprinted)
            )
        if refused is not None:
            print(f"TRUST BUNDLE REFUSED ({refused.refusal.value}): {refused}")
        _print_report(result)
        if opened is not None:
            print(
                f"  trusted: registry {opened.registry}, bundle key {opened.key}, bundle made "
                f"{format_datetime(opened.issued)}, valid until "
                f"{format_datetime(opened.valid_until)} (statuses as of when it was made)"
            )
        for recognition in recognitions:
            _print_recognition(recognition)
    recognised = all(r.recognised for r in recognitions)
    return 0 if result["verified"] and recognised else 1


def _pinned_key(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return PublicKey.from_multibase(value).multibase
    except CredentialError as exc:
        raise _UsageError(f"--registry-key is not an Ed25519 public key (z6Mk…): {exc}") from exc


def _print_recognition(r: Recognition) -> None:
    print(f"{'RECOGNISED' if r.recognised else 'NOT RECOGNISED'} in {r.region}: {r.outcome.value}")
    print(f"  {render(r.message, r.params)}")
    if r.via:
        print("  under " + " then ".join(f"mapping {m} revision {n}" for m, n in r.via))
    if r.recognised:
        grade = "no grade (the footprint value is accepted)" if r.grade is None else r.grade
        print(f"  grade there: {grade}; footprint {r.footprint} kgCO2e per {r.declared_unit}")
    for c in r.conditions:
        print(
            f"  {'ok  ' if c.passed else 'FAIL'} {c.condition.value}: {render(c.message, c.params)}"
        )


def _verify_generic(credential: Any, loader: DocumentLoader, at: datetime | None) -> dict[str, Any]:
    """Any other Data Integrity document: proof and validity dates, with no signer to check."""
    checks: list[tuple[str, Outcome, str, dict[str, str]]] = []
    try:
        proofs = verify_document(credential, now=at, loader=loader)
        checks.append(("proof", Outcome.OK, "document.proofs_ok", {"count": str(len(proofs))}))
    except CredentialError as exc:
        checks.append(("proof", Outcome.PROOF_INVALID, "proof.invalid", {"detail": str(exc)}))
    intact = checks[0][1] is Outcome.OK
    current = format_datetime(at or datetime.now(UTC))
    for field in ("validFrom", "validUntil"):
        value = credential.get(field) if isinstance(credential, dict) else None
        if value is None:
            continue
        if not intact:
            # A forged date must not be shown as "ok" next to the failed proof.
            checks.append(("validity", Outcome.CONTENTS_UNTRUSTED, "check.contents_untrusted", {}))
            continue
        try:
            when = format_datetime(parse_datetime(value, field=field))
        except CredentialError as exc:
            checks.append(
                ("validity", Outcome.MALFORMED, "document.malformed", {"detail": str(exc)})
            )
            continue
        if field == "validFrom" and current < when:
            checks.append(
                ("validity", Outcome.NOT_YET_VALID, "validity.not_yet_valid", {"valid_from": when})
            )
        elif field == "validUntil" and current >= when:
            checks.append(("validity", Outcome.EXPIRED, "validity.expired", {"valid_until": when}))
        else:
            checks.append(("validity", Outcome.OK, f"document.{field}_ok", {"at": when}))
    failed = any(o.status is CheckStatus.FAILED for _, o, _, _ in checks)
    return {
        "verified": False,
        "verdict": (Verdict.NOT_GENUINE if failed else Verdict.SIGNER_NOT_CHECKED).value,
        "trustChecked": False,
        "checks": [
            {
                "check": name,
                "status": outcome.status.value,
                "required": True,
                "outcome": outcome.value,
                "message": message,
                "params": params,
                "reason": render(message, params),
            }
            for name, outcome, message, params in checks
        ],
    }


def _print_report(result: dict[str, Any]) -> None:
    print(f"{'VERIFIED' if result['verified'] else 'NOT VERIFIED'}: {result['verdict']}")
    if not result["verified"]:
        print(f"  {render('verdict.' + result['verdict'], {})}")
    statuses = {c["check"]: c["status"] for c in result["checks"]}
    if statuses.get("proof") == CheckStatus.FAILED:
        print(f"  {render('report.contents_untrusted', {})}")
    for check in result["checks"]:
        mark = {"passed": "ok  ", "failed": "FAIL", "not_checked": "--  "}[check["status"]]
        print(f"  {mark} {check['check']}: {check['reason']}")
    if not result["trustChecked"]:
        print(f"  note: {render('report.trust_not_checked', {})}")


def _contexts_export(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    index = []
    files = json.loads(
        (Path(__file__).parent / "contexts" / "index.json").read_text(encoding="utf-8")
    )
    names = {entry["url"]: entry["file"] for entry in files}
    for url, data in sorted(DEFAULT_LOADER.export().items()):
        name = names[url]
        (target / name).write_bytes(data)
        index.append({"url": url, "file": name})
    (target / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(index)} contexts and index.json to {target}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carbonlabel", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair (Multikey, did:key)")
    keygen.add_argument("--seed", help="32-byte seed as 64 hex digits")
    keygen.set_defaults(run=_keygen)

    sign = sub.add_parser("sign", help="add a Data Integrity proof to a credential")
    sign.add_argument(
        "file",
        help="credential JSON file, or - for stdin; or a registry's preparation (POST "
        "/api/v1/labels/prepare), whose credential is signed with the options it gives",
    )
    sign.add_argument("--secret-key", required=True, help="secret Multikey z3u2…")
    sign.add_argument(
        "--cryptosuite",
        choices=[EDDSA_RDFC_2022, EDDSA_JCS_2022],
        help=f"default: the preparation's, else {EDDSA_RDFC_2022}",
    )
    sign.add_argument("--created", help="proof creation time, e.g. 2026-03-01T08:30:00Z")
    sign.add_argument(
        "--verification-method",
        metavar="URL",
        help="the proof's verificationMethod (default: the preparation's, else the key's "
        "did:key#fragment)",
    )
    sign.add_argument("--context", action="append", default=[], metavar="URL=FILE")
    sign.add_argument("--set-issuer", action="store_true", help="make the key's did:key the issuer")
    sign.set_defaults(run=_sign)

    verify = sub.add_parser(
        "verify", help="verify a credential; exit 0 if verified against a trust bundle, 1 if not"
    )
    verify.add_argument("file", help="credential JSON file, or - for stdin")
    verify.add_argument("--context", action="append", default=[], metavar="URL=FILE")
    verify.add_argument("--trust", help="trust bundle JSON (bodies, keys, rules, log key…)")
    verify.add_argument("--status-list", action="append", default=[], metavar="FILE")
    verify.add_argument("--at", help="verify as of this time instead of now")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--registry-key",
        metavar="KEY",
        help="the registry's bundle key (z6Mk…, from /trust-bundle/key): --trust must then be "
        "a bundle it signed, in date",
    )
    verify.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="REGION",
        help="also say whether the label is recognised in REGION (HK, MO, CN-SH, EU…), from "
        "the trust bundle's mappings; repeatable; exit 1 unless recognised in each",
    )
    verify.set_defaults(run=_verify)

    contexts = sub.add_parser("contexts", help="the bundled JSON-LD contexts")
    contexts_sub = contexts.add_subparsers(dest="contexts_command", required=True)
    export = contexts_sub.add_parser("export", help="write the contexts and index.json to DIR")
    export.add_argument("dir")
    export.set_defaults(run=_contexts_export)
    add_witness_parser(sub)
    add_audit_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except _UsageError as exc:
        print(f"carbonlabel: error: {exc}", file=sys.stderr)
        return 2
    except CredentialError as exc:
        print(f"carbonlabel: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

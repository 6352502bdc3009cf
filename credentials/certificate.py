"""A printable label certificate (PDF) that carries what is needed to verify it offline.

The registry prints the certificate in the reader's language and embeds three files:
``credential.json`` (the signed credential), ``trust-bundle.json`` (the label's subset of the
registry's trust bundle, signed with the registry's bundle key, ``credentials.signed_bundle``)
and ``ledger-evidence.json`` (its ledger entry and inclusion proof). The facts that decide
what a reader takes from the paper are also printed in one fixed ASCII form,
:func:`printed_facts`, the one home of that wording: the verifier reads the page's text and
refuses a certificate whose printed facts are not the embedded credential's, so editing the
printed grade of a genuine certificate gets it refused.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from credentials.credential import CarbonLabel
from credentials.errors import CredentialError
from credentials.jsonld import parse_json
from credentials.lexical import decimal_text

__all__ = [
    "CREDENTIAL_FILE",
    "EVIDENCE_FILE",
    "MAX_CERTIFICATE_BYTES",
    "TRUST_FILE",
    "Certificate",
    "CertificateError",
    "is_pdf",
    "printed_facts",
    "read_certificate",
    "unprinted_facts",
]

CREDENTIAL_FILE = "credential.json"
TRUST_FILE = "trust-bundle.json"
EVIDENCE_FILE = "ledger-evidence.json"
MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024
_MAX_EMBEDDED = 1024 * 1024
_SPACE = re.compile(r"\s+")


class CertificateError(CredentialError):
    """Not a certificate this kit can read (not a PDF, no credential inside, too large)."""


@dataclass(frozen=True, slots=True)
class Certificate:
    credential: dict[str, Any]
    trust: Any | None  # the embedded (signed) trust bundle's JSON, if any
    evidence: dict[str, Any] | None
    text: str  # the printed text of every page


def printed_facts(label: CarbonLabel) -> list[str]:
    """The fact lines a certificate prints, exactly; each must be found on the page."""
    fp = label.footprint
    lines = [
        f"Label ID: {label.label_id}",
        f"Grade: {label.grade}",
        f"Footprint: {decimal_text(fp.value)} {fp.unit} per {decimal_text(fp.declared_unit_amount)}"
        f" {fp.declared_unit}",
        f"Rule: {label.rule.scheme} {label.rule.rule_id} version {label.rule.version}",
        f"Valid: {label.valid_from:%Y-%m-%d} to {label.valid_until:%Y-%m-%d}",
    ]
    if label.product.gtin:
        lines.append(f"GTIN: {label.product.gtin}")
    if label.assurance is not None:
        lines.append(f"Assurance: {label.assurance}")
    return lines


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def unprinted_facts(label: CarbonLabel, text: str) -> list[str]:
    """The fact lines of ``label`` that the printed ``text`` does not state."""
    page = _normalise(text)
    return [line for line in printed_facts(label) if _normalise(line) not in page]


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def read_certificate(data: bytes) -> Certificate:
    """The embedded files and printed text of a certificate PDF."""
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise CertificateError(f"a certificate is at most {MAX_CERTIFICATE_BYTES} bytes")
    if not is_pdf(data):
        raise CertificateError("not a PDF")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        attachments = reader.attachments
        files: dict[str, bytes] = {}
        for name in (CREDENTIAL_FILE, TRUST_FILE, EVIDENCE_FILE):
            contents = attachments.get(name)
            if contents:
                if len(contents) != 1:
                    raise CertificateError(f"the certificate embeds {name} more than once")
                files[name] = contents[0]
        text = "\n".join(page.extract_text() or "" for page in reader.pages[:4])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CertificateError(f"unreadable PDF: {exc}") from exc
    if CREDENTIAL_FILE not in files:
        raise CertificateError(f"the PDF embeds no {CREDENTIAL_FILE}: it is not a certificate")
    loaded: dict[str, Any] = {}
    for name, body in files.items():
        if len(body) > _MAX_EMBEDDED:
            raise CertificateError(f"{name} is larger than {_MAX_EMBEDDED} bytes")
        try:
            loaded[name] = parse_json(body, max_bytes=_MAX_EMBEDDED)
        except CredentialError as exc:
            raise CertificateError(f"{name}: {exc}") from exc
    credential = loaded[CREDENTIAL_FILE]
    evidence = loaded.get(EVIDENCE_FILE)
    if not isinstance(credential, dict) or (
        evidence is not None and not isinstance(evidence, dict)
    ):
        raise CertificateError("the embedded credential and evidence are JSON objects")
    return Certificate(credential, loaded.get(TRUST_FILE), evidence, text)

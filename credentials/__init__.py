"""Verifier kit for carbon-label credentials: pure Python, no Flask, no database, no network.

Everything a third party needs to check a label offline: keys and did:key, bundled JSON-LD
contexts, the EdDSA Data Integrity cryptosuites, the CarbonLabelCredential, grading, Bitstring
Status Lists, the RFC 9162 Merkle tree with C2SP checkpoints, the verification report, and QR
and label artwork.
"""

from credentials.artwork import label_svg, qr_payload, qr_png, qr_svg, qr_version
from credentials.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    cosign,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from credentials.credential import (
    CarbonLabel,
    Footprint,
    Product,
    RuleRef,
    StatusRef,
    build_label_credential,
    credential_digest,
    decimal_text,
    label_url,
    new_label_id,
    normalize_label_id,
    parse_label_credential,
)
from credentials.cryptosuites import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    VerifiedProof,
    sign_document,
    verify_document,
)
from credentials.errors import CredentialError
from credentials.grading import GRADES, Grade, Thresholds, grade_for
from credentials.jsonld import (
    CARBON_LABEL_V1,
    CREDENTIALS_V2,
    DEFAULT_LOADER,
    DocumentLoader,
    canonicalize_jcs,
    canonicalize_rdfc,
    parse_json,
)
from credentials.keys import KeyPair, PublicKey, public_key_from_did
from credentials.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from credentials.status_list import (
    StatusEntry,
    StatusList,
    build_status_list_credential,
    check_status,
    parse_status_entries,
)
from credentials.text import MULTILINE_TEXT_PATTERN, TEXT_PATTERN, TextError, check_text
from credentials.trust import (
    Accreditation,
    LedgerEvidence,
    TrustBundle,
    TrustedBody,
    TrustedKey,
    TrustedRule,
)
from credentials.verify import (
    Check,
    CheckName,
    CheckStatus,
    Verdict,
    VerificationReport,
    verify_label,
)

__all__ = [
    "CARBON_LABEL_V1",
    "CREDENTIALS_V2",
    "DEFAULT_LOADER",
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "GRADES",
    "MULTILINE_TEXT_PATTERN",
    "TEXT_PATTERN",
    "Accreditation",
    "CarbonLabel",
    "Check",
    "CheckName",
    "CheckStatus",
    "Checkpoint",
    "CredentialError",
    "DocumentLoader",
    "Footprint",
    "Grade",
    "KeyPair",
    "LedgerEvidence",
    "NoteSigner",
    "NoteVerifier",
    "Product",
    "PublicKey",
    "RuleRef",
    "StatusEntry",
    "StatusList",
    "StatusRef",
    "TextError",
    "Thresholds",
    "TrustBundle",
    "TrustedBody",
    "TrustedKey",
    "TrustedRule",
    "Verdict",
    "VerificationReport",
    "VerifiedProof",
    "build_label_credential",
    "build_status_list_credential",
    "canonicalize_jcs",
    "canonicalize_rdfc",
    "check_status",
    "check_text",
    "consistency_proof",
    "cosign",
    "credential_digest",
    "decimal_text",
    "grade_for",
    "inclusion_proof",
    "label_svg",
    "label_url",
    "leaf_hash",
    "new_label_id",
    "normalize_label_id",
    "open_checkpoint",
    "open_note",
    "parse_json",
    "parse_label_credential",
    "parse_status_entries",
    "public_key_from_did",
    "qr_payload",
    "qr_png",
    "qr_svg",
    "qr_version",
    "root_hash",
    "sign_checkpoint",
    "sign_document",
    "sign_note",
    "verify_consistency",
    "verify_document",
    "verify_inclusion",
    "verify_label",
]

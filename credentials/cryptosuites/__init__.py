"""Data Integrity proofs with the EdDSA cryptosuites."""

from credentials.cryptosuites.dataintegrity import (
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    KeyResolver,
    VerifiedProof,
    sign_document,
    verify_document,
)
from credentials.cryptosuites.eddsa import SUITES, Cryptosuite

__all__ = [
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "SUITES",
    "Cryptosuite",
    "KeyResolver",
    "VerifiedProof",
    "sign_document",
    "verify_document",
]

"""The two EdDSA cryptosuites of Data Integrity EdDSA v1.0: ``eddsa-rdfc-2022`` and
``eddsa-jcs-2022``. Both sign SHA-256(proof config) ‖ SHA-256(document) with Ed25519; they
differ only in how the two are canonicalized.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from credentials.errors import MalformedInputError
from credentials.jsonld import DocumentLoader, canonicalize_jcs, canonicalize_rdfc

EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"


class Cryptosuite(Protocol):
    """Turns an unsecured document and its proof configuration into the bytes to sign."""

    @property
    def name(self) -> str: ...

    def hash_data(
        self, document: dict[str, Any], proof_config: dict[str, Any], loader: DocumentLoader
    ) -> bytes: ...


@dataclass(frozen=True, slots=True)
class RdfcSuite:
    name: str = EDDSA_RDFC_2022

    def canonical_document(self, document: dict[str, Any], loader: DocumentLoader) -> str:
        return canonicalize_rdfc(document, loader=loader)

    def hash_data(
        self, document: dict[str, Any], proof_config: dict[str, Any], loader: DocumentLoader
    ) -> bytes:
        try:
            config = canonicalize_rdfc(proof_config, loader=loader).encode("utf-8")
            doc = canonicalize_rdfc(document, loader=loader).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedInputError("document contains an unpaired surrogate") from exc
        return hashlib.sha256(config).digest() + hashlib.sha256(doc).digest()


@dataclass(frozen=True, slots=True)
class JcsSuite:
    name: str = EDDSA_JCS_2022

    def hash_data(
        self, document: dict[str, Any], proof_config: dict[str, Any], loader: DocumentLoader
    ) -> bytes:
        config = canonicalize_jcs(proof_config)
        doc = canonicalize_jcs(document)
        return hashlib.sha256(config).digest() + hashlib.sha256(doc).digest()


SUITES: dict[str, Cryptosuite] = {EDDSA_RDFC_2022: RdfcSuite(), EDDSA_JCS_2022: JcsSuite()}

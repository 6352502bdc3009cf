"""Idempotent issuance, the same at every door (``/api/v1/labels``, its batch, the VC-API).

The ``Idempotency-Key`` header is read and bounded here, and the request it names is hashed
here, from the parsed :class:`~registry.labels.issuance.LabelRequest` rather than the body's
bytes: the same label asked for through either door (or with its members in another order, or
a default spelled out) is the same request, and a different one under the same key is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from flask import request

from credentials import canonicalize_jcs, decimal_text
from registry.errors import ValidationFailedError
from registry.labels.issuance import MAX_BATCH, IssueItem, LabelRequest

__all__ = [
    "IDEMPOTENCY_KEY_PATTERN",
    "MAX_BATCH_IDEMPOTENCY_KEY",
    "MAX_IDEMPOTENCY_KEY",
    "idempotency_key",
    "issue_items",
    "request_hash",
]

# The claim's primary key is VARCHAR(255); a batch item's key is "K#i".
MAX_IDEMPOTENCY_KEY = 255
MAX_BATCH_IDEMPOTENCY_KEY = MAX_IDEMPOTENCY_KEY - len(f"#{MAX_BATCH}")
# Visible ASCII, spaces only inside: what an HTTP header carries without ambiguity.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def idempotency_key(*, batch: bool = False) -> str | None:
    """The request's ``Idempotency-Key``, or ``None``; a 422 if it is empty, too long or not
    visible ASCII."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    limit = MAX_BATCH_IDEMPOTENCY_KEY if batch else MAX_IDEMPOTENCY_KEY
    if not 0 < len(key) <= limit:
        raise ValidationFailedError({"Idempotency-Key": [f"Must be 1 to {limit} characters."]})
    if not _KEY.fullmatch(key):
        raise ValidationFailedError(
            {"Idempotency-Key": ["Must be visible ASCII characters (spaces only inside)."]}
        )
    return key


def _canonical(label: LabelRequest) -> dict[str, Any]:
    product = label.product
    return {
        "product": {
            "name": product.name,
            "manufacturer": product.manufacturer,
            "model": product.model,
            "gtin": product.gtin,
            "identifiers": list(product.identifiers),
        },
        "footprint": decimal_text(label.footprint),
        "declared_unit_amount": decimal_text(label.declared_unit_amount),
        "declared_unit": label.declared_unit,
        "system_boundary": label.system_boundary,
        "period": [label.period_start.isoformat(), label.period_end.isoformat()],
        "rule": [label.scheme, label.rule, label.rule_version],
        "valid_until": None
        if label.valid_until is None
        else label.valid_until.astimezone(UTC).isoformat(),
        "grade": label.asserted_grade,
        "supersedes": label.supersedes,
    }


def request_hash(label: LabelRequest) -> bytes:
    """SHA-256 of the request's canonical JSON (RFC 8785), whichever door it came through."""
    canonical = _canonical(label)
    if label.pact is not None:
        # Only when there is one: every hash claimed before PACT import stays as it was.
        pact = label.pact
        canonical["pact"] = [pact.footprint_id, pact.spec_version, pact.version]
    return hashlib.sha256(canonicalize_jcs(canonical)).digest()


def issue_items(labels: Sequence[LabelRequest], key: str | None) -> list[IssueItem]:
    """Batch items: with key K, item i is keyed ``K#i``."""
    return [
        IssueItem(
            label,
            idempotency_key=None if key is None else f"{key}#{position}",
            request_hash=request_hash(label),
        )
        for position, label in enumerate(labels)
    ]

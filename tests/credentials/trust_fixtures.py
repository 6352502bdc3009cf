"""A realistic trust bundle for a label: bodies and keys, accreditations, the rule, signed
status lists and ledger evidence (an entry, its inclusion proof and a signed checkpoint).

Every piece is a small function returning the JSON form, so a test can build the honest
bundle with :func:`trust_bundle_json` and replace exactly the piece its attack needs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from credentials.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from credentials.credential import credential_digest
from credentials.cryptosuites import sign_document
from credentials.jsonld import canonicalize_jcs
from credentials.keys import KeyPair
from credentials.merkle import inclusion_proof, leaf_hash, root_hash
from credentials.status_list import StatusList, build_status_list_credential
from credentials.trust import TrustBundle
from tests.credentials.factories import BASE, ISSUED_AT, body_key

#: When the honest label is checked: after issuance, inside every validity period.
NOW = datetime(2026, 6, 1, tzinfo=UTC)

BODY_NAME = "Lingnan Product Carbon Certification Co. (fictitious)"
OTHER_BODY_NAME = "Xiamen Green Verification Ltd. (fictitious)"
SCHEME = "CN-GD"
CATEGORY = "lithium-battery"
RULE_ID = "CN-GD-PCR-LIB"
RULE_VERSION = "2.1"
LABEL_ID = "7K3M9QH2XD"
REVOCATION_URL = f"{BASE}/status-lists/r1"
SUSPENSION_URL = f"{BASE}/status-lists/s1"
STATUS_INDEX = 4711  # the index sample_label() uses in both lists
LIST_URLS = {"revocation": REVOCATION_URL, "suspension": SUSPENSION_URL}

LOG_NAME = "registry.example.cn/log"
LOG = NoteSigner(LOG_NAME, KeyPair.from_seed(b"\x09" * 32))
#: Same origin name, another key: what a forger without the registry's log key would use.
ROGUE_LOG = NoteSigner(LOG_NAME, KeyPair.from_seed(b"\x0a" * 32))

#: Where the label's issuance sits in the default ledger, and how big the signed tree is.
LEDGER_INDEX = 2
LEDGER_SIZE = 5

_T2025 = "2025-01-01T00:00:00Z"


def _time(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


# --- bodies, keys, accreditations, rules ---------------------------------------------------


def key_json(
    key: KeyPair,
    *,
    active_from: datetime | str = _T2025,
    active_until: datetime | str | None = None,
) -> dict[str, Any]:
    return _drop_none(
        {
            "publicKeyMultibase": key.public_key.multibase,
            "activeFrom": _time(active_from),
            "activeUntil": _time(active_until),
        }
    )


def accreditation_json(
    *,
    scheme: str = SCHEME,
    categories: Iterable[str] = (CATEGORY,),
    valid_from: datetime | str = _T2025,
    valid_until: datetime | str | None = None,
) -> dict[str, Any]:
    return _drop_none(
        {
            "scheme": scheme,
            "categories": list(categories),
            "validFrom": _time(valid_from),
            "validUntil": _time(valid_until),
        }
    )


def body_json(
    *keys: dict[str, Any],
    name: str = BODY_NAME,
    accreditations: Iterable[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A certification body; by default accredited for the label's scheme and category."""
    return {
        "name": name,
        "keys": list(keys) or [key_json(body_key())],
        "accreditations": (
            [accreditation_json()] if accreditations is None else list(accreditations)
        ),
    }


def rule_json(**changes: Any) -> dict[str, Any]:
    """The rule version the sample label is graded under (B for 61.2 kgCO2e/kWh)."""
    rule: dict[str, Any] = {
        "scheme": SCHEME,
        "ruleId": RULE_ID,
        "version": RULE_VERSION,
        "category": CATEGORY,
        "declaredUnit": "kWh",
        "thresholds": {"A": "45", "B": "65", "C": "85", "D": "110"},
        "inForceFrom": "2025-06-01T00:00:00Z",
    }
    rule.update({k: _time(v) if isinstance(v, datetime) else v for k, v in changes.items()})
    return _drop_none(rule)


# --- status lists --------------------------------------------------------------------------


def status_list_credential(
    purpose: str,
    *,
    signer: KeyPair | None = None,
    issuer: str | None = None,
    url: str | None = None,
    set_bits: Iterable[int] = (),
    valid_from: datetime = ISSUED_AT,
    valid_until: datetime | None = None,
    created: datetime = ISSUED_AT,
) -> dict[str, Any]:
    """A signed BitstringStatusListCredential; issuer defaults to the signer's did:key."""
    signer = signer or body_key()
    status_list = StatusList()
    for index in set_bits:
        status_list.set(index, True)
    unsigned = build_status_list_credential(
        list_url=url or LIST_URLS[purpose],
        issuer=issuer or signer.did,
        purpose=purpose,
        status_list=status_list,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    return sign_document(unsigned, key=signer, created=created)


def status_lists_json(
    *,
    signer: KeyPair | None = None,
    revoked: bool = False,
    suspended: bool = False,
    index: int = STATUS_INDEX,
    created: datetime = ISSUED_AT,
) -> dict[str, dict[str, Any]]:
    """URL → signed list, both purposes, as the registry serves them."""
    bits = {"revocation": revoked, "suspension": suspended}
    return {
        LIST_URLS[purpose]: status_list_credential(
            purpose, signer=signer, set_bits=[index] if bits[purpose] else [], created=created
        )
        for purpose in ("revocation", "suspension")
    }


# --- the ledger ----------------------------------------------------------------------------


def ledger_entry(seq: int, event: str, **fields: Any) -> bytes:
    """One ledger entry in RFC 8785 form, as the registry appends it."""
    return canonicalize_jcs(
        {"seq": seq, "time": f"2026-03-01T08:{seq:02d}:00Z", "event": event, **fields}
    )


def issuance_entry(
    credential: Mapping[str, Any], *, seq: int = LEDGER_INDEX, label_id: str = LABEL_ID
) -> bytes:
    return ledger_entry(
        seq,
        "label.issued",
        labelId=label_id,
        credentialDigest=credential_digest(dict(credential)),
    )


def ledger_entries(
    credential: Mapping[str, Any],
    *,
    index: int = LEDGER_INDEX,
    size: int = LEDGER_SIZE,
    entry: bytes | None = None,
) -> list[bytes]:
    """A ledger of ``size`` entries with the label's issuance at ``index``."""
    others = [
        ledger_entry(0, "body.registered", name=BODY_NAME),
        ledger_entry(1, "rule.published", ruleId=RULE_ID, version=RULE_VERSION),
    ]
    entries = []
    for seq in range(size):
        if seq == index:
            entries.append(entry if entry is not None else issuance_entry(credential, seq=seq))
        elif seq < len(others):
            entries.append(others[seq])
        else:
            other_id = f"9ZZ{seq:07d}"
            entries.append(
                ledger_entry(
                    seq, "label.issued", labelId=other_id, credentialDigest="sha256:" + "0" * 64
                )
            )
    return entries


def signed_checkpoint(leaves: list[bytes], *, log: NoteSigner = LOG) -> str:
    """A checkpoint note over the tree with these leaf hashes, signed by ``log``."""
    return sign_checkpoint(
        Checkpoint(origin=log.name, size=len(leaves), root_hash=root_hash(leaves)), log
    )


def _b64(hashes: Iterable[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


def ledger_evidence_json(
    credential: Mapping[str, Any],
    *,
    index: int = LEDGER_INDEX,
    size: int = LEDGER_SIZE,
    entry: bytes | None = None,
    log: NoteSigner = LOG,
) -> dict[str, Any]:
    """The label's entry, its inclusion proof and a checkpoint of the same tree, signed."""
    entries = ledger_entries(credential, index=index, size=size, entry=entry)
    leaves = [leaf_hash(e) for e in entries]
    return {
        "entry": entries[index].decode("utf-8"),
        "index": index,
        "size": size,
        "proof": _b64(inclusion_proof(index, leaves)),
        "checkpoint": signed_checkpoint(leaves, log=log),
    }


def inclusion_proof_b64(index: int, leaves: list[bytes]) -> list[str]:
    return _b64(inclusion_proof(index, leaves))


# --- the whole bundle ----------------------------------------------------------------------


def trust_bundle_json(
    credential: Mapping[str, Any],
    *,
    key: KeyPair | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The honest JSON trust bundle for ``credential`` issued with ``key`` (body 1's key).

    Any top-level member (``bodies``, ``rules``, ``statusLists``, ``logKey``, ``ledger``) can
    be replaced through ``overrides``; ``None`` removes it.
    """
    key = key or body_key()
    bundle: dict[str, Any] = {
        "bodies": [
            body_json(key_json(key)),
            body_json(
                key_json(body_key(2)),
                name=OTHER_BODY_NAME,
                accreditations=[accreditation_json(scheme="CN-FJ", categories=["cement"])],
            ),
        ],
        "rules": [rule_json()],
        "statusLists": status_lists_json(signer=key),
        "logKey": LOG.verifier_key(),
        "ledger": {LABEL_ID: ledger_evidence_json(credential)},
    }
    bundle.update(overrides)
    return _drop_none(bundle)


def full_trust(credential: Mapping[str, Any], **overrides: Any) -> TrustBundle:
    return TrustBundle.from_json(trust_bundle_json(credential, **overrides))

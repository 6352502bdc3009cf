"""Settings and ledger data for registry tests, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from credentials import KeyPair, NoteSigner
from registry.config import Settings, default_log_origin, generate_kek
from registry.ledger.models import LedgerEntry
from registry.ledger.services import append_entry

BASE_URL = "https://registry.example.test"
ORIGIN = default_log_origin(BASE_URL)
# A fixed seed: signatures in failures are reproducible. Never a real key.
LOG_SIGNER = NoteSigner(ORIGIN, KeyPair.from_seed(bytes(range(32))))
KEK = generate_kek()
SECRET = "test-secret-key-that-is-long-enough-for-prod"


def make_settings(database_url: str, instance_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "log_key": LOG_SIGNER.signer_key(),
        "kek": KEK,
        "env": "testing",
        "public_base_url": BASE_URL,
        "instance_path": instance_path,
        "checkpoint_interval": 1.0,
    }
    values.update(changes)
    return Settings(**values)


def append_entries(count: int, event: str = "test.appended") -> list[LedgerEntry]:
    """Append ``count`` entries with realistic-looking (fictitious) payloads."""
    return [
        append_entry(
            event,
            {"label": f"LBL{n:07d}", "note": "fictitious test data", "ordinal": n},
        )
        for n in range(count)
    ]

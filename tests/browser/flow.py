"""The labels the browser tests open, made as a certifier would: through the HTTP API.

One label per verdict a reader can meet: genuine, revoked, suspended, superseded (by a second
issuance naming it in ``supersedes``) and expired (issued valid for an hour, then the server's
clock is moved two hours on; nothing sleeps).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import zxingcpp
from PIL import Image

from credentials import Verdict
from registry.demo_data import RULES, demo_gtin
from tests.browser.server import LiveServer

BODY = "lingnan-pcc"
RULE = next(r for r in RULES if r.code == "CN-GD-PCR-LIB")
# kgCO2e per kWh; the rule in force grades A ≤ 45 < B ≤ 65 < C ≤ 85 < D ≤ 110 < E.
FOOTPRINTS = {
    Verdict.GENUINE: ("41.8", "A"),
    Verdict.REVOKED: ("58.0", "B"),
    Verdict.SUSPENDED: ("77.5", "C"),
    Verdict.SUPERSEDED: ("96.3", "D"),
    Verdict.EXPIRED: ("130.0", "E"),
}
CLOCK_JUMP = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class FlowLabel:
    verdict: Verdict
    label_id: str
    grade: str
    qr_url: str  # the text the label's QR code decodes to


def _payload(serial: int, footprint: str, **extra: Any) -> dict[str, Any]:
    return {
        "product": {
            "name": f"LFP browser-test module #{serial} (demo)",
            "manufacturer": "Pearl River Energy Storage Co., Ltd. (fictitious)",
            "model": f"BT-{serial}",
            "gtin": demo_gtin(9000 + serial),
        },
        "footprint": {
            "value": footprint,
            "system_boundary": RULE.boundary,
            "reference_period": {"start": "2025-01-01", "end": "2025-12-31"},
        },
        "rule": {"scheme": RULE.scheme, "rule": RULE.code, "version": RULE.current.version},
        **extra,
    }


def decode_qr(png: bytes) -> str:
    """The text of the one QR code in ``png``, as a phone's scanner reads it."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    return str(results[0].text)


def issue_flow_labels(server: LiveServer) -> dict[Verdict, FlowLabel]:
    """Issue, change and expire the labels; return them with their decoded QR URLs."""
    token = server.demo.certifier_tokens[BODY]
    ids: dict[Verdict, str] = {}
    for serial, verdict in enumerate(FOOTPRINTS, start=1):
        extra: dict[str, Any] = {}
        if verdict is Verdict.EXPIRED:
            # The server's clock still reads the system time here (offset 0).
            extra["valid_until"] = (
                datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
            ).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = _payload(serial, FOOTPRINTS[verdict][0], **extra)
        ids[verdict] = server.json("POST", "/api/v1/labels", body, token=token, expect=201)["id"]
    for verdict, action in ((Verdict.REVOKED, "revoke"), (Verdict.SUSPENDED, "suspend")):
        server.json(
            "POST",
            f"/api/v1/labels/{ids[verdict]}/status",
            {"action": action, "reason": f"browser test: {action}"},
            token=token,
        )
    successor = _payload(99, "40.0", supersedes=ids[Verdict.SUPERSEDED])
    server.json("POST", "/api/v1/labels", successor, token=token, expect=201)
    server.set_clock_offset(CLOCK_JUMP.total_seconds())
    labels = {}
    for verdict, label_id in ids.items():
        status, headers, png = server.request("GET", f"/api/v1/labels/{label_id}/qr.png")
        assert status == 200, f"qr.png of {label_id}: {status}"
        assert headers.get("Content-Type", "").startswith("image/png")
        labels[verdict] = FlowLabel(verdict, label_id, FOOTPRINTS[verdict][1], decode_qr(png))
    return labels

"""Batches in the portal, in a real browser against gunicorn and its batch runner thread.

A signatory signs in, downloads the template, uploads a batch with one bad row (refused whole,
the row and column named), then a good batch of 1,000 rows, watches it (the page reloads
itself), downloads the result CSV, and every label in it verifies with the kit. Then the same
from a JSON file of PACT footprints. axe-core checks each page on the way.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page

from credentials import CheckStatus, LedgerEvidence, open_bundle, verify_label
from credentials._internal.timefmt import parse_datetime
from registry.db import transaction
from registry.portal.models import PersonRole
from registry.portal.services import accept_invitation, invite_person
from tests.browser.server import LiveServer
from tests.browser.test_portal_sign_in import PASSWORD, no_serious_violation, sign_in
from tests.registry.pact.support import VECTORS

pytestmark = pytest.mark.browser
BODY = "lingnan-pcc"  # the demo's body accredited for CN-GD batteries
# The runner polls every second; 1,000 labels take a while on a busy machine.
BATCH_TIMEOUT_MS = 240_000


def signatory(app: Flask) -> str:
    """A signatory of the demo body, with a password (as the invitation page would set)."""
    email = f"batches-{secrets.token_hex(4)}@registry.example"
    with app.app_context(), transaction():
        _, secret = invite_person(email=email, role=PersonRole.SIGNATORY, body_code=BODY)
        accept_invitation(secret, PASSWORD)
    return email


def demo_row(header: list[str], n: int, **changes: str) -> list[str]:
    """A row of the template's columns for a demo CN-GD battery (PCR-LIB 2.0 is in force)."""
    cells = {
        "scheme": "CN-GD",
        "rule": "CN-GD-PCR-LIB",
        "rule_version": "2.0",
        "product_name": f"LFP module {n} (browser batch)",
        "manufacturer": "Pearl River Energy Storage Ltd. (fictitious)",
        "product_model": f"PR-{n:04d}",
        "footprint": f"{50 + n % 30}.5",
        "declared_unit": "kWh",
        "declared_unit_amount": "1",
        "system_boundary": "cradle-to-gate",
        "period_start": "2025-08-01",
        "period_end": "2026-07-31",
        "assurance": "reasonable",
        **changes,
    }
    return [cells.get(name, "") for name in header]


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def upload(page: Page, name: str, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    with page.expect_navigation():
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
    assert re.fullmatch(r".*/portal/batches/\d+", page.url), page.inner_text("main")


def verified(server: LiveServer, labels: list[str]) -> None:
    """Every label verifies with the kit against the registry's signed trust bundle (its key
    pinned from the server's settings) and the label's ledger evidence: every check passed."""
    signed = server.json("GET", "/trust-bundle")
    issued = parse_datetime(signed["payload"]["issued"])
    pinned = server.settings.bundle_signer().public_key.multibase
    for label_id in labels:
        label: dict[str, Any] = server.json("GET", f"/api/v1/labels/{label_id}")
        at = max(issued, parse_datetime(label["credential"]["validFrom"])) + timedelta(seconds=1)
        opened = open_bundle(signed, pinned=pinned, now=at)
        trust = opened.bundle.with_evidence(
            label_id, LedgerEvidence.from_json(label["ledgerEvidence"])
        )
        report = verify_label(label["credential"], trust=trust, now=at)
        failed = [c for c in report.checks if c.status is not CheckStatus.PASSED]
        assert report.verified, (label_id, failed)


def test_a_signatory_uploads_a_refused_batch_then_issues_1000_labels(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    email = signatory(catalogue_app)
    page = context.new_page()
    sign_in(page, server, email)
    page.click("a[href='/portal/batches/']")
    page.wait_for_url(server.base_url + "/portal/batches/")
    no_serious_violation(page, axe_script)

    with page.expect_download() as download:
        page.click("a[href='/portal/batches/template.csv']")
    template = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(template)))
    assert header[:3] == ["scheme", "rule", "rule_version"]

    # A file that is not UTF-8: refused at once, the problem next to the field, nothing queued.
    page.set_input_files(
        "#file", files=[{"name": "latin1.csv", "mimeType": "text/csv", "buffer": b"caf\xe9\n"}]
    )
    with page.expect_navigation():
        page.click("form[enctype='multipart/form-data'] button[type=submit]")
    assert page.url == server.base_url + "/portal/batches/"
    assert "not UTF-8" in page.inner_text("#file-error")
    assert page.get_attribute("#file", "aria-invalid") == "true"
    no_serious_violation(page, axe_script)

    # One bad row among three: refused whole, row 3 (the spreadsheet's) and its column named.
    bad = [demo_row(header, 1), demo_row(header, 2, footprint="a lot"), demo_row(header, 3)]
    upload(page, "bad.csv", csv_bytes(header, bad))
    page.locator("#problems").wait_for(timeout=BATCH_TIMEOUT_MS)
    assert "Refused" in page.inner_text("#state")
    cells = page.locator("#problems tbody tr").first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "footprint"], cells
    assert page.locator("#problems tbody tr").count() == 1
    assert "Labels issued: 0 of 3" in page.inner_text("main")
    no_serious_violation(page, axe_script)

    page.goto(server.base_url + "/portal/batches/")
    good = [demo_row(header, n) for n in range(1000)]
    upload(page, "good.csv", csv_bytes(header, good))
    started = datetime.now(UTC)
    progress = page.locator("progress")
    assert progress.count() == 2
    assert progress.first.get_attribute("max") == "1000"
    assert "of 1000" in page.inner_text("#progress-validated")
    if page.locator("#labels").count() == 0:  # still running: the page says so, and reloads
        no_serious_violation(page, axe_script)
    page.locator("#labels").wait_for(timeout=BATCH_TIMEOUT_MS)
    assert datetime.now(UTC) - started < timedelta(milliseconds=BATCH_TIMEOUT_MS)
    assert "Labels issued: 1000 of 1000" in page.inner_text("main")
    assert page.locator("#labels tbody tr").count() == 100  # the first page of labels
    no_serious_violation(page, axe_script)

    with page.expect_download() as download:
        page.click("a[href$='/result.csv']")
    result = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(result)))
    assert [int(line["row"]) for line in lines] == list(range(2, 1002))
    assert [line["product"] for line in lines] == [
        f"LFP module {n} (browser batch)" for n in range(1000)
    ]
    first = page.locator("#labels tbody tr a").first
    assert first.get_attribute("href") == lines[0]["url"]
    verified(server, [line["label"] for line in lines])

    # The label page a row links to opens.
    first.click()
    page.wait_for_url(lines[0]["url"])
    assert "LFP module 0 (browser batch)" in page.inner_text("main")


def demo_footprint(n: int, **pcf: str) -> dict[str, Any]:
    """A PACT v3 footprint (the specification's example-1, made a demo battery module per kWh
    under ISO 14067, as CN-GD-PCR-LIB 2.0 grades it), with ``pcf`` members changed."""
    footprint: dict[str, Any] = json.loads((VECTORS / "pact/v3/example-1.json").read_text())
    footprint["id"] = str(uuid.uuid4())
    footprint["productNameCompany"] = f"LFP module {n} (PACT batch)"
    footprint["pcf"].update(
        {
            "declaredUnitOfMeasurement": "kilowatt hour",
            "declaredUnitAmount": "1",
            "pcfExcludingBiogenicUptake": f"{50 + n}.5",
            "referencePeriodStart": "2025-08-01T00:00:00Z",
            "referencePeriodEnd": "2026-08-01T00:00:00Z",
            "crossSectoralStandards": ["ISO14067"],
            **pcf,
        }
    )
    return footprint


def test_a_signatory_issues_labels_from_a_file_of_pact_footprints(
    server: LiveServer, catalogue_app: Flask, context: BrowserContext, axe_script: Path
) -> None:
    email = signatory(catalogue_app)
    page = context.new_page()
    sign_in(page, server, email)
    page.goto(server.base_url + "/portal/batches/")

    def send(document: Any) -> None:
        page.select_option("#pact-rule", "CN-GD|CN-GD-PCR-LIB|2.0")
        page.select_option("#pact-boundary", "cradle-to-gate")
        data = json.dumps(document).encode()
        file = {"name": "footprints.json", "mimeType": "application/json", "buffer": data}
        page.set_input_files("#pact-file", files=[file])
        with page.expect_navigation():
            page.click("form[action$='/pact'] button[type=submit]")

    # Not footprints: refused at once, next to the field, in the reader's language.
    send({"footprints": []})
    assert page.url == server.base_url + "/portal/batches/pact"
    assert "holds no PACT footprints" in page.inner_text("#pact-file-error")
    assert page.get_attribute("#pact-file", "aria-invalid") == "true"
    no_serious_violation(page, axe_script)

    # One footprint in an unknown unit: refused whole, the footprint and the member named.
    send({"data": [demo_footprint(1), demo_footprint(2, declaredUnitOfMeasurement="barrel")]})
    page.locator("#problems").wait_for(timeout=BATCH_TIMEOUT_MS)
    cells = page.locator("#problems tbody tr").first.locator("td").all_inner_texts()
    assert cells[:2] == ["2", "pcf.declaredUnitOfMeasurement"], cells
    no_serious_violation(page, axe_script)

    page.goto(server.base_url + "/portal/batches/")
    footprints = [demo_footprint(n) for n in range(3)]
    send({"data": footprints})
    page.locator("#labels").wait_for(timeout=BATCH_TIMEOUT_MS)
    assert "Labels issued: 3 of 3" in page.inner_text("main")
    no_serious_violation(page, axe_script)
    labels = [
        href.rsplit("/", 1)[1]
        for href in page.locator("#labels tbody a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    verified(server, labels)
    sources = [
        server.json("GET", f"/api/v1/labels/{label}")["credential"]["credentialSubject"]
        for label in labels
    ]
    assert [s["pactSource"]["pfId"] for s in sources] == [f["id"] for f in footprints]

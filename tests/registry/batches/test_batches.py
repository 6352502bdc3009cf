"""CSV label batches end to end through the API and the runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from typing import Any

from flask import Flask

from credentials import CheckStatus, LedgerEvidence, open_bundle, qr_svg, verify_label
from credentials._internal.timefmt import parse_datetime
from registry.batches.csvformat import COLUMNS, MAX_ROWS
from registry.batches.runner import run_once
from tests.registry.batches.support import batch_app, counts, csv_of, row, upload
from tests.registry.factories import BASE_URL, BUNDLE_SIGNER, LabelWorld

__all__ = ["batch_app"]

Setup = tuple[Flask, LabelWorld, str]


def _run(app: Flask) -> tuple[int, str]:
    with app.app_context():
        ran = run_once()
    assert ran is not None
    return ran[0], ran[1].value


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _state(app: Flask, secret: str, batch_id: int) -> dict[str, Any]:
    response = app.test_client().get(f"/api/v1/label-batches/{batch_id}", headers=_auth(secret))
    assert response.status_code == 200
    answer: dict[str, Any] = response.get_json()
    return answer


def test_the_template_is_one_header_and_one_example_that_issues(batch_app: Setup) -> None:
    app, world, _ = batch_app
    client = app.test_client()
    response = client.get("/api/v1/label-batches/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [column.name for column in COLUMNS]
    assert len(rows) == 2
    # The example is a real label request for the demo (tests/e2e/test_readme_examples.py
    # uploads it there as served); naming this registry's rule instead, it issues here.
    assert rows[1][1:3] == ["CN-GD-PCR-LIB", "2.0"]
    rows[1][1:3] = ["PCR-LIB", "1.0"]
    data = csv_of([dict(zip(rows[0], rows[1], strict=True))])
    queued = upload(client, world.certifier, data)
    assert queued["state"] == "queued"
    assert _run(app) == (queued["id"], "done")
    assert _state(app, world.certifier, queued["id"])["rows"] == {
        "total": 1,
        "validated": 1,
        "issued": 1,
    }


def test_bad_rows_refuse_the_batch_whole_naming_every_row_and_column(batch_app: Setup) -> None:
    app, world, _ = batch_app
    before = counts(app)
    rows = [row() for _ in range(6)]
    rows[2]["gtin"] = "06901234567893"  # wrong check digit: spreadsheet row 4
    rows[4]["footprint"] = ""  # required: row 6
    rows[4]["period_end"] = "2024-01-01"  # before the start: row 6 again
    queued = upload(app.test_client(), world.certifier, csv_of(rows), key="refused-1")
    assert _run(app) == (queued["id"], "refused")
    state = _state(app, world.certifier, queued["id"])
    assert state["state"] == "refused"
    assert state["rows"]["issued"] == 0
    found = {(e["row"], e["column"]) for e in state["errors"]}
    assert found == {(4, "gtin"), (6, "footprint"), (6, "period_end")}
    assert all(e["message"] for e in state["errors"])
    assert "nothing was issued" in state["reason"]
    after = counts(app)
    # Nothing written but the batch's own record: no label, entry or idempotency claim.
    assert (after.labels, after.entries, after.keys) == (
        before.labels,
        before.entries,
        before.keys,
    )
    assert after.batches == before.batches + 1
    result = app.test_client().get(
        f"/api/v1/label-batches/{queued['id']}/result.csv", headers=_auth(world.certifier)
    )
    assert result.status_code == 409


def test_a_refusal_of_the_issuance_rules_names_its_row_and_rolls_back_all(
    batch_app: Setup,
) -> None:
    app, world, _ = batch_app
    before = counts(app)
    rows = [row() for _ in range(150)]  # two chunks: the first is issued before the refusal
    rows[130]["grade"] = "A"  # 61.2 kgCO2e/kWh is grade B under PCR-LIB 1.0
    queued = upload(app.test_client(), world.certifier, csv_of(rows))
    assert _run(app) == (queued["id"], "refused")
    (error,) = _state(app, world.certifier, queued["id"])["errors"]
    assert error["row"] == 132
    assert "grade B, not A" in error["message"]
    after = counts(app)
    assert (after.labels, after.entries, after.keys) == (
        before.labels,
        before.entries,
        before.keys,
    )


def _verified(app: Flask, labels: list[str]) -> None:
    """Every label verifies with the kit: the registry's signed bundle (pinned key) and each
    label's ledger evidence, every check passed."""
    client = app.test_client()
    signed = client.get("/trust-bundle").get_json()
    issued = parse_datetime(signed["payload"]["issued"])
    for label_id in labels:
        label = client.get(f"/api/v1/labels/{label_id}").get_json()
        at = max(issued, parse_datetime(label["credential"]["validFrom"])) + timedelta(seconds=1)
        opened = open_bundle(signed, pinned=BUNDLE_SIGNER.public_key.multibase, now=at)
        trust = opened.bundle.with_evidence(
            label_id, LedgerEvidence.from_json(label["ledgerEvidence"])
        )
        report = verify_label(label["credential"], trust=trust, now=at)
        assert report.verified, [c for c in report.checks if c.status is not CheckStatus.PASSED]


def test_a_batch_of_1000_issues_and_every_label_verifies(batch_app: Setup) -> None:
    app, world, _ = batch_app
    before = counts(app)
    rows = [row(product_name=f"Module {n}", footprint=f"{40 + n % 80}.5") for n in range(1000)]
    client = app.test_client()
    queued = upload(client, world.certifier, csv_of(rows), key="thousand")
    assert queued["rows"] == {"total": 1000, "validated": 0, "issued": 0}
    assert queued["links"]["result"] is None
    assert _run(app) == (queued["id"], "done")
    state = _state(app, world.certifier, queued["id"])
    assert state["rows"] == {"total": 1000, "validated": 1000, "issued": 1000}
    assert state["errors"] == []
    after = counts(app)
    assert after.labels == before.labels + 1000
    assert after.entries >= before.entries + 1000
    response = client.get(state["links"]["result"], headers=_auth(world.certifier))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    result = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [int(r["row"]) for r in result] == list(range(2, 1002))
    assert len({r["label"] for r in result}) == 1000
    for n, line in enumerate(result):
        assert line["product"] == f"Module {n}"
        assert line["url"].endswith(f"/l/{line['label']}")
        assert line["status"] == "active"
    labels = client.get(f"/api/v1/labels/{result[0]['label']}").get_json()
    assert labels["grade"] == result[0]["grade"]
    _verified(app, [r["label"] for r in result])
    # The artwork: one SVG per row, named by row and label.
    zipped = client.get(state["links"]["artwork"], headers=_auth(world.certifier))
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.get_data())) as archive:
        names = archive.namelist()
        assert len(names) == 1000
        assert names[0] == f"row-00002-{result[0]['label']}.svg"
        assert archive.read(names[0]).startswith(b"<svg")
    # The same upload with the same key is the same batch, not a second one.
    again = upload(client, world.certifier, csv_of(rows), key="thousand", expect=200)
    assert again["id"] == queued["id"]
    assert counts(app).batches == after.batches
    other = csv_of(rows[:10])
    upload(client, world.certifier, other, key="thousand", expect=422)


def test_another_body_cannot_see_a_batch(batch_app: Setup) -> None:
    app, world, _ = batch_app
    client = app.test_client()
    queued = upload(client, world.certifier, csv_of([row()]))
    _run(app)
    for path in ("", "/result.csv", "/artwork.zip"):
        url = f"/api/v1/label-batches/{queued['id']}{path}"
        assert client.get(url, headers=_auth(world.certifier)).status_code == 200
        for secret in (world.other_certifier, world.regulator, world.operator):
            response = client.get(url, headers=_auth(secret))
            assert response.status_code in (403, 404), (path, response.status_code)
        response = client.get(url, headers=_auth(world.other_certifier))
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert client.get(url).status_code == 401


def _refused(app: Flask, world: LabelWorld, data: bytes, status: int, words: str) -> None:
    before = counts(app).batches
    response = app.test_client().post(
        "/api/v1/label-batches",
        data=data,
        headers={**_auth(world.certifier), "Content-Type": "text/csv"},
    )
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert words in str(response.get_json()), response.get_json()
    assert counts(app).batches == before


def test_uploads_of_the_wrong_shape_are_refused_clearly(batch_app: Setup) -> None:
    app, world, _ = batch_app
    good = [row()]
    _refused(app, world, "scheme,rule\nCN-GD,Ü".encode("latin-1"), 422, "Not UTF-8")
    _refused(app, world, csv_of(good)[csv_of(good).index(b"\r\n") + 2 :], 422, "header")
    _refused(
        app,
        world,
        csv_of(good, columns=[*(c.name for c in COLUMNS), "colour"]),
        422,
        "Unknown columns: colour",
    )
    _refused(
        app,
        world,
        csv_of(good, columns=[c.name for c in COLUMNS if c.name != "footprint"]),
        422,
        "Missing columns: footprint",
    )
    _refused(app, world, csv_of([row() for _ in range(MAX_ROWS + 1)]), 422, "More than 10000")
    _refused(app, world, b"\xef\xbb\xbf", 422, "Empty")
    _refused(app, world, csv_of(good) + b"x" * (16 * 1024 * 1024), 413, "Payload too large")
    response = app.test_client().post(
        "/api/v1/label-batches", json={"labels": []}, headers=_auth(world.certifier)
    )
    assert response.status_code == 415
    # A regulator's token cannot upload.
    response = app.test_client().post(
        "/api/v1/label-batches",
        data=csv_of(good),
        headers={**_auth(world.regulator), "Content-Type": "text/csv"},
    )
    assert response.status_code == 403


def test_result_cells_a_spreadsheet_would_run_are_defused(batch_app: Setup) -> None:
    app, world, _ = batch_app
    client = app.test_client()
    queued = upload(client, world.certifier, csv_of([row(product_name="=1+2 module")]))
    _run(app)
    response = client.get(
        f"/api/v1/label-batches/{queued['id']}/result.csv", headers=_auth(world.certifier)
    )
    (line,) = csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))
    assert line["product"] == "'=1+2 module"


def test_the_qr_column_chooses_each_rows_qr_code(batch_app: Setup) -> None:
    app, world, _ = batch_app
    client = app.test_client()
    rows = [row(qr="digital-link"), row(qr="label"), row()]
    queued = upload(client, world.certifier, csv_of(rows))
    assert _run(app) == (queued["id"], "done")
    state = _state(app, world.certifier, queued["id"])
    result = list(
        csv.DictReader(
            io.StringIO(
                client.get(state["links"]["result"], headers=_auth(world.certifier))
                .get_data()
                .decode("utf-8-sig")
            )
        )
    )
    chosen = [client.get(f"/api/v1/labels/{r['label']}").get_json()["qr"] for r in result]
    assert chosen == ["digital-link", "label", "label"]
    # The batch's artwork draws each label's own choice.
    zipped = client.get(state["links"]["artwork"], headers=_auth(world.certifier))
    with zipfile.ZipFile(io.BytesIO(zipped.get_data())) as archive:
        drawn = [archive.read(name).decode() for name in archive.namelist()]
    linked = qr_svg(f"{BASE_URL}/01/06901234567892")
    short = qr_svg(f"{BASE_URL}/l/{result[1]['label']}")
    assert _qr_path(linked) in drawn[0]
    assert _qr_path(short) in drawn[1]
    assert _qr_path(linked) not in drawn[1]


def _qr_path(svg: str) -> str:
    found = re.search(r'<path fill="#000000" d="([^"]+)"', svg)
    assert found is not None
    return found.group(1)


def test_a_digital_link_row_without_a_gtin_is_refused_at_its_qr_column(batch_app: Setup) -> None:
    app, world, _ = batch_app
    rows = [row(), row(qr="digital-link", gtin="")]
    queued = upload(app.test_client(), world.certifier, csv_of(rows))
    assert _run(app) == (queued["id"], "refused")
    (error,) = _state(app, world.certifier, queued["id"])["errors"]
    assert (error["row"], error["column"]) == (3, "qr")
    assert "GTIN" in error["message"]

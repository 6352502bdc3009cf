"""The portal's batch pages with the test client, on SQLite and PostgreSQL: the rules.

Uploads go through the same engine as the API (``submit_batch``) and run with the same runner
(``run_once``); the batch's labels are issued as the person who uploaded, and named so.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from registry.batches.csvformat import COLUMNS, MAX_ROWS
from registry.batches.models import BatchFormat, LabelBatch, LabelBatchItem
from registry.batches.pactformat import MAX_FOOTPRINTS
from registry.batches.runner import run_once
from registry.db import db, transaction
from registry.labels.models import Label
from registry.ledger.models import LedgerEntry
from registry.portal.messages import known_message
from registry.portal.models import Person, PersonRole
from tests.registry.batches.support import batch_app, counts, csv_of, row
from tests.registry.factories import LABEL_BODY, OTHER_BODY, LabelWorld
from tests.registry.pact.support import VECTORS, make_pact_rules
from tests.registry.portal.support import csrf_from, make_person, sign_in_client

__all__ = ["batch_app"]

Setup = tuple[Flask, LabelWorld, str]
LIST = "/portal/batches/"


def _person(app: Flask, role: PersonRole, body: str = LABEL_BODY) -> Person:
    with app.app_context():
        try:
            return make_person(f"{role.value}-{secrets.token_hex(4)}@body.example", role, body=body)
        finally:
            db.session.remove()


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    """The portal's per-test limiter reset needs the ``app`` of ``db_session``: not this one's
    (no rate-limited form here)."""


@pytest.fixture
def signed_in(batch_app: Setup) -> tuple[Flask, FlaskClient, Person]:
    """A test client signed in as a signatory of LABEL_BODY."""
    app = batch_app[0]
    person = _person(app, PersonRole.SIGNATORY)
    return app, _sign_in(app, person), person


def _sign_in(app: Flask, person: Person) -> FlaskClient:
    client = app.test_client()
    with app.app_context():
        sign_in_client(client, person)
        db.session.remove()
    return client


def _upload(
    client: FlaskClient,
    data: bytes,
    *,
    csrf: bool = True,
    name: str = "batch.csv",
    path: str = LIST,
    fields: Mapping[str, str] | None = None,
    content_type: str = "text/csv",
) -> TestResponse:
    form: dict[str, object] = {
        "file": FileStorage(io.BytesIO(data), filename=name, content_type=content_type),
        **(fields or {}),
    }
    page = client.get(LIST)
    if csrf:
        form["csrf_token"] = csrf_from(page)
        key = re.search(r'name="key" value="([^"]+)"', page.get_data(as_text=True))
        assert key is not None
        form["key"] = key.group(1)
    # Encoded here in memory: the test client spools a large body to a file it never closes.
    boundary, body = encode_multipart(form)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _run(app: Flask) -> str:
    with app.app_context():
        try:
            ran = run_once()
        finally:
            db.session.remove()
    assert ran is not None
    return ran[1].value


def _batch_id(response: TestResponse) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)
    found = re.fullmatch(r".*/portal/batches/(\d+)", response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return int(found.group(1))


def test_a_signatory_uploads_a_batch_that_issues_as_that_person(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, person = signed_in
    template = client.get("/portal/batches/template.csv")
    assert template.status_code == 200
    assert template.mimetype == "text/csv"
    header = next(csv.reader(io.StringIO(template.get_data().decode("utf-8-sig"))))
    assert header == [column.name for column in COLUMNS]

    batch_id = _batch_id(_upload(client, csv_of([row(product_name=f"P{n}") for n in range(3)])))
    queued = client.get(f"/portal/batches/{batch_id}")
    assert queued.status_code == 200
    assert queued.headers["Cache-Control"] == "no-store"
    assert queued.headers["Refresh"] == "5"  # reloads itself while it runs
    assert "default-src 'none'" in queued.headers["Content-Security-Policy"]  # and no script
    assert "Rows checked: 0 of 3" in queued.get_data(as_text=True)
    stopped = client.get(f"/portal/batches/{batch_id}?refresh=off")
    assert "Refresh" not in stopped.headers
    # Before it is done there is nothing to download.
    assert client.get(f"/portal/batches/{batch_id}/result.csv").status_code == 404

    assert _run(app) == "done"
    done = client.get(f"/portal/batches/{batch_id}")
    page = done.get_data(as_text=True)
    assert "Refresh" not in done.headers
    assert "Labels issued: 3 of 3" in page
    result = client.get(f"/portal/batches/{batch_id}/result.csv")
    assert result.status_code == 200
    lines = list(csv.DictReader(io.StringIO(result.get_data().decode("utf-8-sig"))))
    assert [line["product"] for line in lines] == ["P0", "P1", "P2"]
    for line in lines:
        assert f'href="{line["url"]}"' in page
        assert line["url"].endswith(f"/l/{line['label']}")
    artwork = client.get(f"/portal/batches/{batch_id}/artwork.zip?lang=zh-Hant")
    assert artwork.status_code == 200
    assert artwork.mimetype == "application/zip"
    assert len(artwork.get_data()) > 100
    # The ledger names the person, not a token, as the issuer.
    with app.app_context():
        try:
            batch = db.session.get_one(LabelBatch, batch_id)
            assert (batch.token_id, batch.person_id) == (None, person.id)
            entry = db.session.scalars(
                select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1)
            ).one()
            assert f'"person":{person.id}' in entry.body.decode().replace(" ", "")
        finally:
            db.session.remove()
    listing = client.get(LIST).get_data(as_text=True)
    assert f'href="/portal/batches/{batch_id}"' in listing


def test_a_batch_with_a_bad_row_is_refused_whole_naming_row_and_column(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, _ = signed_in
    before = counts(app)
    rows = [row(), row(footprint="lots"), row()]
    batch_id = _batch_id(_upload(client, csv_of(rows)))
    assert _run(app) == "refused"
    assert counts(app).labels == before.labels
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert "nothing was issued" in page
    problems = re.findall(r"<tr><td>(\d+)</td><td><code>(\w+)</code></td>", page)
    assert problems == [("3", "footprint")]
    assert client.get(f"/portal/batches/{batch_id}/result.csv").status_code == 404


def test_a_rows_problem_is_told_in_the_readers_language_and_an_unknown_one_as_given(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, _ = signed_in
    client.get("/lang/zh-Hans")
    rows = [row(gtin="12345678"), row(footprint="61,2")]
    batch_id = _batch_id(_upload(client, csv_of(rows)))
    assert _run(app) == "refused"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    cells = dict(
        re.findall(r"<tr><td>\d+</td><td><code>(\w+)</code></td><td( lang=\"en\")?>", page)
    )
    # Both messages are known ones: in the reader's language, not marked as English.
    assert cells == {"gtin": "", "footprint": ""}, page
    with app.test_request_context(headers={"Accept-Language": "zh-Hans"}):
        decimal = known_message('Use a point as the decimal separator: send "61.2", not "61,2".')
    assert decimal is not None
    assert decimal in page
    assert "Use a point as the decimal separator" not in page


def test_an_upload_without_the_csrf_token_is_refused(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, _ = signed_in
    before = counts(app).batches
    response = _upload(client, csv_of([row()]), csrf=False)
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert counts(app).batches == before


def test_an_auditor_sees_the_batches_and_the_template_but_cannot_upload(batch_app: Setup) -> None:
    app = batch_app[0]
    client = _sign_in(app, _person(app, PersonRole.AUDITOR))
    page = client.get(LIST)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "only a signatory can upload" in text
    assert 'type="file"' not in text
    assert client.get("/portal/batches/template.csv").status_code == 200
    before = counts(app).batches
    form = {
        "file": (io.BytesIO(csv_of([row()])), "b.csv"),
        "csrf_token": csrf_from(client.get("/portal/sign-in")),
    }
    refused = client.post(LIST, data=form, content_type="multipart/form-data")
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"
    assert counts(app).batches == before


def test_another_bodys_batch_is_not_found(
    batch_app: Setup, signed_in: tuple[Flask, FlaskClient, Person]
) -> None:
    app, client, _ = signed_in
    batch_id = _batch_id(_upload(client, csv_of([row()])))
    assert _run(app) == "done"
    for role in (PersonRole.SIGNATORY, PersonRole.AUDITOR):
        other = _sign_in(app, _person(app, role, body=OTHER_BODY))
        for path in ("", "/result.csv", "/artwork.zip"):
            response = other.get(f"/portal/batches/{batch_id}{path}")
            assert response.status_code == 404, (role, path)
            assert response.mimetype == "text/html"
        assert f"/portal/batches/{batch_id}" not in other.get(LIST).get_data(as_text=True)
    regulator_or_none = app.test_client()
    response = regulator_or_none.get(f"/portal/batches/{batch_id}")
    assert response.status_code == 303  # not signed in: to the sign-in page
    assert "/portal/sign-in" in response.headers["Location"]


def test_an_oversized_file_is_refused_and_nothing_is_stored(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, _ = signed_in
    before = counts(app).batches
    big = csv_of([row()]) + b"x" * (16 * 1024 * 1024 + 1)
    response = _upload(client, big)
    assert response.status_code == 413
    assert "larger than 16 MB" in response.get_data(as_text=True)
    assert counts(app).batches == before


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"scheme,rule\n\xff\xfe,x\n", 422, "is not UTF-8 text"),
        (b"", 422, "The file is empty"),
        (b"name,price\nx,1\n", 422, "it has none of its columns"),
        (csv_of([row()]).replace(b"scheme,", b"colour,", 1), 422, "Unknown columns: colour"),
        (csv_of([row()], columns=["scheme", "rule"]), 422, "Missing columns: rule_version"),
        (csv_of([row()] * (MAX_ROWS + 1)), 422, f"More than {MAX_ROWS} label rows"),
        (csv_of([]), 422, "no label rows after the header"),
        (csv_of([]) + b'"unterminated,x\n', 400, "not a readable CSV file"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused_in_the_readers_language(
    signed_in: tuple[Flask, FlaskClient, Person], data: bytes, status: int, words: str
) -> None:
    app, client, _ = signed_in
    before = counts(app).batches
    response = _upload(client, data)
    text = response.get_data(as_text=True)
    assert response.status_code == status, re.findall(r'id="file-error">([^<]*)<', text)
    assert words in text, re.findall(r'id="file-error">([^<]*)<', text)
    assert 'aria-invalid="true"' in text
    assert 'aria-describedby="file-hint file-error"' in text
    assert counts(app).batches == before


def test_the_refusal_is_in_the_persons_language(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    _, client, _ = signed_in
    client.get("/lang/zh-Hant")
    response = _upload(client, csv_of([row()]).replace(b"scheme,", b"colour,", 1))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "colour" in text
    assert "Unknown columns" not in text
    assert '<html lang="zh-Hant">' in text


def test_a_batch_stops_if_its_uploader_is_disabled_before_it_runs(
    signed_in: tuple[Flask, FlaskClient, Person],
) -> None:
    app, client, person = signed_in
    before = counts(app)
    batch_id = _batch_id(_upload(client, csv_of([row(), row()])))
    with app.app_context():
        try:
            with transaction():
                db.session.get_one(Person, person.id).disabled = True
        finally:
            db.session.remove()
    assert _run(app) == "failed"
    assert counts(app).labels == before.labels
    with app.app_context():
        try:
            reason = db.session.get_one(LabelBatch, batch_id).reason
        finally:
            db.session.remove()
    assert reason == "The person who uploaded this batch was disabled. Nothing was issued."


# --- a JSON file of PACT footprints ----------------------------------------------------------

PACT_UPLOAD = "/portal/batches/pact"
GHGP = "CN-GD|PACT-KG-GHGP|1.0"  # the rule of example-1 (kilogram, GHG Protocol)


@pytest.fixture
def pact_rules(batch_app: Setup) -> None:
    app = batch_app[0]
    with app.app_context():
        try:
            with transaction():
                make_pact_rules()
        finally:
            db.session.remove()


def _footprint(**pcf: Any) -> dict[str, Any]:
    """The specification's example-1 under a new id, with ``pcf`` members changed (None: left
    out)."""
    footprint: dict[str, Any] = json.loads((VECTORS / "pact/v3/example-1.json").read_text())
    footprint["id"] = str(uuid.uuid4())
    for member, value in pcf.items():
        if value is None:
            del footprint["pcf"][member]
        else:
            footprint["pcf"][member] = value
    return footprint


def _pact_upload(
    client: FlaskClient, document: Any, *, rule: str = GHGP, boundary: str = "cradle-to-gate"
) -> TestResponse:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return _upload(
        client,
        data,
        name="footprints.json",
        path=PACT_UPLOAD,
        fields={"rule": rule, "system_boundary": boundary},
        content_type="application/json",
    )


def test_a_file_of_pact_footprints_issues_a_label_for_each_with_its_source(
    batch_app: Setup, signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    app, client, person = signed_in
    form = client.get(LIST).get_data(as_text=True)
    assert f'<option value="{GHGP}"' in form  # the rule versions the body may issue under
    footprints = [_footprint(), _footprint()]
    before = counts(app)
    # As a PACT host answers a list: {"data": [...]}.
    batch_id = _batch_id(_pact_upload(client, {"data": footprints}))
    queued = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert "Footprints checked: 0 of 2" in queued
    assert _run(app) == "done"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert "Labels issued: 2 of 2" in page
    assert "PACT footprints (JSON)" in page
    after = counts(app)
    assert (after.labels - before.labels, after.entries - before.entries) == (2, 2)
    with app.app_context():
        try:
            batch = db.session.get_one(LabelBatch, batch_id)
            assert (batch.format, batch.person_id) == (BatchFormat.PACT, person.id)
            labels = db.session.execute(
                select(Label)
                .join(LabelBatchItem, LabelBatchItem.label_id == Label.id)
                .where(LabelBatchItem.batch_id == batch_id)
                .order_by(LabelBatchItem.row)
            ).scalars()
            sources = [json.loads(label.credential)["credentialSubject"] for label in labels]
            entries = db.session.scalars(
                select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(2)
            ).all()
            ledgered = [json.loads(entry.body)["pact"]["id"] for entry in reversed(entries)]
        finally:
            db.session.remove()
    # The footprint's id is signed in the credential and recorded in the ledger, in file order.
    assert [s["pactSource"]["pfId"] for s in sources] == [f["id"] for f in footprints]
    assert ledgered == [f["id"] for f in footprints]
    assert {s["product"]["name"] for s in sources} == {footprints[0]["productNameCompany"]}
    # A single footprint, and a bare array, are files of footprints too.
    for document in (_footprint(), [_footprint()]):
        assert _run_upload(app, client, document) == "done"


def _run_upload(app: Flask, client: FlaskClient, document: Any, **form: str) -> str:
    _batch_id(_pact_upload(client, document, **form))
    return _run(app)


def _problems(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<tr><td>(\d+)</td><td><code>([\w.]+)</code></td>", page)


def test_a_footprint_that_cannot_be_mapped_refuses_the_file_naming_footprint_and_member(
    signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    app, client, _ = signed_in
    before = counts(app)
    document = [
        _footprint(),
        _footprint(referencePeriodStart=None),
        _footprint(declaredUnitOfMeasurement="barrel"),
    ]
    batch_id = _batch_id(_pact_upload(client, document))
    assert _run(app) == "refused"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert _problems(page) == [
        ("2", "pcf.referencePeriodStart"),
        ("3", "pcf.declaredUnitOfMeasurement"),
    ]
    assert "Problems, footprint by footprint" in page
    assert "PACT member" in page
    assert counts(app).labels == before.labels
    assert counts(app).entries == before.entries


def test_the_pact_mappings_common_refusals_are_in_the_readers_language(
    signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    app, client, _ = signed_in
    client.get("/lang/zh-Hant")
    document = [
        _footprint(referencePeriodStart=None),
        _footprint(declaredUnitOfMeasurement="barrel"),
        _footprint(pcfExcludingBiogenicUptake=61.2),
    ]
    batch_id = _batch_id(_pact_upload(client, document))
    assert _run(app) == "refused"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    cells = re.findall(
        r"<tr><td>\d+</td><td><code>[\w.]+</code></td><td( lang=\"en\")?>([^<]*)<", page
    )
    assert len(cells) == 3, page
    # Known messages: in the reader's language, not marked as English, naming what they name.
    assert [marked for marked, _ in cells] == ["", "", ""]
    texts = [html.unescape(text) for _, text in cells]
    assert "referencePeriodStart" in texts[0]
    assert "Missing: a PACT footprint" not in texts[0]
    assert "'barrel'" in texts[1]
    assert "61.2" in texts[2]


def test_the_registrys_own_refusal_at_issuance_names_the_pact_member(
    signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    """Mapped, but refused when issued: the file's footprints are per kilogram and the rule
    chosen is per litre. The refusal is the issuance's, named as the footprint's member."""
    app, client, _ = signed_in
    before = counts(app)
    batch_id = _batch_id(_pact_upload(client, [_footprint()], rule="CN-GD|PACT-L|1.0"))
    assert _run(app) == "refused"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert _problems(page) == [("1", "pcf.declaredUnitOfMeasurement")]
    assert counts(app).labels == before.labels


def test_the_boundary_comes_from_the_form_or_the_footprints_description(
    signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    app, client, _ = signed_in
    # The specification's example describes its processes without naming the boundary.
    batch_id = _batch_id(_pact_upload(client, [_footprint()], boundary=""))
    assert _run(app) == "refused"
    page = client.get(f"/portal/batches/{batch_id}").get_data(as_text=True)
    assert _problems(page) == [("1", "pcf.boundaryProcessesDescription")]
    described = _footprint(boundaryProcessesDescription="Cradle-to-grave, all life stages")
    assert _run_upload(app, client, [described], boundary="") == "done"


@pytest.mark.parametrize(
    ("document", "form", "words"),
    [
        (b'{"data": [], "data": [{}]}', {}, "appears twice"),
        (b"\xff\xfe[]", {}, "not UTF-8"),
        (b"id,pcf\n1,2\n", {}, "This is not a JSON file of PACT footprints"),
        ({"footprints": []}, {}, "The file holds no PACT footprints"),
        ([], {}, "The file holds no footprint."),
        ([{}] * (MAX_FOOTPRINTS + 1), {}, f"More than {MAX_FOOTPRINTS} footprints"),
        ([{}], {"rule": ""}, "Choose a rule."),
        ([{}], {"rule": "CN-GD|NOT-OFFERED|1.0"}, "Choose a rule."),
        ([{}], {"boundary": "cradle-to-moon"}, "Choose a system boundary."),
    ],
)
def test_a_file_that_is_not_footprints_is_refused_and_nothing_is_stored(
    signed_in: tuple[Flask, FlaskClient, Person],
    pact_rules: None,
    document: Any,
    form: dict[str, str],
    words: str,
) -> None:
    app, client, _ = signed_in
    before = counts(app).batches
    response = _pact_upload(client, document, **form)
    text = response.get_data(as_text=True)
    errors = re.findall(r'id="pact-file-error">([^<]*)<', text)
    assert response.status_code == 422, errors
    assert any(words in html.unescape(error) for error in errors), errors
    assert 'aria-describedby="pact-file-hint pact-file-error"' in text
    assert counts(app).batches == before


def test_a_pact_refusal_is_in_the_persons_language(
    signed_in: tuple[Flask, FlaskClient, Person], pact_rules: None
) -> None:
    _, client, _ = signed_in
    client.get("/lang/zh-Hans")
    response = _pact_upload(client, [])
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in text
    assert "The file holds no footprint." not in text
    assert re.search(r'id="pact-file-error">[^<]*\w', text)


def test_an_auditor_cannot_upload_footprints(batch_app: Setup, pact_rules: None) -> None:
    app = batch_app[0]
    client = _sign_in(app, _person(app, PersonRole.AUDITOR))
    before = counts(app).batches
    form = {
        "file": (io.BytesIO(json.dumps([_footprint()]).encode()), "f.json"),
        "rule": GHGP,
        "csrf_token": csrf_from(client.get("/portal/sign-in")),
    }
    refused = client.post(PACT_UPLOAD, data=form, content_type="multipart/form-data")
    assert refused.status_code == 403
    assert counts(app).batches == before

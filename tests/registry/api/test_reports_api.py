"""The regulators' side of suspect-label reports: who may list them and download photos."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, scoped_session

from registry.auth.models import Role
from registry.auth.services import create_token
from registry.db import transaction
from registry.reports.models import ReportCategory, SuspectReport
from registry.reports.services import PhotoUpload, ReportInput, create_report
from tests.registry.factories import LabelWorld, bearer
from tests.registry.labels.support import app, label_app, problem, world
from tests.registry.reports_support import issue_label, photo_bytes

__all__ = ["app", "label_app", "world"]  # the label registry fixtures, used by this module


def _report(label_id: str, photo: bytes | None = None, contact: str | None = None) -> SuspectReport:
    upload = None if photo is None else PhotoUpload(photo, "image/png")
    return create_report(
        label_id,
        ReportInput(
            category=ReportCategory.COPIED_OR_ALTERED,
            seen_at="Night market, Taipa",
            details="The QR sticker is glued over another one.",
            contact=contact,
        ),
        upload,
    )


def test_a_regulator_lists_the_reports_of_its_schemes_with_all_fields_but_the_photo(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    photo = photo_bytes("PNG")
    report = _report(label_id, photo, contact="reader@example.test")
    response = client.get("/api/v1/reports", headers=bearer(world.regulator))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_json()
    assert page["next"] is None
    assert page["reports"] == [
        {
            "id": report.id,
            "label": label_id,
            "scheme": "CN-GD",
            "category": "copied-or-altered",
            "details": "The QR sticker is glued over another one.",
            "seen_at": "Night market, Taipa",
            "contact": "reader@example.test",
            "status": "new",
            "created_at": report.created_at.isoformat(),
            "photo": {
                "media_type": "image/png",
                "size": len(photo),
                "sha256": hashlib.sha256(photo).hexdigest(),
                "href": f"/api/v1/reports/{report.id}/photo",
            },
        }
    ]


def test_only_the_schemes_regulators_and_the_operator_see_a_report(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    report = _report(label_id)
    _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    assert client.get("/api/v1/reports", headers=bearer(hong_kong)).get_json()["reports"] == []
    everything = client.get("/api/v1/reports", headers=bearer(world.operator)).get_json()
    assert [r["id"] for r in everything["reports"]] == [report.id]
    refused = client.get("/api/v1/reports", headers=bearer(world.certifier))
    assert refused.status_code == 403
    problem(refused, 403, "forbidden")
    assert client.get("/api/v1/reports").status_code == 401


def test_reports_come_a_page_at_a_time_and_filter_by_status_and_scheme(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    ids = [_report(label_id).id for _ in range(3)]
    first = client.get("/api/v1/reports?limit=2", headers=bearer(world.regulator)).get_json()
    assert [r["id"] for r in first["reports"]] == ids[:2]
    second = client.get(first["next"], headers=bearer(world.regulator)).get_json()
    assert [r["id"] for r in second["reports"]] == ids[2:]
    assert second["next"] is None
    seen = client.get("/api/v1/reports?status=seen", headers=bearer(world.regulator))
    assert seen.get_json()["reports"] == []
    other = client.get("/api/v1/reports?scheme=HK", headers=bearer(world.operator))
    assert other.get_json()["reports"] == []
    for query in ("limit=0", "limit=201", "after=-1", "status=closed", "limit=1e3"):
        bad = client.get(f"/api/v1/reports?{query}", headers=bearer(world.regulator))
        assert bad.status_code == 422, query


def test_the_schemes_regulator_downloads_the_photo_as_an_attachment(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    photo = photo_bytes("PNG")
    report = _report(label_id, photo)
    for secret in (world.regulator, world.operator):
        response = client.get(f"/api/v1/reports/{report.id}/photo", headers=bearer(secret))
        assert response.status_code == 200
        assert response.data == photo
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Cache-Control"] == "no-store"


def test_nobody_else_gets_the_photo(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    with_photo = _report(label_id, photo_bytes("PNG"))
    without = _report(label_id)
    _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    url = f"/api/v1/reports/{with_photo.id}/photo"
    assert client.get(url).status_code == 401
    problem(client.get(url, headers=bearer(world.certifier)), 403, "forbidden")
    # Another scheme's regulator cannot even learn that the report exists.
    problem(client.get(url, headers=bearer(hong_kong)), 404, "not-found")
    no_photo = client.get(f"/api/v1/reports/{without.id}/photo", headers=bearer(world.regulator))
    problem(no_photo, 404, "not-found")
    missing = client.get("/api/v1/reports/2147483647/photo", headers=bearer(world.operator))
    problem(missing, 404, "not-found")
    # The public pages never serve a photo: there is no public route to one.
    assert client.get(f"/l/{label_id}/report/photo").status_code == 404


def test_the_schemes_regulator_marks_a_report_seen(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    label_id = issue_label(client, world.certifier)
    with transaction():  # committed, so the refused requests' rollbacks keep it
        report = _report(label_id)
        _, hong_kong = create_token(role=Role.REGULATOR, name="hk", schemes=["HK"])
    url = f"/api/v1/reports/{report.id}/status"
    problem(client.post(url, json={"status": "seen"}, headers=bearer(hong_kong)), 404, "not-found")
    problem(
        client.post(url, json={"status": "seen"}, headers=bearer(world.certifier)), 403, "forbidden"
    )
    for bad in ({"status": "closed"}, {}, {"status": "seen", "id": 9}):
        problem(
            client.post(url, json=bad, headers=bearer(world.regulator)), 422, "validation-failed"
        )
    seen = client.post(url, json={"status": "seen"}, headers=bearer(world.regulator))
    assert seen.status_code == 200
    assert seen.get_json()["status"] == "seen"
    listed = client.get("/api/v1/reports?status=seen", headers=bearer(world.regulator))
    assert [r["id"] for r in listed.get_json()["reports"]] == [report.id]
    assert (
        client.get("/api/v1/reports?status=new", headers=bearer(world.regulator)).get_json()[
            "reports"
        ]
        == []
    )


def test_a_certifier_is_refused_before_its_request_is_read(
    client: FlaskClient, world: LabelWorld, db_session: scoped_session[Session]
) -> None:
    # A 422 would tell a caller who may never touch reports that its request was read.
    label_id = issue_label(client, world.certifier)
    with transaction():
        report = _report(label_id)
    for secret in (world.certifier, world.other_certifier):
        refused = client.post(
            f"/api/v1/reports/{report.id}/status", json={}, headers=bearer(secret)
        )
        problem(refused, 403, "forbidden")
        problem(
            client.get("/api/v1/reports?status=closed", headers=bearer(secret)), 403, "forbidden"
        )

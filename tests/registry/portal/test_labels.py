"""The portal's label pages on SQLite and PostgreSQL: listing filters and who sees what, the
confirmation step, CSRF refusal, roles, other bodies' labels answered as missing, the ledger
entry naming the person, and refusals in the reader's language."""

from __future__ import annotations

import re
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from registry.db import db
from registry.labels.models import Label, LabelStatus
from registry.portal.models import Person, PersonRole
from tests.registry.factories import LABEL_BODY, LabelWorld, label_request
from tests.registry.labels.support import (
    app,
    change_status,
    entries_since,
    issue,
    label_app,
    ledger_size,
)
from tests.registry.labels.support import world as label_world
from tests.registry.portal.support import csrf_from, make_person, post_form, sign_in_client

__all__ = ["app", "label_app", "label_world"]


@pytest.fixture
def world(label_world: LabelWorld) -> LabelWorld:
    # The portal's own `world` is the admin world; these pages need the label registry's.
    return label_world


def person(role: PersonRole, *, body: str | None = None, schemes: tuple[str, ...] = ()) -> Person:
    return make_person(f"{secrets.token_hex(4)}@portal.example", role, body=body, schemes=schemes)


def ids_on(page: str) -> list[str]:
    return re.findall(r'href="/portal/labels/([0-9A-Z]+)"', page)


def listing(client: FlaskClient, **args: str) -> tuple[int, str]:
    response = client.get("/portal/labels/", query_string=args)
    return response.status_code, response.get_data(as_text=True)


def status_of(label_id: str) -> LabelStatus:
    label = db.session.get(Label, label_id)
    assert label is not None
    db.session.refresh(label)
    return label.status


def test_the_list_filters_and_pages_the_bodys_labels_only(
    client: FlaskClient, world: LabelWorld
) -> None:
    a_grade = issue(client, world.certifier, label_request("40", name="Alpha pack"))
    b_grade = issue(client, world.certifier, label_request("61.2", name="Beta pack"))
    third = issue(client, world.certifier, label_request("100", name="Gamma cell"))
    theirs = issue(client, world.other_certifier, label_request("40", name="Alpha rival"))
    assert (a_grade["grade"], b_grade["grade"], third["grade"]) == ("A", "B", "D")
    change_status(client, world.certifier, third["id"], "suspend")
    ours = [a_grade["id"], b_grade["id"], third["id"]]

    sign_in_client(client, person(PersonRole.AUDITOR, body=LABEL_BODY))
    status, page = listing(client)
    assert status == 200
    shown = ids_on(page)
    assert set(ours) <= set(shown)
    assert theirs["id"] not in shown
    assert f'id="total" role="status">Labels that match: {len(shown)}<' in page
    assert ids_on(listing(client, product="alpha")[1]) == [a_grade["id"]]
    assert ids_on(listing(client, grade="B", product="pack")[1]) == [b_grade["id"]]
    assert ids_on(listing(client, status="suspended")[1]) == [third["id"]]
    assert ids_on(listing(client, rule="PCR-PV")[1]) == []
    assert set(ours) <= set(ids_on(listing(client, gtin="06901234567892", rule="PCR-LIB")[1]))
    today = third["valid_from"][:10]
    assert set(ours) <= set(ids_on(listing(client, issued_from=today, issued_until=today)[1]))
    assert ids_on(listing(client, issued_until="2001-01-01")[1]) == []
    # Paged: one a page, the next page follows the first.
    first = listing(client, product="pack", limit="1")[1]
    assert ids_on(first) == [a_grade["id"]]
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert ids_on(second) == [b_grade["id"]]

    # Bad filters: the API's messages, next to their fields; nothing listed.
    status, page = listing(client, grade="F", gtin="12ab")
    assert status == 422
    assert 'id="grade-error"' in page
    assert 'aria-describedby="grade-error"' in page
    assert 'id="gtin-error"' in page
    assert ids_on(page) == []
    status, page = listing(client, issued_from="2026-02-01", issued_until="2026-01-01")
    assert status == 422
    assert 'id="issued_until-error"' in page


def test_a_regulator_lists_its_schemes_labels_and_sees_the_bodies(
    client: FlaskClient, world: LabelWorld
) -> None:
    ours = issue(client, world.certifier)
    theirs = issue(client, world.other_certifier)
    sign_in_client(client, person(PersonRole.REGULATOR, schemes=("CN-GD",)))
    shown = ids_on(listing(client)[1])
    assert {ours["id"], theirs["id"]} <= set(shown)
    assert client.get(f"/portal/labels/{theirs['id']}").status_code == 200
    page = client.get("/portal/oversight/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "CNAS-LINGNAN-001" in text
    assert "CNAS-PEARL-001" in text

    hk = client.application.test_client()
    sign_in_client(hk, person(PersonRole.REGULATOR, schemes=("HK",)))
    assert ids_on(listing(hk)[1]) == []
    status, page = listing(hk, scheme="CN-GD")
    assert status == 422
    assert 'id="scheme-error"' in page
    assert hk.get(f"/portal/labels/{ours['id']}").status_code == 404
    assert "CNAS-LINGNAN-001" not in hk.get("/portal/oversight/").get_data(as_text=True)


def test_a_signatory_suspends_only_after_confirming_and_the_ledger_names_the_person(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    signatory = person(PersonRole.SIGNATORY, body=LABEL_BODY)
    sign_in_client(client, signatory)
    page = client.get(f"/portal/labels/{label['id']}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert f"/api/v1/labels/{label['id']}/qr.svg" in text
    assert f"/l/{label['id']}" in text
    assert 'id="action-suspend"' in text
    assert 'id="action-reinstate"' not in text
    form = f"/portal/labels/{label['id']}/suspend"
    assert client.get(form).status_code == 200

    start = ledger_size()
    reason = "Surveillance audit: data error in the bill of materials"
    review = post_form(client, form, {"reason": reason}, token_from=form)
    assert review.status_code == 200
    assert 'id="confirm-text"' in review.get_data(as_text=True)
    assert reason in review.get_data(as_text=True)
    # Without the confirmation, nothing changed.
    assert status_of(label["id"]) is LabelStatus.ACTIVE
    assert ledger_size() == start

    done = post_form(client, form, {"reason": reason, "confirm": "yes"}, token_from=form)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/portal/labels/{label['id']}?done=suspend")
    assert status_of(label["id"]) is LabelStatus.SUSPENDED
    [entry] = entries_since(start)
    assert entry["event"] == "label.suspended"
    assert entry["reason"] == reason
    assert entry["by"]["person"] == signatory.id
    assert entry["by"]["role"] == "certifier"
    after = client.get(f"/portal/labels/{label['id']}?done=suspend").get_data(as_text=True)
    assert 'id="done"' in after
    assert 'id="action-reinstate"' in after
    assert reason in after

    reinstate = f"/portal/labels/{label['id']}/reinstate"
    back = post_form(
        client, reinstate, {"reason": "Corrected", "confirm": "yes"}, token_from=reinstate
    )
    assert back.status_code == 303
    assert status_of(label["id"]) is LabelStatus.ACTIVE


def test_an_empty_reason_is_refused_next_to_its_field(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY, body=LABEL_BODY))
    form = f"/portal/labels/{label['id']}/revoke"
    start = ledger_size()
    refused = post_form(client, form, {"reason": "  ", "confirm": "yes"}, token_from=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="reason-error"' in text
    assert 'aria-describedby="reason-hint reason-error"' in text
    assert status_of(label["id"]) is LabelStatus.ACTIVE
    assert ledger_size() == start


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY, body=LABEL_BODY))
    start = ledger_size()
    refused = client.post(
        f"/portal/labels/{label['id']}/suspend", data={"reason": "x", "confirm": "yes"}
    )
    assert refused.status_code == 400
    forged = client.post(
        f"/portal/labels/{label['id']}/suspend",
        data={"reason": "x", "confirm": "yes", "csrf_token": "forged"},
    )
    assert forged.status_code == 400
    assert status_of(label["id"]) is LabelStatus.ACTIVE
    assert ledger_size() == start


def test_an_auditor_sees_no_buttons_and_is_refused(client: FlaskClient, world: LabelWorld) -> None:
    label = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.AUDITOR, body=LABEL_BODY))
    page = client.get(f"/portal/labels/{label['id']}").get_data(as_text=True)
    assert "action-suspend" not in page
    assert "action-revoke" not in page
    form = f"/portal/labels/{label['id']}/suspend"
    assert client.get(form).status_code == 403
    token = csrf_from(client.get("/portal/"))
    posted = client.post(form, data={"reason": "x", "confirm": "yes", "csrf_token": token})
    assert posted.status_code == 403
    assert status_of(label["id"]) is LabelStatus.ACTIVE
    assert client.get("/portal/oversight/").status_code == 403


def test_another_bodys_label_and_its_actions_are_missing(
    client: FlaskClient, world: LabelWorld
) -> None:
    theirs = issue(client, world.other_certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY, body=LABEL_BODY))
    base = f"/portal/labels/{theirs['id']}"
    assert client.get(base).status_code == 404
    for action in ("suspend", "reinstate", "revoke"):
        assert client.get(f"{base}/{action}").status_code == 404
        token = csrf_from(client.get("/portal/"))
        posted = client.post(
            f"{base}/{action}", data={"reason": "x", "confirm": "yes", "csrf_token": token}
        )
        assert posted.status_code == 404
    assert status_of(theirs["id"]) is LabelStatus.ACTIVE
    assert client.get("/portal/labels/ZZZZZZZZZZ").status_code == 404


def test_refusals_are_told_in_the_readers_language(
    app: Flask, client: FlaskClient, world: LabelWorld
) -> None:
    label = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY, body=LABEL_BODY))
    revoke = f"/portal/labels/{label['id']}/revoke"
    done = post_form(client, revoke, {"reason": "Fraud", "confirm": "yes"}, token_from=revoke)
    assert done.status_code == 303
    assert status_of(label["id"]) is LabelStatus.REVOKED
    # A second tab still holding the form: the registry refuses, the page says why.
    headers = {"Accept-Language": "zh-HK"}
    token = csrf_from(client.get("/portal/"))
    again = client.post(
        f"/portal/labels/{label['id']}/suspend",
        data={"reason": "x", "confirm": "yes", "csrf_token": token},
        headers=headers,
    )
    assert again.status_code == 409
    with app.test_request_context(), force_locale("zh_Hant"):
        expected = str(gettext("This label was revoked; revocation is final."))
    assert expected != "This label was revoked; revocation is final."
    assert expected in again.get_data(as_text=True)
    page = client.get(f"/portal/labels/{label['id']}").get_data(as_text=True)
    assert "action-" not in page


def test_the_api_listing_takes_the_grade_filter_too(client: FlaskClient, world: LabelWorld) -> None:
    a_grade = issue(client, world.certifier, label_request("40"))
    d_grade = issue(client, world.certifier, label_request("100"))
    headers = {"Authorization": f"Bearer {world.certifier}"}
    listed = client.get("/api/v1/labels?grade=D&limit=200", headers=headers)
    assert listed.status_code == 200
    assert listed.json is not None
    ids = [label["id"] for label in listed.json["labels"]]
    assert d_grade["id"] in ids
    assert a_grade["id"] not in ids
    assert {label["grade"] for label in listed.json["labels"]} == {"D"}
    assert listed.json["total"] == len(ids)
    assert client.get("/api/v1/labels?grade=F", headers=headers).status_code == 422
    exported = client.get("/api/v1/exports/labels.csv?grade=A", headers=headers)
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert a_grade["id"] in text
    assert d_grade["id"] not in text

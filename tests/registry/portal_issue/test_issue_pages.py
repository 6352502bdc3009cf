"""Issuing by form: what is offered, the preview, drafts, the two-person rule, refusals.

Every test runs on SQLite and PostgreSQL against the label registry (bodies with keys and
accreditations), through the real services: the preview's grade is the one issuance gives.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.bodies.models import CertificationBody
from registry.clock import FixedClock, utcnow
from registry.db import db
from registry.labels.models import Label, QrTarget
from registry.portal.issuing.models import DraftState, IssuanceSetting, LabelDraft
from registry.portal.issuing.views import offered_rules
from registry.portal.models import PersonRole
from registry.portal.policy import PortalPolicy
from tests.registry.factories import BASE_URL, LABEL_BODY, OTHER_BODY
from tests.registry.labels.support import ledger_size
from tests.registry.portal.support import csrf_from, make_person, post_form, sign_in_client

FORM = "/portal/issue/"


def form_data(**changes: str) -> dict[str, str]:
    data = {
        "product_name": "LFP battery module 51.2 V 100 Ah",
        "product_model": "PRE-LFP-5120",
        "gtin": "06901234567892",
        "manufacturer": "Pearl River Energy Storage Ltd. (fictitious)",
        "identifiers": "urn:epc:idpat:sgtin:6901234.056789.*",
        "rule": "CN-GD|PCR-LIB|1.0",
        "footprint": "61.2",
        "declared_unit_amount": "",
        "system_boundary": "cradle-to-gate",
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
        "assurance": "reasonable",
        "valid_until": "",
    }
    return {**data, **changes}


def signed_in(client: FlaskClient, email: str, role: PersonRole, body: str = LABEL_BODY) -> int:
    person = make_person(email, role, body=body)
    sign_in_client(client, person)
    return person.id


def label_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Label)) or 0


def draft_ids() -> list[int]:
    return list(db.session.scalars(select(LabelDraft.id).order_by(LabelDraft.id)))


def submit(client: FlaskClient, **changes: str) -> Any:
    return post_form(client, FORM, form_data(**changes), token_from=FORM)


def issue_draft(client: FlaskClient, draft_id: int) -> Any:
    return post_form(client, f"/portal/issue/drafts/{draft_id}/issue", token_from=FORM)


def body_id(code: str) -> int:
    found = db.session.scalar(select(CertificationBody.id).where(CertificationBody.code == code))
    assert found is not None
    return found


def test_only_accredited_schemes_and_rules_in_force_are_offered(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    page = client.get(FORM)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    offered = re.findall(r'<option value="([^"|]+\|[^"]+)"', page.get_data(as_text=True))
    # Battery only; not 0.9 (no longer in force), 2.0 (not yet), PCR-PV or the HK scheme.
    assert offered == ["CN-GD|PCR-LIB|1.0"]
    other = [o.value for o in offered_rules(body_id(OTHER_BODY), utcnow())]
    assert other == ["CN-GD|PCR-LIB|1.0", "CN-GD|PCR-PV|1.0"]


def test_preview_shows_the_issuance_grade_and_writes_no_label(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    labels, ledger = label_count(), ledger_size()
    page = submit(client)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    grade = re.search(r'id="preview-grade">([A-E])<', text)
    assert grade is not None
    # Nothing of the register is written: no label, no ledger entry; only the draft.
    assert (label_count(), ledger_size()) == (labels, ledger)
    [draft_id] = draft_ids()
    issued = issue_draft(client, draft_id)
    assert issued.status_code == 303
    label = db.session.get(Label, issued.headers["Location"].rsplit("/", 1)[1])
    assert label is not None
    assert label.grade == grade.group(1)
    assert label_count() == labels + 1
    assert ledger_size() > ledger


def test_a_draft_is_issued_once(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    submit(client)
    [draft_id] = draft_ids()
    first = issue_draft(client, draft_id)
    labels, ledger = label_count(), ledger_size()
    second = issue_draft(client, draft_id)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert (label_count(), ledger_size()) == (labels, ledger)
    draft = db.session.get(LabelDraft, draft_id)
    assert draft is not None
    assert draft.state is DraftState.ISSUED
    page = client.get(first.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for lang in ("en", "zh-Hans", "zh-Hant", "pt-MO"):
        assert f"label.svg?lang={lang}" in text, text
    assert "/qr.png" in text
    assert "/qr.svg" in text
    assert f'href="/l/{draft.label_id}"' in text


def test_auditor_prepares_and_a_signatory_issues(client: FlaskClient) -> None:
    signed_in(client, "aud@lingnan.example", PersonRole.AUDITOR)
    page = submit(client)
    assert page.status_code == 200
    assert 'action="/portal/issue/drafts/' not in page.get_data(as_text=True)
    [draft_id] = draft_ids()
    labels = label_count()
    refused = issue_draft(client, draft_id)
    assert refused.status_code == 403
    assert label_count() == labels
    draft = db.session.get(LabelDraft, draft_id)
    assert draft is not None
    assert draft.state is DraftState.OPEN
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    listing = client.get("/portal/issue/drafts").get_data(as_text=True)
    assert f"/portal/issue/drafts/{draft_id}/review" in listing
    review = post_form(client, f"/portal/issue/drafts/{draft_id}/review", token_from=FORM)
    assert review.status_code == 200
    assert f"/portal/issue/drafts/{draft_id}/issue" in review.get_data(as_text=True)
    assert issue_draft(client, draft_id).status_code == 303


def test_two_people_rule_keeps_the_author_from_issuing(app: Flask, client: FlaskClient) -> None:
    author = signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    said = app.test_cli_runner().invoke(
        args=["issuance", "two-people", "--body", LABEL_BODY, "--on"]
    )
    assert said.exit_code == 0, said.output
    setting = db.session.get(IssuanceSetting, body_id(LABEL_BODY))
    assert setting is not None
    assert setting.two_people
    submit(client)
    [draft_id] = draft_ids()
    labels = label_count()
    assert issue_draft(client, draft_id).status_code == 403
    assert label_count() == labels
    other = signed_in(client, "sig2@lingnan.example", PersonRole.SIGNATORY)
    assert other != author
    assert issue_draft(client, draft_id).status_code == 303
    assert label_count() == labels + 1


def test_without_the_rule_a_signatory_issues_their_own_draft(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    page = submit(client)
    [draft_id] = draft_ids()
    assert f"/portal/issue/drafts/{draft_id}/issue" in page.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    refused = client.post(FORM, data=form_data())
    assert refused.status_code == 400
    assert draft_ids() == []
    submit(client)
    [draft_id] = draft_ids()
    labels = label_count()
    bad = client.post(f"/portal/issue/drafts/{draft_id}/issue", data={"csrf_token": "x"})
    assert bad.status_code == 400
    assert label_count() == labels


def test_another_bodys_draft_and_label_are_not_found(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    submit(client)
    [draft_id] = draft_ids()
    location = issue_draft(client, draft_id).headers["Location"]
    submit(client)
    open_draft = draft_ids()[-1]
    signed_in(client, "sig@pearl.example", PersonRole.SIGNATORY, body=OTHER_BODY)
    token = csrf_from(client.get(FORM))
    for path in (
        f"/portal/issue/drafts/{open_draft}/review",
        f"/portal/issue/drafts/{open_draft}/issue",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert client.get(location).status_code == 404
    assert "/review" not in client.get("/portal/issue/drafts").get_data(as_text=True)
    draft = db.session.get(LabelDraft, open_draft)
    assert draft is not None
    assert draft.state is DraftState.OPEN


def test_a_bad_footprint_is_shown_next_to_its_field(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    page = submit(client, footprint="sixty")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert re.search(r'<p class="field-error" id="footprint-error">[^<]+</p>', text)
    assert re.search(r'id="footprint"[^>]*aria-describedby="[^"]*footprint-error"', text)
    assert 'value="sixty"' in text
    assert draft_ids() == []


def test_an_asserted_refusal_of_the_service_is_shown_in_the_form(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    # Valid for the schema, refused by the issuance: a rule version not in force now.
    page = submit(client, rule="CN-GD|PCR-LIB|2.0")
    assert page.status_code == 422
    assert "Rule version not in force" in page.get_data(as_text=True)
    assert draft_ids() == []


def test_an_unknown_body_cannot_be_set_to_two_people(app: Flask) -> None:
    said = app.test_cli_runner().invoke(args=["issuance", "two-people", "--body", "nobody"])
    assert said.exit_code == 1
    assert "Error:" in said.output


def test_the_apis_message_is_shown_in_the_readers_language(client: FlaskClient) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    headers = {"Accept-Language": "zh-HK"}
    token = csrf_from(client.get(FORM, headers=headers))
    page = client.post(
        FORM, data={**form_data(footprint="61,2"), "csrf_token": token}, headers=headers
    )
    assert page.status_code == 422
    found = re.search(r'id="footprint-error">([^<]+)<', page.get_data(as_text=True))
    assert found is not None
    assert found.group(1) == "請使用小數點作為小數分隔符：61.2，而不是 61,2。"


def test_a_digital_link_qr_is_chosen_on_the_form_and_kept_with_the_label(
    client: FlaskClient,
) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    form = client.get(FORM).get_data(as_text=True)
    assert re.search(r'<select id="qr" name="qr"[^>]*aria-describedby="qr-hint"', form)
    assert '<option value="label" selected>' in form
    page = submit(client, qr="digital-link")
    assert page.status_code == 200, page.get_data(as_text=True)
    found = re.search(r'id="summary-qr">([^<]+)<', page.get_data(as_text=True))
    assert found is not None
    assert "Digital Link" in found.group(1)
    [draft_id] = draft_ids()
    issued = issue_draft(client, draft_id)
    label = db.session.get(Label, issued.headers["Location"].rsplit("/", 1)[1])
    assert label is not None
    assert label.qr_target is QrTarget.DIGITAL_LINK
    shown = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert f"linking to {BASE_URL}/01/06901234567892" in shown
    # Its correction starts from the same choice.
    correction = client.get(f"{FORM}?supersedes={label.id}").get_data(as_text=True)
    assert '<option value="digital-link" selected>' in correction


def test_a_digital_link_qr_without_a_gtin_is_refused_next_to_its_field(
    client: FlaskClient,
) -> None:
    signed_in(client, "sig@lingnan.example", PersonRole.SIGNATORY)
    page = submit(client, gtin="", qr="digital-link")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    found = re.search(r'<p class="field-error" id="qr-error">([^<]+)</p>', text)
    assert found is not None
    assert "GTIN" in found.group(1)
    assert re.search(r'id="qr"[^>]*aria-describedby="qr-hint qr-error"', text)
    assert '<option value="digital-link" selected>' in text
    assert draft_ids() == []
    # In the reader's language, as the other refusals are.
    headers = {"Accept-Language": "zh-HK"}
    token = csrf_from(client.get(FORM, headers=headers))
    data = {**form_data(gtin="", qr="digital-link"), "csrf_token": token}
    page = client.post(FORM, data=data, headers=headers)
    found = re.search(r'id="qr-error">([^<]+)<', page.get_data(as_text=True))
    assert found is not None
    assert found.group(1) == "GS1 數碼連結需要產品的 GTIN：請輸入 GTIN，或選擇標籤的地址。"


def test_a_draft_older_than_its_lifetime_is_not_offered_nor_issued(
    client: FlaskClient, clock: FixedClock
) -> None:
    signed_in(client, "sig-old@lingnan.example", PersonRole.SIGNATORY)
    submit(client)
    [draft_id] = draft_ids()
    clock.advance(PortalPolicy().draft_ttl + timedelta(minutes=1))
    # The session idled out meanwhile: sign in again, as the person would.
    signed_in(client, "sig-later@lingnan.example", PersonRole.SIGNATORY)
    listing = client.get("/portal/issue/drafts").get_data(as_text=True)
    assert f"/portal/issue/drafts/{draft_id}/" not in listing
    labels, ledger = label_count(), ledger_size()
    for step in ("review", "issue"):
        refused = post_form(client, f"/portal/issue/drafts/{draft_id}/{step}", token_from=FORM)
        assert refused.status_code == 409
        assert "30 days" in refused.get_data(as_text=True)
    assert (label_count(), ledger_size()) == (labels, ledger)

"""Superseding a label with a corrected one from the portal, on SQLite and PostgreSQL.

The correction starts from the label's own page: the issuance form opens filled with what the
label states, a signatory changes what was wrong, previews and issues; the old label becomes
superseded and points to the new one, and both verdicts are the register's. The form is the
same form and the same draft path as any issuance, so the issuance service decides.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from registry.db import db
from registry.labels.models import Label, LabelStatus
from registry.portal.issuing.models import DraftState, LabelDraft
from registry.portal.models import Person, PersonRole
from tests.registry.factories import LABEL_BODY, OTHER_BODY, LabelWorld
from tests.registry.labels.support import (
    app,
    change_status,
    entries_since,
    issue,
    label_app,
    ledger_size,
)
from tests.registry.labels.support import world as label_world
from tests.registry.portal.support import make_person, post_form, sign_in_client

__all__ = ["app", "label_app", "label_world"]

FORM = "/portal/issue/"
_HIDDEN = re.compile(r'<input type="hidden" name="supersedes" value="([0-9A-Z]+)">')


@pytest.fixture
def world(label_world: LabelWorld) -> LabelWorld:
    return label_world


def person(role: PersonRole, body: str = LABEL_BODY) -> Person:
    return make_person(f"{secrets.token_hex(4)}@portal.example", role, body=body)


def field_value(page: str, name: str) -> str:
    found = re.search(rf'<input type="[a-z]+" id="{name}" name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no input {name}"
    return found.group(1)


def fresh(label_id: str) -> Label:
    label = db.session.get(Label, label_id)
    assert label is not None
    db.session.refresh(label)
    return label


def correction_of(client: FlaskClient, label_id: str, **changes: str) -> dict[str, str]:
    """The correction form of ``label_id`` as served, with ``changes`` made: what a browser
    would send back (every named input, textarea and selected option)."""
    page = client.get(FORM, query_string={"supersedes": label_id})
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    values = {
        name: value
        for name, value in re.findall(
            r'<input type="(?:text|date)" id="[^"]+" name="([^"]+)" '
            r'value="([^"]*)"',
            text,
        )
    }
    values |= dict(re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', text))
    for select_name, body in re.findall(
        r'<select id="[^"]+" name="([^"]+)".*?>(.*?)</select>', text, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        values[select_name] = chosen.group(1) if chosen else ""
    hidden = _HIDDEN.search(text)
    assert hidden is not None
    values["supersedes"] = hidden.group(1)
    return {**values, **changes}


def test_a_signatory_corrects_a_footprint_and_the_old_label_is_superseded(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY))
    page = client.get(f"/portal/labels/{old['id']}").get_data(as_text=True)
    link = re.search(r'id="action-supersede" href="([^"]+)"', page)
    assert link is not None
    assert link.group(1) == f"/portal/issue/?supersedes={old['id']}"

    data = correction_of(client, old["id"], footprint="48.7")
    # The form starts from what the label states.
    label = fresh(old["id"])
    assert data["product_name"] == label.product_name
    assert data["manufacturer"] == label.manufacturer
    assert data["period_start"] == label.period_start.isoformat()
    assert data["rule"] == "CN-GD|PCR-LIB|1.0"
    assert data["supersedes"] == old["id"]

    start = ledger_size()
    preview = post_form(client, FORM, data, token_from=FORM)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    text = preview.get_data(as_text=True)
    assert 'id="summary-supersedes"' in text
    assert old["id"] in text
    # The preview changed nothing: the old label is still active, nothing ledgered.
    assert fresh(old["id"]).status is LabelStatus.ACTIVE
    assert ledger_size() == start

    draft = db.session.query(LabelDraft).order_by(LabelDraft.id.desc()).first()
    assert draft is not None
    assert draft.request["supersedes"] == old["id"]
    issued = post_form(client, f"/portal/issue/drafts/{draft.id}/issue", token_from=FORM)
    assert issued.status_code == 303
    new_id = issued.headers["Location"].rsplit("/", 1)[1]
    new = fresh(new_id)
    assert new.supersedes_id == old["id"]
    assert new.footprint == Decimal("48.7")
    old_label = fresh(old["id"])
    assert old_label.status is LabelStatus.SUPERSEDED
    assert old_label.superseded_by_id == new_id
    [entry] = entries_since(start)
    assert entry["event"] == "label.issued"
    assert entry["label"] == new_id

    shown = client.get(issued.headers["Location"]).get_data(as_text=True)
    assert 'id="issued-supersedes"' in shown
    # The register's verdicts: the old credential is superseded, the new one genuine.
    verdict = client.post(
        "/credentials/verify", json={"verifiableCredential": old["credential"]}
    ).get_json()
    assert (verdict["verified"], verdict["verdict"]) == (False, "superseded")
    verdict = client.post(
        "/credentials/verify", json={"verifiableCredential": json.loads(new.credential)}
    ).get_json()
    assert verdict["verified"] is True
    # The old label's portal page names its successor and offers no second correction.
    after = client.get(f"/portal/labels/{old['id']}").get_data(as_text=True)
    assert 'id="superseded-by"' in after
    assert new_id in after
    assert 'id="action-supersede"' not in after


def test_an_auditor_prepares_the_correction_and_a_signatory_issues_it(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.AUDITOR))
    assert 'id="action-supersede"' in client.get(f"/portal/labels/{old['id']}").get_data(
        as_text=True
    )
    data = correction_of(client, old["id"], footprint="50.1")
    preview = post_form(client, FORM, data, token_from=FORM)
    assert preview.status_code == 200
    assert 'action="/portal/issue/drafts/' not in preview.get_data(as_text=True)
    draft = db.session.query(LabelDraft).order_by(LabelDraft.id.desc()).first()
    assert draft is not None
    refused = post_form(client, f"/portal/issue/drafts/{draft.id}/issue", token_from=FORM)
    assert refused.status_code == 403
    assert fresh(old["id"]).status is LabelStatus.ACTIVE

    sign_in_client(client, person(PersonRole.SIGNATORY))
    issued = post_form(client, f"/portal/issue/drafts/{draft.id}/issue", token_from=FORM)
    assert issued.status_code == 303
    assert fresh(old["id"]).status is LabelStatus.SUPERSEDED


def test_a_second_correction_of_the_same_label_is_refused_and_its_draft_stays_open(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY))
    drafts = []
    for footprint in ("47.0", "47.5"):
        data = correction_of(client, old["id"], footprint=footprint)
        assert post_form(client, FORM, data, token_from=FORM).status_code == 200
        latest = db.session.query(LabelDraft).order_by(LabelDraft.id.desc()).first()
        assert latest is not None
        drafts.append(latest.id)
    first = post_form(client, f"/portal/issue/drafts/{drafts[0]}/issue", token_from=FORM)
    assert first.status_code == 303
    start = ledger_size()
    second = post_form(client, f"/portal/issue/drafts/{drafts[1]}/issue", token_from=FORM)
    assert second.status_code == 409
    assert "superseded" in second.get_data(as_text=True)
    assert ledger_size() == start
    draft = db.session.get(LabelDraft, drafts[1])
    assert draft is not None
    db.session.refresh(draft)
    assert draft.state is DraftState.OPEN
    # Nor does the form open again for it.
    assert client.get(FORM, query_string={"supersedes": old["id"]}).status_code == 409


def test_another_bodys_label_cannot_be_corrected_by_url(
    client: FlaskClient, world: LabelWorld
) -> None:
    theirs = issue(client, world.other_certifier)
    sign_in_client(client, person(PersonRole.SIGNATORY))
    assert client.get(FORM, query_string={"supersedes": theirs["id"]}).status_code == 404
    assert client.get(FORM, query_string={"supersedes": "NOSUCHLBL"}).status_code == 404
    # Posting the id by hand: the issuance service refuses it, nothing is written.
    mine = issue(client, world.certifier)
    data = correction_of(client, mine["id"], supersedes=theirs["id"])
    start = ledger_size()
    refused = post_form(client, FORM, data, token_from=FORM)
    assert refused.status_code == 403
    assert ledger_size() == start
    assert fresh(theirs["id"]).status is LabelStatus.ACTIVE
    other = person(PersonRole.SIGNATORY, body=OTHER_BODY)
    sign_in_client(client, other)
    assert client.get(FORM, query_string={"supersedes": mine["id"]}).status_code == 404


def test_no_correction_is_offered_while_the_operator_suspension_holds(
    client: FlaskClient, world: LabelWorld
) -> None:
    old = issue(client, world.certifier)
    assert change_status(client, world.operator, old["id"], "suspend").status_code == 200
    sign_in_client(client, person(PersonRole.SIGNATORY))
    page = client.get(f"/portal/labels/{old['id']}").get_data(as_text=True)
    assert 'id="action-supersede"' not in page
    assert client.get(FORM, query_string={"supersedes": old["id"]}).status_code == 403

    # Its own body's suspension is no obstacle: the correction is the way out of it.
    mine = issue(client, world.certifier)
    assert change_status(client, world.certifier, mine["id"], "suspend").status_code == 200
    page = client.get(f"/portal/labels/{mine['id']}").get_data(as_text=True)
    assert 'id="action-supersede"' in page

"""API tokens from the portal work on the API; the access record and ``flask people``."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from credentials import ActorRole
from registry.db import db
from registry.portal.models import AccessEvent, AccessKind, Person, PersonRole
from registry.portal.services import principal_of
from tests.registry.factories import AdminWorld, bearer
from tests.registry.portal.support import PASSWORD, make_person, post_form, sign_in_client

pytestmark = pytest.mark.usefixtures("world")


def create(client: FlaskClient, **data: object) -> tuple[int, str | None]:
    response = post_form(client, "/portal/tokens", data, token_from="/portal/tokens")
    found = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    return response.status_code, None if found is None else found.group(1)


def test_a_signatory_makes_a_certifier_token_of_its_body_that_works_on_the_api(
    client: FlaskClient,
) -> None:
    signatory = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, signatory)
    status, secret = create(client, name="ERP connector", role="certifier")
    assert status == 201
    assert secret is not None
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json is not None
    assert (me.json["role"], me.json["body"], me.json["name"]) == (
        "certifier",
        "lingnan",
        "ERP connector",
    )
    # Shown once: the list names it by prefix only.
    listing = client.get("/portal/tokens").get_data(as_text=True)
    assert secret not in listing
    assert secret[:8] in listing
    token_id = me.json["id"]
    revoked = post_form(client, f"/portal/tokens/{token_id}/revoke", token_from="/portal/tokens")
    assert revoked.status_code == 303
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    record = db.session.execute(select(AccessEvent)).scalars().all()
    assert [e.detail.get("token") for e in record if e.kind is AccessKind.TOKEN_CREATED] == [
        token_id
    ]
    assert [e.detail.get("token") for e in record if e.kind is AccessKind.TOKEN_REVOKED] == [
        token_id
    ]


def test_a_signatory_cannot_make_other_roles_or_revoke_other_bodies_tokens(
    client: FlaskClient, world: AdminWorld
) -> None:
    from registry.auth.services import authenticate

    signatory = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    sign_in_client(client, signatory)
    assert create(client, name="x", role="operator")[0] == 403
    operator_token = authenticate(world.operator).token_id
    answer = post_form(
        client, f"/portal/tokens/{operator_token}/revoke", token_from="/portal/tokens"
    )
    assert answer.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(world.operator)).status_code == 200


def test_a_regulator_makes_tokens_for_its_own_schemes_only(client: FlaskClient) -> None:
    regulator = make_person("ho@gd.example", PersonRole.REGULATOR, schemes=("CN-GD",))
    sign_in_client(client, regulator)
    assert create(client, name="audit", role="regulator", schemes="HK")[0] == 403
    status, secret = create(client, name="audit", role="regulator", schemes="CN-GD")
    assert status == 201
    assert secret is not None
    me = client.get("/api/v1/me", headers=bearer(secret)).json
    assert me is not None
    assert me["schemes"] == ["CN-GD"]


def test_a_person_acts_as_a_principal_the_ledger_names_by_id(db_session: object) -> None:
    signatory = make_person("chan@lingnan.example", PersonRole.SIGNATORY, body="lingnan")
    actor = principal_of(signatory).actor
    assert actor.role is ActorRole.CERTIFIER
    assert actor.to_json() == {
        "role": "certifier",
        "token": None,
        "body": "lingnan",
        "schemes": [],
        "person": signatory.id,
    }


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def test_people_commands_invite_list_change_roles_and_show_the_record(
    app: Flask, client: FlaskClient
) -> None:
    invited = run(
        app,
        "people",
        "invite",
        "--email",
        "Lee@Lingnan.example",
        "--body",
        "lingnan",
        "--role",
        "auditor",
    )
    assert invited.exit_code == 0, invited.output
    link = invited.stdout.strip()
    assert re.fullmatch(r"https://registry\.example\.test/portal/invitation/[\w-]{43}", link)
    path = link.removeprefix("https://registry.example.test")
    assert (
        post_form(
            client, path, {"password": PASSWORD, "confirm": PASSWORD}, token_from=path
        ).status_code
        == 303
    )
    listed = run(app, "people", "list").stdout
    assert "lee@lingnan.example\tauditor\tlingnan\tactive" in listed
    changed = run(
        app,
        "people",
        "role",
        "--email",
        "lee@lingnan.example",
        "--body",
        "lingnan",
        "--role",
        "signatory",
    )
    assert changed.exit_code == 0, changed.output
    person = db.session.execute(select(Person)).scalar_one()
    assert person.role is PersonRole.SIGNATORY
    change = db.session.execute(
        select(AccessEvent).where(AccessEvent.kind == AccessKind.ROLE_CHANGED)
    ).scalar_one()
    assert change.detail["before"]["role"] == "auditor"
    assert change.detail["after"]["role"] == "signatory"
    refused = run(app, "people", "role", "--email", "lee@lingnan.example", "--regulator", "NOPE")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: ")
    assert run(app, "people", "disable", "--email", "lee@lingnan.example").exit_code == 0
    log = run(app, "people", "log").stdout
    for kind in ("invited", "password-set", "role-changed", "disabled"):
        assert f"\t{kind}\t" in log
    secret = path.rsplit("/", 1)[1]
    # No secret in the record: not the link, not the password, not a hash of either.
    assert secret not in log
    assert PASSWORD not in log
    twice = run(app, "people", "invite", "--email", "lee@lingnan.example", "--operator")
    assert twice.exit_code == 1


def test_the_operator_reads_the_access_record_page_and_it_holds_no_secret(
    client: FlaskClient,
) -> None:
    operator = make_person("op@registry.example", PersonRole.OPERATOR)
    post_form(
        client, "/portal/sign-in", {"email": "op@registry.example", "password": "a wrong one!"}
    )
    sign_in_client(client, operator)
    _, secret = create(client, name="ops", role="operator")
    page = client.get("/portal/access")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "sign-in-failed" in text
    assert "token-created" in text
    assert secret is not None
    assert secret not in text
    assert "a wrong one!" not in text
    every_detail = str([e.detail for e in db.session.execute(select(AccessEvent)).scalars()])
    assert "a wrong one!" not in every_detail
    assert PASSWORD not in every_detail


def test_a_change_made_by_a_person_is_ledgered_in_their_name_and_replays(
    db_session: object,
) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from registry.clock import utcnow
    from registry.db import read_snapshot, transaction
    from registry.ledger.verification import verify_ledger, verify_state
    from registry.schemes.services import publish_rule_version
    from tests.registry.factories import ledger_tail

    regulator = make_person("ho@gd.example", PersonRole.REGULATOR, schemes=("CN-GD",))
    from registry.ledger.services import tree_size

    start = tree_size()
    with transaction():
        publish_rule_version(
            actor=principal_of(regulator).actor,
            scheme_code="CN-GD",
            rule_code="PCR-LIB",
            version="9.0",
            declared_unit="kWh",
            standard="ISO 14067:2018",
            in_force_from=utcnow() + timedelta(days=1),
            in_force_until=None,
            thresholds=(Decimal(45), Decimal(65), Decimal(85), Decimal(105)),
        )
    (entry,) = ledger_tail(start)
    assert entry["by"] == {
        "role": "regulator",
        "token": None,
        "body": None,
        "schemes": ["CN-GD"],
        "person": regulator.id,
    }
    with read_snapshot():
        assert verify_ledger().ok
        assert verify_state().ok  # the kit's replay reads the person and allows the change

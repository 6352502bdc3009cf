"""Portal test helpers: make people, sign a test client in without the forms, post forms.

``sign_in_client`` starts a real session through the service the sign-in page uses and puts its
id in the client's cookie, as a browser would hold it; the request guard then treats the client
exactly as if it had typed the password (and the TOTP code: ``verified``).
"""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from registry.db import transaction
from registry.portal.guard import COOKIE
from registry.portal.models import Person, PersonRole
from registry.portal.services import _start_session, accept_invitation, invite_person

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_person(
    email: str,
    role: PersonRole,
    *,
    body: str | None = None,
    schemes: tuple[str, ...] = (),
    password: str = PASSWORD,
) -> Person:
    """An invited person who set ``password`` (committed, as the CLI and the form would)."""
    with transaction():
        _, link = invite_person(email=email, role=role, body_code=body, schemes=schemes)
        return accept_invitation(link, password)


def sign_in_client(client: FlaskClient, person: Person) -> str:
    """Sign ``client`` in as ``person`` (both factors done); returns the session's secret."""
    with transaction():
        started = _start_session(person, verified=True)
    client.set_cookie(COOKIE, started.secret, path="/portal")
    return started.secret


def csrf_from(response: TestResponse) -> str:
    found = _CSRF.search(response.get_data(as_text=True))
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, token_from: str = ""
) -> TestResponse:
    """POST ``data`` with the CSRF token of the page at ``token_from`` (default: sign-in)."""
    page = client.get(token_from or "/portal/sign-in")
    return client.post(path, data={**(data or {}), "csrf_token": csrf_from(page)})

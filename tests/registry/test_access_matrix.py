"""The access-control matrix: every route of the app × every kind of caller, on SQLite and
PostgreSQL, against one table (:mod:`tests.registry.access_table`).

One test per caller walks every (endpoint, method) of the URL map with the paths the table
gives (real objects of body A and scheme X) and collects every answer that is not the one its
rule expects, so a failure lists them all. Each request runs in a savepoint rolled back after
it, so a write that was allowed (a revoked token, a suspended label, a signed-out session)
changes nothing for the next one. Writes are sent an empty body, or a valid one where only the
object decides (:data:`BODIES`), and forms carry a valid CSRF token, so a refusal is access
control, never validation. Another test fails for a route the table lacks, or a line no route
has, and names them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, scoped_session
from werkzeug.test import TestResponse

from registry.clock import FixedClock
from registry.db import transaction
from registry.errors import PROBLEM_TYPES
from registry.pages.protection import form_limiter
from registry.portal.guard import COOKIE
from registry.portal.policy import current_policy
from registry.portal.services import _start_session
from tests.registry.access_table import BODIES, CALLERS, ROUTES, RULES, Expect
from tests.registry.access_world import AccessWorld, access_app
from tests.registry.factories import BASE_URL, PROBLEM_BASE, PerRequestClient, bearer
from tests.registry.portal.support import csrf_from, sign_in_client

__all__ = ["access_app"]  # the matrix's registry, one per backend

HOST = BASE_URL.split("://", 1)[1]
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Problem types that say "not you": an allowed caller never gets one.
ACCESS_PROBLEMS = {"unauthenticated", "forbidden"}
# Paths a client authenticates on with an API token: their refusals are problem details.
API_PATHS = ("/api/", "/credentials/")
FORM_PATHS = ("/portal/", "/verify", "/l/")
# Forms answered without their CSRF token: their answer costs an Argon2 hash (a tenth of a
# second or more), and without the token they answer 400 before it, after the guard has
# decided access (``person_required`` runs before the view's ``csrf.protect()``), which is
# all the matrix asks of them. Every other form carries a valid token.
NO_CSRF = {"portal.sign_in_submit", "portal.password_submit"}


@pytest.fixture(scope="module")
def app(access_app: tuple[Flask, AccessWorld]) -> Flask:
    """Overrides the registry ``app``: ``db_session`` and ``clock`` run on the matrix's."""
    return access_app[0]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    mimetype: str
    problem: str | None  # the problem type's slug, for problem+json
    problem_type: str | None  # the whole ``type`` URI
    code: str | None  # a PACT error ``code`` or an OAuth ``error``
    location: str
    clears_session: bool  # a Set-Cookie that empties the portal session cookie
    text: str

    @classmethod
    def of(cls, response: TestResponse) -> Answer:
        mimetype = response.mimetype or ""
        body: Any = None
        if mimetype in ("application/json", "application/problem+json"):
            body = response.get_json(silent=True)
        problem_type = None
        if response.mimetype == "application/problem+json" and isinstance(body, dict):
            problem_type = str(body.get("type", ""))
        code = None
        if isinstance(body, dict) and response.mimetype == "application/json":
            found = body.get("code", body.get("error"))
            code = None if found is None else str(found)
        return cls(
            status=response.status_code,
            mimetype=mimetype,
            problem=None if problem_type is None else problem_type.rsplit("/", 1)[-1],
            problem_type=problem_type,
            code=code,
            location=response.headers.get("Location", ""),
            clears_session=any(
                cookie.startswith(f"{COOKIE}=;")
                for cookie in response.headers.getlist("Set-Cookie")
            ),
            text=response.get_data(as_text=True)
            if mimetype.startswith(("application/json", "application/problem+json", "text/"))
            else "",
        )

    def brief(self) -> str:
        told = self.problem or self.code or self.location or self.mimetype
        return f"{self.status} {told}"


def _signs_in(answer: Answer) -> bool:
    return answer.status in (302, 303) and "/portal/sign-in" in answer.location


def _to_second_factor(answer: Answer) -> bool:
    return answer.status == 303 and "/portal/second-factor" in answer.location


def _refused(answer: Answer) -> bool:
    return (
        answer.status in (401, 403)
        or _signs_in(answer)
        or _to_second_factor(answer)
        or answer.problem in ACCESS_PROBLEMS
    )


def _names_a(answer: Answer, world: AccessWorld) -> bool:
    """Whether the answer names one of A's objects (a list another caller must not see): its
    label, the body itself (in JSON, or as a page shows its code), or a portal link to its
    batch, draft or token."""
    values = world.values
    marks = (
        values["label"],
        f'"{values["body"]}"',
        f"<code>{values['body']}</code>",
        f"/portal/batches/{values['batch']}",
        f"/portal/issue/drafts/{values['draft']}/",
        f"/portal/tokens/{values['token']}/",
    )
    return any(mark in answer.text for mark in marks)


def meets(expect: Expect, answer: Answer, *, method: str, world: AccessWorld) -> bool:
    """Whether ``answer`` is what ``expect`` says (a 5xx never is)."""
    if answer.status >= 500:
        return False
    match expect:
        case Expect.ALLOWED if method == "GET":
            return answer.status < 400 and not _signs_in(answer) and not _to_second_factor(answer)
        case Expect.ALLOWED | Expect.OPEN:
            return not _refused(answer) and answer.status != 404
        case Expect.DOOR:
            return answer.status not in (403, 404)
        case Expect.SIGNED_OUT:
            return _signs_in(answer) and answer.clears_session
        case Expect.MISSING:
            return answer.status == 404
        case Expect.SHOWN:
            return answer.status == 200 and _names_a(answer, world)
        case Expect.FILTERED:
            return answer.status == 200 and not _names_a(answer, world)
        case Expect.UNAUTHENTICATED:
            return answer.status == 401 and answer.problem == "unauthenticated"
        case Expect.FORBIDDEN:
            return answer.status == 403 and answer.problem in (None, "forbidden")
        case Expect.HIDDEN:
            return answer.status == 404 and answer.problem in (None, "not-found")
        case Expect.SIGN_IN:
            return _signs_in(answer)
        case Expect.SECOND_FACTOR:
            return _to_second_factor(answer)
        case Expect.PACT_REFUSED:
            return answer.status == 400 and answer.code == "BadRequest"
        case Expect.INVALID_CLIENT:
            return answer.status == 401 and answer.code == "invalid_client"


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


@dataclass
class Caller:
    """One caller's client: its token or portal session, and a CSRF token for forms."""

    client: FlaskClient
    headers: dict[str, str]
    csrf: str
    cookies: dict[tuple[str, str], str]  # (name, path) -> value, put back before each request

    def send(self, endpoint: str, method: str, path: str, body: Any) -> TestResponse:
        for (name, where), value in self.cookies.items():
            self.client.set_cookie(name, value, domain=HOST, path=where)
        kwargs: dict[str, Any] = {"headers": self.headers, "base_url": BASE_URL}
        if method == "GET":
            return self.client.get(path, **kwargs)
        if path.startswith("/3/"):
            kwargs["data"] = json.dumps(body or {})
            kwargs["content_type"] = "application/cloudevents+json; charset=UTF-8"
        elif path.startswith(API_PATHS):
            kwargs["json"] = body or {}
        elif path.startswith(FORM_PATHS) and endpoint not in NO_CSRF:
            # Over HTTPS, Flask-WTF also wants a same-origin Referer, as a browser sends.
            kwargs["data"] = {"csrf_token": self.csrf}
            kwargs["headers"] = self.headers | {"Referer": BASE_URL + path}
        else:
            kwargs["data"] = {}
        return self.client.open(path, method=method, **kwargs)


def _caller(app: Flask, world: AccessWorld, name: str, clock: FixedClock) -> Caller:
    client = PerRequestClient(app, app.response_class)
    secret = {
        "operator": world.tokens.operator,
        "certifier_a": world.tokens.certifier,
        "certifier_b": world.tokens.other_certifier,
        "regulator_x": world.tokens.regulator,
        "regulator_y": world.regulator_y,
        "revoked": world.revoked,
        "pact": world.pact,
    }.get(name)
    cookies: dict[tuple[str, str], str] = {}
    person = world.people.get("signatory_a" if name in ("expired", "password_only") else name)
    if person is not None and name == "password_only":
        with transaction():  # the password typed, the TOTP code not yet
            cookies[(COOKIE, "/portal")] = _start_session(person, verified=False).secret
    elif person is not None:
        cookies[(COOKIE, "/portal")] = sign_in_client(client, person)
    page = client.get("/portal/sign-in", base_url=BASE_URL)
    csrf = csrf_from(page)
    session_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain=HOST)
    assert session_cookie is not None
    cookies[(session_cookie.key, "/")] = session_cookie.value
    if name == "expired":
        clock.advance(current_policy().absolute_timeout + timedelta(minutes=1))
    return Caller(client, {} if secret is None else bearer(secret), csrf, cookies)


def _paths() -> Iterator[tuple[str, str, str, str, Any]]:
    """(endpoint, method, rule, path template, body template) of every request to make."""
    for (endpoint, method), (rule, paths) in ROUTES.items():
        body, empty_rule = BODIES.get((endpoint, method), (None, None))
        for path in paths:
            yield endpoint, method, rule, path, body
            if empty_rule is not None:
                yield endpoint, method, empty_rule, path, None


def test_every_route_has_a_line_and_every_line_a_route(
    access_app: tuple[Flask, AccessWorld],
) -> None:
    app, world = access_app
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in SKIPPED_METHODS
    }
    missing = sorted(routes - ROUTES.keys())
    stale = sorted(ROUTES.keys() - routes)
    assert not missing, f"routes without a line in access_table.ROUTES: {missing}"
    assert not stale, f"lines of access_table.ROUTES no route has: {stale}"
    assert not {rule for _, _, rule, _, _ in _paths()} - RULES.keys()
    for name, rule in RULES.items():
        assert set(rule) == set(CALLERS), f"rule {name} does not say what every caller gets"
    # Each path reaches the route of its line, and together they reach every URL rule (an
    # endpoint served at two paths, /l/ and /L/, is tried at both).
    adapter = app.url_map.bind(HOST, url_scheme="https")
    reached = set()
    for endpoint, method, _, template, _ in _paths():
        path = template.format(**world.values).split("?", 1)[0]
        url_rule, _ = adapter.match(path, method, return_rule=True)
        assert url_rule.endpoint == endpoint, (template, url_rule.endpoint)
        reached.add(url_rule.rule)
    unreached = {rule.rule for rule in app.url_map.iter_rules()} - reached
    assert not unreached, f"URL rules no path of the table tries: {sorted(unreached)}"


@pytest.mark.parametrize("caller", CALLERS)
def test_each_route_answers_the_caller_as_its_rule_says(
    access_app: tuple[Flask, AccessWorld],
    db_session: scoped_session[Session],
    clock: FixedClock,
    caller: str,
) -> None:
    app, world = access_app
    form_limiter().reset()  # every caller posts the public forms once
    who = _caller(app, world, caller, clock)
    db_session.remove()  # each request's savepoint must be the outermost one it can undo
    connection = db_session.session_factory.kw["bind"]
    wrong: list[str] = []
    undocumented: list[str] = []
    for endpoint, method, rule, template, body_template in _paths():
        path = template.format(**world.values)
        body = _fill(body_template, world.values)
        # Each answer is the route's access control alone, not the limit a revoked token's
        # earlier failures reach (tests/registry/auth/test_attempts.py tests that).
        form_limiter().reset()
        savepoint = connection.begin_nested()
        try:
            response = who.send(endpoint, method, path, body)
            answer = Answer.of(response)
            response.close()
        finally:
            db_session.remove()
            savepoint.rollback()
        expect = RULES[rule][caller]
        if not meets(expect, answer, method=method, world=world):
            told = "" if body is not None or method == "GET" else " (empty body)"
            wrong.append(
                f"{method} {path}{told} [{endpoint}, {rule}]: got {answer.brief()}, "
                f"expected {expect}"
            )
        if answer.problem_type is not None and (
            answer.problem not in PROBLEM_TYPES
            or answer.problem_type != PROBLEM_BASE + answer.problem
        ):
            undocumented.append(f"{method} {path}: {answer.problem_type}")
        refused_by_api = path.startswith(API_PATHS) and answer.status in (401, 403)
        if refused_by_api and answer.mimetype != "application/problem+json":
            undocumented.append(f"{method} {path}: a {answer.status} as {answer.mimetype}")
    assert not wrong, f"{caller}: {len(wrong)} answers not as the table says:\n" + "\n".join(wrong)
    assert not undocumented, "\n".join(undocumented)

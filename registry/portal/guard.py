"""Who is signed in to the portal: the session cookie, and the decorator views require it with.

The cookie holds only the session's random id. Each portal request looks it up before its
view runs (idle and absolute expiry decided there, by the app's clock) and notes the activity
in a short transaction of its own, so the view's read-only boundary stays read-only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

from registry.auth.services import Principal
from registry.db import db, read_only, transaction
from registry.errors import ForbiddenError
from registry.portal.models import Person, PersonRole, PortalSession
from registry.portal.services import load_session, principal_of, touch_due, touch_session

__all__ = [
    "COOKIE",
    "current_person",
    "current_portal_session",
    "current_principal",
    "load_signed_in",
    "person_required",
]

COOKIE = "portal_session"
P = ParamSpec("P")
R = TypeVar("R")


def load_signed_in() -> None:
    """``before_request`` of the portal: remember which session (and person) this request is."""
    g.portal_session_id = None
    g.portal_person_id = None
    g.portal_verified = False
    if request.endpoint == "portal.static":
        return
    with read_only():
        session = load_session(request.cookies.get(COOKIE))
        if session is None:
            return
        found = (session.id, session.person_id, session.verified)
        due = touch_due(session)
    g.portal_session_id, g.portal_person_id, g.portal_verified = found
    if due:
        # Its own short write, so the view's boundary stays read-only for a GET.
        with transaction():
            touch_session(found[0])


def current_portal_session() -> PortalSession | None:
    session_id = g.get("portal_session_id")
    return None if session_id is None else db.session.get(PortalSession, session_id)


def current_person() -> Person:
    """The signed-in person (inside a view guarded by :func:`person_required`)."""
    person = db.session.get(Person, g.get("portal_person_id"))
    if person is None or not g.get("portal_verified"):
        raise ForbiddenError("Sign in to the portal first.")
    return person


def current_principal() -> Principal:
    """The signed-in person as the services' principal (what a token would be for the API)."""
    return principal_of(current_person())


def person_required(
    *roles: PersonRole | str,
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Require a signed-in person (with both factors) holding one of ``roles`` (any if none).

    Not signed in, or the session expired: a redirect to the sign-in page, which comes back
    here. Signed in with another role: 403, as a page in the reader's language.
    """
    wanted = frozenset(PersonRole(role) for role in roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if g.get("portal_person_id") is None:
                return _to_sign_in()
            if not g.get("portal_verified"):
                return redirect(url_for("portal.second_factor"), code=303)
            person = current_person()
            if wanted and person.role not in wanted:
                raise ForbiddenError(
                    f"This page is for the roles {', '.join(sorted(wanted))}; "
                    f"yours is {person.role.value}."
                )
            return view(*args, **kwargs)

        return guarded

    return decorate


def _to_sign_in() -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("portal.sign_in", next=target), code=303)

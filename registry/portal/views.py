"""The portal's pages: sign-in, invitations, the second factor, home, tokens, access record.

Handlers stay thin: read the form, check its CSRF token, call one service, render. Every form
posts back to its own page; a refusal re-renders the page with the reason next to the form.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as babel_gettext
from flask_wtf.csrf import CSRFError
from qrcode.image.pure import PyPNGImage
from werkzeug.wrappers import Response

from registry.auth.models import Role
from registry.errors import ValidationFailedError
from registry.pages import safe_next
from registry.pages.protection import client_address, csrf, over_https
from registry.portal.guard import (
    COOKIE,
    current_person,
    current_portal_session,
    load_signed_in,
    person_required,
)
from registry.portal.models import AccessKind, PersonRole
from registry.portal.passwords import change_password
from registry.portal.secrets import MIN_PASSWORD_LENGTH, totp_text, totp_uri
from registry.portal.services import (
    PortalError,
    accept_invitation,
    confirm_second_factor,
    confirm_totp_enrolment,
    create_portal_token,
    end_all_sessions,
    end_session,
    invitation_for,
    list_access,
    pending_totp_secret,
    portal_tokens,
    revoke_portal_token,
    sign_in,
    start_totp_enrolment,
)

__all__ = ["bp"]

bp = Blueprint(
    "portal", __name__, url_prefix="/portal", static_folder="static", static_url_path="/static"
)
bp.before_request(load_signed_in)
_ISSUER = "Carbon-label registry"


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, typed (pybabel extracts calls by this name)."""
    return str(babel_gettext(message, **variables))


def _reason(code: str) -> str:
    match code:
        case "invalid-credentials":
            return gettext("The e-mail address or the password is not right.")
        case "locked":
            return gettext(
                "Too many wrong attempts: this account is locked for a while. Try again later."
            )
        case "limited":
            return gettext("Too many attempts. Wait a few minutes before trying again.")
        case "invalid-code":
            return gettext("The code is not right, or it was already used.")
        case "password-too-short":
            return gettext(
                "Choose a password of at least %(length)d characters.", length=MIN_PASSWORD_LENGTH
            )
        case "password-too-long":
            return gettext("Choose a password of at most 256 characters.")
        case "password-too-weak":
            return gettext(
                "This password is too easy to guess. Avoid your address and common words."
            )
        case "password-mismatch":
            return gettext("The two passwords differ.")
        case "wrong-password":
            return gettext("The current password is not right.")
        case "invitation-used":
            return gettext("This invitation link was already used. Sign in instead.")
        case "invitation-expired":
            return gettext("This invitation link has expired. Ask the operator for a new one.")
        case "expired":
            return gettext("This form has expired. Please send it again.")
        case _:
            return gettext("This invitation link is not valid.")


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    # Every portal page is about one person and carries their CSRF token: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_cookie(response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="Lax",
        secure=over_https(),
        path="/portal",
        # No max_age: a browser session cookie; the server decides when the session ends.
    )


@bp.errorhandler(CSRFError)
def _csrf_refused(_: CSRFError) -> Response:
    return _page("portal/message.html", status=400, message=_reason("expired"))


def _form(name: str) -> str:
    return request.form.get(name, "")


# --- sign-in ---------------------------------------------------------------------------------


@bp.get("/sign-in", endpoint="sign_in")
def sign_in_form() -> Response:
    return _page("portal/sign_in.html", error=None, email="", next=request.args.get("next"))


@bp.post("/sign-in")
def sign_in_submit() -> Response:
    csrf.protect()
    email, target = _form("email"), request.form.get("next")
    try:
        started = sign_in(email, _form("password"), address=client_address())
    except PortalError as exc:
        status = 429 if exc.reason == "limited" else 401
        return _page(
            "portal/sign_in.html",
            status=status,
            error=_reason(exc.reason),
            email=email,
            next=target,
        )
    # A new CSRF secret with the new session: one planted before sign-in is worth nothing.
    flask_session.pop("csrf_token", None)
    if started.needs_second_factor:
        response = redirect(url_for("portal.second_factor", next=target), code=303)
    else:
        response = redirect(safe_next(target or url_for("portal.home")), code=303)
    _set_cookie(response, started.secret)
    return response


@bp.get("/second-factor")
def second_factor() -> Response:
    if g.get("portal_session_id") is None:
        return redirect(url_for("portal.sign_in"), code=303)
    return _page("portal/second_factor.html", error=None, next=request.args.get("next"))


@bp.post("/second-factor")
def second_factor_submit() -> Response:
    csrf.protect()
    session = current_portal_session()
    target = request.form.get("next")
    if session is None:
        return redirect(url_for("portal.sign_in"), code=303)
    try:
        confirm_second_factor(session, _form("code"), address=client_address())
    except PortalError as exc:
        status = 429 if exc.reason == "limited" else 401
        return _page(
            "portal/second_factor.html", status=status, error=_reason(exc.reason), next=target
        )
    return redirect(safe_next(target or url_for("portal.home")), code=303)


# --- invitations -----------------------------------------------------------------------------


@bp.get("/invitation/<secret>")
def invitation(secret: str) -> Response:
    try:
        found = invitation_for(secret)
    except PortalError as exc:
        return _page("portal/message.html", status=410, message=_reason(exc.reason))
    return _page("portal/invitation.html", email=found.person.email, error=None, secret=secret)


@bp.post("/invitation/<secret>")
def invitation_submit(secret: str) -> Response:
    csrf.protect()
    try:
        found = invitation_for(secret)
    except PortalError as exc:
        return _page("portal/message.html", status=410, message=_reason(exc.reason))
    email = found.person.email
    if _form("password") != _form("confirm"):
        return _page(
            "portal/invitation.html",
            status=422,
            email=email,
            secret=secret,
            error=_reason("password-mismatch"),
        )
    try:
        accept_invitation(secret, _form("password"), address=client_address())
    except PortalError as exc:
        return _page(
            "portal/invitation.html",
            status=422,
            email=email,
            secret=secret,
            error=_reason(exc.reason),
        )
    return redirect(url_for("portal.sign_in", done="password"), code=303)


# --- home and signing out --------------------------------------------------------------------


@bp.get("/")
@person_required()
def home() -> Response:
    person = current_person()
    return _page("portal/home.html", person=person, PersonRole=PersonRole)


@bp.post("/sign-out")
def sign_out() -> Response:
    csrf.protect()
    session = current_portal_session()
    if session is not None:
        end_session(session, address=client_address())
    response = redirect(url_for("portal.sign_in"), code=303)
    response.delete_cookie(COOKIE, path="/portal")
    return response


@bp.post("/sign-out-everywhere")
@person_required()
def sign_out_everywhere() -> Response:
    csrf.protect()
    end_all_sessions(current_person(), address=client_address())
    response = redirect(url_for("portal.sign_in"), code=303)
    response.delete_cookie(COOKIE, path="/portal")
    return response


# --- changing the password --------------------------------------------------------------------


def _password_page(
    *, status: int = 200, error: str | None = None, changed: bool = False
) -> Response:
    return _page(
        "portal/password.html",
        status=status,
        email=current_person().email,
        error=error,
        changed=changed,
    )


@bp.get("/password")
@person_required()
def password() -> Response:
    return _password_page()


@bp.post("/password")
@person_required()
def password_submit() -> Response:
    csrf.protect()
    session = current_portal_session()
    if session is None:  # person_required has found it: only a race with sign-out ends here
        return redirect(url_for("portal.sign_in"), code=303)
    if _form("password") != _form("confirm"):
        return _password_page(status=422, error=_reason("password-mismatch"))
    try:
        change_password(
            session, current=_form("current"), new=_form("password"), address=client_address()
        )
    except PortalError as exc:
        return _password_page(status=422, error=_reason(exc.reason))
    return _password_page(changed=True)


# --- second factor enrolment -----------------------------------------------------------------


def _qr_data_uri(text: str) -> str:
    qr = qrcode.QRCode(box_size=6, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(image_factory=PyPNGImage).save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _totp_page(
    *, status: int = 200, error: str | None = None, codes: list[str] | None = None
) -> Response:
    person = current_person()
    pending = pending_totp_secret(person)
    enrolment = None
    if pending is not None and codes is None:
        uri = totp_uri(pending, account=person.email, issuer=_ISSUER)
        enrolment = {"qr": _qr_data_uri(uri), "secret": totp_text(pending)}
    return _page(
        "portal/totp.html",
        status=status,
        enrolled=person.totp_secret is not None,
        enrolment=enrolment,
        error=error,
        codes=codes,
    )


@bp.get("/totp")
@person_required()
def totp() -> Response:
    return _totp_page()


@bp.post("/totp/start")
@person_required()
def totp_start() -> Response:
    csrf.protect()
    start_totp_enrolment(current_person())
    return redirect(url_for("portal.totp"), code=303)


@bp.post("/totp/confirm")
@person_required()
def totp_confirm() -> Response:
    csrf.protect()
    try:
        codes = confirm_totp_enrolment(current_person(), _form("code"), address=client_address())
    except PortalError as exc:
        return _totp_page(status=422, error=_reason(exc.reason))
    return _totp_page(codes=codes)


# --- API tokens ------------------------------------------------------------------------------

_TOKEN_ROLES = {
    PersonRole.OPERATOR: (Role.OPERATOR, Role.CERTIFIER, Role.REGULATOR),
    PersonRole.SIGNATORY: (Role.CERTIFIER,),
    PersonRole.REGULATOR: (Role.REGULATOR,),
}


def _tokens_page(
    *, status: int = 200, created: str | None = None, errors: list[str] | None = None
) -> Response:
    person = current_person()
    return _page(
        "portal/tokens.html",
        status=status,
        person=person,
        tokens=portal_tokens(person),
        roles=_TOKEN_ROLES[person.role],
        created=created,
        errors=errors or [],
    )


@bp.get("/tokens")
@person_required("signatory", "regulator", "operator")
def tokens() -> Response:
    return _tokens_page()


def _validation_lines(exc: ValidationFailedError) -> list[str]:
    return [gettext("The token cannot be made with these choices: %(why)s", why=str(exc))]


@bp.post("/tokens")
@person_required("signatory", "regulator", "operator")
def tokens_create() -> Response:
    csrf.protect()
    person = current_person()
    name = " ".join(_form("name").split())[:120]
    if not name:
        return _tokens_page(status=422, errors=[gettext("Give the token a name.")])
    try:
        role = Role(_form("role"))
    except ValueError:
        return _tokens_page(status=422, errors=[gettext("Choose a role.")])
    # Checkboxes (a regulator) or one text field (the operator), left empty for most tokens.
    schemes = [
        code.strip() for value in request.form.getlist("schemes") for code in value.split(",")
    ]
    schemes = [code for code in schemes if code]
    body = _form("body").strip() or None
    try:
        _, secret = create_portal_token(
            person,
            name=name,
            role=role,
            schemes=schemes,
            body_code=body,
            address=client_address(),
        )
    except ValidationFailedError as exc:
        return _tokens_page(status=422, errors=_validation_lines(exc))
    return _tokens_page(status=201, created=secret)


@bp.post("/tokens/<int:token_id>/revoke")
@person_required("signatory", "regulator", "operator")
def tokens_revoke(token_id: int) -> Response:
    csrf.protect()
    revoke_portal_token(current_person(), token_id, address=client_address())
    return redirect(url_for("portal.tokens"), code=303)


# --- the access record -----------------------------------------------------------------------


@bp.get("/access")
@person_required("operator")
def access() -> Response:
    before = request.args.get("before", type=int)
    return _page("portal/access.html", events=list_access(before=before), AccessKind=AccessKind)

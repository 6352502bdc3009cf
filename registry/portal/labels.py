"""The portal's label pages: list and search, one label with its ledger history, suspend,
reinstate and revoke (reason, then a confirmation step), and the regulators' oversight page.

Everything goes through the services the API uses: ``list_labels``/``count_labels`` read what
the person's principal may list, ``change_label_status`` decides and ledgers the change.
A label the person may not reach is answered as missing (404), never as forbidden: a body's
people must not learn which ids another body holds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_babel import gettext as babel_gettext
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from credentials import GRADES, label_url
from registry.audit.services import label_entries
from registry.auth.models import Role
from registry.auth.services import Principal
from registry.bodies.models import Accreditation, CertificationBody
from registry.config import current_settings
from registry.db import db
from registry.errors import ForbiddenError, InvalidTransitionError, NotFoundError
from registry.labels.issuance import supersede_refusal
from registry.labels.models import Label, LabelStatus
from registry.labels.schemas import label_query_schema, status_change_schema
from registry.labels.services import (
    StatusAction,
    available_actions,
    change_label_status,
    count_labels,
    get_label,
    list_labels,
)
from registry.pages.protection import csrf
from registry.portal.guard import current_person, current_principal, load_signed_in, person_required
from registry.portal.models import PersonRole
from registry.schemes.models import Scheme

__all__ = ["init_label_pages", "labels_bp", "oversight_bp"]

labels_bp = Blueprint("portal_labels", __name__, url_prefix="/portal/labels")
oversight_bp = Blueprint("portal_oversight", __name__, url_prefix="/portal/oversight")
for _bp in (labels_bp, oversight_bp):
    _bp.before_request(load_signed_in)

# Who may change a label's status from the portal: an auditor prepares, never decides.
_DECIDERS = ("signatory", "regulator", "operator")
_FILTERS = ("product", "gtin", "grade", "status", "rule", "scheme", "issued_from", "issued_until")
_ACTIONS = {
    action.value: action
    for action in (StatusAction.SUSPEND, StatusAction.REINSTATE, StatusAction.REVOKE)
}

STATUS_NAMES = {
    LabelStatus.ACTIVE: lazy_gettext("Active"),
    LabelStatus.SUSPENDED: lazy_gettext("Suspended"),
    LabelStatus.REVOKED: lazy_gettext("Revoked"),
    LabelStatus.SUPERSEDED: lazy_gettext("Superseded"),
}
EVENT_NAMES = {
    "label.issued": lazy_gettext("Issued"),
    "label.suspended": lazy_gettext("Suspended"),
    "label.reinstated": lazy_gettext("Reinstated"),
    "label.revoked": lazy_gettext("Revoked"),
}
# Of a body or an accreditation.
STANDING_NAMES = {
    "active": lazy_gettext("Active"),
    "suspended": lazy_gettext("Suspended"),
    "withdrawn": lazy_gettext("Withdrawn"),
}
ROLE_NAMES = {
    "certifier": lazy_gettext("Certification body"),
    "regulator": lazy_gettext("Regulator"),
    "operator": lazy_gettext("Operator"),
}


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, typed (pybabel extracts calls by this name)."""
    return str(babel_gettext(message, **variables))


def init_label_pages(app: Flask) -> None:
    app.register_blueprint(labels_bp)
    app.register_blueprint(oversight_bp)


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    # About one person's view of the register, with their CSRF token: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


@labels_bp.errorhandler(CSRFError)
@oversight_bp.errorhandler(CSRFError)
def _csrf_refused(_: CSRFError) -> Response:
    return _page(
        "portal/message.html",
        status=400,
        message=gettext("This form has expired. Please send it again."),
    )


def _reachable_label(principal: Principal, code: str) -> Label:
    """The label, if the person's principal may see it; otherwise as if it did not exist."""
    label = get_label(code)
    match principal.role:
        case Role.CERTIFIER:
            reachable = label.body_id == principal.body_id
        case Role.REGULATOR:
            reachable = label.rule_version.rule.scheme.code in principal.schemes
        case _:
            reachable = True
    if not reachable:
        raise NotFoundError(f"There is no label {label.id}.")
    return label


def _action_of(name: str) -> StatusAction:
    action = _ACTIONS.get(name)
    if action is None:
        raise NotFoundError(f"There is no action {name!r}.")
    return action


# --- the list --------------------------------------------------------------------------------


@labels_bp.get("/")
@person_required()
def index() -> Response:
    principal = current_principal()
    # An empty field of the search form is no filter.
    args = {name: value.strip() for name, value in request.args.items() if value.strip()}
    shown = {name: args.get(name, "") for name in _FILTERS}
    try:
        query = label_query_schema.load(args)
    except ValidationError as exc:
        errors = _field_messages(exc)
        return _list_page(status=422, shown=shown, errors=errors, labels=[], total=None)
    try:
        labels = list_labels(principal, query)
        total = count_labels(principal, query)
    except ForbiddenError:
        # A regulator naming a scheme it does not oversee: refused, not answered as "none".
        errors = {
            "scheme": gettext("You do not oversee the scheme %(scheme)s.", scheme=query.scheme)
        }
        return _list_page(status=422, shown=shown, errors=errors, labels=[], total=None)
    following = None
    if len(labels) == query.limit:
        following = _list_url({**args, "after": str(labels[-1].ledger_seq)})
    first = _list_url({k: v for k, v in args.items() if k != "after"})
    return _list_page(
        shown=shown,
        errors={},
        labels=labels,
        total=total,
        following=following,
        first=first if query.after >= 0 else None,
    )


def _field_messages(exc: ValidationError) -> dict[str, str]:
    """The schema's messages, one line per field (the API's words, shown next to the field)."""
    found = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return {
        str(field): " ".join(str(m) for m in messages)
        if isinstance(messages, list)
        else str(messages)
        for field, messages in found.items()
    }


def _list_url(args: dict[str, str]) -> str:
    base = url_for("portal_labels.index")
    return f"{base}?{urlencode(args)}" if args else base


def _list_page(*, status: int = 200, **context: Any) -> Response:
    person = current_person()
    return _page(
        "portal/labels/list.html",
        status=status,
        person=person,
        grades=GRADES,
        statuses=STATUS_NAMES,
        PersonRole=PersonRole,
        **{"following": None, "first": None, **context},
    )


# --- one label -------------------------------------------------------------------------------


@labels_bp.get("/<code>")
@person_required()
def label(code: str) -> Response:
    principal = current_principal()
    found = _reachable_label(principal, code)
    done = _ACTIONS.get(request.args.get("done", ""))
    return _label_page(found, principal, done=done)


def _label_page(
    found: Label, principal: Principal, *, done: StatusAction | None = None
) -> Response:
    person = current_person()
    deciding = person.role.value in _DECIDERS
    actions = available_actions(principal, found) if deciding else []
    return _page(
        "portal/labels/label.html",
        label=found,
        scheme=found.rule_version.rule.scheme.code,
        rule=found.rule_version.rule.code,
        version=found.rule_version.version,
        public_url=label_url(current_settings().public_base_url, found.id),
        history=label_entries(found),
        actions=actions,
        # Auditors prepare a correction too; a signatory issues it (the form says which).
        may_correct=person.body_id is not None and supersede_refusal(person.body_id, found) is None,
        done=done,
        statuses=STATUS_NAMES,
        events=EVENT_NAMES,
        roles=ROLE_NAMES,
    )


# --- status changes --------------------------------------------------------------------------


@labels_bp.get("/<code>/<name>")
@person_required(*_DECIDERS)
def change_form(code: str, name: str) -> Response:
    action = _action_of(name)
    found = _reachable_label(current_principal(), code)
    return _change_page(found, action, reason="", error=None, confirming=False)


def _change_page(
    found: Label,
    action: StatusAction,
    *,
    reason: str,
    error: str | None,
    confirming: bool,
    status: int = 200,
) -> Response:
    return _page(
        "portal/labels/change.html",
        status=status,
        label=found,
        action=action.value,
        reason=reason,
        error=error,
        confirming=confirming,
        statuses=STATUS_NAMES,
    )


@labels_bp.post("/<code>/<name>")
@person_required(*_DECIDERS)
def change_submit(code: str, name: str) -> Response:
    csrf.protect()
    action = _action_of(name)
    principal = current_principal()
    found = _reachable_label(principal, code)
    reason = request.form.get("reason", "")
    try:
        loaded = status_change_schema.load({"action": action.value, "reason": reason})
    except ValidationError as exc:
        return _change_page(
            found,
            action,
            reason=reason,
            error=_reason_error(reason, exc),
            confirming=False,
            status=422,
        )
    if request.form.get("confirm") != "yes":
        # The first post only restates what will happen: nothing changes without the second.
        return _change_page(found, action, reason=loaded["reason"], error=None, confirming=True)
    try:
        change_label_status(principal, found.id, action, reason=loaded["reason"])
    except (InvalidTransitionError, ForbiddenError) as exc:
        db.session.rollback()
        found = _reachable_label(principal, code)
        return _change_page(
            found,
            action,
            reason=loaded["reason"],
            error=_refusal(found, action, exc),
            confirming=False,
            status=409 if isinstance(exc, InvalidTransitionError) else 403,
        )
    return redirect(url_for("portal_labels.label", code=found.id, done=action.value), code=303)


def _reason_error(reason: str, exc: ValidationError) -> str:
    if not reason.strip():
        return gettext("Give the reason for this change.")
    detail = _field_messages(exc).get("reason", "")
    return gettext("This reason cannot be used: %(why)s", why=detail)


def _refusal(found: Label, action: StatusAction, exc: Exception) -> str:
    """Why the registry refused, in the reader's language (the services speak English)."""
    if isinstance(exc, ForbiddenError):
        if action is StatusAction.REINSTATE:
            return gettext(
                "Only whoever suspended a label may lift the suspension: this one was "
                "suspended by another authority."
            )
        return gettext("Your role may not make this change to this label.")
    if found.status is LabelStatus.REVOKED:
        return gettext("This label was revoked; revocation is final.")
    target = {
        StatusAction.SUSPEND: LabelStatus.SUSPENDED,
        StatusAction.REINSTATE: LabelStatus.ACTIVE,
        StatusAction.REVOKE: LabelStatus.REVOKED,
    }[action]
    if found.status is target:
        return gettext("This label is already %(status)s.", status=STATUS_NAMES[target])
    return gettext(
        "This label is %(status)s: that change cannot be made to it.",
        status=STATUS_NAMES[found.status],
    )


# --- regulators ------------------------------------------------------------------------------


@oversight_bp.get("/")
@person_required("regulator", "operator")
def oversight() -> Response:
    principal = current_principal()
    stmt = (
        select(Accreditation)
        .join(Accreditation.scheme)
        .order_by(Scheme.code, Accreditation.body_id, Accreditation.id)
    )
    if principal.role is Role.REGULATOR:
        stmt = stmt.where(Scheme.code.in_(sorted(principal.schemes)))
    accreditations = list(db.session.execute(stmt).scalars())
    bodies = {a.body_id for a in accreditations}
    named = {
        body.id: body
        for body in db.session.execute(
            select(CertificationBody).where(CertificationBody.id.in_(sorted(bodies)))
        ).scalars()
    }
    schemes = sorted({a.scheme.code for a in accreditations} | set(principal.schemes))
    return _page(
        "portal/labels/oversight.html",
        accreditations=accreditations,
        bodies=named,
        schemes=schemes,
        standing=STANDING_NAMES,
    )

"""The pages of ``/portal/issue``: the form, the preview, the drafts, the issued label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as babel_gettext
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from credentials import ASSURANCE_LEVELS, BOUNDARIES, decimal_text, label_url
from registry.auth.services import Principal
from registry.bodies.models import Accreditation, AccreditationStatus
from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db
from registry.errors import ForbiddenError, RegistryError, ValidationFailedError
from registry.labels.artwork import LABEL_LANGUAGES, QR_TARGETS, label_qr_url
from registry.labels.issuance import LabelRequest, issue_label, supersede_refusal
from registry.labels.models import Label
from registry.labels.preview import preview_label
from registry.labels.schemas import label_request_schema
from registry.labels.services import get_label
from registry.pages.protection import csrf
from registry.portal.guard import current_person, current_principal, load_signed_in, person_required
from registry.portal.issuing.models import DraftState, IssuanceSetting, LabelDraft
from registry.portal.messages import known_message
from registry.portal.models import Person, PersonRole
from registry.portal.policy import current_policy
from registry.schemes.models import Rule, RuleVersion

__all__ = ["Preview", "bp", "offered_rules", "preview"]

bp = Blueprint(
    "portal_issue",
    __name__,
    url_prefix="/portal/issue",
    static_folder="static",
    static_url_path="/static",
)
bp.before_request(load_signed_in)

# Each form field and where the API's request holds it (the messages come back by this path).
FIELDS: dict[str, tuple[str, ...]] = {
    "product_name": ("product", "name"),
    "product_model": ("product", "model"),
    "gtin": ("product", "gtin"),
    "manufacturer": ("product", "manufacturer"),
    "identifiers": ("product", "identifiers"),
    "footprint": ("footprint", "value"),
    "declared_unit_amount": ("footprint", "declared_unit_amount"),
    "system_boundary": ("footprint", "system_boundary"),
    "period_start": ("footprint", "reference_period", "start"),
    "period_end": ("footprint", "reference_period", "end"),
    "rule": ("rule",),
    "assurance": ("assurance",),
    "valid_until": ("valid_until",),
    "supersedes": ("supersedes",),
    "qr": ("qr",),
}
_PATHS = {path: name for name, path in FIELDS.items()}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Each label language by its own name, as a reader looks for it.
_ENDONYMS = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文", "pt-MO": "Português"}


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, typed (pybabel extracts calls by this name)."""
    return str(babel_gettext(message, **variables))


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    # About one person, with their CSRF token: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(CSRFError)
def _csrf_refused(_: CSRFError) -> Response:
    return _page(
        "portal/message.html",
        status=400,
        message=gettext("This form has expired. Please send it again."),
    )


# --- what the body may issue under -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferedRule:
    scheme: str
    rule: str
    version: str
    category: str
    declared_unit: str

    @property
    def value(self) -> str:
        return f"{self.scheme}|{self.rule}|{self.version}"


def offered_rules(body_id: int, now: datetime) -> list[OfferedRule]:
    """The rule versions in force at ``now`` whose scheme and category an accreditation of the
    body in force at ``now`` covers (the same kit predicates the issuance checks ask)."""
    accreditations = db.session.scalars(
        select(Accreditation).where(
            Accreditation.body_id == body_id,
            Accreditation.status == AccreditationStatus.ACTIVE,
        )
    ).all()
    if not accreditations:
        return []
    versions = db.session.scalars(
        select(RuleVersion)
        .join(Rule, RuleVersion.rule_id == Rule.id)
        .where(Rule.scheme_id.in_({a.scheme_id for a in accreditations}))
        .order_by(RuleVersion.id)
    ).all()
    offered = []
    for rv in versions:
        trusted = rv.trusted()
        if not trusted.in_force_at(now):
            continue
        if any(
            a.scheme_id == rv.rule.scheme_id
            and a.trusted().covers(trusted.scheme, trusted.category, now)
            for a in accreditations
        ):
            offered.append(
                OfferedRule(
                    rv.rule.scheme.code,
                    rv.rule.code,
                    rv.version,
                    rv.rule.category,
                    rv.declared_unit,
                )
            )
    return sorted(offered, key=lambda o: (o.scheme, o.rule, o.version))


# --- the preview ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    grade: str
    valid_from: datetime
    valid_until: datetime


def preview(principal: Principal, label_request: LabelRequest) -> Preview:
    """The grade and validity issuing ``label_request`` would give, with nothing written: the
    API's dry run (:func:`registry.labels.preview.preview_label`), so every check is the
    issuance's own."""
    label = preview_label(principal, label_request).label
    return Preview(
        label["grade"],
        datetime.fromisoformat(label["valid_from"]),
        datetime.fromisoformat(label["valid_until"]),
    )


# --- the form ------------------------------------------------------------------------------


def _request_json(form: Any) -> dict[str, Any]:
    """The API's JSON request of the form's fields (empty optional fields left out)."""

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    scheme, _, rest = text("rule").partition("|")
    rule, _, version = rest.partition("|")
    product: dict[str, Any] = {"name": text("product_name"), "manufacturer": text("manufacturer")}
    for name, key in (("product_model", "model"), ("gtin", "gtin")):
        if text(name):
            product[key] = text(name)
    identifiers = [line.strip() for line in text("identifiers").splitlines() if line.strip()]
    if identifiers:
        product["identifiers"] = identifiers
    footprint: dict[str, Any] = {
        "value": text("footprint"),
        "system_boundary": text("system_boundary"),
        "reference_period": {"start": text("period_start"), "end": text("period_end")},
    }
    if text("declared_unit_amount"):
        footprint["declared_unit_amount"] = text("declared_unit_amount")
    data: dict[str, Any] = {
        "product": product,
        "footprint": footprint,
        "rule": {"scheme": scheme, "rule": rule, "version": version},
    }
    if text("assurance"):
        data["assurance"] = text("assurance")
    if text("supersedes"):
        data["supersedes"] = text("supersedes")
    if text("qr"):
        data["qr"] = text("qr")
    until = text("valid_until")
    if until:
        # A day from the date input means the start of that day, in UTC.
        data["valid_until"] = f"{until}T00:00:00Z" if _DAY.match(until) else until
    return data


def _flatten(messages: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(messages, dict):
        found = []
        for key, value in messages.items():
            step = path if isinstance(key, int) else (*path, str(key))
            found += _flatten(value, step)
        return found
    if isinstance(messages, list | tuple):
        return [item for value in messages for item in _flatten(value, path)]
    return [(path, str(messages))]


def _field_errors(messages: Any) -> dict[str, list[str]]:
    """Each message of the API under the form field it concerns ("" for the whole form)."""
    errors: dict[str, list[str]] = {}
    for path, message in _flatten(messages):
        name = ""
        for length in range(len(path), 0, -1):
            if path[:length] in _PATHS:
                name = _PATHS[path[:length]]
                break
        if name == "" and path[:1] == ("footprint",) and path[1:2] == ("declared_unit",):
            name = "rule"
        known = known_message(message)
        text = (
            str(known)
            if known is not None
            else gettext("Not accepted (the registry says, in English): %(reason)s", reason=message)
        )
        errors.setdefault(name, []).append(text)
    return errors


def _refusal(exc: RegistryError) -> str:
    return gettext(
        "%(problem)s. The registry says (in English): %(reason)s",
        problem=str(exc.label),
        reason=str(exc),
    )


def _form_page(
    person: Person, values: dict[str, str], errors: dict[str, list[str]], status: int = 200
) -> Response:
    return _page(
        "portal/issue/form.html",
        status=status,
        person=person,
        values=values,
        errors=errors,
        rules=offered_rules(_body_of(person), utcnow()),
        boundaries=BOUNDARIES,
        assurance_levels=ASSURANCE_LEVELS,
        qr_targets=QR_TARGETS,
        can_issue=_may_issue(person, None),
    )


def _body_of(person: Person) -> int:
    # Auditors and signatories always belong to a body (a check constraint of portal_people).
    if person.body_id is None:
        raise ForbiddenError("Only people of a certification body issue labels.")
    return person.body_id


def _two_people(body_id: int) -> bool:
    setting = db.session.get(IssuanceSetting, body_id)
    return setting is not None and setting.two_people


def _may_issue(person: Person, draft: LabelDraft | None) -> bool:
    if person.role is not PersonRole.SIGNATORY:
        return False
    if draft is None:
        return True
    return not (draft.author_id == person.id and _two_people(draft.body_id))


def _values_of(label: Label) -> dict[str, str]:
    """The form's fields as ``label`` states them: the start of its correction."""
    scheme = label.rule_version.rule.scheme.code
    return {
        "product_name": label.product_name,
        "product_model": label.product_model or "",
        "gtin": label.gtin or "",
        "manufacturer": label.manufacturer,
        "identifiers": "\n".join(label.identifiers),
        "footprint": decimal_text(label.footprint),
        "declared_unit_amount": decimal_text(label.declared_unit_amount),
        "system_boundary": label.system_boundary,
        "period_start": label.period_start.isoformat(),
        "period_end": label.period_end.isoformat(),
        "rule": f"{scheme}|{label.rule_version.rule.code}|{label.rule_version.version}",
        "assurance": label.assurance or "",
        "valid_until": "",
        "supersedes": label.id,
        "qr": label.qr_target.value,
    }


def _replaced_label(person: Person, label_id: str) -> Label:
    """The body's label a correction would supersede (another body's, or none: 404)."""
    try:
        label = get_label(label_id)
    except RegistryError:
        abort(404)
    if label.body_id != person.body_id:
        abort(404)
    return label


@bp.get("/")
@person_required("auditor", "signatory")
def form() -> Response:
    person = current_person()
    replaced = request.args.get("supersedes", "")
    if not replaced:
        return _form_page(person, {}, {})
    label = _replaced_label(person, replaced)
    refusal = supersede_refusal(_body_of(person), label)
    if refusal is not None:
        return _page("portal/message.html", status=refusal.status, message=_refusal(refusal))
    return _form_page(person, _values_of(label), {})


@bp.post("/")
@person_required("auditor", "signatory")
def form_submit() -> Response:
    csrf.protect()
    person = current_person()
    values = {name: str(request.form.get(name, "")) for name in FIELDS}
    data = _request_json(request.form)
    try:
        label_request = label_request_schema.load(data)
    except ValidationError as exc:
        return _form_page(person, values, _field_errors(exc.messages), status=422)
    if data["rule"]["scheme"] == "":
        return _form_page(person, values, {"rule": [gettext("Choose a rule.")]}, status=422)
    try:
        shown = preview(current_principal(), label_request)
    except ValidationFailedError as exc:
        return _form_page(person, values, _field_errors(exc.errors), status=422)
    except RegistryError as exc:
        return _form_page(person, values, {"": [_refusal(exc)]}, status=exc.status)
    draft = LabelDraft(
        body_id=_body_of(person),
        author_id=person.id,
        request=data,
        created_at=utcnow(),
        state=DraftState.OPEN,
    )
    db.session.add(draft)
    db.session.flush()
    return _preview_page(person, draft, shown)


# --- drafts --------------------------------------------------------------------------------


def _draft_of_body(person: Person, draft_id: int, *, lock: bool = False) -> LabelDraft:
    """The draft, only for a person of its body (any other: 404, as if it did not exist)."""
    draft = db.session.get(
        LabelDraft, draft_id, with_for_update=lock or None, populate_existing=lock
    )
    if draft is None or draft.body_id != person.body_id:
        abort(404)
    return draft


def _preview_page(
    person: Person,
    draft: LabelDraft,
    shown: Preview | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    author = db.session.get(Person, draft.author_id)
    return _page(
        "portal/issue/preview.html",
        status=status,
        error=error,
        person=person,
        draft=draft,
        author=author,
        preview=shown,
        request_data=draft.request,
        may_issue=shown is not None and _may_issue(person, draft),
        two_people=_two_people(draft.body_id),
    )


@bp.get("/drafts")
@person_required("auditor", "signatory")
def drafts() -> Response:
    person = current_person()
    found = db.session.scalars(
        select(LabelDraft)
        .where(
            LabelDraft.body_id == person.body_id,
            LabelDraft.state == DraftState.OPEN,
            LabelDraft.created_at > utcnow() - current_policy().draft_ttl,
        )
        .order_by(LabelDraft.id)
    ).all()
    authors = {
        p.id: p.email
        for p in db.session.scalars(
            select(Person).where(Person.id.in_({d.author_id for d in found}))
        )
    }
    return _page("portal/issue/drafts.html", person=person, drafts=found, authors=authors)


def _expired(person: Person, draft: LabelDraft) -> Response | None:
    """The refusal of a draft older than the policy's draft lifetime, or ``None``."""
    ttl = current_policy().draft_ttl
    if utcnow() - draft.created_at <= ttl:
        return None
    message = gettext(
        "This draft was prepared more than %(days)d days ago and can no longer be issued: "
        "prepare the label again.",
        days=ttl.days,
    )
    return _preview_page(person, draft, None, error=message, status=409)


@bp.post("/drafts/<int:draft_id>/review")
@person_required("auditor", "signatory")
def review(draft_id: int) -> Response:
    csrf.protect()
    person = current_person()
    draft = _draft_of_body(person, draft_id)
    if draft.state is DraftState.ISSUED:
        return redirect(url_for("portal_issue.issued", label_id=draft.label_id), code=303)
    if (refused := _expired(person, draft)) is not None:
        return refused
    try:
        shown = preview(current_principal(), label_request_schema.load(draft.request))
    except RegistryError as exc:
        return _preview_page(person, draft, None, error=_refusal(exc), status=exc.status)
    return _preview_page(person, draft, shown)


@bp.post("/drafts/<int:draft_id>/issue")
@person_required("auditor", "signatory")
def issue(draft_id: int) -> Response:
    csrf.protect()
    person = current_person()
    # Locked: two confirmations of one draft wait for each other, and the second finds it used.
    draft = _draft_of_body(person, draft_id, lock=True)
    if person.role is not PersonRole.SIGNATORY:
        raise ForbiddenError("Only a signatory of the body issues labels; yours is auditor.")
    if draft.state is DraftState.ISSUED:
        return redirect(url_for("portal_issue.issued", label_id=draft.label_id), code=303)
    if (refused := _expired(person, draft)) is not None:
        return refused
    if not _may_issue(person, draft):
        raise ForbiddenError(
            "This body requires two people: a signatory other than the draft's author issues it."
        )
    # A refusal (the accreditation suspended since the preview, say) keeps the draft open.
    savepoint = db.session.begin_nested()
    try:
        result = issue_label(current_principal(), label_request_schema.load(draft.request))
    except RegistryError as exc:
        savepoint.rollback()
        return _preview_page(person, draft, None, error=_refusal(exc), status=exc.status)
    savepoint.commit()
    draft.state = DraftState.ISSUED
    draft.label_id = result.label.id
    draft.issued_by_id = person.id
    draft.issued_at = utcnow()
    return redirect(url_for("portal_issue.issued", label_id=result.label.id), code=303)


# --- the issued label ------------------------------------------------------------------------


@bp.get("/labels/<label_id>")
@person_required("auditor", "signatory")
def issued(label_id: str) -> Response:
    person = current_person()
    label = db.session.get(Label, label_id)
    if label is None or label.body_id != person.body_id:
        abort(404)
    return _page(
        "portal/issue/issued.html",
        person=person,
        label=label,
        artwork_languages=[(lang, _ENDONYMS[lang]) for lang in LABEL_LANGUAGES],
        public_url=label_url(current_settings().public_base_url, label.id),
        qr_url=label_qr_url(label),
        footprint=decimal_text(label.footprint),
    )

"""Report a suspect label: the form a reader reaches from the label page, and its answer.

The form is plain HTML (no script), posted as multipart with an optional photo. It is
protected against cross-site posting by a CSRF token (Flask-WTF; only this form is checked:
the JSON API authenticates with bearer tokens, which a foreign site cannot send), and
rate-limited per client address, because it is the one page that lets anyone write.
What the reader sends goes to the regulators of the label's scheme and is never published.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as babel_gettext
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from credentials import CredentialError, normalize_label_id
from registry.errors import BadRequestError
from registry.i18n import current_language
from registry.labels.models import Label
from registry.labels.services import get_label
from registry.pages import bp
from registry.pages.protection import csrf, form_limiter
from registry.reports.models import (
    MAX_CONTACT,
    MAX_DETAILS,
    MAX_PHOTO_BYTES,
    MAX_SEEN_AT,
    ReportCategory,
)
from registry.reports.photos import PhotoError
from registry.reports.schemas import report_form_schema
from registry.reports.services import PhotoUpload, ReportInput, check_photo, create_report

__all__ = [
    "ATTEMPT_LIMITS",
    "RATE_LIMITS",
    "REPORT_BODY_LIMIT",
    "report_form",
    "report_submit",
    "report_thanks",
]

# A 5 MB photo, the text fields and the multipart framing; every other route keeps the app's
# MAX_CONTENT_LENGTH (1 MiB).
REPORT_BODY_LIMIT = 6 * 1024 * 1024
# Reports stored per client address; a form sent back with mistakes does not count, so a reader
# who fixes a field is not locked out. Every attempt counts against the looser limit, which
# bounds how often one address can make us parse a 6 MB body.
RATE_LIMITS = "5 per hour;20 per day"
ATTEMPT_LIMITS = "30 per hour;100 per day"
_FIELDS = ("category", "details", "seen_at", "contact")


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, typed (pybabel extracts calls by this name)."""
    return str(babel_gettext(message, **variables))


@bp.before_request
def _allow_a_photo() -> None:
    # Before anything reads the body: werkzeug applies the limit when the form is parsed.
    if request.endpoint == "pages.report_submit":
        request.max_content_length = REPORT_BODY_LIMIT


def _label(code: str) -> Label:
    try:
        normalize_label_id(code)
    except CredentialError:
        raise BadRequestError(f"{code[:40]!r} is not a label code.") from None
    return get_label(code)


def _scheme_name(label: Label) -> str:
    scheme = label.rule_version.rule.scheme
    names = scheme.names
    return names.get(current_language().tag) or names.get("en") or scheme.code


def _category_labels() -> list[tuple[str, str]]:
    return [
        (ReportCategory.NOT_FOUND.value, gettext("The label or its code cannot be found")),
        (
            ReportCategory.DETAILS_DIFFER.value,
            gettext("The details on this page differ from the product"),
        ),
        (ReportCategory.COPIED_OR_ALTERED.value, gettext("The label looks copied or altered")),
        (
            ReportCategory.SOLD_ELSEWHERE.value,
            gettext("The product is sold somewhere this label does not belong"),
        ),
        (ReportCategory.OTHER.value, gettext("Something else")),
    ]


def _message(field: str, code: str) -> str:
    """The reader's words for a message code of the form schema or the photo check."""
    limits = {"details": MAX_DETAILS, "seen_at": MAX_SEEN_AT, "contact": MAX_CONTACT}
    if code.startswith("refused"):
        _, _, char = code.partition(":")
        if char:
            return gettext(
                "This contains a character that cannot be accepted (%(char)s), such as a "
                "control or text-direction character. Please remove it.",
                char=char,
            )
        return gettext("This contains a character that cannot be accepted. Please remove it.")
    match code:
        case "choose":
            return gettext("Choose what is wrong.")
        case "required":
            return gettext("Say where you saw the product.")
        case "too-long":
            return gettext("Write at most %(limit)d characters.", limit=limits.get(field, 0))
        case "blank":
            return gettext("This must not be only spaces.")
        case "details-for-other":
            return gettext("Describe what is wrong when you choose “Something else”.")
        case "too-large":
            return gettext("The photo is larger than 5 MB. Please send a smaller one.")
        case "not-an-image":
            return gettext("The file is not a JPEG, PNG or WebP photo.")
        case "type-mismatch":
            return gettext("The file’s contents do not match its type. Send the photo itself.")
        case "too-many-pixels":
            return gettext("The photo has more than 50 million pixels. Send a smaller one.")
        case "malformed":
            return gettext("The photo file is damaged or incomplete.")
        case "choose-again":
            return gettext("Please choose the photo again.")
        case "expired":
            return gettext(
                "This form has expired or was not sent from this site. "
                "Please check your answers and send it again."
            )
        case _:
            return gettext("This answer cannot be accepted.")


def _field_errors(messages: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for field, codes in messages.items():
            listed = codes if isinstance(codes, list) else [codes]
            name = field if field in _FIELDS else "_form"
            errors.setdefault(name, []).extend(_message(name, str(c)) for c in listed)
    return errors


def _form(
    label: Label,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    # Listed in the order of the form, form-wide problems first, as a reader meets them.
    order = ("_form", "category", "details", "seen_at", "photo", "contact")
    ordered = {name: (errors or {})[name] for name in order if name in (errors or {})}
    html = render_template(
        "pages/report.html",
        label=label,
        scheme_name=_scheme_name(label),
        categories=_category_labels(),
        values=values or {},
        errors=ordered,
        limits={"details": MAX_DETAILS, "seen_at": MAX_SEEN_AT, "contact": MAX_CONTACT},
    )
    response = Response(html, status=status, mimetype="text/html")
    # The page carries this reader's CSRF token: no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/l/<code>/report")
def report_form(code: str) -> Response:
    return _form(_label(code))


def _stored(response: Response) -> bool:
    return response.status_code == 303


def _limited(label: Label) -> Response | None:
    """A readable 429 once this address has sent too many reports, else ``None``."""
    limiter = form_limiter()
    try:
        # Named scopes: the counters keep their keys in a shared store across deployments.
        with limiter.limit(ATTEMPT_LIMITS, scope="report-attempts"):
            pass
        with limiter.limit(RATE_LIMITS, scope="reports", deduct_when=_stored):
            pass
    except RateLimitExceeded:
        html = render_template("pages/report_limited.html", label=label)
        response = Response(html, status=429, mimetype="text/html")
        response.headers["Retry-After"] = "3600"
        response.headers["Cache-Control"] = "no-store"
        return response
    return None


def _photo(upload: FileStorage | None) -> PhotoUpload | None:
    if upload is None or not upload.filename:
        return None  # no file chosen: browsers send an empty part
    data = upload.stream.read(MAX_PHOTO_BYTES + 1)
    if not data:
        return None
    return PhotoUpload(data=data, declared_type=upload.mimetype or None)


@bp.post("/l/<code>/report")
def report_submit(code: str) -> Response:
    label = _label(code)
    refused = _limited(label)
    if refused is not None:
        return refused
    try:
        form = request.form.to_dict()
        upload = request.files.get("photo")
    except RequestEntityTooLarge:
        # The body was not read, so there is nothing to show again but the reason.
        return _form(label, errors={"photo": [_message("photo", "too-large")]}, status=413)
    values = {name: form[name] for name in _FIELDS if name in form}
    try:
        csrf.protect()
    except CSRFError:
        return _form(label, values=values, errors={"_form": [_message("", "expired")]}, status=400)
    errors: dict[str, list[str]] = {}
    report: ReportInput | None = None
    try:
        report = report_form_schema.load({name: form[name] for name in _FIELDS if name in form})
    except ValidationError as exc:
        errors = _field_errors(exc.messages)
    photo = _photo(upload)
    if photo is not None:
        try:
            check_photo(photo)
        except PhotoError as exc:
            errors["photo"] = [_message("photo", exc.reason)]
        else:
            if errors:
                errors["photo"] = [_message("photo", "choose-again")]
    if errors or report is None:
        return _form(label, values=values, errors=errors, status=422)
    create_report(label.id, report, photo)
    return redirect(url_for("pages.report_thanks", code=label.id), code=303)


@bp.get("/l/<code>/report/thanks")
def report_thanks(code: str) -> Response:
    label = _label(code)
    html = render_template("pages/report_thanks.html", label=label, scheme_name=_scheme_name(label))
    return Response(html, mimetype="text/html")

"""The portal's CSV batch pages: the template, an upload, a batch's progress and results.

The same engine as ``/api/v1/label-batches`` (``registry.batches``): the upload is stored by
:func:`~registry.batches.services.submit_batch` as a queued batch of the person's body and the
batch runner does the rest, so closing the page stops nothing. While the batch runs its page
reloads itself with a ``Refresh`` header (the CSP allows no script), which the reader can stop
with a link (WCAG 2.2.2); not ``<meta http-equiv="refresh">``, which axe-core counts as a
timing failure whatever the page offers. A signatory uploads; an auditor of the body sees the
batches and downloads the template.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template, request, stream_with_context, url_for
from flask_babel import gettext as babel_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from credentials import BOUNDARIES, label_url
from registry.api.batches import BATCH_BODY_LIMIT, artwork_zip_chunks, result_csv_chunks
from registry.batches.csvformat import (
    COLUMNS,
    MAX_ROWS,
    UnreadableUploadError,
    UploadRefusedError,
    template_csv,
)
from registry.batches.models import FINAL_STATES, BatchFormat, BatchState, LabelBatch
from registry.batches.pactformat import MAX_FOOTPRINTS
from registry.batches.services import (
    Submitted,
    batch_labels,
    get_batch,
    list_batches,
    submit_batch,
    submit_pact_batch,
)
from registry.clock import utcnow
from registry.config import current_settings
from registry.errors import IdempotencyKeyReusedError, NotFoundError
from registry.i18n import current_language
from registry.pages.protection import csrf
from registry.portal.guard import current_person, current_principal, load_signed_in, person_required
from registry.portal.issuing.views import offered_rules
from registry.portal.messages import known_message
from registry.portal.models import PersonRole

__all__ = ["bp"]

bp = Blueprint("portal_batches", __name__, url_prefix="/portal/batches")
bp.before_request(load_signed_in)

REFRESH_SECONDS = 5
_LABELS_PAGE = 100
# A form's key: the same upload sent twice (a double click, a resend) makes one batch.
_FORM_KEY = re.compile(r"^portal-[0-9a-f]{32}$")
# The multipart envelope around the file: the CSRF token, the key, boundaries and headers.
_ENVELOPE = 64 * 1024
_ARTWORK_LANGUAGES = frozenset({"en", "zh-Hans", "zh-Hant", "pt-MO"})


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's ``gettext``, typed (pybabel extracts calls by this name)."""
    return str(babel_gettext(message, **variables))


@bp.before_request
def _allow_a_spreadsheet() -> None:
    # Before anything reads the body: werkzeug applies the limit as the stream is read.
    if request.endpoint in {"portal_batches.upload", "portal_batches.upload_pact"}:
        request.max_content_length = BATCH_BODY_LIMIT + _ENVELOPE


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _state_name(state: BatchState) -> str:
    match state:
        case BatchState.QUEUED:
            return gettext("Waiting to start")
        case BatchState.VALIDATING:
            return gettext("Checking the rows")
        case BatchState.ISSUING:
            return gettext("Issuing the labels")
        case BatchState.DONE:
            return gettext("Done")
        case BatchState.REFUSED:
            return gettext("Refused")
        case BatchState.FAILED:
            return gettext("Stopped by an error")


def _upload_problem(exc: UploadRefusedError) -> str:
    """The engine's refusal of a file, in the reader's language."""
    values = exc.values
    match exc.problem:
        case "not-utf-8":
            return gettext(
                "The file is not UTF-8 text (at byte %(byte)d). In the spreadsheet, save it as "
                "“CSV UTF-8”.",
                byte=values["byte"],
            )
        case "nul":
            return gettext("The file contains NUL characters: it is not a CSV file.")
        case "empty":
            return gettext("The file is empty: its first row must be the header.")
        case "no-header":
            return gettext(
                "The first row must be the header of the template; it has none of its columns."
            )
        case "unknown-columns":
            return gettext(
                "Unknown columns: %(columns)s. Use the columns of the template.",
                columns=values["columns"],
            )
        case "repeated-columns":
            return gettext("Columns given twice: %(columns)s.", columns=values["columns"])
        case "missing-columns":
            return gettext("Missing columns: %(columns)s.", columns=values["columns"])
        case "too-many-rows":
            return gettext(
                "More than %(limit)d label rows: split the batch into several files.",
                limit=values["limit"],
            )
        case "cell-count":
            return gettext(
                "Row %(row)d has %(cells)d cells, but the header has %(columns)d columns.",
                row=values["row"],
                cells=values["cells"],
                columns=values["columns"],
            )
        case "no-rows":
            return gettext("There are no label rows after the header.")
        case "not-json":
            return gettext(
                "This is not a JSON file of PACT footprints (%(reason)s).", reason=values["reason"]
            )
        case "not-footprints":
            return gettext(
                "The file holds no PACT footprints: give one ProductFootprint, an array of them, "
                'or a PACT answer {"data": [...]}.'
            )
        case "no-footprints":
            return gettext("The file holds no footprint.")
        case "too-many-footprints":
            return gettext(
                "More than %(limit)d footprints: split the batch into several files.",
                limit=values["limit"],
            )
        case _:
            return str(exc.errors.get("file", [exc.detail])[0])


def _list_page(
    *,
    status: int = 200,
    error: str | None = None,
    pact_error: str | None = None,
    pact_rule: str = "",
    pact_boundary: str = "",
) -> Response:
    person = current_person()
    before = request.args.get("before", type=int)
    batches = list_batches(current_principal(), before=before, limit=50)
    return _page(
        "portal/batches/list.html",
        status=status,
        batches=batches,
        more=len(batches) == 50,
        may_upload=person.role is PersonRole.SIGNATORY,
        form_key=f"portal-{secrets.token_hex(16)}",
        error=error,
        pact_error=pact_error,
        pact_rule=pact_rule,
        pact_boundary=pact_boundary,
        boundaries=BOUNDARIES,
        rules=offered_rules(person.body_id, utcnow()) if person.body_id is not None else [],
        max_footprints=MAX_FOOTPRINTS,
        state_name=_state_name,
        max_rows=MAX_ROWS,
        max_megabytes=BATCH_BODY_LIMIT // (1024 * 1024),
        columns=COLUMNS,
    )


@bp.errorhandler(CSRFError)
def _csrf_refused(_: CSRFError) -> Response:
    return _page(
        "portal/message.html",
        status=400,
        message=gettext("This form has expired. Please send it again."),
    )


@bp.get("/")
@person_required("auditor", "signatory")
def batches() -> Response:
    return _list_page()


@bp.get("/template.csv")
@person_required("auditor", "signatory")
def template() -> Response:
    response = Response(template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=label-batch-template.csv"
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_large() -> str:
    return gettext(
        "The file is larger than %(size)d MB. Split the batch into several files.",
        size=BATCH_BODY_LIMIT // (1024 * 1024),
    )


def _sent_file() -> bytes | None:
    """The uploaded file, None if none was chosen, once the CSRF token is checked;
    :class:`RequestEntityTooLarge` for a body over the limit."""
    csrf.protect()
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return None
    data: bytes = sent.read(BATCH_BODY_LIMIT + 1)
    if len(data) > BATCH_BODY_LIMIT:
        raise RequestEntityTooLarge
    return data


def _submitted(
    submit: Callable[[str | None], Submitted], *, fail: Callable[..., Response]
) -> Response:
    """Run ``submit`` with the form's key; the batch's page, or the list page saying why not."""
    key = request.form.get("key", "")
    try:
        submitted = submit(key if _FORM_KEY.match(key) else None)
    except UploadRefusedError as exc:
        return fail(status=422, error=_upload_problem(exc))
    except UnreadableUploadError as exc:
        return fail(
            status=400,
            error=gettext(
                "This is not a readable CSV file (the problem is at line %(line)d).",
                line=exc.line,
            ),
        )
    except IdempotencyKeyReusedError:
        return fail(
            status=409,
            error=gettext("This form was already sent with another file. Please send it again."),
        )
    return Response(
        status=303,
        headers={"Location": url_for(".batch", batch_id=submitted.batch.id)},
    )


@bp.post("/")
@person_required("signatory")
def upload() -> Response:
    try:
        data = _sent_file()
    except RequestEntityTooLarge:
        return _list_page(status=413, error=_too_large())
    if data is None:
        return _list_page(status=422, error=gettext("Choose a CSV file to upload."))
    return _submitted(
        lambda key: submit_batch(current_principal(), data, idempotency_key=key),
        fail=_list_page,
    )


@bp.post("/pact")
@person_required("signatory")
def upload_pact() -> Response:
    """A JSON file of PACT footprints, all issued under the one rule version chosen."""
    chosen = ""  # unread until the body is known to be within the limit

    def fail(*, status: int, error: str) -> Response:
        return _list_page(
            status=status,
            pact_error=error,
            pact_rule=chosen,
            pact_boundary=request.form.get("system_boundary", "") if chosen else "",
        )

    try:
        data = _sent_file()
    except RequestEntityTooLarge:
        return fail(status=413, error=_too_large())
    chosen = request.form.get("rule", "")
    offered = {rule.value: rule for rule in offered_rules(current_person().body_id or 0, utcnow())}
    rule = offered.get(chosen)
    if rule is None:
        return fail(status=422, error=gettext("Choose a rule."))
    if data is None:
        return fail(status=422, error=gettext("Choose a JSON file of PACT footprints to upload."))
    options: dict[str, Any] = {
        "rule": {"scheme": rule.scheme, "rule": rule.rule, "version": rule.version}
    }
    boundary = request.form.get("system_boundary", "")
    if boundary:
        if boundary not in BOUNDARIES:
            return fail(status=422, error=gettext("Choose a system boundary."))
        options["system_boundary"] = boundary
    return _submitted(
        lambda key: submit_pact_batch(
            current_principal(), data, options=options, idempotency_key=key
        ),
        fail=fail,
    )


@bp.get("/<int:batch_id>")
@person_required("auditor", "signatory")
def batch(batch_id: int) -> Response:
    found = get_batch(current_principal(), batch_id)
    after = request.args.get("after", default=0, type=int)
    labels = batch_labels(found, after=after, limit=_LABELS_PAGE) if _done(found) else []
    running = found.state not in FINAL_STATES
    base = current_settings().public_base_url
    refreshing = running and request.args.get("refresh") != "off"
    response = _page(
        "portal/batches/batch.html",
        batch=found,
        state_name=_state_name(found.state),
        running=running,
        refreshing=refreshing,
        refresh_seconds=REFRESH_SECONDS,
        labels=[(row, label, label_url(base, label.id)) for row, label in labels],
        more=len(labels) == _LABELS_PAGE,
        BatchState=BatchState,
        pact=found.format is BatchFormat.PACT,
        artwork_lang=_artwork_lang(),
        message_of=known_message,
    )
    if refreshing:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


def _done(batch: LabelBatch) -> bool:
    return batch.state is BatchState.DONE


def _artwork_lang() -> str:
    tag = current_language().tag
    return tag if tag in _ARTWORK_LANGUAGES else "en"


def _done_batch(batch_id: int) -> int:
    found = get_batch(current_principal(), batch_id)
    if not _done(found):
        # Its results do not exist yet (or never will): the page says where it stands.
        raise NotFoundError(f"Batch {batch_id} has no results; it is {found.state.value}.")
    return found.id


@bp.get("/<int:batch_id>/result.csv")
@person_required("auditor", "signatory")
def result(batch_id: int) -> Response:
    found = _done_batch(batch_id)
    response = Response(stream_with_context(result_csv_chunks(found)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename=batch-{found}-result.csv"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:batch_id>/artwork.zip")
@person_required("auditor", "signatory")
def artwork(batch_id: int) -> Response:
    lang = request.args.get("lang", "en")
    found = _done_batch(batch_id)
    chunks = artwork_zip_chunks(found, lang if lang in _ARTWORK_LANGUAGES else "en")
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f"attachment; filename=batch-{found}-artwork.zip"
    response.headers["Cache-Control"] = "no-store"
    return response

"""``/verify``: a buyer checks a certificate they were sent — a credential or label JSON file,
a certificate PDF, pasted JSON, or a label code or URL — for their own region.

A code or URL opens the label's own page (which has the region selector). A file or pasted
JSON is verified against the register as ``POST /credentials/verify`` does, and a PDF also has
its printed facts checked against the credential inside it. No JavaScript; every refusal is a
readable page in the reader's language, and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from flask import redirect, render_template, request
from flask_babel import gettext as babel_gettext
from flask_limiter import RateLimitExceeded
from sqlalchemy import select
from werkzeug.wrappers import Response

from credentials import (
    MAX_DOCUMENT_BYTES,
    CredentialError,
    VerificationReport,
    is_pdf,
    normalize_label_id,
    parse_json,
    read_certificate,
    recognise_label,
    unprinted_facts,
)
from registry.clock import current_clock
from registry.db import db
from registry.labels.verification import trust_for, verify_credential
from registry.pages import bp
from registry.pages.label_view import build_recognition_view
from registry.pages.protection import form_limiter
from registry.pages.verdicts import present_report
from registry.schemes.models import Scheme
from registry.schemes.schemas import REGION

__all__ = ["VERIFY_BODY_LIMIT", "verify_form", "verify_submit"]

VERIFY_BODY_LIMIT = 5 * 1024 * 1024  # a certificate PDF, with room for the form around it
RATE_LIMITS = "30 per minute; 300 per hour"  # a verification costs the server milliseconds
_LABEL_IN_URL = re.compile(r"/l/([0-9A-Za-z]{10})(?:[/?#]|$)", re.IGNORECASE)


def gettext(message: str, **variables: Any) -> str:
    return str(babel_gettext(message, **variables))


@bp.before_request
def _allow_a_certificate() -> None:
    if request.endpoint == "pages.verify_submit":
        request.max_content_length = VERIFY_BODY_LIMIT


def _regions() -> list[str]:
    return list(
        db.session.execute(select(Scheme.region).distinct().order_by(Scheme.region)).scalars()
    )


def _page(status: int = 200, **context: Any) -> Response:
    html = render_template("pages/verify.html", regions=_regions(), **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # an answer about what this reader sent
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


@bp.get("/verify")
def verify_form() -> Response:
    return _page(region=request.args.get("region", ""))


def _label_id(code: str) -> str | None:
    """The label id in a typed code or a pasted label URL (any case), if there is one."""
    code = code.strip()
    found = _LABEL_IN_URL.search(code)
    candidate = found.group(1) if found else code
    try:
        return normalize_label_id(candidate)
    except CredentialError:
        return None


def _refuse(message: str, status: int = 422, **kept: Any) -> Response:
    return _page(status, error=message, **kept)


def _read_upload() -> tuple[Any, bytes | None]:
    """The JSON document sent (file or pasted), and the PDF bytes if a certificate was sent."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(VERIFY_BODY_LIMIT + 1)
        if is_pdf(data):
            return None, data
        return parse_json(data, max_bytes=MAX_DOCUMENT_BYTES), None
    pasted = request.form.get("credential", "")
    if not pasted.strip():
        raise ValueError("nothing")
    return parse_json(pasted, max_bytes=MAX_DOCUMENT_BYTES), None


@bp.post("/verify")
def verify_submit() -> Response:
    region = request.form.get("region", "").strip()
    if region and (len(region) > 16 or not REGION.match(region)):
        return _refuse(gettext("A region is a code such as HK, MO, CN-SH or EU."), 400)
    try:
        with form_limiter().limit(RATE_LIMITS, scope="verify"):
            pass
    except RateLimitExceeded:
        response = _refuse(gettext("Too many checks from your address; try again in a minute."),
                           429, region=region)  # fmt: skip
        response.headers["Retry-After"] = "60"
        return response
    code = request.form.get("code", "")
    if code.strip():
        label_id = _label_id(code)
        if label_id is None:
            return _refuse(gettext("That is not a label code or a label's address."), 400,
                           region=region, code=code[:200])  # fmt: skip
        return redirect(f"/l/{label_id}" + (f"?region={region}" if region else ""), code=303)
    try:
        document, pdf = _read_upload()
    except ValueError:
        return _refuse(gettext("Choose a file, paste a credential, or type a label code."), 400,
                       region=region)  # fmt: skip
    except CredentialError as exc:
        return _refuse(gettext("This is not a credential the verifier can read: %(why)s",
                               why=str(exc)), region=region)  # fmt: skip
    misprinted: list[str] = []
    certificate = None
    if pdf is not None:
        try:
            certificate = read_certificate(pdf)
        except CredentialError as exc:
            return _refuse(gettext("This is not a certificate the verifier can read: %(why)s",
                                   why=str(exc)), region=region)  # fmt: skip
        document = certificate.credential
    if isinstance(document, dict) and isinstance(document.get("credential"), dict):
        document = document["credential"]  # the registry's label JSON
    if not isinstance(document, dict):
        return _refuse(gettext("A credential is a JSON object."), region=region)
    trust = trust_for(document)
    report: VerificationReport = verify_credential(document, trust=trust)
    if certificate is not None and report.label is not None and not report.contents_untrusted:
        misprinted = unprinted_facts(report.label, certificate.text)
    recognition = None
    if region:
        answer = recognise_label(report, trust, region, at=current_clock().now())
        recognition = build_recognition_view(answer)
    return _page(
        verdict=present_report(report),
        report=report,
        misprinted=misprinted,
        recognition=recognition,
        region=region,
    )

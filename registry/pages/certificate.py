"""``/l/<id>/certificate.pdf``: the label's printable certificate in the reader's language."""

from __future__ import annotations

from flask import Response

from registry.labels.certificate import certificate_pdf
from registry.labels.services import get_label
from registry.pages import bp

__all__ = ["get_certificate"]


@bp.get("/l/<label:label_id>/certificate.pdf")
def get_certificate(label_id: str) -> Response:
    label = get_label(label_id)
    response = Response(certificate_pdf(label), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="carbon-label-{label.id}.pdf"'
    # Made for this moment (its status and embedded bundle): never served from a cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response

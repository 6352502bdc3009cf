"""Photos and helpers shared by the report page and report API tests."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from tests.registry.factories import label_request
from tests.registry.labels.support import issue

__all__ = ["csrf_token", "issue_label", "photo_bytes", "post_report"]


def photo_bytes(kind: str = "JPEG", size: tuple[int, int] = (40, 30)) -> bytes:
    """A real, small image in ``kind`` (JPEG, PNG or WEBP), made by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, (31, 92, 46)).save(out, format=kind)
    return out.getvalue()


def issue_label(client: FlaskClient, certifier: str, name: str | None = None) -> str:
    body = label_request() if name is None else label_request(name=name)
    label_id: str = issue(client, certifier, body)["id"]
    return label_id


def csrf_token(client: FlaskClient, label_id: str, **headers: str) -> str:
    """The CSRF token of the form, as a browser gets it (and the session cookie with it)."""
    page = client.get(f"/l/{label_id}/report", headers=headers)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def post_report(
    client: FlaskClient,
    label_id: str,
    /,
    *,
    token: str | None,
    photo: tuple[bytes, str, str] | None = None,
    headers: dict[str, str] | None = None,
    environ_base: dict[str, str] | None = None,
    **fields: str,
) -> TestResponse:
    """POST the form as a browser would: multipart, every text box sent (empty or not)."""
    data: dict[str, object] = {
        "category": "copied-or-altered",
        "details": "",
        "seen_at": "Shop 12, Rua do Campo, Macao",
        "contact": "",
        **fields,
    }
    if token is not None:
        data["csrf_token"] = token
    if photo is not None:
        content, filename, media_type = photo
        data["photo"] = FileStorage(io.BytesIO(content), filename, content_type=media_type)
    # Encoded in memory: the test client would spool a large body to a temporary file that
    # nobody closes when the app refuses the body unread.
    boundary, body = encode_multipart(data)
    return client.post(
        f"/l/{label_id}/report",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
        environ_base=environ_base or {},
    )

"""gunicorn's access log without the secrets a request can carry.

An invitation's one-time secret is part of its link's path (``/portal/invitation/<secret>``,
printed by ``flask people invite``), so the default access log would write it down, twice: in
the request line, and as the Referer of the page the invitation form leads to. Whoever reads
the log could then set the person's password first. The log keeps the rest of each line.
Credentials in headers (``Authorization``, ``Cookie``) are never in the default format; they
are blanked too, so a format that names them cannot log them either.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

__all__ = ["RedactingLogger", "redact"]

# Path segments that are secrets, after their fixed prefix.
_SECRET_SEGMENT = re.compile(r"(/portal/invitation/)[^\s/?#\"]+")
_SECRET_HEADERS = ("{authorization}i", "{cookie}i", "{set-cookie}o", "{proxy-authorization}i")


def redact(text: str) -> str:
    """``text`` with every secret path segment replaced by ``…``."""
    return _SECRET_SEGMENT.sub(r"\1…", text)


class RedactingLogger(Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger, whose access-log atoms never hold a secret."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if isinstance(value, str):
                atoms[name] = redact(value)
        for name in _SECRET_HEADERS:
            if name in atoms:
                atoms[name] = "-"
        return atoms

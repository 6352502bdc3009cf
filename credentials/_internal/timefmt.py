"""XML Schema dateTimeStamp ⇄ aware UTC datetimes, as Data Integrity and VC 2.0 use them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from credentials.errors import MalformedInputError

# ASCII digits only (``\d`` would admit "٢٠٢٦"), a bounded year and fraction, no trailing newline.
_DATETIME = re.compile(
    r"-?[0-9]{4,9}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def format_datetime(value: datetime) -> str:
    """UTC, second precision, trailing ``Z``: the form every proof and credential uses."""
    if value.tzinfo is None:
        raise MalformedInputError("datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object, *, field: str = "datetime") -> datetime:
    """Parse an xsd:dateTimeStamp (a time zone is required) into an aware UTC datetime."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise MalformedInputError(f"{field} must be an XML Schema dateTime with a time zone")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedInputError(f"{field} is not a valid date and time") from exc
    return parsed.astimezone(UTC)

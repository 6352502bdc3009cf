"""``POST /3/events``: CloudEvents (structured mode) as PACT v3 defines them.

- ``PublishedEvent``: a data owner telling us footprints changed. The registry is the data
  owner of its own footprints and subscribes to no one, so it validates and accepts (200).
- ``RequestCreatedEvent``: a data recipient asking for footprints matching criteria (the
  ListFootprints filters). Accepted with 200; the answer the specification requires, a
  ``RequestFulfilledEvent`` with the matching footprints or a ``RequestRejectedEvent``
  (``NotFound``) when none match, is computed at once and recorded in
  ``pact_event_responses`` for delivery to the client's own events endpoint. Nothing here
  calls out (the registry reaches no network at request time); the same request event sent
  twice is answered once.
- ``RequestFulfilledEvent`` / ``RequestRejectedEvent``: answers to requests the registry
  never makes; validated and accepted, as the specification requires a host to handle them.

A malformed event is a 400 ``BadRequest``; a well-formed one of another type a 400
``NotImplemented``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db, insert_ignoring_conflicts
from registry.pact.errors import BadRequestError, UnsupportedEventError
from registry.pact.models import PactClient, PactEventResponse
from registry.pact.services import FootprintQuery, find_footprints

__all__ = ["EVENT_TYPES", "MAX_FULFILLED", "receive_event"]

_PREFIX: Final = "org.wbcsd.pact.ProductFootprint."
PUBLISHED: Final = _PREFIX + "PublishedEvent.3"
REQUEST_CREATED: Final = _PREFIX + "RequestCreatedEvent.3"
REQUEST_FULFILLED: Final = _PREFIX + "RequestFulfilledEvent.3"
REQUEST_REJECTED: Final = _PREFIX + "RequestRejectedEvent.3"
EVENT_TYPES: Final = (PUBLISHED, REQUEST_CREATED, REQUEST_FULFILLED, REQUEST_REJECTED)
MAX_FULFILLED: Final = 100  # footprints in one RequestFulfilled answer


def _text(event: dict[str, Any], name: str, limit: int = 500) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequestError(f"The event's {name!r} must be a non-empty string.")
    return value


def _instant(event: dict[str, Any], name: str) -> datetime:
    text = _text(event, name, 64)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequestError(f"The event's {name!r} is not an RFC 3339 date-time.") from None
    if value.tzinfo is None:
        raise BadRequestError(f"The event's {name!r} has no time zone.")
    return value


def _strings(data: dict[str, Any], name: str, *, required: bool = False) -> list[str]:
    value = data.get(name)
    if value is None and not required:
        return []
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise BadRequestError(f"data.{name} must be a list of non-empty strings.")
    return value


def receive_event(event: Any, *, client: PactClient) -> None:
    """Validate and handle one event from ``client``; raises a PACT error if it is refused."""
    if not isinstance(event, dict):
        raise BadRequestError("The body must be a CloudEvent: a JSON object.")
    kind = _text(event, "type")
    if event.get("specversion") != "1.0":
        raise BadRequestError('The event\'s specversion must be "1.0".')
    event_id = _text(event, "id", 200)
    source = _text(event, "source")
    _instant(event, "time")
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadRequestError("The event's data must be a JSON object.")
    if kind == PUBLISHED:
        for pf_id in _strings(data, "pfIds", required=True):
            _uuid(pf_id, "data.pfIds")
    elif kind == REQUEST_CREATED:
        _request_created(data, client=client, source=source, event_id=event_id)
    elif kind == REQUEST_FULFILLED:
        _text(data, "requestEventId", 200)
        pfs = data.get("pfs")
        if not isinstance(pfs, list) or not pfs or not all(isinstance(p, dict) for p in pfs):
            raise BadRequestError("data.pfs must be a non-empty list of ProductFootprints.")
    elif kind == REQUEST_REJECTED:
        _text(data, "requestEventId", 200)
        error = data.get("error")
        if not isinstance(error, dict) or not all(
            isinstance(error.get(k), str) for k in ("code", "message")
        ):
            raise BadRequestError("data.error must be an Error object (code, message).")
    else:
        raise UnsupportedEventError(f"Events of type {kind!r} are not handled by this host.")


def _uuid(value: str, name: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise BadRequestError(f"{name}: {value!r} is not a UUID.") from None


def _request_created(
    data: dict[str, Any], *, client: PactClient, source: str, event_id: str
) -> None:
    criteria: dict[str, list[str]] = {}
    for name in ("productId", "companyId", "geography", "classification"):
        criteria[name] = _strings(data, name)
    for name in ("validOn", "validAfter", "validBefore", "status"):
        value = data.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise BadRequestError(f"data.{name} must be a string.")
            criteria[name] = [value]
    if "comment" in data and not isinstance(data["comment"], str):
        raise BadRequestError("data.comment must be a string.")
    query = FootprintQuery.parse({k: v for k, v in criteria.items() if v})
    already = db.session.execute(
        select(PactEventResponse.id).where(
            PactEventResponse.client_id == client.id,
            PactEventResponse.request_source == source,
            PactEventResponse.request_event_id == event_id,
        )
    ).scalar()
    if already is not None:
        return
    page = find_footprints(query, limit=MAX_FULFILLED, client=client)
    now = utcnow()
    answer: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": current_settings().public_base_url + "/3/events",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if page.footprints:
        answer["type"] = REQUEST_FULFILLED
        answer["data"] = {"requestEventId": event_id, "pfs": page.footprints}
    else:
        answer["type"] = REQUEST_REJECTED
        answer["data"] = {
            "requestEventId": event_id,
            "error": {"code": "NotFound", "message": "No footprint matches the request."},
        }
    # The same request sent twice at once: the second insert finds the first and does nothing.
    db.session.execute(
        insert_ignoring_conflicts(PactEventResponse.__table__).values(
            client_id=client.id,
            request_source=source,
            request_event_id=event_id,
            event=answer,
            created_at=now,
        )
    )

"""PACT clients, access tokens, footprint queries with signed pagination cursors, and events.

Access tokens and pagination cursors are not stored: each is a payload signed with the app's
``SECRET_KEY`` (itsdangerous, one salt per purpose) that carries its own time of issue from
the injected clock. A token names its client, which must still be active when it is used (so
revoking a client ends its tokens); a cursor names its client, the query and the last ledger
position served, so the same link gives the same page for as long as it is valid, and pages
never shift when new labels are issued meanwhile (they come after, in ledger order).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, and_, cast, func, or_, select
from sqlalchemy import String as SqlString
from sqlalchemy.orm import contains_eager

from registry.clock import utcnow
from registry.config import current_settings
from registry.db import db
from registry.labels.models import Label, LabelStatus
from registry.pact.errors import BadRequestError, NotFoundError, TokenExpiredError
from registry.pact.ids import label_id_of
from registry.pact.mapping import SERVED_STATUSES, STATUS, UNITS, product_footprint
from registry.pact.models import PactClient
from registry.schemes.models import Rule, RuleVersion, Scheme

__all__ = [
    "CURSOR_TTL",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_VALUES",
    "TOKEN_TTL",
    "FootprintQuery",
    "Page",
    "authenticate_client",
    "authenticate_token",
    "create_client",
    "find_footprints",
    "get_footprint",
    "issue_token",
    "list_clients",
    "read_cursor",
    "revoke_client",
]

TOKEN_TTL: Final = timedelta(hours=1)
# PACT: a pagination link stays valid at least 180 s; ours for 15 minutes.
CURSOR_TTL: Final = timedelta(minutes=15)
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
# Values of one filter: each productId is a scan of the labels' other product ids.
MAX_VALUES: Final = 20
FILTERS: Final = (
    "productId",
    "companyId",
    "geography",
    "classification",
    "validOn",
    "validAfter",
    "validBefore",
    "status",
)
_MULTI: Final = ("productId", "companyId", "geography", "classification", "status")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_settings().secret_key, salt=f"registry.pact.{purpose}")


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


# ---- clients and tokens -------------------------------------------------------------------


def create_client(name: str) -> tuple[PactClient, str]:
    """A new PACT client; its secret is returned once and only its hash is stored."""
    name = name.strip()
    if not name or len(name) > 120 or not name.isprintable():
        raise BadRequestError("A client name is 1 to 120 printable characters.")
    secret = secrets.token_urlsafe(32)
    client = PactClient(
        client_id=f"pact_{secrets.token_hex(12)}",
        secret_hash=_digest(secret),
        name=name,
        created_at=utcnow(),
        revoked_at=None,
    )
    db.session.add(client)
    db.session.flush()
    return client, secret


def list_clients() -> list[PactClient]:
    return list(db.session.execute(select(PactClient).order_by(PactClient.id)).scalars())


def revoke_client(client_id: str) -> PactClient:
    client = db.session.execute(
        select(PactClient).where(PactClient.client_id == client_id)
    ).scalar_one_or_none()
    if client is None:
        raise NotFoundError(f"There is no PACT client {client_id!r}.")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        db.session.flush()
    return client


def authenticate_client(client_id: str, secret: str) -> PactClient | None:
    """The active client with these credentials, or None."""
    presented = _digest(secret)
    client = db.session.execute(
        select(PactClient).where(PactClient.client_id == client_id)
    ).scalar_one_or_none()
    stored = client.secret_hash if client is not None else b"\0" * 32
    if not hmac.compare_digest(presented, stored) or client is None:
        return None
    return None if client.revoked_at is not None else client


def issue_token(client: PactClient) -> tuple[str, int]:
    """An access token for ``client`` and its lifetime in seconds."""
    now = utcnow()
    token = _serializer("token").dumps({"c": client.client_id, "iat": _epoch(now)})
    return token, int(TOKEN_TTL.total_seconds())


def authenticate_token(token: str | None) -> PactClient:
    """The client a bearer token speaks for: 400 if it is missing or not ours, 401 once it
    has expired."""
    if not token:
        raise BadRequestError("Send an access token: Authorization: Bearer <token>.")
    try:
        payload = _serializer("token").loads(token)
        client_id, issued = str(payload["c"]), int(payload["iat"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise BadRequestError("Invalid access token.") from None
    issued_at = datetime.fromtimestamp(issued, UTC)
    if utcnow() >= issued_at + TOKEN_TTL:
        raise TokenExpiredError("The access token has expired; request a new one.")
    client = db.session.execute(
        select(PactClient).where(PactClient.client_id == client_id)
    ).scalar_one_or_none()
    if client is None or client.revoked_at is not None or issued_at < _floor(client.created_at):
        raise BadRequestError("Invalid access token.")
    return client


def _floor(at: datetime) -> datetime:
    return at.replace(microsecond=0)


# ---- queries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FootprintQuery:
    """ListFootprints' (and RequestCreated's) criteria: OR within one, AND across them."""

    product_ids: tuple[str, ...] = ()
    company_ids: tuple[str, ...] = ()
    geographies: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Sequence[str]]) -> FootprintQuery:
        """From query parameters or an event's criteria; names as PACT spells them."""
        for name in values:
            # PACT lets a host add filters of its own, prefixed x-; we have none to honour.
            if name not in FILTERS and not name.lower().startswith("x-"):
                raise BadRequestError(f"Unknown parameter {name!r}.")
        for name in ("validOn", "validAfter", "validBefore"):
            if len(values.get(name, ())) > 1:
                raise BadRequestError(f"{name} may be given once.")

        def many(name: str) -> tuple[str, ...]:
            found = tuple(v.strip() for v in values.get(name, ()))
            if len(found) > MAX_VALUES:
                raise BadRequestError(f"{name}: at most {MAX_VALUES} values.")
            if any(not v or len(v) > 500 for v in found):
                raise BadRequestError(f"{name}: each value is 1 to 500 characters.")
            return found

        def instant(name: str) -> datetime | None:
            given = values.get(name, ())
            return _parse_instant(name, given[0]) if given else None

        return cls(
            product_ids=many("productId"),
            company_ids=many("companyId"),
            geographies=many("geography"),
            classifications=many("classification"),
            statuses=many("status"),
            valid_on=instant("validOn"),
            valid_after=instant("validAfter"),
            valid_before=instant("validBefore"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "productId": list(self.product_ids),
            "companyId": list(self.company_ids),
            "geography": list(self.geographies),
            "classification": list(self.classifications),
            "status": list(self.statuses),
            "validOn": [] if self.valid_on is None else [self.valid_on.isoformat()],
            "validAfter": [] if self.valid_after is None else [self.valid_after.isoformat()],
            "validBefore": [] if self.valid_before is None else [self.valid_before.isoformat()],
        }


def _parse_instant(name: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise BadRequestError(f"{name}: {text!r} is not an RFC 3339 date-time.") from None
    if value.tzinfo is None:
        raise BadRequestError(f"{name}: {text!r} has no time zone (add Z or an offset).")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Page:
    footprints: list[dict[str, Any]]
    cursor: str | None = None  # the next page's, if there is one
    labels: list[Label] = field(default_factory=list)


def _criteria(query: FootprintQuery, base_url: str) -> list[ColumnElement[bool]]:
    host = (base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]).lower()
    conditions: list[ColumnElement[bool]] = []
    if query.product_ids:
        conditions.append(or_(*(_product_match(v, host) for v in query.product_ids)))
    if query.company_ids:
        prefix = f"urn:pact:{host}:manufacturer:"
        names = [unquote(v[len(prefix) :]) for v in query.company_ids if _starts(v, prefix)]
        if not names:
            conditions.append(Label.id.is_(None))  # nothing matches
        else:
            conditions.append(func.lower(Label.manufacturer).in_([n.lower() for n in names]))
    if query.geographies:
        options = []
        for value in query.geographies:
            code = value.upper()
            options.append(Scheme.region == code)
            options.append(Scheme.region.like(_escape(code) + "-%", escape="\\"))
        conditions.append(or_(*options))
    if query.classifications:
        prefix = "urn:pact:productclassification:carbon-label:"
        cats = [
            unquote(v[len(prefix) :]).lower() for v in query.classifications if _starts(v, prefix)
        ]
        conditions.append(func.lower(Rule.category).in_(cats) if cats else Label.id.is_(None))
    if query.statuses:
        wanted = {s.lower() for s in query.statuses}
        statuses = [ours for ours, theirs in STATUS.items() if theirs.lower() in wanted]
        conditions.append(Label.status.in_(statuses) if statuses else Label.id.is_(None))
    if query.valid_on is not None:
        conditions.append(
            and_(Label.valid_from <= query.valid_on, Label.valid_until >= query.valid_on)
        )
    if query.valid_after is not None:
        conditions.append(Label.valid_from > query.valid_after)
    if query.valid_before is not None:
        conditions.append(Label.valid_until < query.valid_before)
    return conditions


def _starts(value: str, prefix: str) -> bool:
    return value.lower().startswith(prefix.lower())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _product_match(value: str, host: str) -> ColumnElement[bool]:
    lower = value.lower()
    options: list[ColumnElement[bool]] = []
    if lower.startswith("urn:gtin:"):
        digits = value[len("urn:gtin:") :]
        options.append(
            Label.gtin == digits.zfill(14)
            if digits.isascii() and digits.isdigit()
            else Label.id.is_(None)
        )
    label_prefix = f"urn:pact:{host}:carbon-label:"
    if lower.startswith(label_prefix):
        options.append(Label.id == value[len(label_prefix) :].upper())
    # The label's other product ids, as stored in its JSON list: a quoted, exact element.
    needle = "%" + _escape(json.dumps(value)) + "%"
    options.append(func.lower(cast(Label.identifiers, SqlString)).like(needle.lower(), escape="\\"))
    return or_(*options)


def _base_select() -> Any:
    return (
        select(Label)
        .join(Label.rule_version)
        .join(RuleVersion.rule)
        .join(Rule.scheme)
        .options(
            contains_eager(Label.rule_version)
            .contains_eager(RuleVersion.rule)
            .contains_eager(Rule.scheme)
        )
        .where(Label.status.in_(SERVED_STATUSES), RuleVersion.declared_unit.in_(list(UNITS)))
    )


def _preceding(labels: Sequence[Label]) -> dict[str, list[str]]:
    """For each label, the superseded labels it replaced, newest first (PACT's
    ``precedingPfIds``: a footprint names its past versions)."""
    result: dict[str, list[str]] = {label.id: [] for label in labels}
    frontier = {label.id: label.supersedes_id for label in labels if label.supersedes_id}
    while frontier:
        rows = db.session.execute(
            select(Label.id, Label.supersedes_id, Label.status).where(
                Label.id.in_(set(frontier.values()))
            )
        ).all()
        by_id = {row.id: row for row in rows}
        nxt: dict[str, str] = {}
        for origin, previous in frontier.items():
            row = by_id.get(previous)
            if row is None or row.status is not LabelStatus.SUPERSEDED:
                continue
            if row.id in result[origin]:  # a cycle cannot happen (unique keys), but never loop
                continue
            result[origin].append(row.id)
            if row.supersedes_id:
                nxt[origin] = row.supersedes_id
        frontier = nxt
    return result


def _render(labels: Sequence[Label], base_url: str) -> list[dict[str, Any]]:
    preceding = _preceding(labels)
    return [product_footprint(lb, base_url=base_url, preceding=preceding[lb.id]) for lb in labels]


def find_footprints(
    query: FootprintQuery, *, limit: int, after: int = -1, client: PactClient
) -> Page:
    """One page of the footprints matching ``query``, in ledger order after ``after``."""
    base_url = current_settings().public_base_url
    statement = (
        _base_select()
        .where(*_criteria(query, base_url), Label.ledger_seq > after)
        .order_by(Label.ledger_seq)
        .limit(limit + 1)
    )
    labels = list(db.session.execute(statement).unique().scalars())
    more = len(labels) > limit
    labels = labels[:limit]
    cursor = None
    if more:
        last = labels[-1].ledger_seq if labels else after
        cursor = _write_cursor(query, after=last, limit=limit, client=client)
    elif limit == 0:
        cursor = None
    return Page(_render(labels, base_url), cursor, labels)


def get_footprint(pf_id: str) -> dict[str, Any]:
    label_id = label_id_of(pf_id)
    statement = _base_select().where(Label.id == label_id) if label_id else None
    label = None if statement is None else db.session.execute(statement).unique().scalar()
    if label is None:
        raise NotFoundError(f"There is no footprint {pf_id!r}.")
    return _render([label], current_settings().public_base_url)[0]


def _write_cursor(query: FootprintQuery, *, after: int, limit: int, client: PactClient) -> str:
    return str(
        _serializer("cursor").dumps(
            {
                "q": query.to_json(),
                "a": after,
                "l": limit,
                "c": client.client_id,
                "t": _epoch(utcnow()),
            }
        )
    )


def read_cursor(cursor: str, *, client: PactClient) -> tuple[FootprintQuery, int, int]:
    """The query, position and limit a pagination link carries (400 if tampered, expired or
    another client's)."""
    try:
        payload = _serializer("cursor").loads(cursor)
        query = FootprintQuery.parse(payload["q"])
        after, limit, owner, made = (
            int(payload["a"]),
            int(payload["l"]),
            str(payload["c"]),
            int(payload["t"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        raise BadRequestError("This pagination link is not valid.") from None
    if owner != client.client_id:
        raise BadRequestError("This pagination link was made for another client.")
    if utcnow() >= datetime.fromtimestamp(made, UTC) + CURSOR_TTL:
        raise BadRequestError("This pagination link has expired; list the footprints again.")
    return query, after, limit

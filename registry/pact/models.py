"""PACT clients (data recipients) and the answers the registry gave their requests.

A client's secret is stored only as its SHA-256 (it carries 256 random bits, like an API
token, so an unsalted hash is enough). Access tokens are not stored: they are signed and
time-stamped (``registry.pact.services``), and checked against the client row on each use, so
revoking a client ends its tokens at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base

__all__ = ["PactClient", "PactEventResponse"]


class PactClient(Base):
    __tablename__ = "pact_clients"
    __table_args__ = (CheckConstraint("length(secret_hash) = 32", name="secret_hash_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<PactClient {self.client_id}>"


class PactEventResponse(Base):
    """The RequestFulfilled or RequestRejected event the registry owes a client for one of
    its RequestCreated events, recorded when the request is accepted (its delivery to the
    client's own events endpoint is the outbound side's job: nothing here calls out)."""

    __tablename__ = "pact_event_responses"
    __table_args__ = (UniqueConstraint("client_id", "request_source", "request_event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("pact_clients.id"), index=True)
    request_source: Mapped[str] = mapped_column(String(500))
    request_event_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime]

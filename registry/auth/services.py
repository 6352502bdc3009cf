"""Token creation and authentication, and the principal a request acts as."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from credentials import Actor, ActorRole
from registry.auth.models import ApiToken, Role
from registry.bodies.models import CertificationBody
from registry.bodies.services import get_body
from registry.clock import utcnow
from registry.db import db
from registry.errors import (
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    ValidationFailedError,
)
from registry.schemes.services import get_scheme

__all__ = [
    "CONSOLE",
    "OPERATOR_CONSOLE",
    "TOKEN_PREFIX",
    "Principal",
    "authenticate",
    "create_token",
    "get_token",
    "revoke_token",
]

TOKEN_PREFIX = "clr_"  # noqa: S105 - a public marker, not a secret
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 43  # 32 random bytes, URL-safe base64 without padding
# Whoever runs the `flask` set-up commands has the database's keys: the operator, tokenless.
OPERATOR_CONSOLE = Actor(ActorRole.OPERATOR)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: an API token, or a person signed in to the portal.

    At most one of ``token_id`` and ``person_id`` is set; neither only for the operator's
    console (the ``flask`` commands, :data:`CONSOLE`, whose actor is :data:`OPERATOR_CONSOLE`).
    A person's principal is made by ``registry.portal.services.principal_of``; every service
    takes it as it takes a token's.
    """

    token_id: int | None
    role: Role
    body_id: int | None
    body_code: str | None
    schemes: frozenset[str]
    person_id: int | None = None

    def __post_init__(self) -> None:
        if self.token_id is not None and self.person_id is not None:
            raise ValueError("a principal is a token or a person, not both")
        if self.token_id is None and self.person_id is None and self.role is not Role.OPERATOR:
            raise ValueError("only the operator's console acts with neither token nor person")

    @property
    def identity(self) -> tuple[str, int]:
        """Who acts, as a key: two tokens, two people, or a token and a person never share one
        (both ids count from 1 in their own tables)."""
        if self.token_id is not None:
            return ("token", self.token_id)
        if self.person_id is None:
            return ("console", 0)
        return ("person", self.person_id)

    @property
    def actor(self) -> Actor:
        """Who this principal is, as the ledger names it: role and registry ids, no secret."""
        return Actor(
            role=ActorRole(self.role.value),
            token=self.token_id,
            body=self.body_code if self.role is Role.CERTIFIER else None,
            schemes=tuple(sorted(self.schemes)) if self.role is Role.REGULATOR else (),
            person=self.person_id,
        )

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise ForbiddenError(f"This needs a {allowed} token; yours is {self.role.value}.")

    def require_body(self, body: CertificationBody) -> None:
        """A certifier acts only for its own body."""
        if self.role is Role.CERTIFIER and self.body_id != body.id:
            raise ForbiddenError("A certifier token acts only for its own certification body.")

    def oversees(self, scheme_code: str) -> bool:
        """The operator, or a regulator of ``scheme_code`` (the ledger's own rule)."""
        return self.actor.oversees(scheme_code)

    def require_oversight(self, scheme_codes: Iterable[str]) -> None:
        """Every scheme must be one this token oversees; the refusal names those it does."""
        outside = sorted({code for code in scheme_codes if not self.oversees(code)})
        if outside:
            raise ForbiddenError(
                f"This token does not oversee {', '.join(outside)}; "
                f"it oversees {self.oversight_text()}."
            )

    def oversight_text(self) -> str:
        if self.role is Role.OPERATOR:
            return "every scheme"
        if self.role is Role.REGULATOR:
            return "the schemes " + ", ".join(sorted(self.schemes))
        return "no scheme"

    def status_refusal(
        self, *, body_code: str, scheme_code: str, target: str, suspended_by: str | None
    ) -> str | None:
        """Why this principal may not move a label of ``body_code`` under ``scheme_code`` to
        ``target`` ("suspended", "active", "revoked"), or ``None`` if it may.

        The kit's replay (``credentials.ledger_replay``, ``_may_change``) is the authority: the
        ledger refuses anything else, so the registry asks the same questions before appending.
        ``suspended_by`` is the role that made the standing suspension.
        """
        match self.role:
            case Role.CERTIFIER:
                if self.body_code != body_code:
                    return "A certifier may change only its own body's labels."
            case Role.REGULATOR:
                if scheme_code not in self.schemes:
                    return (
                        f"This regulator token oversees {', '.join(sorted(self.schemes))}, "
                        f"not {scheme_code}."
                    )
                if target == "revoked":
                    return "A regulator suspends and lifts suspensions; it never revokes."
            case Role.OPERATOR:
                if target == "revoked":
                    return "The operator suspends labels; it does not revoke them."
        if target == "active" and suspended_by != self.role.value:
            made = "nobody" if suspended_by is None else f"the {suspended_by}"
            return f"Only whoever suspended a label lifts it; this suspension was made by {made}."
        return None

    def capabilities(self) -> list[str]:
        """What this token may do, for ``GET /api/v1/me``: asked of the checks that enforce it."""
        allowed = []
        if self.role is Role.CERTIFIER:
            allowed.append("issue-labels")  # issuance's principal.require(Role.CERTIFIER)
        # The status rule, asked of a label this token could reach: its body's, or a scheme's.
        scheme = next(iter(sorted(self.schemes)), "")
        reach = {"body_code": self.body_code or "", "scheme_code": scheme}
        whose = "own-body-labels" if self.role is Role.CERTIFIER else "labels-under-schemes"
        if self.role is Role.OPERATOR:
            whose = "any-label"
        for target, verb in (("suspended", "suspend"), ("revoked", "revoke")):
            if self.status_refusal(**reach, target=target, suspended_by=None) is None:
                allowed.append(f"{verb}-{whose}")
        if self.status_refusal(**reach, target="active", suspended_by=self.role.value) is None:
            allowed.append(f"lift-own-role-suspensions-of-{whose}")
        if self.role is not Role.CERTIFIER:
            # Rule versions and mappings are published under Actor.oversees; audit likewise.
            allowed += ["publish-rule-versions", "publish-mappings", "audit"]
        if self.role is Role.OPERATOR:
            allowed += ["manage-bodies", "manage-schemes", "manage-tokens"]
        return allowed


# The operator at the console, as a principal, for the services that take one.
CONSOLE = Principal(
    token_id=None, role=Role.OPERATOR, body_id=None, body_code=None, schemes=frozenset()
)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_token(
    *, role: Role, name: str, body_code: str | None = None, schemes: Iterable[str] = ()
) -> tuple[ApiToken, str]:
    """Make a token; the secret is returned once and only its hash is stored."""
    scheme_codes = sorted(set(schemes))
    body = None
    match role:
        case Role.CERTIFIER:
            if body_code is None or scheme_codes:
                raise ValidationFailedError(
                    {"body": ["A certifier token is bound to exactly one body and no schemes."]}
                )
            body = get_body(body_code)
        case Role.REGULATOR:
            if body_code is not None or not scheme_codes:
                raise ValidationFailedError(
                    {"schemes": ["A regulator token names one or more schemes and no body."]}
                )
            for code in scheme_codes:
                get_scheme(code)
        case Role.OPERATOR:
            if body_code is not None or scheme_codes:
                raise ValidationFailedError(
                    {"role": ["An operator token names neither a body nor schemes."]}
                )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=_digest(secret),
        prefix=secret[:8],
        name=name,
        role=role,
        body_id=None if body is None else body.id,
        schemes=scheme_codes,
        created_at=utcnow(),
        revoked_at=None,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def get_token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"There is no token {token_id}.")
    return token


def revoke_token(token_id: int) -> ApiToken:
    token = get_token(token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def authenticate(secret: str | None) -> Principal:
    """The principal of a bearer token; raise :class:`UnauthenticatedError` otherwise."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) != _TOKEN_LENGTH:
        raise UnauthenticatedError("Send a valid API token as 'Authorization: Bearer <token>'.")
    # Columns, not entities: this runs on every authenticated request.
    stmt = (
        select(
            ApiToken.id,
            ApiToken.role,
            ApiToken.body_id,
            ApiToken.schemes,
            ApiToken.revoked_at,
            CertificationBody.code,
        )
        .outerjoin(CertificationBody, CertificationBody.id == ApiToken.body_id)
        .where(ApiToken.token_hash == _digest(secret))
    )
    row = db.session.execute(stmt).one_or_none()
    if row is None or row.revoked_at is not None:
        raise UnauthenticatedError("The API token is unknown or revoked.")
    return Principal(
        token_id=row.id,
        role=row.role,
        body_id=row.body_id,
        body_code=row.code,
        schemes=frozenset(row.schemes),
    )

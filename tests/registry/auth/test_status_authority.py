"""The registry refuses exactly the status changes the kit's replay refuses: for every role,
reach (own body or not, overseen scheme or not), target and suspender, ``Principal.
status_refusal`` and ``credentials.ledger_replay._may_change`` agree, so whatever the API
lets through replays cleanly and nothing the ledger would accept is refused."""

from __future__ import annotations

import itertools

import pytest

from credentials import Actor, ActorRole
from credentials.ledger_replay import LabelState, _may_change
from registry.auth.models import Role
from registry.auth.services import Principal


def _principal(token: int, role: Role, body: str | None = None, *schemes: str) -> Principal:
    return Principal(
        token_id=token,
        role=role,
        body_id=None if body is None else 1,
        body_code=body,
        schemes=frozenset(schemes),
    )


PRINCIPALS = [
    _principal(1, Role.CERTIFIER, "lingnan"),
    _principal(2, Role.REGULATOR, None, "CN-GD"),
    _principal(3, Role.REGULATOR, None, "CN-GD", "HK"),
    _principal(4, Role.OPERATOR),
]
SUSPENDERS = {
    None: None,
    "certifier": Actor(ActorRole.CERTIFIER, token=9, body="lingnan"),
    "regulator": Actor(ActorRole.REGULATOR, token=8, schemes=("CN-GD",)),
    "operator": Actor(ActorRole.OPERATOR, token=7),
}


@pytest.mark.parametrize(
    ("principal", "body", "scheme", "target", "suspender"),
    list(
        itertools.product(
            PRINCIPALS,
            ["lingnan", "pearl"],
            ["CN-GD", "HK", "MO"],
            ["suspended", "active", "revoked"],
            list(SUSPENDERS),
        )
    ),
)
def test_the_registry_and_the_replay_agree(
    principal: Principal, body: str, scheme: str, target: str, suspender: str | None
) -> None:
    label = LabelState(
        id="7K3M9QH2XD",
        body=body,
        scheme=scheme,
        seq=1,
        grade="B",
        credential_digest="sha256:" + "0" * 64,
        public_key_multibase="z6Mk",
        status="suspended" if target == "active" else "active",
        status_by=SUSPENDERS[suspender],
    )
    allowed, _, why = _may_change(principal.actor, label, target)
    refusal = principal.status_refusal(
        body_code=body, scheme_code=scheme, target=target, suspended_by=suspender
    )
    assert (refusal is None) == allowed, (why, refusal)

"""Failed authentications, counted per client address, for every API that takes a credential.

The JSON API and the VC-API (``registry.api.auth``) and PACT (bearer tokens and the client
credentials of ``/auth/token``) share one counter per address, in the store of the public
forms' limits (``REGISTRY_RATELIMIT_STORAGE``, so several hosts share it over Redis), under the
limit ``REGISTRY_AUTH_FAILURE_LIMIT`` (default 20 per 5 minutes). Only failures count, so a
client with a valid token is never limited; once an address has spent its failures, every
credential from it is refused unread (valid ones too) until the window has moved on, and a
success in between does not reset the count.

Secrets are never compared byte by byte: API tokens are looked up by their SHA-256
(``registry.auth.services.authenticate``), PACT client secrets compared as digests with
:func:`hmac.compare_digest` and PACT access tokens checked by itsdangerous, which does the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from registry.config import current_settings
from registry.errors import TooManyFailuresError
from registry.pages.protection import FailureCounter, count_failure, failures_wait

__all__ = ["SCOPE", "count_credential_failure", "counting_failures", "refuse_if_spent"]

# The counters' name in the shared store: hosts of one registry must agree on it.
SCOPE = "credential-failures"


def _counter(address: str) -> FailureCounter:
    return FailureCounter(current_settings().auth_failure_limit, SCOPE, address)


def refuse_if_spent(address: str) -> None:
    """Raise :class:`TooManyFailuresError` while ``address`` has no failed attempt left."""
    wait = failures_wait(_counter(address))
    if wait is not None:
        raise TooManyFailuresError(wait)


def count_credential_failure(address: str) -> None:
    count_failure(_counter(address))


@contextmanager
def counting_failures(address: str, *failures: type[Exception]) -> Iterator[None]:
    """Check one presented credential from ``address``: refused unread while the address is
    spent, and one of ``failures`` raised inside counts against it."""
    refuse_if_spent(address)
    try:
        yield
    except failures:
        count_credential_failure(address)
        raise

"""How long portal links and sessions live, and when sign-in failures stop being accepted.

One frozen value per app (``app.extensions[POLICY_KEY]``); tests put their own in place the
way they fix the clock. The defaults are the documented ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

__all__ = ["POLICY_KEY", "PortalPolicy", "current_policy"]

POLICY_KEY = "registry.portal.policy"


@dataclass(frozen=True, slots=True)
class PortalPolicy:
    invitation_ttl: timedelta = timedelta(hours=72)
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=12)
    # Between the right password and the TOTP code.
    second_factor_timeout: timedelta = timedelta(minutes=5)
    # Consecutive failures of one account before it is locked, and for how long.
    lockout_after: int = 5
    lockout_for: timedelta = timedelta(minutes=15)
    # Failed sign-ins counted by Flask-Limiter (a limits string), per account and per address;
    # an account's counter is keyed by the address typed, so unknown ones are limited too.
    account_limit: str = "10 per 15 minutes"
    address_limit: str = "30 per 15 minutes"
    recovery_codes: int = 10
    # A draft no one issued within this time is no longer offered: what it states was checked
    # against a body and rules as they stood when it was prepared.
    draft_ttl: timedelta = timedelta(days=30)


def current_policy() -> PortalPolicy:
    policy: PortalPolicy = current_app.extensions[POLICY_KEY]
    return policy

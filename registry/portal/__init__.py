"""The web portal: people of certification bodies, regulators and the operator sign in here.

People, invitations, sign-in (Argon2id passwords, optional TOTP with recovery codes),
server-side sessions, the access record, and API tokens managed from the portal. Pages under
``/portal/``, templates in ``templates/portal/``, the ``flask people`` commands.

Building a portal page on this (the seam for the issuance, batch and label pages)
------------------------------------------------------------------------------------

- Add views to :data:`registry.portal.views.bp` (or a module that imports it and is imported
  by :func:`init_portal`). Guard each with :func:`person_required`::

      @bp.post("/labels/<code>/suspend")
      @person_required("signatory")          # roles: auditor, signatory, regulator, operator
      def suspend(code: str) -> Response:
          csrf.protect()                       # every form: registry.pages.protection.csrf
          suspend_label(code, principal=current_principal(), ...)

  No session, an expired one (idle 30 min, absolute 12 h by default), or one still waiting
  for its TOTP code: a 303 to the sign-in page, which comes back. Another role: 403 page.
- :func:`current_person` is the :class:`~registry.portal.models.Person`;
  :func:`current_principal` is the :class:`registry.auth.services.Principal` every service
  takes (``token_id=None``, ``person_id`` set; an auditor's or signatory's role is
  ``certifier`` of their body, a regulator's bound to their schemes). The ledger names it as
  ``Actor(role, token=None, body/schemes, person=<id>)``.
- Tests: ``tests/registry/portal/support.py`` has ``make_person`` and ``sign_in_client``
  (a test client signed in as a person without the forms) and ``post_form`` (with the CSRF
  token).
- Timings and limits are :class:`~registry.portal.policy.PortalPolicy` (defaults: invitation
  72 h, idle 30 min, absolute 12 h, lockout after 5 failures for 15 min, per account
  10 / 15 min and per address 30 / 15 min with Flask-Limiter on the app's rate-limit storage).
  The three lifetimes come from ``REGISTRY_PORTAL_INVITATION_TTL``, ``_IDLE_TIMEOUT`` and
  ``_ABSOLUTE_TIMEOUT`` (seconds, read by ``registry.config``).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from registry.config import SETTINGS_KEY, Settings
from registry.portal.guard import current_person, current_principal, person_required
from registry.portal.policy import POLICY_KEY, PortalPolicy

__all__ = ["current_person", "current_principal", "init_portal", "person_required"]


def init_portal(app: Flask, policy: PortalPolicy | None = None) -> None:
    """Register the portal's pages and commands (after ``init_pages``: it uses its limiter)."""
    from registry.portal.batches import bp as batches_bp
    from registry.portal.cli import people_cli
    from registry.portal.issuing import bp as issuing_bp
    from registry.portal.issuing.cli import issuance_cli
    from registry.portal.labels import init_label_pages
    from registry.portal.views import bp

    settings: Settings = app.extensions[SETTINGS_KEY]
    app.extensions[POLICY_KEY] = policy or PortalPolicy(
        invitation_ttl=timedelta(seconds=settings.portal_invitation_ttl),
        idle_timeout=timedelta(seconds=settings.portal_idle_timeout),
        absolute_timeout=timedelta(seconds=settings.portal_absolute_timeout),
    )
    app.register_blueprint(bp)
    app.register_blueprint(issuing_bp)
    init_label_pages(app)
    app.register_blueprint(batches_bp)
    app.cli.add_command(people_cli)
    app.cli.add_command(issuance_cli)

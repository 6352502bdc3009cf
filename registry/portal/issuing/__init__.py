"""Issuing a label by form in the portal (``/portal/issue``): fill, preview, confirm.

Every filled form is loaded through the API's ``label_request_schema`` (so its messages are the
API's) and previewed by the issuance service itself, in a savepoint that is always rolled back;
only then is it kept as a draft. A signatory of the same body issues a draft once, through
``issue_label``, the one path to issuance; an auditor only prepares. A body may require two
people (:class:`~registry.portal.issuing.models.IssuanceSetting`): then the author of a draft
cannot issue it.
"""

from __future__ import annotations

from registry.portal.issuing.views import bp

__all__ = ["bp"]

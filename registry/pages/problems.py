"""The pages every problem ``type`` URI opens: ``/problems/`` and ``/problems/<slug>``.

A problem's ``type`` is ``{public base URL}/problems/<slug>``
(:func:`registry.errors.problem_type`), so a developer who meets one follows it to what it
means and what to do, in their language. The list comes from the registries of types the code
emits, never a second list:
:data:`registry.errors.PROBLEM_TYPES` (the answers' types) and
:data:`registry.labels.vcalm.VERIFICATION_PROBLEM_SLUGS` (a VC-API verification's failed checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import abort, render_template
from flask_babel import lazy_gettext as _
from werkzeug.wrappers import Response

from registry.errors import PROBLEM_TYPES
from registry.labels.vcalm import VERIFICATION_PROBLEM_SLUGS
from registry.pages import bp
from registry.pages.site import conditional_page

__all__ = ["ProblemPage", "problem_page", "problem_pages", "problems_index"]

_CHECK_TITLE = _("Verification check failed")
_CHECK_EXPLANATION = _(
    "One check of a credential's verification failed. The problem in the verification result "
    "says which check and why; the other checks are listed with it. A label that fails a "
    "check is not verified."
)


@dataclass(frozen=True, slots=True)
class ProblemPage:
    """What a problem's page shows; ``status`` is ``None`` for a check inside a 200 answer."""

    slug: str
    title: Any  # a lazy string: rendered in the reader's language
    explanation: Any
    status: int | None


def problem_pages() -> Mapping[str, ProblemPage]:
    """Every problem type the registry can emit, by slug, in slug order."""
    pages = {
        slug: ProblemPage(slug, cls.label, cls.explanation, cls.status)
        for slug, cls in PROBLEM_TYPES.items()
    }
    for slug in VERIFICATION_PROBLEM_SLUGS.values():
        # An answer's type of the same name (grade-mismatch) explains the same failure.
        pages.setdefault(slug, ProblemPage(slug, _CHECK_TITLE, _CHECK_EXPLANATION, None))
    return dict(sorted(pages.items()))


@bp.get("/problems/")
def problems_index() -> Response:
    """Every problem type, with its status and title."""
    return conditional_page(
        render_template("pages/problems.html", problems=list(problem_pages().values()))
    )


@bp.get("/problems/<code:slug>")
def problem_page(slug: str) -> Response:
    """One problem type: what it means and what to do."""
    page = problem_pages().get(slug)
    if page is None:
        abort(404)
    return conditional_page(render_template("pages/problem.html", problem=page))

"""Taking a suspect-label report, and listing reports for the regulators who may read them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload, undefer

from registry.auth.models import Role
from registry.auth.services import Principal
from registry.clock import utcnow
from registry.db import db
from registry.errors import NotFoundError
from registry.labels.services import get_label
from registry.reports.models import (
    PhotoType,
    ReportCategory,
    ReportStatus,
    SuspectReport,
)
from registry.reports.photos import sniff_photo
from registry.schemes.models import Scheme

__all__ = [
    "Photo",
    "PhotoUpload",
    "ReportInput",
    "ReportQuery",
    "check_photo",
    "create_report",
    "get_report_photo",
    "list_reports",
    "set_report_status",
]


@dataclass(frozen=True, slots=True)
class ReportInput:
    """What the reader wrote, already under the text rule (the form schema makes this)."""

    category: ReportCategory
    seen_at: str
    details: str | None = None
    contact: str | None = None


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    """An uploaded file as received: its bytes and the type the browser claimed."""

    data: bytes
    declared_type: str | None


@dataclass(frozen=True, slots=True)
class Photo:
    """A stored photo, for download."""

    data: bytes
    media_type: PhotoType
    sha256: bytes


@dataclass(frozen=True, slots=True)
class ReportQuery:
    status: ReportStatus | None = None
    scheme: str | None = None
    after: int = 0  # the id of the last report of the previous page
    limit: int = 50


def check_photo(photo: PhotoUpload) -> PhotoType:
    """The photo's type if it is acceptable (see :func:`registry.reports.photos.sniff_photo`),
    so a form can report a bad photo together with its other mistakes."""
    return sniff_photo(photo.data, declared=photo.declared_type)


def create_report(
    label_id: str, report: ReportInput, photo: PhotoUpload | None = None
) -> SuspectReport:
    """Store a report on ``label_id``; the photo is checked before anything is written.

    Raises :class:`NotFoundError` for an unknown label and
    :class:`registry.reports.photos.PhotoError` for an unacceptable photo.
    """
    label = get_label(label_id)
    photo_type = None
    digest = None
    if photo is not None:
        photo_type = check_photo(photo)
        digest = hashlib.sha256(photo.data).digest()
    row = SuspectReport(
        label_id=label.id,
        scheme_id=label.rule_version.rule.scheme_id,
        category=report.category,
        details=report.details,
        seen_at=report.seen_at,
        contact=report.contact,
        photo_type=photo_type,
        photo_size=None if photo is None else len(photo.data),
        photo_sha256=digest,
        photo=None if photo is None else photo.data,
        status=ReportStatus.NEW,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def _require_overseer(principal: Principal) -> None:
    # Certifiers never read reports: a report may be about their own labels.
    if principal.role is not Role.OPERATOR:
        principal.require(Role.REGULATOR)


def list_reports(principal: Principal, query: ReportQuery) -> list[SuspectReport]:
    """Reports a regulator oversees (those of its schemes), or all for the operator, oldest
    first, one page at a time."""
    _require_overseer(principal)
    stmt = (
        select(SuspectReport)
        .join(SuspectReport.scheme)
        .options(contains_eager(SuspectReport.scheme))
        .where(SuspectReport.id > query.after)
        .order_by(SuspectReport.id)
        .limit(query.limit)
    )
    match principal.role:
        case Role.REGULATOR:
            stmt = stmt.where(Scheme.code.in_(sorted(principal.schemes)))
        case Role.OPERATOR | Role.CERTIFIER:
            pass
    if query.status is not None:
        stmt = stmt.where(SuspectReport.status == query.status)
    if query.scheme is not None:
        stmt = stmt.where(Scheme.code == query.scheme)
    return list(db.session.execute(stmt).scalars())


def _overseen_report(principal: Principal, report_id: int, *, photo: bool = False) -> SuspectReport:
    """A report the principal oversees.

    A report outside the principal's schemes is "not found", as if it did not exist: whether
    a label was reported is itself no business of another scheme's regulator.
    """
    _require_overseer(principal)
    options = [joinedload(SuspectReport.scheme)]
    if photo:
        options.append(undefer(SuspectReport.photo))
    stmt = select(SuspectReport).options(*options).where(SuspectReport.id == report_id)
    report = db.session.execute(stmt).scalar_one_or_none()
    if report is None or not principal.oversees(report.scheme.code):
        raise NotFoundError(f"There is no report {report_id}.")
    return report


def set_report_status(principal: Principal, report_id: int, status: ReportStatus) -> SuspectReport:
    """Mark a report seen (or new again) for the regulators of its scheme."""
    report = _overseen_report(principal, report_id)
    report.status = status
    db.session.flush()
    return report


def get_report_photo(principal: Principal, report_id: int) -> Photo:
    """The photo of a report the principal oversees (see :func:`_overseen_report`)."""
    report = _overseen_report(principal, report_id, photo=True)
    if report.photo is None or report.photo_type is None or report.photo_sha256 is None:
        raise NotFoundError(f"Report {report_id} has no photo.")
    return Photo(data=report.photo, media_type=report.photo_type, sha256=report.photo_sha256)

"""Publishing, withdrawing and reading recognition mappings; each change is one ledger entry.

A mapping is published by the operator or by a regulator of its target scheme (the region that
recognises decides what it recognises), is checked against the register (schemes, rules, the
target rule version), and is never edited: the next revision supersedes it and a withdrawal
is a revision too. Revision numbers are given by the publisher and must be the next one, so two
regulators editing the same mapping at once cannot both win: the second gets a conflict.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError

from credentials import (
    Actor,
    CredentialError,
    MappingPublished,
    MappingWithdrawn,
    RecognitionError,
    RecognitionMapping,
    TrustedRule,
    canonicalize_jcs,
    check_text,
)
from registry.clock import utcnow
from registry.db import db
from registry.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from registry.ledger.services import append_event
from registry.recognition.models import MappingRevision
from registry.schemes.models import Rule, RuleVersion, Scheme
from registry.schemes.schemas import CODE
from registry.schemes.services import get_scheme

__all__ = [
    "MAX_REASON",
    "RecognitionContext",
    "current_mappings",
    "mapping_revisions",
    "publish_mapping",
    "recognition_context",
    "withdraw_mapping",
]

MAX_REASON = 1000
MAX_ID = 64


def _document(mapping: RecognitionMapping) -> str:
    return canonicalize_jcs(mapping.to_json()).decode("utf-8")


def _may_publish(actor: Actor, target: Scheme) -> None:
    if not actor.oversees(target.code):
        raise ForbiddenError(
            f"Only the operator or a regulator of {target.code} publishes what it recognises."
        )


def _latest(mapping_id: str) -> MappingRevision | None:
    newest = (
        select(func.max(MappingRevision.revision))
        .where(MappingRevision.mapping_id == mapping_id)
        .scalar_subquery()
    )
    return db.session.execute(
        select(MappingRevision).where(
            MappingRevision.mapping_id == mapping_id, MappingRevision.revision == newest
        )
    ).scalar_one_or_none()


def _store(
    mapping: RecognitionMapping, source_id: int, target_id: int, seq: int, *, reason: str | None
) -> MappingRevision:
    """Insert the revision ledgered as entry ``seq``; a concurrent publisher of the same
    revision loses with a 409."""
    row = MappingRevision(
        mapping_id=mapping.mapping_id,
        revision=mapping.revision,
        source_scheme_id=source_id,
        target_scheme_id=target_id,
        document=_document(mapping),
        withdrawn=mapping.withdrawn,
        reason=reason,
        ledger_seq=seq,
        published_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(
            f"Revision {row.revision} of mapping {row.mapping_id} was just published by "
            "someone else; read it and publish the next one."
        ) from None
    return row


def _check_references(mapping: RecognitionMapping) -> tuple[Scheme, Scheme]:
    source = get_scheme(mapping.source.scheme)
    target = get_scheme(mapping.target.scheme)
    errors: dict[str, list[str]] = {}
    if source.id == target.id:
        errors["target.scheme"] = ["A scheme's own labels need no recognition mapping."]
    if target.region != mapping.target.region:
        errors["target.region"] = [f"Scheme {target.code} is of region {target.region}."]
    known = set(
        db.session.execute(
            select(Rule.code).where(
                Rule.scheme_id == source.id, Rule.code.in_(sorted(mapping.source.rules))
            )
        ).scalars()
    )
    if unknown := sorted(mapping.source.rules - known):
        errors["source.rules"] = [f"{source.code} has no rule {', '.join(unknown)}."]
    if mapping.target.rule_id is not None and mapping.target.rule_version is not None:
        exists = db.session.execute(
            select(RuleVersion.id)
            .join(Rule)
            .where(
                Rule.scheme_id == target.id,
                Rule.code == mapping.target.rule_id,
                RuleVersion.version == mapping.target.rule_version,
            )
        ).first()
        if exists is None:
            errors["target.ruleVersion"] = [
                f"{target.code} has no rule {mapping.target.rule_id} version "
                f"{mapping.target.rule_version}."
            ]
    if errors:
        raise ValidationFailedError(errors)
    return source, target


def publish_mapping(actor: Actor, data: Mapping[str, Any]) -> MappingRevision:
    """Publish a mapping's next revision from its JSON form (``revision`` may be left out: the
    next one is taken); ledger it as ``mapping.published``."""
    mapping_id = data.get("mappingId")
    if not isinstance(mapping_id, str) or len(mapping_id) > MAX_ID or not CODE.match(mapping_id):
        raise ValidationFailedError(
            {"mappingId": [f"1–{MAX_ID} letters, digits, '.', '_' and '-' (it appears in URLs)."]}
        )
    latest = _latest(mapping_id)
    expected = 1 if latest is None else latest.revision + 1
    document = {**data, "revision": data.get("revision", expected), "withdrawn": False}
    try:
        mapping = RecognitionMapping.from_json(document)
    except RecognitionError as exc:
        raise ValidationFailedError({"mapping": [str(exc)]}) from None
    try:
        approved_by = check_text(mapping.approved_by, max_length=256)
    except CredentialError as exc:
        raise ValidationFailedError({"approvedBy": [str(exc)]}) from None
    mapping = dataclasses.replace(mapping, approved_by=approved_by)  # stored in NFC
    source, target = _check_references(mapping)
    _may_publish(actor, target)
    if latest is not None and latest.target_scheme_id != target.id:
        raise ValidationFailedError(
            {"target.scheme": [f"Mapping {mapping_id} targets {latest.target_scheme.code}."]}
        )
    if mapping.revision != expected:
        raise ConflictError(
            f"Mapping {mapping_id} is at revision {expected - 1}; publish revision {expected}."
        )
    entry = append_event(MappingPublished(mapping=mapping, by=actor))
    return _store(mapping, source.id, target.id, entry.seq, reason=None)


def withdraw_mapping(actor: Actor, mapping_id: str, reason: str) -> MappingRevision:
    """End a mapping from now on: its next revision, marked withdrawn, ledgered."""
    latest = _latest(mapping_id)
    if latest is None:
        raise NotFoundError(f"There is no mapping {mapping_id!r}.")
    _may_publish(actor, latest.target_scheme)
    if latest.withdrawn:
        raise ConflictError(f"Mapping {mapping_id} is already withdrawn.")
    try:
        reason = check_text(reason, max_length=MAX_REASON, multiline=True)
    except CredentialError as exc:
        raise ValidationFailedError({"reason": [str(exc)]}) from None
    revision = latest.revision + 1
    withdrawn = RecognitionMapping.from_json(
        {**json.loads(latest.document), "revision": revision, "withdrawn": True}
    )
    entry = append_event(
        MappingWithdrawn(
            mapping=mapping_id,
            revision=revision,
            target_scheme=latest.target_scheme.code,
            reason=reason,
            by=actor,
        )
    )
    return _store(
        withdrawn, latest.source_scheme_id, latest.target_scheme_id, entry.seq, reason=reason
    )


def mapping_revisions(mapping_id: str) -> list[MappingRevision]:
    """Every revision of one mapping, oldest first; 404 if there is none."""
    rows = list(
        db.session.execute(
            select(MappingRevision)
            .where(MappingRevision.mapping_id == mapping_id)
            .order_by(MappingRevision.revision)
        ).scalars()
    )
    if not rows:
        raise NotFoundError(f"There is no mapping {mapping_id!r}.")
    return rows


def current_mappings(*, include_withdrawn: bool = False) -> Sequence[MappingRevision]:
    """The newest revision of every mapping (withdrawn ones only if asked), by id."""
    newest = (
        select(MappingRevision.mapping_id, func.max(MappingRevision.revision).label("revision"))
        .group_by(MappingRevision.mapping_id)
        .subquery()
    )
    rows = db.session.execute(
        select(MappingRevision)
        .join(
            newest,
            (MappingRevision.mapping_id == newest.c.mapping_id)
            & (MappingRevision.revision == newest.c.revision),
        )
        .order_by(MappingRevision.mapping_id)
    ).scalars()
    return [r for r in rows if include_withdrawn or not r.withdrawn]


@dataclass(frozen=True, slots=True)
class RecognitionContext:
    """What a trust bundle needs to answer recognition questions about a scheme's labels."""

    schemes: Mapping[str, str]  # every scheme's region
    mappings: tuple[RecognitionMapping, ...]  # the newest revision of each, withdrawn ones too
    rules: tuple[TrustedRule, ...]  # the target rule versions those mappings name


def recognition_context(source_scheme: str) -> RecognitionContext:
    """The mappings that can lead from ``source_scheme`` (through transitive ones too), with
    the schemes' regions and every target rule version they name."""
    schemes = dict(db.session.execute(select(Scheme.code, Scheme.region)).tuples().all())
    newest = [row.mapping() for row in current_mappings(include_withdrawn=True)]
    reachable: list[RecognitionMapping] = []
    frontier, seen = {source_scheme}, {source_scheme}
    while frontier:
        step = [m for m in newest if m.source.scheme in frontier and m not in reachable]
        reachable += step
        frontier = {m.target.scheme for m in step if m.transitive} - seen
        seen |= frontier
    wanted = {
        (m.target.scheme, m.target.rule_id, m.target.rule_version)
        for m in reachable
        if m.target.rule_id is not None and m.target.rule_version is not None
    }
    rules = (
        tuple(
            rv.trusted()
            for rv in db.session.execute(
                select(RuleVersion)
                .join(Rule)
                .join(Scheme)
                .where(tuple_(Scheme.code, Rule.code, RuleVersion.version).in_(sorted(wanted)))
            ).scalars()
        )
        if wanted
        else ()
    )
    return RecognitionContext(schemes, tuple(sorted(reachable, key=lambda m: m.mapping_id)), rules)

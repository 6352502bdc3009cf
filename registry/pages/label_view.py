"""What the label page shows, in the reader's language: a plain value built from the label, its
verification report and the register, so the template only lays it out.

The verdict and every check come from the report (``registry.labels.verification``, the same
path as the VC-API's verify): the database row only adds what a report cannot carry, such as
why and since when a label was suspended. Names a party entered (product, body) are shown as
entered; scheme and rule names are picked from their ``names`` in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import format_date, format_datetime, get_locale, gettext
from sqlalchemy import select

from credentials import (
    GRADES,
    CheckName,
    Recognition,
    Verdict,
    VerificationReport,
    render_message,
)
from registry.bodies.models import Accreditation
from registry.config import current_settings
from registry.db import db
from registry.i18n import Language
from registry.labels.models import Label, LabelStatus
from registry.ledger.models import LedgerCheckpoint
from registry.pages.verdicts import VerdictView, catalogue, present_report

__all__ = [
    "ConditionLine",
    "Evidence",
    "GradeStep",
    "LabelPageView",
    "RecognitionView",
    "assurance_text",
    "build_label_view",
    "build_recognition_view",
    "localised_name",
    "witness_line",
]


def _(message: str, **variables: Any) -> str:
    """``gettext``, typed (Flask-Babel's is not); named ``_`` so extraction finds the calls."""
    return str(gettext(message, **variables))


def boundary_text(boundary: str) -> str:
    """The system boundary in words; an unknown one is shown as the label states it."""
    match boundary:
        case "cradle-to-gate":
            return _("cradle to gate (from raw materials to the factory gate)")
        case "cradle-to-grave":
            return _("cradle to grave (from raw materials to disposal)")
        case _:
            return boundary


def assurance_text(assurance: str | None) -> str | None:
    """The assurance a verification gave the footprint (ISO 14064-3), or ``None`` if the label
    states none: an unstated level is left unsaid rather than shown as the weaker one."""
    match assurance:
        case "limited":
            return _("limited assurance")
        case "reasonable":
            return _("reasonable assurance")
        case _:
            return assurance


# Which other names a reader of each language can read best when theirs is missing.
_NAME_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "zh-Hans": ("zh-Hans", "zh", "zh-Hant", "en"),
    "zh-Hant": ("zh-Hant", "zh-HK", "zh-MO", "zh-TW", "zh", "zh-Hans", "en"),
    "en": ("en",),
    "pt-MO": ("pt-MO", "pt", "pt-PT", "en"),
}


def localised_name(names: Mapping[str, str] | None, language: Language, fallback: str) -> str:
    """A scheme's or rule's name in ``language``, else the closest one, else English, else any,
    else ``fallback`` (its code): a page always has something to call it."""
    if not isinstance(names, Mapping):
        return fallback
    for key in _NAME_FALLBACKS.get(language.tag, (language.tag, "en")):
        value = names.get(key)
        if isinstance(value, str) and value.strip():
            return value
    for value in names.values():
        if isinstance(value, str) and value.strip():
            return value
    return fallback


def number(value: Decimal) -> str:
    """A decimal in the reader's locale, every digit kept: Babel's default pattern would round
    a footprint to three decimals, which would misstate a signed value."""
    return format_decimal(value, locale=get_locale(), decimal_quantization=False)


def day(value: date | datetime | None) -> str:
    return "" if value is None else format_date(value, format="long")


@dataclass(frozen=True, slots=True)
class GradeStep:
    """One letter of the A–E scale with its bound under the label's rule version."""

    letter: str
    bound: str  # "≤ 45" (A–D) or "> 110" (E), in kgCO2e per declared unit
    current: bool


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where the label stands in the public register, and the files to check it offline."""

    ledger_index: int
    checkpoint_size: int | None  # of the latest signed checkpoint that includes the entry
    checkpoint_signed: str
    entry_url: str
    proof_url: str | None
    checkpoint_url: str
    credential_url: str
    trust_bundle_url: str
    qr_png_url: str
    qr_svg_url: str
    label_svg_url: str
    verify_command: str
    # How many of the configured witnesses co-signed the checkpoint the report's ledger
    # evidence is proven under, and when the latest did; None when none are configured.
    witnesses: str | None = None


@dataclass(frozen=True, slots=True)
class LabelPageView:
    id: str
    verdict: VerdictView
    explanation: str  # the verdict in one sentence a shopper understands
    status_reason: str | None
    superseded_by: str | None
    supersedes: str | None
    grade: str
    grade_steps: tuple[GradeStep, ...]
    grade_meaning: str
    footprint: str
    boundary: str
    assurance: str | None
    reference_period: str
    product_name: str
    product_model: str | None
    gtin: str | None
    manufacturer: str
    body_id: int
    body_name: str
    accreditation: str | None
    scheme_code: str
    scheme_name: str
    rule_code: str
    rule_name: str
    rule_version: str
    standard: str
    category: str
    rule_url: str
    issued_at: str
    valid_from: str
    valid_until: str
    evidence: Evidence
    report_url: str
    certificate_url: str = ""
    regions: tuple[str, ...] = ()  # the regions a reader can ask about
    recognition: RecognitionView | None = None


def _grade_steps(grade: str, bounds: Sequence[Decimal]) -> tuple[GradeStep, ...]:
    steps = [
        GradeStep(letter, f"≤ {number(bound)}", letter == grade)
        for letter, bound in zip(GRADES, bounds, strict=False)
    ]
    steps.append(GradeStep("E", f"> {number(bounds[-1])}", grade == "E"))
    return tuple(steps)


def _grade_meaning(label: Label, bounds: Sequence[Decimal], per: str) -> str:
    """One sentence: where this footprint sits on its rule version's scale."""
    position = GRADES.index(label.grade)
    rule = f"{label.rule_version.rule.code} v{label.rule_version.version}"
    value = number(label.footprint)
    if position == 0:
        return _(
            "A is the best of five grades, A to E. Under rule %(rule)s a footprint of at most "
            "%(upper)s kgCO2e per %(per)s earns an A; this product's is %(value)s.",
            rule=rule,
            upper=number(bounds[0]),
            per=per,
            value=value,
        )
    if position == len(GRADES) - 1:
        return _(
            "E is the last of five grades, A to E. Under rule %(rule)s a footprint above "
            "%(lower)s kgCO2e per %(per)s gets an E; this product's is %(value)s.",
            rule=rule,
            lower=number(bounds[-1]),
            per=per,
            value=value,
        )
    return _(
        "Grades run from A (lowest footprint) to E (highest). Under rule %(rule)s a %(grade)s "
        "means more than %(lower)s and at most %(upper)s kgCO2e per %(per)s; this product's "
        "footprint is %(value)s.",
        rule=rule,
        grade=label.grade,
        lower=number(bounds[position - 1]),
        upper=number(bounds[position]),
        per=per,
        value=value,
    )


def _explanation(label: Label, verdict: VerdictView, body: str) -> str:
    """What the verdict means for a shopper; the row adds only why/since when, and only when
    it agrees with the report."""
    match verdict.verdict:
        case Verdict.GENUINE:
            return _(
                "This label was issued by %(body)s and is in the public register; every check "
                "below passed.",
                body=body,
            )
        case Verdict.SUSPENDED:
            if label.status is LabelStatus.SUSPENDED and label.status_changed_at is not None:
                return _(
                    "The certification body suspended this label on %(date)s. Do not rely on "
                    "it unless it is reinstated.",
                    date=day(label.status_changed_at),
                )
            return _("This label is suspended. Do not rely on it unless it is reinstated.")
        case Verdict.REVOKED:
            if label.status is LabelStatus.REVOKED and label.status_changed_at is not None:
                return _(
                    "This label was revoked on %(date)s. It is no longer valid.",
                    date=day(label.status_changed_at),
                )
            return _("This label was revoked. It is no longer valid.")
        case Verdict.SUPERSEDED:
            return _("A newer label replaces this one: check the newer label instead.")
        case Verdict.EXPIRED:
            return _("This label expired on %(date)s.", date=day(label.valid_until))
        case Verdict.NOT_YET_VALID:
            return _("This label is not valid before %(date)s.", date=day(label.valid_from))
        case Verdict.NOT_GENUINE:
            return _(
                "This label failed a check that proves it is genuine (see below). Do not "
                "trust what it says."
            )
        case Verdict.SIGNER_NOT_CHECKED | Verdict.UNVERIFIED:
            return _(
                "Some checks could not be made (see below), so we cannot say this label is "
                "genuine and current."
            )


def _accreditation(label: Label) -> str | None:
    """The body's accreditation for this label's scheme and category, as it stood at issuance
    (the latest one if none covered it: the checks below then say so)."""
    rule = label.rule_version.rule
    stmt = (
        select(Accreditation)
        .where(Accreditation.body_id == label.body_id, Accreditation.scheme_id == rule.scheme_id)
        .order_by(Accreditation.id)
    )
    found = [a for a in db.session.execute(stmt).scalars() if rule.category in a.categories]
    if not found:
        return None
    covering = [
        a
        for a in found
        if a.valid_from <= label.issued_at
        and (a.covered_until is None or a.covered_until > label.issued_at)
    ]
    chosen = (covering or found)[-1]
    if chosen.valid_until is None:
        return _(
            "%(by)s, reference %(reference)s, for %(category)s since %(start)s",
            by=chosen.accreditation_body,
            reference=chosen.reference,
            category=rule.category,
            start=day(chosen.valid_from),
        )
    return _(
        "%(by)s, reference %(reference)s, for %(category)s from %(start)s to %(end)s",
        by=chosen.accreditation_body,
        reference=chosen.reference,
        category=rule.category,
        start=day(chosen.valid_from),
        end=day(chosen.valid_until),
    )


def witness_line(report: VerificationReport) -> str | None:
    """The cosignatures as the report's ledger check counted them (valid ones, of the
    registry's configured witnesses, on the checkpoint the label is proven under)."""
    check = report.check(CheckName.LEDGER)
    if check.message == "ledger.not_cosigned":
        return _("Not yet co-signed by any witness")
    if check.message != "ledger.cosigned":
        return None  # no witness configured, or no evidence to co-sign yet
    at = format_datetime(datetime.fromisoformat(check.params["cosigned_at"]), format="long")
    count = int(check.params["count"])
    if count == 1:
        return _("Co-signed by 1 independent witness, at %(time)s", time=at)
    return _(
        "Co-signed by %(count)s independent witnesses, the latest at %(time)s",
        count=count,
        time=at,
    )


def _evidence(
    label: Label, checkpoint: LedgerCheckpoint | None, report: VerificationReport
) -> Evidence:
    api = f"/api/v1/labels/{label.id}"
    seq = label.ledger_seq
    included = checkpoint is not None and checkpoint.size > label.ledger_seq
    size = checkpoint.size if included and checkpoint is not None else None
    signed = day(checkpoint.created_at) if included and checkpoint is not None else ""
    return Evidence(
        ledger_index=label.ledger_seq,
        checkpoint_size=size,
        checkpoint_signed=signed,
        entry_url=f"/ledger/entries?start={label.ledger_seq}&end={label.ledger_seq + 1}",
        proof_url=None if size is None else f"/ledger/proof/inclusion?index={seq}&size={size}",
        checkpoint_url="/ledger/checkpoint",
        credential_url=f"/l/{label.id}/credential.json",
        trust_bundle_url=f"{api}/trust-bundle",
        qr_png_url=f"{api}/qr.png",
        qr_svg_url=f"{api}/qr.svg",
        label_svg_url=f"{api}/label.svg",
        # The bundle is signed: the command pins the key it is checked against.
        verify_command=f"carbonlabel verify {label.id}.json --trust {label.id}-trust.json"
        f" --registry-key {current_settings().bundle_signer().public_key.multibase}",
        witnesses=witness_line(report),
    )


def build_label_view(
    label: Label,
    report: VerificationReport,
    checkpoint: LedgerCheckpoint | None,
    language: Language,
) -> LabelPageView:
    """The label page's content in the current locale (Flask-Babel's, which is ``language``)."""
    version = label.rule_version
    rule = version.rule
    scheme = rule.scheme
    verdict = present_report(report)
    bounds = version.thresholds.as_tuple()
    per = f"{number(label.declared_unit_amount)} {version.declared_unit}"
    show_reason = (
        verdict.verdict in (Verdict.SUSPENDED, Verdict.REVOKED)
        and label.status.value == verdict.verdict.value
    )
    return LabelPageView(
        id=label.id,
        verdict=verdict,
        explanation=_explanation(label, verdict, label.body.name),
        status_reason=label.status_reason if show_reason else None,
        superseded_by=label.superseded_by_id if verdict.verdict is Verdict.SUPERSEDED else None,
        supersedes=label.supersedes_id,
        grade=label.grade,
        grade_steps=_grade_steps(label.grade, bounds),
        grade_meaning=_grade_meaning(label, bounds, per),
        footprint=_("%(value)s kgCO2e per %(per)s", value=number(label.footprint), per=per),
        boundary=boundary_text(label.system_boundary),
        assurance=assurance_text(label.assurance),
        reference_period=_(
            "%(start)s to %(end)s", start=day(label.period_start), end=day(label.period_end)
        ),
        product_name=label.product_name,
        product_model=label.product_model,
        gtin=label.gtin,
        manufacturer=label.manufacturer,
        body_id=label.body_id,
        body_name=label.body.name,
        accreditation=_accreditation(label),
        scheme_code=scheme.code,
        scheme_name=localised_name(scheme.names, language, scheme.code),
        rule_code=rule.code,
        rule_name=localised_name(rule.names, language, rule.code),
        rule_version=version.version,
        standard=version.standard,
        category=rule.category,
        rule_url=f"/schemes/{scheme.code}/rules/{rule.code}",
        issued_at=day(label.issued_at),
        valid_from=day(label.valid_from),
        valid_until=day(label.valid_until),
        evidence=_evidence(label, checkpoint, report),
        report_url=f"/l/{label.id}/report",
        certificate_url=f"/l/{label.id}/certificate.pdf",
    )


@dataclass(frozen=True, slots=True)
class ConditionLine:
    passed: bool
    text: str


@dataclass(frozen=True, slots=True)
class RecognitionView:
    """The answer to "is it recognised in my region?", in the reader's language."""

    region: str
    recognised: bool
    outcome: str
    headline: str
    grade: str | None
    footprint: str | None
    via: str | None
    conditions: tuple[ConditionLine, ...]


def build_recognition_view(recognition: Recognition) -> RecognitionView:
    words = catalogue()
    grade = recognition.grade
    footprint = None
    if recognition.recognised and recognition.footprint is not None:
        footprint = _(
            "%(value)s kgCO2e per %(per)s",
            value=number(recognition.footprint),
            per=f"1 {recognition.declared_unit}",
        )
    via = None
    if recognition.via:
        via = ", ".join(
            _("mapping %(id)s, revision %(revision)s", id=m, revision=str(r))
            for m, r in recognition.via
        )
    return RecognitionView(
        region=recognition.region,
        recognised=recognition.recognised,
        outcome=recognition.outcome.value,
        headline=render_message(recognition.message, recognition.params, words),
        grade=grade,
        footprint=footprint,
        via=via,
        conditions=tuple(
            ConditionLine(c.passed, render_message(c.message, c.params, words))
            for c in recognition.conditions
        ),
    )

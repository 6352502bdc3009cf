"""Schemas of schemes, rules and rule versions, and the field types the admin schemas share.

One schema per resource: what a client may send is a plain field, what the server owns (ids,
times it records, nested collections) is ``dump_only``, and marshmallow's default ``RAISE``
refuses unknown keys, so a client sending ``created_at`` or ``rules`` is told so rather than
silently ignored.

Thresholds are decimal *strings* both ways (a JSON number would already have been through a
binary float), and times must carry an offset: a naive time means different instants in
Guangzhou and in Geneva.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from credentials import BOUNDARIES, GRADES, STORAGE_DECIMAL, Thresholds, decimal_text
from registry.fields import DateTimeStamp, DecimalText, FullMatch, Text
from registry.schemes.models import Rule
from registry.schemes.services import MAX_PERIOD_AGE, list_rule_versions

__all__ = [
    "CODE",
    "CodeOf",
    "DecimalThresholds",
    "RuleSchema",
    "RuleVersionSchema",
    "SchemeSchema",
    "UTCDateTime",
    "code_field",
    "names_field",
    "region_field",
    "rule_schema",
    "rule_version_schema",
    "scheme_detail_schema",
    "scheme_schema",
    "text_field",
]

# Identifiers that appear in URLs and ledger entries: letters, digits and . _ - only.
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision: CN, HK, MO, CN-GD, CN-SH.
REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
# A BCP 47 language tag, loosely: en, zh-Hans, zh-Hant-HK, pt-MO.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_TEXT = {"type": "string"}


def code_field(
    max_length: int, *, field_cls: type[fields.String] = fields.String, **kwargs: Any
) -> fields.String:
    return field_cls(
        validate=[
            validate.Length(min=1, max=max_length),
            FullMatch(CODE, error="Use letters, digits, '.', '_' and '-' only."),
        ],
        **kwargs,
    )


def text_field(max_length: int, *, multiline: bool = False, **kwargs: Any) -> fields.String:
    return Text(max_length, multiline=multiline, **kwargs)


def region_field(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=FullMatch(REGION, error="An ISO 3166 code such as HK or CN-GD."), **kwargs
    )


def names_field(*, required: bool = True) -> fields.Dict:
    """Names by language tag, e.g. ``{"en": "Guangdong Carbon Label", "zh-Hans": "…"}``.

    Required means at least one name; optional names (a body's translations) may be empty.
    """
    checks = [validate.Length(max=50)]
    if required:
        checks.append(validate.Length(min=1, error="Give the name in at least one language."))
    extra: dict[str, Any] = {} if required else {"load_default": dict}
    document = {
        "propertyNames": {"pattern": LANGUAGE_TAG.pattern},
        "minProperties": 1 if required else 0,
        "maxProperties": 50,
        "example": {"en": "Guangdong Carbon Label", "zh-Hans": "广东碳标签"},
    }
    description = "Names by BCP 47 language tag (en, zh-Hans, zh-Hant, pt-MO, …)"
    return fields.Dict(
        keys=fields.String(
            validate=FullMatch(LANGUAGE_TAG, error="A language tag such as en or zh-Hans.")
        ),
        values=text_field(200),
        required=required,
        validate=checks,
        metadata={"description": description, "openapi": document},
        **extra,
    )


class CodeOf(fields.String):
    """A related row by its code: dumps ``obj.<attr>.code``, loads the code as a string."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value.code)


class UTCDateTime(DateTimeStamp):
    """A :class:`~registry.fields.DateTimeStamp` to the millisecond.

    The ledger records times to the millisecond, so finer input is refused rather than stored
    with a precision the ledger entry does not state.
    """

    def _deserialize(  # type: ignore[override]  # a date too, with ``dates``
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> datetime | date:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not isinstance(parsed, datetime):  # a date (``dates=True``): a whole day
            return parsed
        if parsed.microsecond % 1000:
            raise ValidationError("At most millisecond precision.")
        return parsed


class DecimalThresholds(fields.Field[tuple[Decimal, Decimal, Decimal, Decimal]]):
    """``{"A": "45", "B": "65", "C": "85", "D": "110"}``: upper bounds as decimal strings."""

    def __init__(self, **kwargs: Any) -> None:
        bound = {"type": "string", "pattern": STORAGE_DECIMAL.pattern}
        document = {
            "type": "object",
            "description": "Inclusive upper bounds of grades A-D (kgCO2e per declared unit); "
            "above D is E. Decimal strings, never JSON numbers.",
            "properties": {
                grade: {**bound, "description": f"Upper bound of grade {grade} (inclusive)"}
                for grade in GRADES[:4]
            },
            "required": list(GRADES[:4]),
            "additionalProperties": False,
            "example": {"A": "45", "B": "65", "C": "85", "D": "110"},
        }
        super().__init__(metadata=document, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        bounds: Thresholds = value
        return dict(zip(GRADES, map(decimal_text, bounds.as_tuple()), strict=False))

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        grades = GRADES[:4]
        if not isinstance(value, dict):
            raise ValidationError(f"An object with the upper bounds of grades {', '.join(grades)}.")
        errors: dict[str, list[str]] = {}
        for key in value.keys() - set(grades):
            errors[str(key)] = ["Unknown grade; E has no upper bound."]
        bounds: list[Decimal] = []
        for grade in grades:
            if grade not in value:
                errors[grade] = ["Missing data for required field."]
                continue
            try:
                bounds.append(DecimalText.parse(value[grade]))
            except ValidationError as exc:
                errors[grade] = exc.messages  # type: ignore[assignment]
        if errors:
            raise ValidationError(errors)
        a, b, c, d = bounds
        return a, b, c, d


class RuleVersionSchema(Schema):
    """One immutable version of a rule; thresholds in kgCO2e per declared unit."""

    scheme = fields.Function(
        lambda rv: rv.rule.scheme.code,
        dump_only=True,
        metadata={**_TEXT, "description": "The scheme's code", "example": "CN-GD"},
    )
    rule = fields.Function(
        lambda rv: rv.rule.code,
        dump_only=True,
        metadata={**_TEXT, "description": "The rule's code", "example": "CN-GD-PCR-LIB"},
    )
    category = fields.Function(
        lambda rv: rv.rule.category,
        dump_only=True,
        metadata={**_TEXT, "description": "The rule's product category", "example": "battery"},
    )
    version = code_field(
        32,
        required=True,
        metadata={"description": "The version, unique in its rule", "example": "2026.1"},
    )
    declared_unit = text_field(
        32,
        required=True,
        metadata={"description": "What a footprint is per (kWh, kg, piece)", "example": "kWh"},
    )
    standard = text_field(
        120,
        required=True,
        metadata={"description": "The standard the rule follows", "example": "ISO 14067"},
    )
    in_force_from = UTCDateTime(
        required=True,
        dates=True,
        metadata={"description": "Labels may be issued under it from this instant"},
    )
    in_force_until = UTCDateTime(
        load_default=None,
        allow_none=True,
        dates=True,
        metadata={"description": "…and until this instant; null: open-ended"},
    )
    thresholds = DecimalThresholds(required=True)
    thresholds_unit = fields.Constant(
        "kgCO2e",
        dump_only=True,
        metadata={**_TEXT, "description": "The unit of the thresholds, per declared unit"},
    )
    system_boundaries = fields.List(
        fields.String(validate=validate.OneOf(BOUNDARIES)),
        validate=validate.Length(min=1, max=len(BOUNDARIES)),
        load_default=lambda: list(BOUNDARIES),
        metadata={
            "description": "The system boundaries a label graded under this version may "
            "declare; both if left out.",
            "example": ["cradle-to-gate"],
        },
    )
    max_period_age_months = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_PERIOD_AGE),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "At most how many months before issuance a label's reference "
            "period may have ended; no limit if left out.",
            "example": 36,
        },
    )
    allows_net_negative = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Whether a zero (net-zero) footprint is admitted; labels state "
            "non-negative footprints only."
        },
    )
    published_at = fields.DateTime(
        dump_only=True, metadata={"description": "When the registry ledgered this version"}
    )


class RuleSchema(Schema):
    """A product category rule of a scheme, with its published versions (oldest first)."""

    scheme = CodeOf(
        dump_only=True, metadata={"description": "The scheme's code", "example": "CN-GD"}
    )
    code = code_field(
        64,
        required=True,
        metadata={
            "description": "The rule's code, unique in its scheme",
            "example": "CN-GD-PCR-LIB",
        },
    )
    category = code_field(
        64,
        required=True,
        metadata={"description": "The product category the rule grades", "example": "battery"},
    )
    names = names_field()
    created_at = fields.DateTime(
        dump_only=True, metadata={"description": "When the rule was ledgered"}
    )
    versions = fields.Method(
        "_versions",
        dump_only=True,
        metadata={
            "type": "array",
            "items": {"$ref": "#/components/schemas/RuleVersion"},
            "description": "Its published versions, oldest first",
        },
    )

    def _versions(self, rule: Rule) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = rule_version_schema.dump(
            list_rule_versions(rule), many=True
        )
        return versions


class SchemeSchema(Schema):
    """A carbon-label programme of a region; ``rules`` only in the detailed view."""

    code = code_field(
        32, required=True, metadata={"description": "The scheme's code", "example": "CN-GD"}
    )
    region = region_field(
        required=True,
        metadata={"description": "ISO 3166 code of its region", "example": "CN-GD"},
    )
    names = names_field()
    owner = text_field(
        200,
        required=True,
        metadata={
            "description": "Who runs the scheme",
            "example": "Guangdong Provincial Department of Ecology and Environment",
        },
    )
    created_at = fields.DateTime(
        dump_only=True, metadata={"description": "When the scheme was ledgered"}
    )
    rules = fields.List(
        fields.Nested(RuleSchema),
        dump_only=True,
        metadata={"description": "Its rules (in the detailed view only)"},
    )


scheme_schema = SchemeSchema(exclude=("rules",))
scheme_detail_schema = SchemeSchema()
rule_schema = RuleSchema()
rule_version_schema = RuleVersionSchema()

"""Issuable equals verifiable: around every boundary of a key, an accreditation and a rule
version, the registry issues exactly when the kit, given the register's trust bundle, accepts
the issuer key, the accreditation and the rule of a label signed at that instant — and refuses,
besides, as soon as a key is retired or an accreditation withdrawn, even within the second the
bundle rounds that moment up to.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from credentials import (
    EDDSA_RDFC_2022,
    CarbonLabel,
    CheckName,
    CheckStatus,
    Footprint,
    Product,
    RuleRef,
    StatusRef,
    TrustBundle,
    build_label_credential,
    grade_for,
    sign_document,
    verify_label,
)
from registry.auth.models import Role
from registry.auth.services import OPERATOR_CONSOLE, Principal, authenticate, create_token
from registry.bodies.models import AccreditationStatus, BodyKey, CertificationBody
from registry.bodies.services import (
    add_body_key,
    get_body,
    get_keystore,
    grant_accreditation,
    register_body,
    retire_body_key,
    set_accreditation_status,
)
from registry.clock import FixedClock
from registry.db import db
from registry.errors import NoSigningKeyError, OutOfScopeError, RuleNotInForceError
from registry.labels.issuance import LabelRequest, issue_label
from registry.labels.verification import label_trust
from registry.schemes.models import RuleVersion
from registry.schemes.services import get_rule_version
from tests.registry.factories import LabelWorld, label_rule_version

BODY = "grid"
BODY_NAME = "Grid Boundary Verification Ltd. (fictitious)"
CHECKS = (CheckName.ISSUER_KEY, CheckName.ACCREDITATION, CheckName.RULE)
# Under CN-GD's 1.0 (in force since before, no end) the accreditation's own start and end bind;
# under 9.1 the version's period; under HK (accredited all along) the key's activation.
REQUESTS = (("CN-GD", "PCR-LIB", "1.0"), ("CN-GD", "PCR-LIB", "9.1"), ("HK", "HK-LIB", "1.0"))
NEAR = (
    -timedelta(seconds=1),
    -timedelta(milliseconds=1),
    timedelta(0),
    timedelta(milliseconds=1),
    timedelta(milliseconds=600),
    timedelta(seconds=1),
)


def _request(scheme: str, rule: str, version: str) -> LabelRequest:
    return LabelRequest(
        product=Product(name="LFP battery module (grid)", manufacturer="Grid Ltd. (fictitious)"),
        footprint=Decimal("61.2"),
        declared_unit_amount=Decimal(1),
        system_boundary="cradle-to-gate",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        scheme=scheme,
        rule=rule,
        rule_version=version,
    )


def _signed_at(key: BodyKey, rv: RuleVersion, at: datetime) -> dict[str, object]:
    """What the body's ``key`` would have signed under ``rv`` at ``at`` (whole seconds)."""
    created = at.replace(microsecond=0)
    url = "https://registry.example.test/l/GRDGRDGRD0"
    label = CarbonLabel(
        label_id="GRDGRDGRD0",
        url=url,
        issuer_did=key.did,
        issuer_name=BODY_NAME,
        valid_from=created,
        valid_until=created + timedelta(days=365),
        product=Product(name="LFP battery module (grid)", manufacturer="Grid Ltd. (fictitious)"),
        footprint=Footprint(
            Decimal("61.2"),
            rv.declared_unit,
            "cradle-to-gate",
            date(2025, 1, 1),
            date(2025, 12, 31),
        ),
        grade=grade_for(Decimal("61.2"), rv.thresholds),
        rule=RuleRef(rv.rule.code, rv.version, rv.rule.scheme.code),
        status=(
            StatusRef("revocation", "https://registry.example.test/status-lists/r", 1),
            StatusRef("suspension", "https://registry.example.test/status-lists/s", 1),
        ),
    )
    assert key.secret_box is not None
    pair = get_keystore().open(key.secret_box, public_key_multibase=key.public_key_multibase)
    unsigned = build_label_credential(label)
    return sign_document(unsigned, key=pair, cryptosuite=EDDSA_RDFC_2022, created=created)


def _kit_accepts(credential: object, trust: TrustBundle, at: datetime) -> bool:
    report = verify_label(credential, trust=trust, now=at + timedelta(seconds=1))
    return all(report.check(name).status is CheckStatus.PASSED for name in CHECKS)


def _keys(body: CertificationBody) -> list[BodyKey]:
    stmt = select(BodyKey).where(BodyKey.body_id == body.id).order_by(BodyKey.id)
    return list(db.session.execute(stmt).scalars())


def _sweep(principal: Principal, clock: FixedClock, instants: list[datetime]) -> int:
    """At each instant, issue under every request and compare with the kit's verdict."""
    issued = 0
    for at in sorted(instants):
        clock.set(at)
        body = get_body(BODY)
        db.session.refresh(body)
        trust = TrustBundle(bodies=(body.trusted(),))
        unretired = any(k.retired_at is None for k in _keys(body))
        for scheme, rule, version in REQUESTS:
            # What the registry adds to the kit: nothing withdrawn or retired as of now.
            current = unretired and any(
                a.status is AccreditationStatus.ACTIVE and a.scheme.code == scheme
                for a in body.accreditations
            )
            rv = get_rule_version(scheme, rule, version)
            with_rule = TrustBundle(bodies=trust.bodies, rules=(rv.trusted(),))
            kit = any(_kit_accepts(_signed_at(k, rv, at), with_rule, at) for k in _keys(body))
            try:
                with db.session.begin_nested():
                    result = issue_label(principal, _request(scheme, rule, version))
            except (NoSigningKeyError, OutOfScopeError, RuleNotInForceError):
                made = False
            else:
                made = True
                issued += 1
                # The label actually issued passes, against the bundle the registry serves.
                served = TrustBundle.from_json(label_trust(result.label).to_json())
                assert _kit_accepts(json.loads(result.label.credential), served, at), at
            assert made == (kit and current), (at, version, scheme, kit, current)
    return issued


def test_issuance_succeeds_exactly_when_the_kit_would_accept_the_result(
    db_session: scoped_session[Session], world: LabelWorld, clock: FixedClock
) -> None:
    start = clock.now().replace(microsecond=0) + timedelta(seconds=100)
    clock.set(start)
    register_body(actor=OPERATOR_CONSOLE, code=BODY, name=BODY_NAME, region="CN-GD")
    acc_from, acc_until = start + timedelta(seconds=20), start + timedelta(seconds=60.75)
    for scheme, since, until in (
        ("CN-GD", acc_from, acc_until),
        ("HK", start - timedelta(days=1), None),
    ):
        grant_accreditation(
            actor=OPERATOR_CONSOLE,
            body_code=BODY,
            scheme_code=scheme,
            categories=["battery"],
            accreditation_body="CNAS (fictitious)",
            reference=f"CNAS-GRID-{scheme}",
            valid_from=since,
            valid_until=until,
        )
    rule_from, rule_until = start + timedelta(seconds=40.5), start + timedelta(seconds=50)
    label_rule_version("CN-GD", "PCR-LIB", "9.1", "kWh", rule_from, rule_until)
    principal = authenticate(create_token(role=Role.CERTIFIER, name=BODY, body_code=BODY)[1])

    # Before its key exists the body cannot sign; the key is added on a whole second (a key
    # added within a second would count as active from that second's start).
    key_from = start + timedelta(seconds=10)
    before = _sweep(principal, clock, [key_from - d for d in NEAR if d < timedelta(0)])
    clock.set(key_from)
    add_body_key(BODY, actor=OPERATOR_CONSOLE)
    boundaries = (key_from, acc_from, acc_until, rule_from, rule_until)
    issued = _sweep(
        principal, clock, [b + d for b in boundaries for d in NEAR if b + d >= key_from]
    )
    assert before == 0
    assert issued > 0

    retired = start + timedelta(seconds=70.4)
    issued = _sweep(principal, clock, [retired - d for d in NEAR if d > timedelta(0)])
    assert issued > 0
    clock.set(retired)
    (key,) = _keys(get_body(BODY))
    retire_body_key(BODY, key.public_key_multibase, actor=OPERATOR_CONSOLE)
    assert _sweep(principal, clock, [retired + d for d in NEAR if d >= timedelta(0)]) == 0

    renewed = start + timedelta(seconds=80)
    clock.set(renewed)
    add_body_key(BODY, actor=OPERATOR_CONSOLE)
    withdrawn = start + timedelta(seconds=90.3)
    assert _sweep(principal, clock, [withdrawn - d for d in NEAR if d > timedelta(0)]) > 0
    clock.set(withdrawn)
    (hk,) = [a for a in get_body(BODY).accreditations if a.scheme.code == "HK"]
    set_accreditation_status(
        hk.id, AccreditationStatus.WITHDRAWN, reason="grid (fictitious)", actor=OPERATOR_CONSOLE
    )
    assert _sweep(principal, clock, [withdrawn + d for d in NEAR if d >= timedelta(0)]) == 0

"""A withdrawn accreditation ends, in the trust bundle, when it was withdrawn.

Labels issued before stay covered; anything signed afterwards in the body's name (a leaked key)
fails the accreditation check offline as well as online.
"""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from registry.auth.services import OPERATOR_CONSOLE
from registry.bodies.models import AccreditationStatus
from registry.bodies.services import get_body, set_accreditation_status
from registry.clock import FixedClock
from registry.ledger.services import format_entry_time
from tests.registry.factories import LABEL_BODY, LabelWorld
from tests.registry.labels.support import issue, label_bundle
from tests.registry.labels.test_verification import check, leaked_key, resigned, verify


def test_withdrawal_cuts_the_period_for_what_is_signed_after_it(
    client: FlaskClient, world: LabelWorld, clock: FixedClock
) -> None:
    label = issue(client, world.certifier)
    (accreditation,) = get_body(LABEL_BODY).accreditations
    set_accreditation_status(
        accreditation.id,
        AccreditationStatus.WITHDRAWN,
        reason="scope audit (fictitious)",
        actor=OPERATOR_CONSOLE,
    )
    cut = accreditation.status_changed_at
    assert cut is not None

    bundle = label_bundle(client, label["id"])
    (exported,) = bundle["bodies"][0]["accreditations"]
    assert exported["validUntil"] == format_entry_time(cut)

    before = verify(client, label["credential"])
    assert check(before, "accreditation")["status"] == "passed"

    # Sign after the cut (proofs state whole seconds; the cut was rounded up).
    clock.set(cut + timedelta(seconds=1))
    forged = resigned(label["credential"], leaked_key())
    after = verify(client, forged)
    assert after["verified"] is False
    assert check(after, "accreditation")["status"] == "failed"

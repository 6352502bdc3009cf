"""The one request shape of every status change: labels, accreditations and bodies.

``{"action": "suspend", "reason": "…"}``, where the action is what the client does
(``suspend``, ``reinstate``, and ``revoke`` for a label or ``withdraw`` for an accreditation or
a body). The earlier shape of accreditations and bodies, the status to reach
(``{"status": "suspended", "reason": "…"}``), is still accepted on every endpoint, since clients
send it; a request naming both is refused rather than guessed at.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from registry.fields import Text

__all__ = ["ALL_TARGETS", "MAX_REASON", "StatusAction", "StatusChangeSchema"]

# The widest reason any resource stores; each resource's schema may take less.
MAX_REASON = 1000


class StatusAction(enum.StrEnum):
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    WITHDRAW = "withdraw"


# Every action and the status it reaches: the document's view of the shape (each resource
# takes its own subset).
ALL_TARGETS: Mapping[StatusAction, str] = {
    StatusAction.SUSPEND: "suspended",
    StatusAction.REINSTATE: "active",
    StatusAction.REVOKE: "revoked",
    StatusAction.WITHDRAW: "withdrawn",
}

_ACTION_DOC = (
    "What to do: suspend, reinstate, and revoke (a label) or withdraw (an accreditation or a "
    "body). Revocation and withdrawal are final. Instead of action, status may name the status "
    "to reach (active, suspended, revoked or withdrawn): the earlier shape, still accepted."
)


class StatusChangeSchema(Schema):
    """A status change: ``action`` (or the earlier ``status``) and ``reason``; loads as
    ``{"action": StatusAction, "reason": str}``.

    ``targets`` maps each action the resource takes to the status it reaches; ``max_reason``
    bounds the reason as the resource stores it.
    """

    TARGETS: ClassVar[Mapping[StatusAction, str]] = ALL_TARGETS

    action = fields.Enum(StatusAction, by_value=True, metadata={"description": _ACTION_DOC})
    status = fields.String(
        metadata={"description": "The status to reach (earlier shape); use action instead."}
    )
    reason = Text(
        MAX_REASON,
        multiline=True,
        required=True,
        metadata={"description": "Why: stored, shown and ledgered with the change."},
    )

    def __init__(
        self,
        *,
        targets: Mapping[StatusAction, str] | None = None,
        max_reason: int = MAX_REASON,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = dict(self.TARGETS if targets is None else targets)
        self.max_reason = max_reason

    @validates_schema
    def _one_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        actions = ", ".join(action.value for action in self.targets)
        statuses = ", ".join(self.targets.values())
        if "action" in data and "status" in data:
            raise ValidationError("Send action or status, not both.", "status")
        if "action" not in data and "status" not in data:
            raise ValidationError(f"Missing data for required field: one of {actions}.", "action")
        if "action" in data and data["action"] not in self.targets:
            raise ValidationError(f"Must be one of: {actions}.", "action")
        if "status" in data and data["status"] not in self.targets.values():
            raise ValidationError(f"Must be one of: {statuses}.", "status")
        if len(data.get("reason", "")) > self.max_reason:
            raise ValidationError(f"At most {self.max_reason} characters.", "reason")

    @post_load
    def _to_action(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        action = data.get("action")
        if action is None:
            action = next(a for a, status in self.targets.items() if status == data["status"])
        return {"action": action, "reason": data["reason"]}

"""The access record names password changes, refused changes and the operator's resets.

The kinds are a checked VARCHAR: PostgreSQL swaps the check in place; SQLite, which cannot
alter a constraint, rebuilds the table (portal_access_events has no trigger to lose).

Revision ID: 426807395343
Revises: e69bba0159de
Create Date: 2026-12-03 09:30:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "426807395343"
down_revision = "e69bba0159de"
branch_labels = None
depends_on = None

OLD = (
    "invited",
    "password-set",
    "signed-in",
    "sign-in-failed",
    "sign-in-limited",
    "locked-out",
    "signed-out",
    "signed-out-everywhere",
    "totp-enrolled",
    "totp-failed",
    "recovery-code-used",
    "role-changed",
    "disabled",
    "token-created",
    "token-revoked",
)
NEW = (*OLD, "password-changed", "password-change-failed", "password-reset")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="accesskind", native_enum=False, create_constraint=True, length=32
    )


def _swap(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    with op.batch_alter_table("portal_access_events", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=_kind(old), type_=_kind(new), existing_nullable=False
        )


def upgrade() -> None:
    _swap(OLD, NEW)


def downgrade() -> None:
    added = ", ".join(f"'{kind}'" for kind in NEW if kind not in OLD)
    # Those lines cannot be kept under the old check; they go with the kinds.
    op.execute(f"DELETE FROM portal_access_events WHERE kind IN ({added})")
    _swap(NEW, OLD)

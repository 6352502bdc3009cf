"""CSV label batches: the job (upload, state, lease, progress) and the labels it issued.

Revision ID: a8181aabd176
Revises: 5e2a9c7d41f3
Create Date: 2026-12-02 17:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a8181aabd176"
down_revision = "5e2a9c7d41f3"
branch_labels = None
depends_on = None

STATES = ("queued", "validating", "issuing", "done", "refused", "failed")


def upgrade() -> None:
    op.create_table(
        "label_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                *STATES, name="batchstate", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_validated", sa.Integer(), nullable=False),
        sa.Column("rows_issued", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_label_batches_body_id_certification_bodies"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_label_batches_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_batches")),
        sa.UniqueConstraint(
            "body_id", "idempotency_key", name=op.f("uq_label_batches_body_id_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_label_batches_body_id"), "label_batches", ["body_id"])
    op.create_index(op.f("ix_label_batches_state"), "label_batches", ["state"])
    op.create_table(
        "label_batch_items",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["label_batches.id"],
            name=op.f("fk_label_batch_items_batch_id_label_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_batch_items_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("batch_id", "row", name=op.f("pk_label_batch_items")),
    )
    op.create_index(op.f("ix_label_batch_items_label_id"), "label_batch_items", ["label_id"])


def downgrade() -> None:
    op.drop_table("label_batch_items")
    op.drop_table("label_batches")

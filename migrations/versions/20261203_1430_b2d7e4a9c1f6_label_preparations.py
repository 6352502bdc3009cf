"""Label preparations: credentials prepared for bodies that sign their labels with their own key.

Revision ID: b2d7e4a9c1f6
Revises: 7c1d5e9a2b4f
Create Date: 2026-12-03 14:30:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2d7e4a9c1f6"
down_revision = "7c1d5e9a2b4f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_preparations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.String(length=10), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("revocation_list_id", sa.String(length=40), nullable=False),
        sa.Column("revocation_index", sa.Integer(), nullable=False),
        sa.Column("suspension_list_id", sa.String(length=40), nullable=False),
        sa.Column("suspension_index", sa.Integer(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_at > prepared_at", name=op.f("ck_label_preparations_expires_after")
        ),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_label_preparations_body_id_certification_bodies"),
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["body_keys.id"], name=op.f("fk_label_preparations_key_id_body_keys")
        ),
        sa.ForeignKeyConstraint(
            ["revocation_list_id"],
            ["status_lists.id"],
            name=op.f("fk_label_preparations_revocation_list_id_status_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["suspension_list_id"],
            ["status_lists.id"],
            name=op.f("fk_label_preparations_suspension_list_id_status_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_preparations")),
        sa.UniqueConstraint("label_id", name=op.f("uq_label_preparations_label_id")),
        sa.UniqueConstraint(
            "revocation_list_id",
            "revocation_index",
            name=op.f("uq_label_preparations_revocation_list_id_revocation_index"),
        ),
        sa.UniqueConstraint(
            "suspension_list_id",
            "suspension_index",
            name=op.f("uq_label_preparations_suspension_list_id_suspension_index"),
        ),
    )
    with op.batch_alter_table("label_preparations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_label_preparations_body_id"), ["body_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("label_preparations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_preparations_body_id"))
    op.drop_table("label_preparations")

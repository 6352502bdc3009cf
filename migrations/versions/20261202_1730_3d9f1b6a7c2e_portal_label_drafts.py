"""Portal label drafts (prepared by one person, issued by a signatory) and per-body settings.

Revision ID: 3d9f1b6a7c2e
Revises: 407260f44914
Create Date: 2026-12-02 17:30:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3d9f1b6a7c2e"
down_revision = "407260f44914"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_label_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "issued",
                name="draftstate",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("label_id", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "(state = 'issued') = (label_id IS NOT NULL)",
            name=op.f("ck_portal_label_drafts_issued_label"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["portal_people.id"],
            name=op.f("fk_portal_label_drafts_author_id_portal_people"),
        ),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_portal_label_drafts_body_id_certification_bodies"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["portal_people.id"],
            name=op.f("fk_portal_label_drafts_issued_by_id_portal_people"),
        ),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_portal_label_drafts_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_label_drafts")),
    )
    with op.batch_alter_table("portal_label_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_label_drafts_body_id"), ["body_id"], unique=False
        )
    op.create_table(
        "portal_issuance_settings",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("two_people", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["certification_bodies.id"],
            name=op.f("fk_portal_issuance_settings_body_id_certification_bodies"),
        ),
        sa.PrimaryKeyConstraint("body_id", name=op.f("pk_portal_issuance_settings")),
    )


def downgrade() -> None:
    op.drop_table("portal_issuance_settings")
    with op.batch_alter_table("portal_label_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_label_drafts_body_id"))
    op.drop_table("portal_label_drafts")

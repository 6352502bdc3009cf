"""Label batches uploaded by a person in the portal: the uploader is a token or a person.

Revision ID: 5b3ece2e7278
Revises: 3d9f1b6a7c2e
Create Date: 2026-12-02 18:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b3ece2e7278"
down_revision = "3d9f1b6a7c2e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.alter_column("token_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_label_batches_person_id_portal_people"),
            "portal_people",
            ["person_id"],
            ["id"],
        )


def downgrade() -> None:
    # A person's batches have no token to fall back to: they go with the column.
    op.execute(
        "DELETE FROM label_batch_items WHERE batch_id IN "
        "(SELECT id FROM label_batches WHERE token_id IS NULL)"
    )
    op.execute("DELETE FROM label_batches WHERE token_id IS NULL")
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_label_batches_person_id_portal_people"), type_="foreignkey"
        )
        batch_op.drop_column("person_id")
        batch_op.alter_column("token_id", existing_type=sa.Integer(), nullable=False)

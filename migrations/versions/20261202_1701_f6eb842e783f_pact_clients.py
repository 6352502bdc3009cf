"""PACT clients and the recorded answers to their footprint requests.

Revision ID: f6eb842e783f
Revises: a8181aabd176
Create Date: 2026-12-02 17:00:00.000000+00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f6eb842e783f"
down_revision = "a8181aabd176"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pact_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "length(secret_hash) = 32", name=op.f("ck_pact_clients_secret_hash_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_pact_clients_client_id")),
    )
    op.create_table(
        "pact_event_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("request_source", sa.String(length=500), nullable=False),
        sa.Column("request_event_id", sa.String(length=200), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["pact_clients.id"],
            name=op.f("fk_pact_event_responses_client_id_pact_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pact_event_responses")),
        sa.UniqueConstraint(
            "client_id",
            "request_source",
            "request_event_id",
            name=op.f("uq_pact_event_responses_client_id_request_source_request_event_id"),
        ),
    )
    with op.batch_alter_table("pact_event_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pact_event_responses_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pact_event_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pact_event_responses_client_id"))
    op.drop_table("pact_event_responses")
    op.drop_table("pact_clients")

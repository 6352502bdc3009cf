"""Suspect-label reports: what readers saw, for the regulators of the label's scheme.

An ordinary table, not a ledger one (no append-only triggers): a report holds personal data
(a contact, a photo) that must be correctable and erasable, and is no fact of the register.

Revision ID: 9e5a1c3b7f42
Revises: 7c3e9a1f5d20
Create Date: 2026-12-02 03:34:27.440524+00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9e5a1c3b7f42'
down_revision = '7c3e9a1f5d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suspect_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.String(length=10), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('not-found', 'details-differ', 'copied-or-altered', 'sold-elsewhere', 'other', name='reportcategory', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('details', sa.String(length=2000), nullable=True),
    sa.Column('seen_at', sa.String(length=300), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('photo_type', sa.Enum('image/jpeg', 'image/png', 'image/webp', name='phototype', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('photo_size', sa.Integer(), nullable=True),
    sa.Column('photo_sha256', sa.LargeBinary(length=32), nullable=True),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.Enum('new', 'seen', name='reportstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(photo IS NULL) = (photo_type IS NULL) AND (photo IS NULL) = (photo_sha256 IS NULL) AND (photo IS NULL) = (photo_size IS NULL)', name=op.f('ck_suspect_reports_photo_complete')),
    sa.CheckConstraint('photo_sha256 IS NULL OR length(photo_sha256) = 32', name=op.f('ck_suspect_reports_photo_digest')),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], name=op.f('fk_suspect_reports_label_id_labels')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_suspect_reports_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspect_reports'))
    )
    with op.batch_alter_table('suspect_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suspect_reports_label_id'), ['label_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suspect_reports_scheme_id'), ['scheme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suspect_reports_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('suspect_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspect_reports_status'))
        batch_op.drop_index(batch_op.f('ix_suspect_reports_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_suspect_reports_label_id'))

    op.drop_table('suspect_reports')

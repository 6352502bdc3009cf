"""Portal people, invitations, sessions, recovery codes and the access record.

Ordinary tables, not ledger ones: access control is no fact of the register. Secrets are kept
only as hashes (the TOTP secret sealed under a key derived from the KEK).

Revision ID: 5e2a9c7d41f3
Revises: d8b3e6f0a4c1
Create Date: 2026-12-02 16:48:47.367943+00:00

"""
import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision = '5e2a9c7d41f3'
down_revision = 'd8b3e6f0a4c1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portal_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.Enum('auditor', 'signatory', 'regulator', 'operator', name='personrole', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=True),
    sa.Column('schemes', sa.JSON(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('totp_secret', sa.LargeBinary(length=80), nullable=True),
    sa.Column('totp_pending', sa.LargeBinary(length=80), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(role IN ('auditor', 'signatory')) = (body_id IS NOT NULL)", name=op.f('ck_portal_people_body_role')),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_portal_people_body_id_certification_bodies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_people')),
    sa.UniqueConstraint('email', name=op.f('uq_portal_people_email'))
    )
    op.create_table('portal_access_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('invited', 'password-set', 'signed-in', 'sign-in-failed', 'sign-in-limited', 'locked-out', 'signed-out', 'signed-out-everywhere', 'totp-enrolled', 'totp-failed', 'recovery-code-used', 'role-changed', 'disabled', 'token-created', 'token-revoked', name='accesskind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['by_person_id'], ['portal_people.id'], name=op.f('fk_portal_access_events_by_person_id_portal_people')),
    sa.ForeignKeyConstraint(['person_id'], ['portal_people.id'], name=op.f('fk_portal_access_events_person_id_portal_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_access_events'))
    )
    with op.batch_alter_table('portal_access_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_access_events_at'), ['at'], unique=False)

    op.create_table('portal_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['portal_people.id'], name=op.f('fk_portal_invitations_person_id_portal_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_invitations')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_portal_invitations_link_hash'))
    )
    op.create_table('portal_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['portal_people.id'], name=op.f('fk_portal_recovery_codes_person_id_portal_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_recovery_codes'))
    )
    with op.batch_alter_table('portal_recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_recovery_codes_person_id'), ['person_id'], unique=False)

    op.create_table('portal_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['portal_people.id'], name=op.f('fk_portal_sessions_person_id_portal_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('id_hash', name=op.f('uq_portal_sessions_id_hash'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_person_id'), ['person_id'], unique=False)



def downgrade():
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_person_id'))

    op.drop_table('portal_sessions')
    with op.batch_alter_table('portal_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_recovery_codes_person_id'))

    op.drop_table('portal_recovery_codes')
    op.drop_table('portal_invitations')
    with op.batch_alter_table('portal_access_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_access_events_at'))

    op.drop_table('portal_access_events')
    op.drop_table('portal_people')

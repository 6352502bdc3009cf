"""Registry tables: schemes, rules, rule versions, bodies, accreditations, keys, tokens, labels.

Rule versions are immutable (UPDATE and DELETE refused by triggers); nothing a label or the
ledger refers to may be deleted.

Revision ID: 49dca8573436
Revises: 32245ef05ddd
Create Date: 2026-12-01 00:41:21.914645+00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '49dca8573436'
down_revision = '32245ef05ddd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certification_bodies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('active', 'suspended', 'withdrawn', name='bodystatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_bodies')),
    sa.UniqueConstraint('code', name=op.f('uq_certification_bodies_code'))
    )
    op.create_table('schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_schemes_code'))
    )
    with op.batch_alter_table('schemes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schemes_region'), ['region'], unique=False)

    op.create_table('accreditations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('accreditation_body', sa.String(length=120), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('active', 'suspended', 'withdrawn', name='accreditationstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_until IS NULL OR valid_until > valid_from', name=op.f('ck_accreditations_period_ordered')),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_accreditations_body_id_certification_bodies')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_accreditations_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accreditations'))
    )
    with op.batch_alter_table('accreditations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accreditations_body_id'), ['body_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('operator', 'certifier', 'regulator', name='role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=True),
    sa.Column('schemes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(role = 'certifier') = (body_id IS NOT NULL)", name=op.f('ck_api_tokens_certifier_has_one_body')),
    sa.CheckConstraint('length(token_hash) = 32', name=op.f('ck_api_tokens_token_hash_length')),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_api_tokens_body_id_certification_bodies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('body_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('public_key_multibase', sa.String(length=64), nullable=False),
    sa.Column('secret_box', sa.LargeBinary(), nullable=True),
    sa.Column('active_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('retired_at IS NULL OR retired_at >= active_from', name=op.f('ck_body_keys_period_ordered')),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_body_keys_body_id_certification_bodies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_body_keys')),
    sa.UniqueConstraint('public_key_multibase', name=op.f('uq_body_keys_public_key_multibase'))
    )
    with op.batch_alter_table('body_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_body_keys_body_id'), ['body_id'], unique=False)

    op.create_table('rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_rules_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rules')),
    sa.UniqueConstraint('scheme_id', 'code', name=op.f('uq_rules_scheme_id_code'))
    )
    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rules_category'), ['category'], unique=False)

    op.create_table('status_lists',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('revocation', 'suspension', name='statuspurpose', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('credential', sa.Text(), nullable=True),
    sa.Column('etag', sa.String(length=80), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_status_lists_body_id_certification_bodies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_body_id'), ['body_id'], unique=False)

    op.create_table('rule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('declared_unit', sa.String(length=32), nullable=False),
    sa.Column('standard', sa.String(length=120), nullable=False),
    sa.Column('in_force_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('in_force_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('threshold_a', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('threshold_b', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('threshold_c', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('threshold_d', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('in_force_until IS NULL OR in_force_until > in_force_from', name=op.f('ck_rule_versions_period_ordered')),
    sa.CheckConstraint('CAST(threshold_a AS REAL) >= 0 AND CAST(threshold_a AS REAL) <= CAST(threshold_b AS REAL) AND CAST(threshold_b AS REAL) <= CAST(threshold_c AS REAL) AND CAST(threshold_c AS REAL) <= CAST(threshold_d AS REAL)', name=op.f('ck_rule_versions_thresholds_ordered')),
    sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], name=op.f('fk_rule_versions_rule_id_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_versions')),
    sa.UniqueConstraint('rule_id', 'version', name=op.f('uq_rule_versions_rule_id_version'))
    )
    op.create_table('labels',
    sa.Column('id', sa.String(length=10), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('rule_version_id', sa.Integer(), nullable=False),
    sa.Column('product_name', sa.String(length=500), nullable=False),
    sa.Column('product_model', sa.String(length=500), nullable=True),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('manufacturer', sa.String(length=500), nullable=False),
    sa.Column('footprint', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('declared_unit_amount', sa.Numeric(precision=30, scale=12).with_variant(sa.String(length=40), "sqlite"), nullable=False),
    sa.Column('system_boundary', sa.String(length=16), nullable=False),
    sa.Column('grade', sa.String(length=1), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('active', 'suspended', 'revoked', 'superseded', name='labelstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_by', sa.String(length=16), nullable=True),
    sa.Column('revocation_list_id', sa.String(length=40), nullable=False),
    sa.Column('revocation_index', sa.Integer(), nullable=False),
    sa.Column('suspension_list_id', sa.String(length=40), nullable=False),
    sa.Column('suspension_index', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.String(length=10), nullable=True),
    sa.Column('superseded_by_id', sa.String(length=10), nullable=True),
    sa.Column('credential', sa.Text(), nullable=False),
    sa.Column('credential_digest', sa.String(length=80), nullable=False),
    sa.Column('ledger_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('identifiers', sa.JSON(), nullable=False),
    sa.CheckConstraint("grade IN ('A', 'B', 'C', 'D', 'E')", name=op.f('ck_labels_grade_letter')),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_labels_validity_ordered')),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_labels_body_id_certification_bodies')),
    sa.ForeignKeyConstraint(['key_id'], ['body_keys.id'], name=op.f('fk_labels_key_id_body_keys')),
    sa.ForeignKeyConstraint(['revocation_list_id'], ['status_lists.id'], name=op.f('fk_labels_revocation_list_id_status_lists')),
    sa.ForeignKeyConstraint(['rule_version_id'], ['rule_versions.id'], name=op.f('fk_labels_rule_version_id_rule_versions')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['labels.id'], name=op.f('fk_labels_superseded_by_id_labels')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['labels.id'], name=op.f('fk_labels_supersedes_id_labels')),
    sa.ForeignKeyConstraint(['suspension_list_id'], ['status_lists.id'], name=op.f('fk_labels_suspension_list_id_status_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('ledger_seq', name=op.f('uq_labels_ledger_seq')),
    sa.UniqueConstraint('revocation_list_id', 'revocation_index', name=op.f('uq_labels_revocation_list_id_revocation_index')),
    sa.UniqueConstraint('superseded_by_id', name=op.f('uq_labels_superseded_by_id')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_labels_supersedes_id')),
    sa.UniqueConstraint('suspension_list_id', 'suspension_index', name=op.f('uq_labels_suspension_list_id_suspension_index'))
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_body_id'), ['body_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_gtin'), ['gtin'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_rule_version_id'), ['rule_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_labels_status'), ['status'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.LargeBinary(), nullable=False),
    sa.Column('label_id', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['body_id'], ['certification_bodies.id'], name=op.f('fk_idempotency_keys_body_id_certification_bodies')),
    sa.ForeignKeyConstraint(['label_id'], ['labels.id'], name=op.f('fk_idempotency_keys_label_id_labels'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('body_id', 'key', name=op.f('pk_idempotency_keys'))
    )


def downgrade():
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_status'))
        batch_op.drop_index(batch_op.f('ix_labels_rule_version_id'))
        batch_op.drop_index(batch_op.f('ix_labels_issued_at'))
        batch_op.drop_index(batch_op.f('ix_labels_gtin'))
        batch_op.drop_index(batch_op.f('ix_labels_body_id'))

    op.drop_table('labels')
    op.drop_table('rule_versions')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_body_id'))

    op.drop_table('status_lists')
    with op.batch_alter_table('rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rules_category'))

    op.drop_table('rules')
    with op.batch_alter_table('body_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_body_keys_body_id'))

    op.drop_table('body_keys')
    op.drop_table('api_tokens')
    with op.batch_alter_table('accreditations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accreditations_body_id'))

    op.drop_table('accreditations')
    with op.batch_alter_table('schemes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schemes_region'))

    op.drop_table('schemes')
    op.drop_table('certification_bodies')

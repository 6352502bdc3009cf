"""Backfill ledger_entry_scopes for the entries appended before it existed (plain SQL).

The scheme is the one the entry states (``scheme``, ``targetScheme``, a mapping's target), or
for a label's or an accreditation's status change, that of the label or accreditation.

Revision ID: d8b3e6f0a4c1
Revises: c5f1a7e3d2b8
Create Date: 2026-12-02 14:01:00.000000+00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d8b3e6f0a4c1"
down_revision = "c5f1a7e3d2b8"
branch_labels = None
depends_on = None

_SQLITE = """
INSERT INTO ledger_entry_scopes (seq, scheme, body, label, accreditation)
SELECT e.seq,
       COALESCE(
           json_extract(e.j, '$.scheme'),
           json_extract(e.j, '$.targetScheme'),
           json_extract(e.j, '$.mapping.target.scheme'),
           (SELECT s.code FROM labels l
              JOIN rule_versions rv ON rv.id = l.rule_version_id
              JOIN rules r ON r.id = rv.rule_id
              JOIN schemes s ON s.id = r.scheme_id
             WHERE e.event LIKE 'label.%' AND l.id = json_extract(e.j, '$.label')),
           (SELECT s.code FROM accreditations a JOIN schemes s ON s.id = a.scheme_id
             WHERE e.event LIKE 'accreditation.%'
               AND a.id = json_extract(e.j, '$.accreditation'))),
       json_extract(e.j, '$.body'),
       CASE WHEN e.event LIKE 'label.%' THEN json_extract(e.j, '$.label') END,
       CASE WHEN e.event LIKE 'accreditation.%' THEN json_extract(e.j, '$.accreditation') END
  FROM (SELECT seq, event, CAST(body AS TEXT) AS j FROM ledger_entries) AS e
 WHERE e.seq NOT IN (SELECT seq FROM ledger_entry_scopes)
"""

_POSTGRESQL = """
INSERT INTO ledger_entry_scopes (seq, scheme, body, label, accreditation)
SELECT e.seq,
       COALESCE(
           e.j ->> 'scheme',
           e.j ->> 'targetScheme',
           CASE WHEN jsonb_typeof(e.j -> 'mapping') = 'object'
                THEN e.j -> 'mapping' -> 'target' ->> 'scheme' END,
           (SELECT s.code FROM labels l
              JOIN rule_versions rv ON rv.id = l.rule_version_id
              JOIN rules r ON r.id = rv.rule_id
              JOIN schemes s ON s.id = r.scheme_id
             WHERE e.event LIKE 'label.%' AND l.id = e.j ->> 'label'),
           (SELECT s.code FROM accreditations a JOIN schemes s ON s.id = a.scheme_id
             WHERE e.event LIKE 'accreditation.%'
               AND a.id = (e.j ->> 'accreditation')::integer)),
       e.j ->> 'body',
       CASE WHEN e.event LIKE 'label.%' THEN e.j ->> 'label' END,
       CASE WHEN e.event LIKE 'accreditation.%' THEN (e.j ->> 'accreditation')::integer END
  FROM (SELECT seq, event, convert_from(body, 'UTF8')::jsonb AS j FROM ledger_entries) AS e
 WHERE NOT EXISTS (SELECT 1 FROM ledger_entry_scopes x WHERE x.seq = e.seq)
"""


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    op.execute(_POSTGRESQL if postgres else _SQLITE)


def downgrade() -> None:
    # The rows go with the table (the previous revision's downgrade); none to remove here.
    pass

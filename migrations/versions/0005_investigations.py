"""investigations: cases, suppressions, one audit log, alert outcomes, the supervisor role

Cases gather alerts, patterns and addresses under a narrative; an alert belongs to at most
one open case (partial unique index on case_alerts.alert_id where active). Suppressions
keep an (address, rule) pair out of alerts and the flagged set until they expire. Every
change of keys, tokens, watchlists, suppressions, cases and configuration reloads is an
audit_events row. Alerts record the outcome they closed with. Keys may hold the new role
`supervisor` (between investigator and admin), which approves case closes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 03:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
OUTCOMES = "'reported', 'false_positive', 'inconclusive'"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_constraint(op.f('ck_api_keys_role'), type_='check')
        batch.create_check_constraint(
            'role', "role IN ('viewer', 'investigator', 'supervisor', 'admin')")
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch.create_check_constraint('outcome', f"outcome IS NULL OR outcome IN ({OUTCOMES})")
    op.create_table('audit_events',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=128), nullable=False),
    sa.Column('before', JSON, nullable=True),
    sa.Column('after', JSON, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_object', 'audit_events', ['object_type', 'object_id', 'id'], unique=False)
    op.create_table('cases',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('proposed_outcome', sa.String(length=16), nullable=True),
    sa.Column('proposed_by', sa.String(length=128), nullable=True),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'investigating', 'pending_approval', 'closed')", name=op.f('ck_cases_status')),
    sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_cases_priority')),
    sa.CheckConstraint(f"outcome IS NULL OR outcome IN ({OUTCOMES})", name=op.f('ck_cases_outcome')),
    sa.CheckConstraint(f"proposed_outcome IS NULL OR proposed_outcome IN ({OUTCOMES})", name=op.f('ck_cases_proposed_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    op.create_index('ix_cases_status', 'cases', ['status', 'id'], unique=False)
    op.create_table('case_alerts',
    sa.Column('case_id', BIGINT_ID, nullable=False),
    sa.Column('alert_id', BIGINT_ID, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_case_alerts_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_alerts_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'alert_id', name=op.f('pk_case_alerts'))
    )
    op.create_index('uq_case_alerts_open', 'case_alerts', ['alert_id'], unique=True,
                    postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
    op.create_table('case_patterns',
    sa.Column('case_id', BIGINT_ID, nullable=False),
    sa.Column('pattern_id', BIGINT_ID, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_patterns_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pattern_id'], ['patterns.id'], name=op.f('fk_case_patterns_pattern_id_patterns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'pattern_id', name=op.f('pk_case_patterns'))
    )
    op.create_table('case_addresses',
    sa.Column('case_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_addresses_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'address', name=op.f('pk_case_addresses'))
    )
    op.create_table('case_notes',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('case_id', BIGINT_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    op.create_index(op.f('ix_case_notes_case_id'), 'case_notes', ['case_id'], unique=False)
    op.create_table('suppressions',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.Column('token_id', BIGINT_ID, nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_suppressions_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions'))
    )
    op.create_index('ix_suppressions_address', 'suppressions', ['address'], unique=False)
    op.create_index('ix_suppressions_until', 'suppressions', ['until'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_suppressions_until', table_name='suppressions')
    op.drop_index('ix_suppressions_address', table_name='suppressions')
    op.drop_table('suppressions')
    op.drop_index(op.f('ix_case_notes_case_id'), table_name='case_notes')
    op.drop_table('case_notes')
    op.drop_table('case_addresses')
    op.drop_table('case_patterns')
    op.drop_index('uq_case_alerts_open', table_name='case_alerts')
    op.drop_table('case_alerts')
    op.drop_index('ix_cases_status', table_name='cases')
    op.drop_table('cases')
    op.drop_index('ix_audit_events_object', table_name='audit_events')
    op.drop_table('audit_events')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_constraint(op.f('ck_alerts_outcome'), type_='check')
        batch.drop_column('outcome')
    op.execute("DELETE FROM api_keys WHERE role = 'supervisor'")
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_constraint(op.f('ck_api_keys_role'), type_='check')
        batch.create_check_constraint('role', "role IN ('viewer', 'investigator', 'admin')")

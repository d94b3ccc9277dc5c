"""initial schema: registry, ingest, transfers, scoring, alerts, watchlists, API keys

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 03:28:31.162072

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Types frozen here rather than imported from models/, so this revision keeps meaning
# what it meant when it was written. uint256 amounts: NUMERIC(78,0) on Postgres, zero-padded
# 78-digit text on SQLite (whose NUMERIC affinity would round them through REAL).
UINT256 = sa.Numeric(78, 0).with_variant(sa.String(78), "sqlite")
BIGINT_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('api_keys',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('viewer', 'investigator', 'admin')", name=op.f('ck_api_keys_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('name', name=op.f('uq_api_keys_name')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    op.create_table('chains',
    sa.Column('chain_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_chains'))
    )
    op.create_table('watchlists',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlists')),
    sa.UniqueConstraint('name', name=op.f('uq_watchlists_name'))
    )
    op.create_table('blocks',
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=66), nullable=False),
    sa.Column('parent_hash', sa.String(length=66), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.chain_id'], name=op.f('fk_blocks_chain_id_chains')),
    sa.PrimaryKeyConstraint('chain_id', 'number', name=op.f('pk_blocks'))
    )
    op.create_table('ingest_cursors',
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.chain_id'], name=op.f('fk_ingest_cursors_chain_id_chains')),
    sa.PrimaryKeyConstraint('chain_id', name=op.f('pk_ingest_cursors'))
    )
    op.create_table('tokens',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('symbol', sa.String(length=32), nullable=True),
    sa.Column('decimals', sa.Integer(), nullable=False),
    sa.Column('standard', sa.String(length=16), nullable=False),
    sa.Column('start_block', sa.BigInteger(), nullable=False),
    sa.Column('synced_block', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("standard IN ('erc20', 'erc1155', 'erc3643')", name=op.f('ck_tokens_standard')),
    sa.CheckConstraint('decimals >= 0 AND decimals <= 77', name=op.f('ck_tokens_decimals')),
    sa.CheckConstraint('start_block >= 0', name=op.f('ck_tokens_start_block')),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.chain_id'], name=op.f('fk_tokens_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('chain_id', 'address', name=op.f('uq_tokens_chain_id_address'))
    )
    op.create_index(op.f('ix_tokens_chain_id'), 'tokens', ['chain_id'], unique=False)
    op.create_table('watchlist_entries',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('watchlist_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('program', sa.Text(), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.ForeignKeyConstraint(['watchlist_id'], ['watchlists.id'], name=op.f('fk_watchlist_entries_watchlist_id_watchlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_entries')),
    sa.UniqueConstraint('watchlist_id', 'address', name=op.f('uq_watchlist_entries_watchlist_id_address'))
    )
    op.create_index(op.f('ix_watchlist_entries_address'), 'watchlist_entries', ['address'], unique=False)
    op.create_table('watchlist_imports',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('watchlist_id', BIGINT_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('added', JSON, nullable=False),
    sa.Column('removed', JSON, nullable=False),
    sa.ForeignKeyConstraint(['watchlist_id'], ['watchlists.id'], name=op.f('fk_watchlist_imports_watchlist_id_watchlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_imports'))
    )
    op.create_index(op.f('ix_watchlist_imports_watchlist_id'), 'watchlist_imports', ['watchlist_id'], unique=False)
    op.create_table('compliance_events',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=42), nullable=True),
    sa.Column('amount', UINT256, nullable=True),
    sa.Column('args', JSON, nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.chain_id'], name=op.f('fk_compliance_events_chain_id_chains')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_compliance_events_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_events')),
    sa.UniqueConstraint('chain_id', 'tx_hash', 'log_index', name=op.f('uq_compliance_events_chain_id_tx_hash_log_index'))
    )
    op.create_index('ix_compliance_events_subject', 'compliance_events', ['chain_id', 'subject', 'block_number'], unique=False)
    op.create_index('ix_compliance_events_token_block', 'compliance_events', ['token_id', 'block_number'], unique=False)
    op.create_table('dirty_addresses',
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_dirty_addresses_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'address', name=op.f('pk_dirty_addresses'))
    )
    op.create_table('score_runs',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('addresses_scored', sa.Integer(), nullable=False),
    sa.Column('up_to_block', sa.BigInteger(), nullable=True),
    sa.Column('model', JSON, nullable=False),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_score_runs_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_runs'))
    )
    # No surrogate id and no foreign keys: per-row index and trigger work halved ingest's
    # COPY throughput (bench/ingest.py); only ingest writes here, with ids it just read.
    op.create_table('transfers',
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('sub_index', sa.Integer(), nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_address', sa.String(length=42), nullable=False),
    sa.Column('to_address', sa.String(length=42), nullable=False),
    sa.Column('amount', UINT256, nullable=False),
    sa.Column('item_id', UINT256, nullable=True),
    sa.Column('operator', sa.String(length=42), nullable=True),
    sa.PrimaryKeyConstraint('chain_id', 'tx_hash', 'log_index', 'sub_index', name=op.f('pk_transfers'))
    )
    op.create_index('ix_transfers_from_time', 'transfers', ['chain_id', 'from_address', 'block_time'], unique=False)
    op.create_index('ix_transfers_to_time', 'transfers', ['chain_id', 'to_address', 'block_time'], unique=False)
    op.create_index('ix_transfers_token_block', 'transfers', ['token_id', 'block_number'], unique=False)
    op.create_table('address_scores',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('score_run_id', BIGINT_ID, nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('anomaly_score', sa.Float(), nullable=True),
    sa.Column('reasons', JSON, nullable=False),
    sa.Column('features', JSON, nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_count', sa.Integer(), nullable=False),
    sa.Column('out_count', sa.Integer(), nullable=False),
    sa.Column('in_value', UINT256, nullable=False),
    sa.Column('out_value', UINT256, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['score_run_id'], ['score_runs.id'], name=op.f('fk_address_scores_score_run_id_score_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_address_scores_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_scores')),
    sa.UniqueConstraint('score_run_id', 'token_id', 'address', name=op.f('uq_address_scores_score_run_id_token_id_address'))
    )
    op.create_index('ix_address_scores_latest', 'address_scores', ['token_id', 'address', 'score_run_id'], unique=False)
    op.create_index('ix_address_scores_risk', 'address_scores', ['token_id', 'risk_score'], unique=False)
    op.create_table('alerts',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('evidence', JSON, nullable=False),
    sa.Column('score_history', JSON, nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('score_run_id', BIGINT_ID, nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_alerts_severity')),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'escalated', 'dismissed', 'reported', 'retracted')", name=op.f('ck_alerts_status')),
    sa.ForeignKeyConstraint(['score_run_id'], ['score_runs.id'], name=op.f('fk_alerts_score_run_id_score_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_alerts_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    op.create_index('ix_alerts_status_severity', 'alerts', ['status', 'severity'], unique=False)
    op.create_index('ix_alerts_updated', 'alerts', ['updated_at'], unique=False)
    op.create_index('uq_alerts_active', 'alerts', ['token_id', 'address', 'rule'], unique=True, postgresql_where=sa.text("status NOT IN ('dismissed', 'reported', 'retracted')"), sqlite_where=sa.text("status NOT IN ('dismissed', 'reported', 'retracted')"))
    op.create_table('alert_events',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('alert_id', BIGINT_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_events_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events'))
    )
    op.create_index(op.f('ix_alert_events_alert_id'), 'alert_events', ['alert_id'], unique=False)
    op.create_table('notifications',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('alert_id', BIGINT_ID, nullable=True),
    sa.Column('sink', sa.String(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_notifications_alert_id_alerts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_due', 'notifications', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_notifications_due', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_alert_events_alert_id'), table_name='alert_events')
    op.drop_table('alert_events')
    op.drop_index('uq_alerts_active', table_name='alerts', postgresql_where=sa.text("status NOT IN ('dismissed', 'reported', 'retracted')"), sqlite_where=sa.text("status NOT IN ('dismissed', 'reported', 'retracted')"))
    op.drop_index('ix_alerts_updated', table_name='alerts')
    op.drop_index('ix_alerts_status_severity', table_name='alerts')
    op.drop_table('alerts')
    op.drop_index('ix_address_scores_risk', table_name='address_scores')
    op.drop_index('ix_address_scores_latest', table_name='address_scores')
    op.drop_table('address_scores')
    op.drop_index('ix_transfers_token_block', table_name='transfers')
    op.drop_index('ix_transfers_to_time', table_name='transfers')
    op.drop_index('ix_transfers_from_time', table_name='transfers')
    op.drop_table('transfers')
    op.drop_table('score_runs')
    op.drop_table('dirty_addresses')
    op.drop_index('ix_compliance_events_token_block', table_name='compliance_events')
    op.drop_index('ix_compliance_events_subject', table_name='compliance_events')
    op.drop_table('compliance_events')
    op.drop_index(op.f('ix_watchlist_imports_watchlist_id'), table_name='watchlist_imports')
    op.drop_table('watchlist_imports')
    op.drop_index(op.f('ix_watchlist_entries_address'), table_name='watchlist_entries')
    op.drop_table('watchlist_entries')
    op.drop_index(op.f('ix_tokens_chain_id'), table_name='tokens')
    op.drop_table('tokens')
    op.drop_table('ingest_cursors')
    op.drop_table('blocks')
    op.drop_table('watchlists')
    op.drop_table('chains')
    op.drop_table('api_keys')

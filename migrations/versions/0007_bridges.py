"""bridges: registered bridge contracts, their protocol events, and linked bridge transfers

`bridges` holds a bridge contract per chain (LayerZero OFT, Wormhole NTT manager, CCTP
v1/v2) with the protocol's own endpoint id of that chain. `bridge_events` holds each
decoded send or receipt, keyed by its place on its chain like transfers (a reorg deletes
it). `bridge_transfers` links a message's source side to its destination side by the
protocol's key: pending, linked, or unmatched after bridge_unmatched_after_seconds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 13:14:15.827962

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
UINT256 = sa.Numeric(78, 0).with_variant(sa.String(78), "sqlite")
ADDRESS = sa.String(length=42).with_variant(sa.String(length=42, collation='C'), 'postgresql')
MESSAGE_ID = sa.String(length=80).with_variant(sa.String(length=80, collation='C'), 'postgresql')


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('bridge_transfers',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('message_id', MESSAGE_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source_chain_id', sa.BigInteger(), nullable=True),
    sa.Column('source_token_id', BIGINT_ID, nullable=True),
    sa.Column('source_block', sa.BigInteger(), nullable=True),
    sa.Column('source_log_index', sa.Integer(), nullable=True),
    sa.Column('source_tx_hash', sa.String(length=66), nullable=True),
    sa.Column('sender', ADDRESS, nullable=True),
    sa.Column('destination_chain_id', sa.BigInteger(), nullable=True),
    sa.Column('destination_token_id', BIGINT_ID, nullable=True),
    sa.Column('destination_block', sa.BigInteger(), nullable=True),
    sa.Column('destination_log_index', sa.Integer(), nullable=True),
    sa.Column('destination_tx_hash', sa.String(length=66), nullable=True),
    sa.Column('recipient', ADDRESS, nullable=True),
    sa.Column('amount_sent', UINT256, nullable=True),
    sa.Column('amount_received', UINT256, nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unmatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'linked', 'unmatched')", name=op.f('ck_bridge_transfers_status')),
    sa.ForeignKeyConstraint(['destination_token_id'], ['tokens.id'], name=op.f('fk_bridge_transfers_destination_token_id_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_token_id'], ['tokens.id'], name=op.f('fk_bridge_transfers_source_token_id_tokens'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bridge_transfers')),
    sa.UniqueConstraint('protocol', 'message_id', name=op.f('uq_bridge_transfers_protocol_message_id'))
    )
    op.create_index('ix_bridge_transfers_recipient', 'bridge_transfers', ['recipient'], unique=False)
    op.create_index('ix_bridge_transfers_sender', 'bridge_transfers', ['sender'], unique=False)
    op.create_index('ix_bridge_transfers_status', 'bridge_transfers', ['status'], unique=False)
    op.create_table('bridges',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('endpoint_id', sa.BigInteger(), nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=True),
    sa.Column('start_block', sa.BigInteger(), nullable=False),
    sa.Column('synced_block', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("protocol IN ('layerzero-oft', 'wormhole-ntt', 'cctp-v1', 'cctp-v2')", name=op.f('ck_bridges_protocol')),
    sa.CheckConstraint('start_block >= 0', name=op.f('ck_bridges_start_block')),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.chain_id'], name=op.f('fk_bridges_chain_id_chains')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_bridges_token_id_tokens'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bridges')),
    sa.UniqueConstraint('chain_id', 'address', name=op.f('uq_bridges_chain_id_address'))
    )
    op.create_index(op.f('ix_bridges_chain_id'), 'bridges', ['chain_id'], unique=False)
    op.create_table('bridge_events',
    sa.Column('chain_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('block_number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('log_index', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('bridge_id', BIGINT_ID, nullable=False),
    sa.Column('protocol', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('message_id', MESSAGE_ID, nullable=False),
    sa.Column('peer_endpoint_id', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('block_hash', sa.String(length=66), nullable=False),
    sa.Column('block_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', ADDRESS, nullable=True),
    sa.Column('counterparty', ADDRESS, nullable=True),
    sa.Column('amount', UINT256, nullable=True),
    sa.Column('amount_received', UINT256, nullable=True),
    sa.CheckConstraint("side IN ('source', 'destination')", name=op.f('ck_bridge_events_side')),
    sa.ForeignKeyConstraint(['bridge_id'], ['bridges.id'], name=op.f('fk_bridge_events_bridge_id_bridges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chain_id', 'block_number', 'log_index', name=op.f('pk_bridge_events'))
    )
    op.create_index('ix_bridge_events_bridge_block', 'bridge_events', ['bridge_id', 'block_number'], unique=False)
    op.create_index('ix_bridge_events_message', 'bridge_events', ['protocol', 'message_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_bridge_events_message', table_name='bridge_events')
    op.drop_index('ix_bridge_events_bridge_block', table_name='bridge_events')
    op.drop_table('bridge_events')
    op.drop_index(op.f('ix_bridges_chain_id'), table_name='bridges')
    op.drop_table('bridges')
    op.drop_index('ix_bridge_transfers_status', table_name='bridge_transfers')
    op.drop_index('ix_bridge_transfers_sender', table_name='bridge_transfers')
    op.drop_index('ix_bridge_transfers_recipient', table_name='bridge_transfers')
    op.drop_table('bridge_transfers')

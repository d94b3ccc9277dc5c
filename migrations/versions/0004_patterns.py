"""patterns: laundering networks with their members, roles and transfers

Graph typologies (fan-in, fan-out, scatter-gather, gather-scatter, cycle, peel chain,
pass-through chain, split transfers, mint-then-dispersal) are stored as patterns, so
every member of a network is reported with it, not only its hub. A pattern's transfers
are named by the transfers' key (block, log, sub_index) within its token.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 02:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UINT256 = sa.Numeric(78, 0).with_variant(sa.String(78), "sqlite")
BIGINT_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('patterns',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('typology', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('anchor', sa.String(length=42), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('transfer_count', sa.Integer(), nullable=False),
    sa.Column('total_value', UINT256, nullable=False),
    sa.Column('first_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_block', sa.BigInteger(), nullable=False),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('first_run_id', BIGINT_ID, nullable=True),
    sa.Column('last_run_id', BIGINT_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_run_id'], ['score_runs.id'], name=op.f('fk_patterns_first_run_id_score_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['last_run_id'], ['score_runs.id'], name=op.f('fk_patterns_last_run_id_score_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_patterns_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patterns')),
    sa.UniqueConstraint('token_id', 'key', name=op.f('uq_patterns_token_id_key'))
    )
    op.create_index('ix_patterns_token_typology', 'patterns', ['token_id', 'typology', 'status'], unique=False)
    op.create_table('pattern_members',
    sa.Column('pattern_id', BIGINT_ID, nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pattern_id'], ['patterns.id'], name=op.f('fk_pattern_members_pattern_id_patterns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pattern_id', 'address', name=op.f('pk_pattern_members'))
    )
    op.create_index('ix_pattern_members_address', 'pattern_members', ['address'], unique=False)
    op.create_table('pattern_transfers',
    sa.Column('pattern_id', BIGINT_ID, nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('sub_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pattern_id'], ['patterns.id'], name=op.f('fk_pattern_transfers_pattern_id_patterns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pattern_id', 'block_number', 'log_index', 'sub_index', name=op.f('pk_pattern_transfers'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('pattern_transfers')
    op.drop_index('ix_pattern_members_address', table_name='pattern_members')
    op.drop_table('pattern_members')
    op.drop_index('ix_patterns_token_typology', table_name='patterns')
    op.drop_table('patterns')

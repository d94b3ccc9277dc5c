"""labels and rankers: what investigators know about addresses, and models trained on it

`labels` holds one source's word (laundering or legitimate) on an address: an imported
file's rows (its source name), or a closed alert's or case's outcome (`alert:ID`,
`case:ID`). `ranker_models` holds each token's trained rankers, versioned: at most one
`current` per token (partial unique index), the others `retired` or `rejected`, each
with its metrics, feature list, training set and fitted artifact.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('labels',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('address', sa.String(length=42), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=True),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("label IN ('laundering', 'legitimate')", name=op.f('ck_labels_label')),
    sa.CheckConstraint('confidence >= 0 AND confidence <= 1', name=op.f('ck_labels_confidence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('source', 'address', 'chain_id', name=op.f('uq_labels_source_address_chain_id'))
    )
    op.create_index('ix_labels_address', 'labels', ['address'], unique=False)
    op.create_table('ranker_models',
    sa.Column('id', BIGINT_ID, nullable=False),
    sa.Column('token_id', BIGINT_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pr_auc', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('metrics', JSON, nullable=False),
    sa.Column('features', JSON, nullable=False),
    sa.Column('params', JSON, nullable=False),
    sa.Column('training_set', JSON, nullable=False),
    sa.Column('labels_digest', sa.String(length=64), nullable=False),
    sa.Column('artifact', sa.LargeBinary(), nullable=False),
    sa.Column('artifact_format', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('current', 'retired', 'rejected')", name=op.f('ck_ranker_models_status')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_ranker_models_token_id_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranker_models'))
    )
    op.create_index('ix_ranker_models_token', 'ranker_models', ['token_id', 'id'], unique=False)
    op.create_index('uq_ranker_models_current', 'ranker_models', ['token_id'], unique=True,
                    postgresql_where=sa.text("status = 'current'"),
                    sqlite_where=sa.text("status = 'current'"))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('uq_ranker_models_current', table_name='ranker_models')
    op.drop_index('ix_ranker_models_token', table_name='ranker_models')
    op.drop_table('ranker_models')
    op.drop_index('ix_labels_address', table_name='labels')
    op.drop_table('labels')

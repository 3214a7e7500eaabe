"""tools: every tool call of a turn, and on a conversation its verified customer and the change
waiting for the customer's yes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'tool_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('turn_id', sa.Integer(), nullable=False),
        sa.Column('tool', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('arguments', sa.Text(), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('latency_ms', sa.Float(), nullable=False),
        sa.Column('response_bytes', sa.Integer(), nullable=False),
        sa.Column('confirmation', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['turn_id'], ['turns.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_tool_calls_turn_id'), 'tool_calls', ['turn_id'], unique=False)
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('verified_customer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch.add_column(sa.Column('verify_failures', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('pending_action', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('pending_action')
        batch.drop_column('verify_failures')
        batch.drop_column('verified_customer')
    op.drop_index(op.f('ix_tool_calls_turn_id'), table_name='tool_calls')
    op.drop_table('tool_calls')

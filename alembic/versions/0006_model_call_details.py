"""model call details: time to first token, error class, cached and reasoning tokens, deployment, retry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:58:29.782281
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ttft_ms', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('error_class', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        # Rows written before this revision get zeros, not NULLs.
        batch_op.add_column(sa.Column('cached_tokens', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cache_write_tokens', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reasoning_tokens', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deployment', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('retry', sa.Integer(), nullable=False, server_default='0'))
    # Earlier failures were classified in `outcome` already.
    op.execute("UPDATE model_calls SET error_class = outcome WHERE outcome <> 'ok'")


def downgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.drop_column('retry')
        batch_op.drop_column('deployment')
        batch_op.drop_column('reasoning_tokens')
        batch_op.drop_column('cache_write_tokens')
        batch_op.drop_column('cached_tokens')
        batch_op.drop_column('error_class')
        batch_op.drop_column('ttft_ms')

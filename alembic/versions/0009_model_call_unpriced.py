"""model call cost may be unknown: NULL for a model with no known price, not 0

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 07:30:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.alter_column('cost_usd', existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # An unknown cost cannot be told apart from a free call once it is 0 again.
    op.execute("UPDATE model_calls SET cost_usd = 0 WHERE cost_usd IS NULL")
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.alter_column('cost_usd', existing_type=sa.Float(), nullable=False)

"""opt-out events: SMS STOP, START and HELP messages, per phone number

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 16:02:24.566889
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('opt_out_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('provider_message_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_message_id')
    )
    with op.batch_alter_table('opt_out_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opt_out_events_address'), ['address'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opt_out_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opt_out_events_address'))
    op.drop_table('opt_out_events')

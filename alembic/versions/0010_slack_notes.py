"""slack notes: one note per Slack message that could not be taken, whatever Slack retries

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('slack_notes',
    sa.Column('message_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_key')
    )
    with op.batch_alter_table('slack_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_notes_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('slack_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_notes_created_at'))
    op.drop_table('slack_notes')

"""slack: staff links and staff-channel threads; slack_sdk's OAuth installation and state tables

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:00:55.691465

The slack_installations, slack_bots and slack_oauth_states tables are the ones slack_sdk's
SQLAlchemy installation and state stores read and write (their default names and columns,
slack_sdk 3.47); they are made here so the schema has one author.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('slack_staff_links',
    sa.Column('slack_user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('slack_user_id')
    )
    with op.batch_alter_table('slack_staff_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_staff_links_staff_id'), ['staff_id'], unique=False)

    op.create_table('slack_staff_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('shown', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('last_message_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel_id', 'ts', name='uq_slack_staff_thread_ts'),
    sa.UniqueConstraint('escalation_id')
    )
    with op.batch_alter_table('slack_staff_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_staff_threads_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_slack_staff_threads_done'), ['done'], unique=False)

    # slack_sdk.oauth.installation_store.sqlalchemy
    op.create_table('slack_installations',
    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column('client_id', sa.String(32), nullable=False),
    sa.Column('app_id', sa.String(32), nullable=False),
    sa.Column('enterprise_id', sa.String(32)),
    sa.Column('enterprise_name', sa.String(200)),
    sa.Column('enterprise_url', sa.String(200)),
    sa.Column('team_id', sa.String(32)),
    sa.Column('team_name', sa.String(200)),
    sa.Column('bot_token', sa.String(200)),
    sa.Column('bot_id', sa.String(32)),
    sa.Column('bot_user_id', sa.String(32)),
    sa.Column('bot_scopes', sa.String(1000)),
    sa.Column('bot_refresh_token', sa.String(200)),
    sa.Column('bot_token_expires_at', sa.DateTime()),
    sa.Column('user_id', sa.String(32), nullable=False),
    sa.Column('user_token', sa.String(200)),
    sa.Column('user_scopes', sa.String(1000)),
    sa.Column('user_refresh_token', sa.String(200)),
    sa.Column('user_token_expires_at', sa.DateTime()),
    sa.Column('incoming_webhook_url', sa.String(200)),
    sa.Column('incoming_webhook_channel', sa.String(200)),
    sa.Column('incoming_webhook_channel_id', sa.String(200)),
    sa.Column('incoming_webhook_configuration_url', sa.String(200)),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('token_type', sa.String(32)),
    sa.Column('installed_at', sa.DateTime(), nullable=False),
    )
    op.create_index('slack_installations_idx', 'slack_installations',
                    ['client_id', 'enterprise_id', 'team_id', 'user_id', 'installed_at'])
    op.create_table('slack_bots',
    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column('client_id', sa.String(32), nullable=False),
    sa.Column('app_id', sa.String(32), nullable=False),
    sa.Column('enterprise_id', sa.String(32)),
    sa.Column('enterprise_name', sa.String(200)),
    sa.Column('team_id', sa.String(32)),
    sa.Column('team_name', sa.String(200)),
    sa.Column('bot_token', sa.String(200)),
    sa.Column('bot_id', sa.String(32)),
    sa.Column('bot_user_id', sa.String(32)),
    sa.Column('bot_scopes', sa.String(1000)),
    sa.Column('bot_refresh_token', sa.String(200)),
    sa.Column('bot_token_expires_at', sa.DateTime()),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('installed_at', sa.DateTime(), nullable=False),
    )
    op.create_index('slack_bots_idx', 'slack_bots', ['client_id', 'enterprise_id', 'team_id', 'installed_at'])
    # slack_sdk.oauth.state_store.sqlalchemy
    op.create_table('slack_oauth_states',
    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column('state', sa.String(200), nullable=False),
    sa.Column('expire_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('slack_oauth_states')
    op.drop_index('slack_bots_idx', table_name='slack_bots')
    op.drop_table('slack_bots')
    op.drop_index('slack_installations_idx', table_name='slack_installations')
    op.drop_table('slack_installations')
    with op.batch_alter_table('slack_staff_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_staff_threads_done'))
        batch_op.drop_index(batch_op.f('ix_slack_staff_threads_conversation_id'))

    op.drop_table('slack_staff_threads')
    with op.batch_alter_table('slack_staff_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_staff_links_staff_id'))

    op.drop_table('slack_staff_links')

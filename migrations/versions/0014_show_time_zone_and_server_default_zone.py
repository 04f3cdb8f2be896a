"""a show's time zone; a server's default zone for new shows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 02:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Shows created before this migration had their times typed in a zone nobody recorded: they read UTC.
    with op.batch_alter_table('shows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    with op.batch_alter_table('guild_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_timezone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('guild_settings', schema=None) as batch_op:
        batch_op.drop_column('default_timezone')
    with op.batch_alter_table('shows', schema=None) as batch_op:
        batch_op.drop_column('timezone')

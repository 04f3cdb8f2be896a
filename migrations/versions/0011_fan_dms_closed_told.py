"""fans: whether a fan was told their DMs are closed

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 02:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dms_closed_told', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('fans', schema=None) as batch_op:
        batch_op.drop_column('dms_closed_told')

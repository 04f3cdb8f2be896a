"""fans: whether a fan was told their DMs are closed

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 02:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fans", sa.Column("dms_closed_told", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("fans", "dms_closed_told")

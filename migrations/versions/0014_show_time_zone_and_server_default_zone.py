"""a show's time zone; a server's default zone for new shows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Shows created before this migration had their times typed in a zone nobody recorded: they read UTC.
    # Plain ADD/DROP COLUMN (SQLite >= 3.35 has both): a batch copy of `shows` would drop a table
    # other tables' foreign keys point at, which SQLite refuses with foreign keys on.
    op.add_column("shows", sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))
    op.add_column("guild_settings", sa.Column("default_timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("guild_settings", "default_timezone")
    op.drop_column("shows", "timezone")

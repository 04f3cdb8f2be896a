"""guild_settings: the server's preferred locale (the DM language of fans never seen)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 02:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, as in 0014: no batch copy of a table other tables point at.
    op.add_column("guild_settings", sa.Column("locale", sa.String(length=10), nullable=True))


def downgrade() -> None:
    op.drop_column("guild_settings", "locale")

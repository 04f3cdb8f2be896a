"""organizer rights: explicit grants and revocation

Organizers registered before this migration count as not granted: from now on they need a server
admin's rights or the server's organizer role at each command, or an admin's /organizer grant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 02:00:00
"""

import sqlalchemy as sa
from alembic import op

import domain.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite >= 3.35 has both): a batch copy of `organizers` would drop a table
    # other tables' foreign keys point at, which SQLite refuses with foreign keys on.
    op.add_column("organizers", sa.Column("granted", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("organizers", sa.Column("revoked_at", domain.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("organizers", "revoked_at")
    op.drop_column("organizers", "granted")

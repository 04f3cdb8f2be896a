"""a show's cancellation deadline and refund fee steps

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"  # rechained onto 0015 (guild_settings.locale) when main was merged into dmlocale
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New shows get the default deadline (24 hours before the start). Fans who already hold tickets
    # bought them under "cancel until the start, full refund": existing shows keep exactly that (0).
    # Plain ADD/DROP COLUMN: a batch copy of `shows` would drop a table other tables point at.
    op.add_column("shows", sa.Column("cancel_deadline_hours", sa.Integer(), server_default="24", nullable=False))
    op.add_column("shows", sa.Column("refund_fees", sa.JSON(), nullable=True))
    op.execute("UPDATE shows SET cancel_deadline_hours = 0")


def downgrade() -> None:
    op.drop_column("shows", "refund_fees")
    op.drop_column("shows", "cancel_deadline_hours")

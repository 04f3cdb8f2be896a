"""around the show: holder reminder hours, show changes, the server's scheduled event, the on-sale's activity

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import domain.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD/DROP COLUMN: a batch copy of `shows` would drop a table other tables point at.
    op.add_column("shows", sa.Column("holder_reminder_hours", sa.JSON(), nullable=True))
    op.create_table(
        "show_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("show_id", BigId, nullable=False),
        sa.Column("what", sa.JSON(), nullable=False),
        sa.Column("material", sa.Boolean(), nullable=False),
        sa.Column("told", sa.Integer(), nullable=False),
        sa.Column("created_at", domain.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_show_changes_show", "show_changes", ["show_id"], unique=False)
    op.create_table(
        "show_events",
        sa.Column("show_id", BigId, autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("refused_at", domain.models.UTCDateTime(), nullable=True),
        sa.Column("updated_at", domain.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
        ),
        sa.PrimaryKeyConstraint("show_id"),
    )
    op.create_table(
        "onsale_activity",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("show_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fan_discord_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=60), nullable=True),
        sa.Column("at", domain.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_onsale_activity_show", "onsale_activity", ["show_id", "kind", "at"], unique=False)


def downgrade() -> None:
    # Each table goes with its indexes (MariaDB refuses to drop an index a foreign key still uses).
    op.drop_table("onsale_activity")
    op.drop_table("show_events")
    op.drop_table("show_changes")
    op.drop_column("shows", "holder_reminder_hours")

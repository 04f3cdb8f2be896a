"""queue places written through from Redis, for rebuilding a lost queue

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import domain.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_places",
        sa.Column("show_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fan_discord_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("admitted_until", domain.models.UTCDateTime(), nullable=True),
        sa.Column("joined_at", domain.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
        ),
        sa.PrimaryKeyConstraint("show_id", "fan_discord_id"),
    )


def downgrade() -> None:
    op.drop_table("queue_places")

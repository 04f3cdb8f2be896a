"""alerts for a big artist: outbox priorities, fan-outs written in batches, remembered DM channels,
opt-in alert roles

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import domain.models

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN and index changes (no batch copy of `outbox`). Rows queued before read 0: sent first.
    op.add_column("outbox", sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False))
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "priority", "next_attempt_at", "id"], unique=False)
    op.create_table(
        "fan_outs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("show_id", BigId, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_prefix", sa.String(length=120), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("exclude_role_ids", sa.JSON(), nullable=True),
        sa.Column("source_index", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("created_at", domain.models.UTCDateTime(), nullable=False),
        sa.Column("done_at", domain.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", name="uq_fan_out_key"),
    )
    op.create_index("ix_fan_outs_pending", "fan_outs", ["status", "id"], unique=False)
    op.create_table(
        "dm_channels",
        sa.Column("user_discord_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", domain.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_discord_id"),
    )
    op.create_table(
        "alert_roles",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", domain.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("guild_id", "kind", "key", name="uq_alert_role"),
    )
    op.create_index("ix_alert_roles_role", "alert_roles", ["role_id"], unique=False)
    op.create_table(
        "alert_role_members",
        sa.Column("role_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fan_discord_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", domain.models.UTCDateTime(), nullable=False),
        sa.Column("left_at", domain.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("role_id", "fan_discord_id"),
    )
    op.create_index("ix_alert_role_members_fan", "alert_role_members", ["fan_discord_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alert_role_members_fan", table_name="alert_role_members")
    op.drop_table("alert_role_members")
    op.drop_index("ix_alert_roles_role", table_name="alert_roles")
    op.drop_table("alert_roles")
    op.drop_table("dm_channels")
    op.drop_index("ix_fan_outs_pending", table_name="fan_outs")
    op.drop_table("fan_outs")
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "next_attempt_at", "id"], unique=False)
    op.drop_column("outbox", "priority")

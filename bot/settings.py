"""Settings from the environment or a ``.env`` file.

With nothing set, Picket runs on the embedded default: a SQLite file under ``var/`` and fakeredis in
process, so a newcomer needs no server at all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.store import default_sqlite_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(default=None, description="SQLAlchemy async URL; default: SQLite file in var/")
    database_read_url: str | None = Field(
        default=None,
        description="a read replica of DATABASE_URL for reads that may lag (/shows, seat maps, sales charts); default: the primary",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db, or redis+cluster://host:port for a Redis Cluster; default: fakeredis in process",
    )
    discord_token: str | None = None
    var_dir: Path = Path("var")
    signing_key_path: Path | None = Field(default=None, description="default: <var_dir>/keys")
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9108, description="/metrics and /healthz; 0 picks a free port; -1 turns them off")
    database_pool_size: int = 10
    # Several processes share one MariaDB and one Redis: give each the same SHARD_COUNT and its own
    # SHARD_IDS (e.g. "[0,1]" and "[2,3]"), and its own INSTANCE_ID.
    shard_count: int | None = None
    shard_ids: list[int] | None = None
    instance_id: str | None = Field(
        default=None,
        description="stable name of this process (e.g. shard-0); a restart finishes the DMs its previous run had claimed at once, instead of after the claim lapses",
    )
    # Discord pacing for DMs: the global limit is ~50 requests/s per bot (all processes together:
    # DM_GLOBAL_RATE is shared through Redis); a DM channel takes ~5 messages / 5 s.
    dm_global_rate: float = 45.0
    dm_channel_rate: float = 1.0
    dm_channel_burst: float = 1.0
    # Off only under SimCord (tests, demo): its settlement cannot follow dozens of concurrent short
    # pacing sleeps during one actor operation. Pacing itself is tested by draining from test code
    # and measured in bench/alerts.py.
    dm_pacing_enabled: bool = True
    outbox_poll_seconds: float = 1.0
    # APScheduler runs holds / reminders / refunds every tick and the digest on Mondays. Off under
    # SimCord (tests, demo): its triggers follow the wall clock, not SimCord's virtual time.
    scheduler_enabled: bool = True
    scheduler_tick_seconds: float = 30.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_sqlite_url(self.var_dir)

    @property
    def resolved_signing_key_path(self) -> Path:
        return self.signing_key_path or (self.var_dir / "keys")

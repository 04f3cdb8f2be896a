"""Alembic migrations for Picket's schema (MariaDB and SQLite).

``upgrade(engine)`` is what ``picket db upgrade`` and the test suite call: the schema in every
environment is the one the migrations build, never ``metadata.create_all``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    cfg = alembic_config()

    def run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    cfg = alembic_config()

    def run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def rebuild(engine: AsyncEngine) -> None:
    """Drop every table in the database, then upgrade: a blank schema for the test suite and the
    benchmarks, which run against a scratch database (never point this at real data)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        if conn.dialect.name in ("mysql", "mariadb"):
            await conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for name in (await conn.execute(text("SHOW TABLES"))).scalars().all():
                await conn.execute(text(f"DROP TABLE IF EXISTS `{name}`"))
            await conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            names = (
                (
                    await conn.execute(
                        text("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
                    )
                )
                .scalars()
                .all()
            )
            await conn.execute(text("PRAGMA foreign_keys=OFF"))
            for name in names:
                await conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    await upgrade(engine)

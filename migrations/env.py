"""Alembic environment. Runs on a connection handed over by ``migrations.upgrade`` or, from the
alembic CLI, on an async engine built from ``sqlalchemy.url`` / ``DATABASE_URL``."""

from __future__ import annotations

import asyncio
import os

from alembic import context

from domain.models import Base
from domain.store import default_sqlite_url, make_engine

target_metadata = Base.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or default_sqlite_url()
    engine = make_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_configure_and_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_online())

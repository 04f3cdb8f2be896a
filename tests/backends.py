"""Which store and Redis the suite runs on.

``PICKET_TEST_DATABASE_URL`` / ``PICKET_TEST_REDIS_URL`` select MariaDB and a real Redis; unset, the
suite runs on the embedded default (a SQLite file in a temp folder, fakeredis). Separate variables from
the app's own ``DATABASE_URL``: the suite wipes its database, so it must never pick up a real one.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from domain.models import Base
from domain.store import make_engine

DATABASE_URL = os.environ.get("PICKET_TEST_DATABASE_URL") or ""
REDIS_URL = os.environ.get("PICKET_TEST_REDIS_URL") or None
_tmp = None


def database_url() -> str:
    global _tmp, DATABASE_URL
    if not DATABASE_URL:
        _tmp = tempfile.mkdtemp(prefix="picket-test-")
        DATABASE_URL = f"sqlite+aiosqlite:///{Path(_tmp) / 'picket.sqlite3'}"
    return DATABASE_URL


def describe() -> str:
    db = database_url()
    db_name = "sqlite (embedded)" if db.startswith("sqlite") else db.split("://")[0] + "@" + db.split("@")[-1]
    redis_name = REDIS_URL or "fakeredis (embedded)"
    return f"picket backend: db={db_name} redis={redis_name}"


async def _rebuild_schema(url: str) -> None:
    from migrations import rebuild

    engine = make_engine(url)
    await rebuild(engine)
    await engine.dispose()


def rebuild_schema() -> None:
    asyncio.run(_rebuild_schema(database_url()))


async def wipe(engine) -> None:
    """Empty every table (children first) so each test starts from nothing."""
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())


async def flush_redis() -> None:
    """Empty the real Redis the suite uses (fakeredis starts empty with every bot)."""
    if REDIS_URL:
        from domain.redis_client import make_redis

        client = make_redis(REDIS_URL)
        await client.flushdb()
        await client.aclose()

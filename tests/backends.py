"""Which store and Redis the suite runs on.

``PICKET_TEST_DATABASE_URL`` / ``PICKET_TEST_REDIS_URL`` select MariaDB and a real Redis; unset, the
suite runs on the embedded default (a SQLite file in a temp folder, fakeredis). Separate variables from
the app's own ``DATABASE_URL``: the suite wipes its database, so it must never pick up a real one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from domain.models import Base
from domain.store import make_engine

DATABASE_URL = os.environ.get("PICKET_TEST_DATABASE_URL") or ""
REDIS_URL = os.environ.get("PICKET_TEST_REDIS_URL") or None
_tmp = None
log = logging.getLogger("picket.tests")


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


async def close_store(store, *, wait: float = 30.0) -> None:
    """Dispose of a test's store once nothing the test started still runs. A task the bot started
    and nobody awaited is waited for (then cancelled, and its cancellation awaited) first: closing the
    loop under a task in an embedded SQLite transaction would leave that transaction open in
    aiosqlite's thread, and the file locked for every later test ("database is locked")."""
    me = asyncio.current_task()
    left = {t for t in asyncio.all_tasks() if t is not me and not t.done()}
    if left:
        log.warning(
            "tasks still running after the test: %s", sorted(t.get_name() + " " + repr(t.get_coro()) for t in left)
        )
        _, pending = await asyncio.wait(left, timeout=wait)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    await store.dispose()

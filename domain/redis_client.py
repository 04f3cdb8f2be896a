"""Redis connection: a real server when ``REDIS_URL`` is set, fakeredis in process otherwise."""

from __future__ import annotations

import redis.asyncio as aioredis


def make_redis(url: str | None, *, max_connections: int = 100) -> aioredis.Redis:
    """A client whose pool makes callers wait for a free connection rather than fail: redis-py's
    default pool raises "Too many connections" past 100 (redis-py 8), which an on-sale's burst of
    joins reaches at once."""
    if url:
        pool = aioredis.BlockingConnectionPool.from_url(url, decode_responses=True, max_connections=max_connections, timeout=10)
        return aioredis.Redis(connection_pool=pool)
    import fakeredis  # embedded default: no server needed

    return fakeredis.FakeAsyncRedis(decode_responses=True)

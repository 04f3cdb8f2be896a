"""Redis connection: a real server when ``REDIS_URL`` is set, fakeredis in process otherwise."""

from __future__ import annotations

import redis.asyncio as aioredis


def make_redis(url: str | None) -> aioredis.Redis:
    if url:
        return aioredis.Redis.from_url(url, decode_responses=True)
    import fakeredis  # embedded default: no server needed

    return fakeredis.FakeAsyncRedis(decode_responses=True)

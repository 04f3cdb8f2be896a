"""Redis connection: a real server when ``REDIS_URL`` is set, fakeredis in process otherwise.

``REDIS_URL`` chooses the client by its scheme:

- ``redis://host:6379/0`` (or ``rediss://``): one Redis server;
- ``redis+cluster://host:7000`` (or ``rediss+cluster://``): a Redis Cluster, reached through any of its
  nodes (the client learns the others). Every key of one show shares a hash tag (domain/queue.py),
  so shows spread over the nodes. A cluster has only database 0.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, TypeGuard, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

_inside: ContextVar[bool] = ContextVar("picket_redis_cluster_inside", default=False)


class WaitingRedisCluster(RedisCluster):
    """A cluster client whose callers wait for a free connection rather than fail. redis-py's cluster
    client raises MaxConnectionsError when a node's pool is used up, which an on-sale's burst of joins
    (all on one show, so one node) reaches at once; this gate keeps at most ``max_connections``
    commands in flight, so no node's pool can run out. A command the client splits into several (a
    multi-slot DEL, SCAN over the nodes) runs its parts inside the caller's place in the gate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Semaphore(kwargs.get("max_connections", 100))

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return await super().execute_command(*args, **kwargs)
        async with self._gate:
            token = _inside.set(True)
            try:
                return await super().execute_command(*args, **kwargs)
            finally:
                _inside.reset(token)


def is_cluster_url(url: str | None) -> TypeGuard[str]:
    return bool(url and url.split("://", 1)[0] in CLUSTER_SCHEMES)


def make_redis(url: str | None, *, max_connections: int = 100) -> aioredis.Redis:
    """A client whose pool makes callers wait for a free connection rather than fail: redis-py's
    default pool raises "Too many connections" past 100 (redis-py 8), which an on-sale's burst of
    joins reaches at once."""
    if is_cluster_url(url):
        scheme, rest = url.split("://", 1)
        cluster = WaitingRedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme]}://{rest}", decode_responses=True, max_connections=max_connections
        )
        # Not a Redis subclass, but it answers every command Picket sends (each on one slot: hash tags).
        return cast(aioredis.Redis, cluster)
    if url:
        pool = aioredis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections, timeout=10
        )
        return aioredis.Redis(connection_pool=pool)
    import fakeredis  # embedded default: no server needed

    return fakeredis.FakeAsyncRedis(decode_responses=True)

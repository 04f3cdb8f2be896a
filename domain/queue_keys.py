"""The Redis layout of the on-sale queue: every key of one show under its hash tag (one Redis Cluster
slot per show), the two show indexes in a slot of their own, and the small scripts both the queue
(domain/queue.py) and its database copy (domain/queue_places.py) use."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

# The show indexes: one slot of their own ({shows}), never touched by a per-show script.
ACTIVE_SHOWS = "pq:{shows}:active"  # show ids whose line is not empty
KNOWN_SHOWS = "pq:{shows}:known"  # show ids with any queue state in Redis (deleted when the show ends)


def show_keys(show_id: int) -> dict[str, str]:
    base = f"pq:{{{show_id}}}"  # the hash tag: all of a show's keys in one cluster slot
    return {
        "line": f"{base}:line",
        "seq": f"{base}:seq",
        "ever": f"{base}:ever",
        "admitted": f"{base}:admitted",
        "admit_seq": f"{base}:admit_seq",
        "clock": f"{base}:clock",
        "turns": f"{base}:turns",  # fan -> end of their turn, on the Redis server's clock (seconds)
        # fan -> end of their choosing time (the bot's clock), for fans let in who hold no seat yet:
        # admission lets no more of them choose at once than there are seats they could take (the
        # live-turns cap, domain/queue.py)
        "choosing": f"{base}:choosing",
        "restoring": f"{base}:restored",
        "epoch": f"{base}:epoch",  # set once this show's line is known complete (restored, or nothing to restore)
    }


class Script:
    """A Lua script called by its SHA1 (EVALSHA: the server does not parse it again, and the request
    does not carry it), loaded on a server the first time that server answers that it does not know
    it (NOSCRIPT: a new or restarted server, a cluster node; on a cluster SCRIPT LOAD reaches every
    primary). What redis-py's ``register_script`` does, without binding the script to one client:
    one object per process serves every client (the tests make one per test)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, redis: Redis, keys: Sequence[str], args: Sequence[Any] = ()) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await redis.script_load(self.source)
            return await redis.evalsha(self.sha, len(keys), *keys, *args)


# The Redis server's clock in seconds, for the end of a fan's turn (as a key's TTL would count it).
NOW = "local t = redis.call('TIME')\nlocal server_now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

# The show indexes (one slot): list a show, or forget it.
LIST = Script("""
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
""")

UNLIST = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""


async def list_show(redis: Redis, show_id: int) -> None:
    """The show has a line: the admission tick visits it, and the cleanup knows it."""
    await LIST(redis, (ACTIVE_SHOWS, KNOWN_SHOWS), (show_id,))

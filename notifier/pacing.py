"""Picket's own pacing of outgoing Discord requests.

Discord allows about 50 requests per second per bot (all its shards and processes together) and
smaller per-route buckets (a DM channel takes about 5 messages per 5 seconds). Picket paces itself
below those limits rather than leaning on 429s: a global bucket and one bucket per channel.

Discord counts requests per second in a sliding window, so the global bucket is built to hold that
bound, not an average: a request is granted at the moment it leaves (never for a slot reserved
earlier), and only if the grants of the last second (stretched by :data:`SAFETY`) number fewer than
``limit``: a log of the last ``limit`` grants says so exactly. Within that bound, grants are spread
evenly by GCRA at the same rate, with a tolerance of :data:`CATCH_UP` (at least ``burst - 1``
intervals): a sender that was held up (a busy box, a slow database round trip) catches up on what it
missed instead of losing it, and the log still keeps every one-second window at or under ``limit``.
So the whole budget is used (``limit / (1 + SAFETY)`` requests a second when it is the limit) and
never overrun, whether the senders are on time or were held up.

The global bucket is shared by every process of the bot when the pacer is given Redis: one Lua script
takes a slot atomically on the Redis server's clock (and runs on fakeredis for the embedded default).
Without Redis it lives in the process. A 429 pauses the bucket it names for ``retry_after`` seconds
(or every bucket, and every process, when Discord says it is global).

When the budget is the limit, order matters: within a process, the next free slot goes to the most
urgent request waiting (a ticket before an on-sale reminder, a reminder before a new-show alert, an
alert before a digest: domain/outbox.py PRIORITIES), first come first served among equals. A
request's priority is given to :meth:`Pacer.acquire`, or set for a whole send with
:func:`sending_priority` (the transport's extra requests, opening a DM channel, inherit it).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from redis.asyncio import Redis

log = logging.getLogger("picket.notifier")

# Grants are spaced as if the limit held over 1.02 s instead of 1 s: a request arrives a little after
# its grant (the Redis reply, discord.py's own work, the network), and arrivals that lag their grants
# unevenly by up to 20 ms still never put ``limit + 1`` requests into one second. Costs 2 % of the rate.
SAFETY = 0.02
# A grant from the shared bucket is stamped with the Redis server's time; if its answer takes longer
# than this to come back, the request would leave that much later than its stamp: the grant is given
# back and asked for again. Together with SAFETY this keeps arrivals, not only grants, in bound.
GRANT_VALIDITY = 0.010
# ...but never more than this many times in a row: on a box so busy that every answer comes back late,
# giving back for ever would send nothing at all. After that the late grant is used (a window may then
# hold one request too many, which discord.py's own 429 handling absorbs); sending wins over precision.
MAX_GIVE_BACKS = 3
# How far behind its even spacing a held-up sender may catch up at once (the log above still bounds
# every window): long enough for a scheduling hiccup of a loaded box, short enough not to burst.
CATCH_UP = 0.08

# The priority of the requests a task makes now (0 goes first; see domain/outbox.py PRIORITIES).
_priority: ContextVar[int] = ContextVar("picket_pacing_priority", default=0)


@contextmanager
def sending_priority(priority: int) -> Iterator[None]:
    """Every pacing slot this task asks for inside the block waits with ``priority``."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class TokenBucket:
    """A rate limit as GCRA (the "virtual scheduling" form of a token bucket), in one process.

    :meth:`reserve` hands out send times synchronously (used for per-channel buckets, where a late
    send only spreads that channel's messages out). :meth:`take` grants a request only at the time it
    is asked for, and tells how long to wait otherwise (used for the global bucket)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]):
        self.interval = 1.0 / rate
        self.tolerance = (max(1.0, burst) - 1.0) * self.interval
        self.clock = clock
        self.tat = 0.0  # theoretical arrival time of the next conforming request
        self.paused_until = 0.0

    def reserve(self, at: float) -> float:
        """Take the first slot at or after ``at``; returns that slot's time."""
        at = max(at, self.paused_until)
        tat = max(self.tat, at)
        slot = max(at, tat - self.tolerance)
        self.tat = tat + self.interval
        return slot

    def take(self, now: float) -> float:
        """Take a slot at ``now`` if one is free (returns 0), else return how long to wait."""
        if now < self.paused_until:
            return self.paused_until - now
        tat = max(self.tat, now)
        if tat - self.tolerance > now:
            return tat - self.tolerance - now
        self.tat = tat + self.interval
        return 0.0


def window_rate(limit: float, burst: float = 1.0) -> float:
    """The rate the global budget is paced at: ``limit`` requests in every ``1 + SAFETY`` seconds."""
    if limit < 1:
        raise ValueError(f"a global limit of {limit} per second lets nothing through")
    return limit / (1.0 + SAFETY)


def _tolerance(limit: float, burst: float) -> float:
    """GCRA's tolerance in seconds: :data:`CATCH_UP`, or ``burst - 1`` intervals if that is longer."""
    return max(CATCH_UP, (max(1.0, burst) - 1.0) / window_rate(limit))


class LocalBucket:
    """The global budget of a single process (no Redis given): at most ``limit`` in any second."""

    def __init__(self, limit: float, burst: float, clock: Callable[[], float]):
        rate = window_rate(limit)
        self.bucket = TokenBucket(rate, 1.0 + _tolerance(limit, burst) * rate, clock)
        self.clock = clock
        self.window = 1.0 + SAFETY
        self.grants: deque[float] = deque(maxlen=int(limit))

    async def take(self) -> float:
        now = self.clock()
        if len(self.grants) == self.grants.maxlen and now - self.grants[0] < self.window:
            return max(self.window - (now - self.grants[0]), 1e-6, self.bucket.paused_until - now)
        wait = self.bucket.take(now)
        if wait <= 0:
            self.grants.append(now)
        return wait

    def pause(self, seconds: float) -> None:
        self.bucket.paused_until = max(self.bucket.paused_until, self.clock() + seconds)


# On the Redis server's clock, in microseconds. KEYS[1]: GCRA's theoretical arrival time; KEYS[2]:
# the log of the last ``limit`` grants, newest first. ARGV: interval, tolerance, pause (µs; pause > 0
# holds every grant back that long from now), limit, window (µs).
# Returns minus the grant's time when a slot was taken, else the µs to wait before asking again (> 0).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local pause = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if pause > 0 and tat < now + pause + tolerance then
  tat = now + pause + tolerance
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
end
if tat - tolerance > now then
  return math.max(1, math.ceil(tat - tolerance - now))
end
if redis.call('LLEN', KEYS[2]) >= limit then
  local oldest = tonumber(redis.call('LINDEX', KEYS[2], limit - 1))
  if oldest and now - oldest < window then
    return math.max(1, math.ceil(window - (now - oldest)))
  end
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
redis.call('LPUSH', KEYS[2], string.format('%.0f', now))
redis.call('LTRIM', KEYS[2], 0, limit - 1)
redis.call('PEXPIRE', KEYS[2], math.floor(window / 1000) + 1000)
return -now
"""

# A grant whose answer reached the process too late to be sent on time is given back: its entry
# leaves the log (KEYS[1]); ARGV[1] is the grant's time as _TAKE returned it.
_GIVE_BACK = """
return redis.call('LREM', KEYS[1], 1, string.format('%.0f', tonumber(ARGV[1])))
"""


class RedisBucket:
    """The global budget shared by every process of the bot: one Redis key, taken by one Lua script
    (atomic on Redis, so two processes never take the same slot), on the Redis server's clock (the
    processes' own clocks need not agree)."""

    def __init__(self, redis: Redis, limit: float, burst: float, *, key: str = "picket:pace:global"):
        self.redis = redis
        self.key = key
        self.interval_us = 1_000_000.0 / window_rate(limit)
        self.tolerance_us = _tolerance(limit, burst) * 1_000_000.0
        self.limit = int(limit)
        self.window_us = (1.0 + SAFETY) * 1_000_000.0
        self._pause_us = 0.0
        self._late_in_a_row = 0

    async def take(self) -> float:
        pause, self._pause_us = self._pause_us, 0.0
        asked = time.monotonic()
        try:
            answer = int(
                await self.redis.eval(
                    _TAKE,
                    2,
                    self.key,
                    f"{self.key}:log",
                    int(self.interval_us),
                    int(self.tolerance_us),
                    int(pause),
                    self.limit,
                    int(self.window_us),
                )
            )
        except BaseException:
            self._pause_us = max(self._pause_us, pause)  # not applied: carry it to the next take
            raise
        if answer > 0:
            return answer / 1_000_000
        if time.monotonic() - asked > GRANT_VALIDITY and self._late_in_a_row < MAX_GIVE_BACKS:
            # Granted at Redis's "now", but the answer came back late (a busy box): sent now, the
            # request would land later than the log says, maybe inside a full second. Given back;
            # the caller asks again at once (a few times at most: see MAX_GIVE_BACKS).
            self._late_in_a_row += 1
            await self.redis.eval(_GIVE_BACK, 1, f"{self.key}:log", -answer)
            return 1e-6
        self._late_in_a_row = 0
        return 0.0

    def pause(self, seconds: float) -> None:
        """Applied to the shared key with the next take, so every process holds back."""
        self._pause_us = max(self._pause_us, seconds * 1_000_000)


class Pacer:
    """Awaits a free slot before each request. ``enabled=False`` lets everything through at once
    (used by the benchmark to measure Picket's own throughput). ``global_rate`` is a hard limit: no
    one-second window holds more requests. With ``redis``, that budget is shared by every process
    using the same Redis."""

    def __init__(
        self,
        *,
        global_rate: float = 50.0,
        channel_rate: float = 1.0,
        channel_burst: float = 1.0,
        global_burst: float = 3.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        max_channels: int = 10_000,
        redis: Redis | None = None,
        redis_key: str = "picket:pace:global",
    ):
        self.enabled = enabled
        self.clock = clock
        self.global_rate = global_rate
        if redis is not None:
            self.global_bucket: LocalBucket | RedisBucket = RedisBucket(redis, global_rate, global_burst, key=redis_key)
        else:
            self.global_bucket = LocalBucket(global_rate, global_burst, clock)
        self.channel_rate = channel_rate
        self.channel_burst = channel_burst
        self.channels: OrderedDict[object, TokenBucket] = OrderedDict()
        self.max_channels = max_channels
        self.global_burst = global_burst
        # One waiter at a time asks the global bucket (the turn); the others wait in priority order.
        self._turn_taken = False
        self._waiting: list[tuple[int, int, asyncio.Future]] = []
        self._arrivals = itertools.count()

    @property
    def requests_per_second(self) -> float:
        """The rate the global bucket grants requests at when it is the limit (a little under
        ``global_rate``: see :func:`window_rate`)."""
        return window_rate(self.global_rate)

    def _channel(self, key: object) -> TokenBucket:
        bucket = self.channels.get(key)
        if bucket is None:
            bucket = self.channels[key] = TokenBucket(self.channel_rate, self.channel_burst, self.clock)
            if len(self.channels) > self.max_channels:
                self.channels.popitem(last=False)
        else:
            self.channels.move_to_end(key)
        return bucket

    async def acquire(self, channel_key: object, *, priority: int | None = None) -> None:
        """Returns when the request may leave: the caller sends at once, with no await in between.
        ``priority`` (default: :func:`sending_priority`'s) orders it among the requests waiting."""
        if not self.enabled:
            return
        now = self.clock()
        slot = self._channel(channel_key).reserve(now)
        if slot > now:
            await asyncio.sleep(slot - now)
        await self.acquire_global(priority)

    async def acquire_global(self, priority: int | None = None) -> None:
        """A slot of the global budget only, for a request on no paced channel (opening a DM)."""
        if not self.enabled:
            return
        # One waiter per process asks the global bucket at a time; the others queue here, most
        # urgent first, rather than all waking for the same free slot.
        await self._take_turn(_priority.get() if priority is None else priority)
        try:
            while True:
                try:
                    wait = await self.global_bucket.take()
                except Exception:  # Redis did not answer: hold back (never send unpaced), ask again
                    log.warning("shared DM pacing bucket unavailable; retrying in 1 s", exc_info=True)
                    wait = 1.0
                if wait <= 0:
                    return
                await asyncio.sleep(wait)
        finally:
            self._pass_turn()

    async def _take_turn(self, priority: int) -> None:
        if not self._turn_taken and not self._waiting:
            self._turn_taken = True
            return
        turn = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the turn just as we were cancelled
                self._pass_turn()
            raise

    def _pass_turn(self) -> None:
        """The turn goes to the most urgent waiter still waiting (cancelled ones are skipped)."""
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self._turn_taken = False

    def pause(self, seconds: float, channel_key: object | None = None, *, is_global: bool = False) -> None:
        if is_global or channel_key is None:
            self.global_bucket.pause(seconds)
            return
        bucket = self._channel(channel_key)
        bucket.paused_until = max(bucket.paused_until, self.clock() + seconds)

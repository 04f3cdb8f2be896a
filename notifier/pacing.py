"""Picket's own pacing of outgoing Discord requests.

Discord allows about 50 requests per second per bot and smaller per-route buckets (a DM channel takes
about 5 messages per 5 seconds). Picket paces itself below those limits rather than leaning on 429s:
a global token bucket and one bucket per channel. The buckets hold little burst (3 tokens globally,
1 per channel): sends are spread evenly, so no one-second window sees more than the rate plus three,
where a bucket as deep as its rate would let twice the rate through in its first second. A 429 pauses
the bucket it names for ``retry_after`` seconds (or every bucket when Discord says it is global).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    """A rate limit as GCRA (the "virtual scheduling" form of a token bucket).

    :meth:`reserve` hands out send times synchronously: each caller learns at once how long to wait
    and sleeps once, so concurrent senders need no lock and no polling loop, and the slots they get
    are spaced exactly ``1/rate`` apart after a burst of ``burst``.
    """

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


class Pacer:
    """Awaits a free slot before each request. ``enabled=False`` lets everything through at once
    (used by the benchmark to measure Picket's own throughput)."""

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
    ):
        self.enabled = enabled
        self.clock = clock
        self.global_bucket = TokenBucket(global_rate, global_burst, clock)
        self.channel_rate = channel_rate
        self.channel_burst = channel_burst
        self.channels: OrderedDict[object, TokenBucket] = OrderedDict()
        self.max_channels = max_channels

    def _channel(self, key: object) -> TokenBucket:
        bucket = self.channels.get(key)
        if bucket is None:
            bucket = self.channels[key] = TokenBucket(self.channel_rate, self.channel_burst, self.clock)
            if len(self.channels) > self.max_channels:
                self.channels.popitem(last=False)
        else:
            self.channels.move_to_end(key)
        return bucket

    async def acquire(self, channel_key: object) -> None:
        if not self.enabled:
            return
        now = self.clock()
        slot = self.global_bucket.reserve(self._channel(channel_key).reserve(now))
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float, channel_key: object | None = None, *, is_global: bool = False) -> None:
        until = self.clock() + seconds
        bucket = self.global_bucket if is_global or channel_key is None else self._channel(channel_key)
        bucket.paused_until = max(bucket.paused_until, until)

"""Picket's own pacing of outgoing Discord requests.

Discord allows about 50 requests per second per bot and smaller per-route buckets (a DM channel takes
about 5 messages per 5 seconds). Picket paces itself below those limits rather than leaning on 429s:
a global token bucket and one bucket per channel. A 429 pauses the bucket it names for
``retry_after`` seconds (or every bucket when Discord says the limit is global).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float]):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.clock = clock
        self.updated = clock()
        self.paused_until = 0.0

    def delay(self) -> float:
        """Seconds until a token is free (0 when one is free now); takes the token when free."""
        now = self.clock()
        if now < self.paused_until:
            return self.paused_until - now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Pacer:
    """Awaits a free slot before each request. ``enabled=False`` lets everything through at once
    (used by the benchmark to measure Picket's own throughput)."""

    def __init__(
        self,
        *,
        global_rate: float = 50.0,
        channel_rate: float = 1.0,
        channel_burst: float = 5.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        max_channels: int = 10_000,
    ):
        self.enabled = enabled
        self.clock = clock
        self.global_bucket = TokenBucket(global_rate, max(1.0, global_rate), clock)
        self.channel_rate = channel_rate
        self.channel_burst = channel_burst
        self.channels: OrderedDict[object, TokenBucket] = OrderedDict()
        self.max_channels = max_channels
        self._lock = asyncio.Lock()

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
        channel = self._channel(channel_key)
        while (wait := channel.delay()) > 0:
            await asyncio.sleep(wait)
        async with self._lock:  # one waiter at a time keeps the global rate exact under contention
            while (wait := self.global_bucket.delay()) > 0:
                await asyncio.sleep(wait)

    def pause(self, seconds: float, channel_key: object | None = None, *, is_global: bool = False) -> None:
        until = self.clock() + seconds
        bucket = self.global_bucket if is_global or channel_key is None else self._channel(channel_key)
        bucket.paused_until = max(bucket.paused_until, until)

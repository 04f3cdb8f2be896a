"""The on-sale from a fan's side, as one call: /book takes a place in the show's queue and, when it
is the fan's turn, reserves seats at once (the queue's rules are in domain/queue.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from domain import queue
from domain.holds import HoldSummary
from domain.queue import QueueStatus
from domain.store import Store


@dataclass(frozen=True)
class Booking:
    status: QueueStatus  # where the fan stands in the show's queue
    hold: HoldSummary | None = None  # the seats reserved, when it was the fan's turn


async def book(
    store: Store, redis: Redis, *, show_id: int, fan_id: int, quantity: int, tier: str | None = None
) -> Booking:
    """Join the show's queue (a fan already in it keeps their place); when the queue lets the fan
    in, reserve the best ``quantity`` seats (of ``tier``) in the same call."""
    status = await queue.join(store, redis, show_id, fan_id)
    if status.state != "admitted":
        return Booking(status)
    return Booking(
        status, await queue.reserve(store, redis, show_id=show_id, fan_id=fan_id, quantity=quantity, tier=tier)
    )

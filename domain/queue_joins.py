"""Taking places in a show's line, in batches (the Redis half of :func:`domain.queue.join`).

In an on-sale burst thousands of fans join one show within a second. The joins of one show that
arrive while its last script call is in flight are gathered and sent as the next call: one script
(EVALSHA) that runs, fan after fan, exactly what a single join would have run, so each fan gets the
answer a join of their own would have given. The new places of a call are written through to
``queue_places`` in one multi-row upsert (the group-commit journal of domain/queue_places.py), and the
show is listed for the admission tick once. There is no timer: a batch is whatever arrived while the
previous call was in flight, so a lone join goes at once.

Redis Cluster: the script touches only the show's own keys (one hash tag, one slot), all named in KEYS.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from domain import queue_places, queue_scripts, telemetry
from domain.batching import Batched
from domain.queue_keys import list_show, show_keys
from domain.show_facts import ShowQueue
from domain.store import Store

Place = tuple[str, int, float | None]  # (state, value, score of a new place)
Ask = tuple[int, str]  # fan, the script's argument for them ('fan', or 'fan draw' before the open)
Context = tuple[Store, Redis, int]  # the show's id


async def _run(context: Context, batch: list[tuple[Ask, asyncio.Future[Place]]]) -> None:
    """One script call for the batch; each fan answered at once, or once the write-through is done
    for a fan with a new place."""
    store, redis, show_id = context
    raw = await _call(store, redis, show_id, [ask for ask, _ in batch])
    new: list[tuple[int, Place, asyncio.Future[Place]]] = []
    for i, (ask, answer) in enumerate(batch):
        score = raw[3 * i + 2]
        place: Place = (str(raw[3 * i]), int(str(raw[3 * i + 1])), None if score == "" else float(str(score)))
        if place[2] is not None:
            new.append((ask[0], place, answer))
        elif not answer.done():
            answer.set_result(place)
    if new:
        # Queued now, in the order of the script calls, so a later call's rows commit after these.
        saved = queue_places.record_places(store, show_id, [(fan, cast(float, place[2])) for fan, place, _ in new])
        task = asyncio.ensure_future(_written(redis, show_id, saved, new))
        _writing.add(task)  # a task nobody awaits must be referenced until it ends
        task.add_done_callback(_writing.discard)


async def _call(store: Store, redis: Redis, show_id: int, asks: list[Ask]) -> list[object]:
    k = show_keys(show_id)
    keys = (k["line"], k["seq"], k["ever"], k["turns"], k["epoch"])
    args = [arg for _, arg in asks]  # one argument a fan: redis-py packs each one it is given
    for _ in range(queue_places.RESTORE_WAITS):
        raw: list[object] = await queue_scripts.JOIN(redis, keys, args)
        if raw[0] != "lost":
            return raw
        # Redis lost this show's line (or never had one): put it back before adding to it. If
        # another process is rebuilding it, wait for that.
        if await queue_places.restore_line(store, redis, show_id, store.now()) is None:
            await asyncio.sleep(queue_places.RESTORE_POLL)
    raise RuntimeError(f"the line of show {show_id} is still being rebuilt")


async def _written(
    redis: Redis, show_id: int, saved: asyncio.Future[None], new: list[tuple[int, Place, asyncio.Future[Place]]]
) -> None:
    """List the show for the admission tick (after the places were taken: see queue._deactivate), wait
    for the new places' rows to be committed (so a lost Redis can be rebuilt in this order), then answer
    their fans."""
    try:
        try:
            await list_show(redis, show_id)
        finally:
            await saved
    except BaseException as exc:
        for _, _, answer in new:
            if not answer.done():
                answer.set_exception(exc) if isinstance(exc, Exception) else answer.cancel()
        if not isinstance(exc, Exception):
            raise
        return
    for _, place, answer in new:
        if not answer.done():
            answer.set_result(place)
    telemetry.count("queue_joined", len(new))


_writing: set[asyncio.Future[None]] = set()
# 500 fans a call: the script then holds Redis for about a millisecond
_joins: Batched[Context, Ask, Place] = Batched(_run, most=500)


def take_place(store: Store, redis: Redis, q: ShowQueue, fan_id: int, now: datetime) -> asyncio.Future[Place]:
    """To await: the fan's place in the show's line, taken if new (and then written through first):
    ("admitted", seconds of the turn left, None) | ("queued", rank, score of a new place or None)."""
    # Before the open a new place is a random draw (the lobby is shuffled at the open), after it the
    # next in arrival order: decided here, by the time the fan asked.
    ask = (fan_id, f"{fan_id} {random.random()!r}" if now < q.on_sale_at else str(fan_id))
    return _joins((id(store), id(redis), q.show_id), (store, redis, q.show_id), ask)

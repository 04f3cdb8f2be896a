"""Picket paces its own DMs below Discord's limits instead of leaning on 429s."""

from __future__ import annotations

import asyncio
import time

from domain import outbox
from domain.store import Store
from notifier.pacing import Pacer
from notifier.render import renderer
from notifier.transport import OutgoingMessage
from tests.simcord_ext import most_in_any_window, request_times


@renderer("test_note")
async def _note(store, payload):
    return OutgoingMessage(content=f"note {payload['n']}")


async def queue_notes(store, recipients, tag):
    """Queue DMs as another process would (its commit wakes no sender here): the test drains them itself."""
    elsewhere = Store(store.engine, store.clock)
    async with elsewhere.session() as s:
        for n, user in enumerate(recipients):
            await outbox.enqueue(
                elsewhere, s, kind="test_note", recipient_discord_id=user, payload={"n": n}, dedupe_key=f"{tag}:{n}"
            )


async def timed_drain(sender) -> float:
    started = time.perf_counter()
    await sender.drain()
    return time.perf_counter() - started


async def test_global_rate_is_respected(world):
    users = [world.env.create_user(f"reader{i}") for i in range(80)]
    sender = world.bot.services.sender
    sender.pacer = Pacer(global_rate=40.0, channel_rate=100.0, channel_burst=100.0)
    await queue_notes(world.store, [u.id for u in users], "g")
    elapsed = await timed_drain(sender)
    assert [len(u.dm_channel.history()) for u in users] == [1] * 80
    # 2 at once, then 40/s: at least (80 - 2) / 40 s; unpaced this takes a few ms per DM
    assert elapsed >= 1.9, f"80 DMs at 40/s took only {elapsed:.2f}s"


async def test_one_channel_is_paced_by_its_own_bucket(world):
    fan = world.fans[0]
    sender = world.bot.services.sender
    sender.pacer = Pacer(global_rate=1000.0, channel_rate=10.0, channel_burst=2.0)
    await queue_notes(world.store, [fan.id] * 8, "one")
    elapsed = await timed_drain(sender)
    assert sorted(m.content for m in fan.user.dm_channel.history()) == sorted(f"note {n}" for n in range(8))
    assert elapsed >= 0.55, f"8 DMs to one channel at 10/s after a burst of 2 took only {elapsed:.2f}s"


async def test_no_one_second_window_goes_over_the_limit_even_when_the_sender_is_held_up(world, monkeypatch):
    """Discord counts requests in any one second. A sender held up (a slow database round trip, a
    busy event loop) must not catch up by sending its late requests together with the next ones."""
    users = [world.env.create_user(f"reader{i}") for i in range(100)]
    sender = world.bot.services.sender
    sender.pacer = Pacer(global_rate=40.0, channel_rate=100.0, channel_burst=100.0)
    await queue_notes(world.store, [u.id for u in users], "held")

    async def hold_the_loop_up():
        while True:
            await asyncio.sleep(0.4)
            time.sleep(0.3)  # noqa: ASYNC251  (on purpose: the whole process stalls, as under a loaded box)

    stalls = asyncio.get_running_loop().create_task(hold_the_loop_up())
    try:
        with request_times(monkeypatch) as arrived:
            await sender.drain()
    finally:
        stalls.cancel()
    assert [len(u.dm_channel.history()) for u in users] == [1] * 100
    # Every POST counts: the messages and the DM channels opened for them.
    assert len(arrived) >= 100
    assert most_in_any_window([t for t, _ in arrived]) <= 40


async def test_a_global_429_seen_by_one_process_holds_back_every_process(redis):
    """Two pacers on one Redis stand for two processes of the bot: Discord's global 429 answered to
    one of them pauses the budget they share."""
    first, second = Pacer(global_rate=50.0, redis=redis), Pacer(global_rate=50.0, redis=redis)
    await first.acquire_global()
    started = time.monotonic()
    first.pause(0.5, is_global=True)
    granted = {}

    async def send(name, pacer, after):
        await asyncio.sleep(after)
        await pacer.acquire_global()
        granted[name] = time.monotonic() - started

    await asyncio.gather(send("first", first, 0.0), send("second", second, 0.05))
    assert granted["first"] >= 0.45 and granted["second"] >= 0.45, granted


async def test_a_busy_box_whose_every_grant_comes_back_late_still_sends(redis):
    """The shared bucket gives back a grant whose answer came back late, and asks again; on a box so
    loaded that every answer is late, it must still send (it used to ask again for ever: no DM left)."""
    from notifier import pacing

    pacer = Pacer(global_rate=50, redis=redis, redis_key="picket:pace:test-late")
    real_eval = redis.eval

    async def slow_eval(*args, **kwargs):
        await asyncio.sleep(pacing.GRANT_VALIDITY * 3)  # every answer late
        return await real_eval(*args, **kwargs)

    redis.eval = slow_eval
    try:
        sent = 0
        for _ in range(3):
            await asyncio.wait_for(pacer.acquire_global(), timeout=10)
            sent += 1
    finally:
        redis.eval = real_eval
    assert sent == 3

"""Picket paces its own DMs below Discord's limits instead of leaning on 429s."""

from __future__ import annotations

import time

from domain import outbox
from notifier.pacing import Pacer
from notifier.render import renderer
from notifier.transport import OutgoingMessage


@renderer("test_note")
async def _note(store, payload):
    return OutgoingMessage(content=f"note {payload['n']}")


async def queue_notes(store, recipients, tag):
    async with store.session() as s:
        for n, user in enumerate(recipients):
            await outbox.enqueue(store, s, kind="test_note", recipient_discord_id=user, payload={"n": n}, dedupe_key=f"{tag}:{n}")


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

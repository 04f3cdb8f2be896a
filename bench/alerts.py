"""Alert fan-out: one announcement to N followers, through the real bot in SimCord, on MariaDB + Redis.

    python bench/alerts.py [--followers 100000] [--paced-limit 200] [--paced-messages 2000]

Figures (the last line printed is JSON):
- unpaced: Picket's own throughput in DMs/s (alert matching, outbox claim, render, send through
  discord.py into SimCord, recording), against Discord's 50/s: Picket must not be the bottleneck.
  The announcement and the drain are called as the cog calls them, outside a SimCord actor
  operation: SimCord's settlement, which tracks every task while an operation runs, is harness
  overhead and would otherwise dominate.
- baseline: the same sender run naively (one message per claim and per transaction, no concurrency)
  on a sample, in the same process, so the unpaced figure is also a ratio against it.
- paced: the achieved rate as a fraction of a configured limit, the most DM sends and the most
  requests reaching SimCord (messages and the DM channels opened for them: every request counts
  against Discord's global limit) in any one second, and 429 responses. The pacer is the bot's own,
  shared through Redis; the bench fails if any one-second window holds more than the limit.
- time from the announce command to the first DM; peak RSS.

SimCord does not enforce Discord's rate limits, so "0 responses 429" is only half the evidence; the
"max_sends_in_any_1s" / "max_requests_in_any_1s" figures show the pacer itself never went over the
limit (a sliding one-second window, as Discord counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simcord  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.app import create_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from domain import organizers, shows  # noqa: E402
from domain.models import Follow  # noqa: E402
from domain.store import make_engine  # noqa: E402
from migrations import rebuild  # noqa: E402
from notifier.pacing import Pacer  # noqa: E402
from tests.simcord_ext import most_in_any_window  # noqa: E402


class DiscordSideClock:
    """Time spent inside SimCord's REST handler: the part of a send that Discord's servers (and the
    gateway echo of the new message) would do. Subtracting it leaves Picket's own cost per DM."""

    def __init__(self):
        from simcord.http import router

        self.router = router
        self.original = router.dispatch
        self.seconds = 0.0
        self.posts: list[float] | None = None  # when recording: arrival of every POST

        def timed(*args, **kwargs):
            t = time.perf_counter()
            if self.posts is not None and len(args) > 1 and args[1] == "POST":
                self.posts.append(t)
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t

        router.dispatch = timed


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed_follows(store, fan_ids: list[int], artist: str) -> None:
    now = store.now()
    rows = [dict(fan_discord_id=f, kind="artist", key=artist.casefold(), name=artist, created_at=now) for f in fan_ids]
    for i in range(0, len(rows), 5000):
        async with store.session() as s:
            await s.execute(insert(Follow), rows[i : i + 5000])


class Timeline:
    """When each request left Picket (wall clock)."""

    def __init__(self):
        self.times: list[float] = []

    def __call__(self, _msg) -> None:
        self.times.append(time.perf_counter())

    def max_in_window(self, seconds: float = 1.0) -> int:
        return max_in_window(self.times, seconds)


max_in_window = most_in_any_window  # the tests' sliding-window count, so bench and tests count alike


async def fan_out(bot, organizer, channel, store, *, artist: str, title: str, pacer: Pacer, sender_cfg: dict) -> dict:
    org = await organizers.get_organizer(store, channel.guild.id, organizer.id)
    now = store.now()
    show = await shows.create_show(
        store,
        organizer_id=org.id,
        venue_name="Bench Hall",
        seatmap_spec="A:10x10:Standard",
        title=title,
        artists=[artist],
        genres=[],
        starts_at=now + timedelta(days=30),
        on_sale_at=now + timedelta(days=1),
        tiers={"Standard": 1000},
    )
    sender = bot.services.sender
    sender.pacer = pacer
    for key, value in sender_cfg.items():
        setattr(sender, key, value)
    timeline = Timeline()
    transport_send = sender.transport.send_dm

    async def timed_send(recipient_id, message, *, nonce):
        timeline(None)  # when the request leaves Picket: what Discord's rate limit counts
        return await transport_send(recipient_id, message, nonce=nonce)

    sender.transport.send_dm = timed_send
    sent_before = sender.stats.sent
    discord_before = DISCORD_SIDE.seconds
    DISCORD_SIDE.posts = []
    started = time.perf_counter()
    # The call /show announce makes (it queues the followers' alerts with the announcement), then
    # the drain its kick would start. Both run here, not inside a slash operation, so SimCord's
    # settlement bookkeeping (test-harness overhead, tracking every task) is not counted as Picket's.
    await shows.record_announcement(store, show.id, organizer.id, channel.id, channel.guild.id)
    await sender.drain()
    finished = time.perf_counter()
    posts, DISCORD_SIDE.posts = DISCORD_SIDE.posts, None
    sender.transport.send_dm = transport_send
    sent = sender.stats.sent - sent_before
    return {
        "sent": sent,
        "seconds": finished - started,
        "picket_seconds": finished - started - (DISCORD_SIDE.seconds - discord_before),
        "first_dm_s": (timeline.times[0] - started) if timeline.times else None,
        "send_span_s": (timeline.times[-1] - timeline.times[0]) if len(timeline.times) > 1 else None,
        "max_sends_in_any_1s": timeline.max_in_window(),
        "requests": len(posts),
        "requests_span_s": (posts[-1] - posts[0]) if len(posts) > 1 else None,
        "max_requests_in_any_1s": max_in_window(posts),
    }


DISCORD_SIDE: DiscordSideClock


def responses_429() -> float:
    """Discord's 429s so far, as the dashboard counts them: each one discord.py waited out, and each
    one that reached the sender (bot/ratelimits.py)."""
    from bot.metrics import REGISTRY

    return REGISTRY.get_sample_value("picket_discord_rate_limited_total") or 0.0


async def main(args) -> dict:
    global DISCORD_SIDE
    DISCORD_SIDE = DiscordSideClock()
    engine = make_engine(args.database_url)
    await rebuild(engine)
    await engine.dispose()
    if args.redis_url:
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(args.redis_url)
        await r.flushdb()
        await r.aclose()
    settings = Settings(
        _env_file=None,
        database_url=args.database_url,
        redis_url=args.redis_url,
        shard_count=1,
        outbox_poll_seconds=3600.0,
        scheduler_enabled=False,
        database_pool_size=20,
    )
    bot = create_bot(settings)
    rss_start = rss_mb()
    responses_429_before = responses_429()
    result: dict = {"bench": "alerts", "followers": args.followers, "database": args.database_url.split("@")[-1]}
    async with simcord.run(bot, settle_timeout=36_000) as env:
        guild = env.create_guild("Bench")
        channel = guild.create_text_channel("announcements")
        organizer = guild.add_member(env.create_user("organizer"))
        store = bot.services.store
        await organizers.register_organizer(store, guild.id, organizer.id, "organizer")

        t0 = time.perf_counter()
        fans = [env.create_user(f"fan{i}").id for i in range(max(args.followers, args.paced_messages, args.baseline_messages))]
        await seed_follows(store, fans[: args.followers], "Main Act")
        await seed_follows(store, fans[: args.baseline_messages], "Baseline Act")
        await seed_follows(store, fans[: args.paced_messages], "Paced Act")
        result["setup_s"] = round(time.perf_counter() - t0, 2)

        fast = dict(batch_size=args.batch_size, concurrency=args.concurrency, lanes=2)
        baseline = await fan_out(
            bot,
            organizer,
            channel,
            store,
            artist="Baseline Act",
            title="Baseline",
            pacer=Pacer(enabled=False),
            sender_cfg=dict(batch_size=1, concurrency=1, lanes=1),
        )
        unpaced = await fan_out(bot, organizer, channel, store, artist="Main Act", title="Main", pacer=Pacer(enabled=False), sender_cfg=fast)
        paced = await fan_out(
            bot,
            organizer,
            channel,
            store,
            artist="Paced Act",
            title="Paced",
            # The bot's pacer as it runs in production: the global budget taken from Redis.
            pacer=Pacer(global_rate=args.paced_limit, channel_rate=5.0, channel_burst=5.0, redis=bot.services.redis, redis_key="bench:pace"),
            sender_cfg=fast,
        )
        rate_limited = responses_429() - responses_429_before
        await bot.close()

    base_rate = baseline["sent"] / baseline["seconds"]
    rate = unpaced["sent"] / unpaced["seconds"]
    own_rate = unpaced["sent"] / unpaced["picket_seconds"]
    own_base = baseline["sent"] / baseline["picket_seconds"]
    paced_rate = (paced["sent"] - 1) / paced["send_span_s"] if paced["send_span_s"] else 0.0
    paced_request_rate = (paced["requests"] - 1) / paced["requests_span_s"] if paced["requests_span_s"] else 0.0
    result.update(
        unpaced_dms=unpaced["sent"],
        unpaced_seconds=round(unpaced["seconds"], 2),
        unpaced_dms_per_s_end_to_end=round(rate, 1),
        unpaced_simcord_share=round(1 - unpaced["picket_seconds"] / unpaced["seconds"], 3),
        picket_own_dms_per_s=round(own_rate, 1),
        picket_own_vs_discord_50_per_s=round(own_rate / 50, 1),
        end_to_end_vs_discord_50_per_s=round(rate / 50, 1),
        baseline_dms=baseline["sent"],
        baseline_dms_per_s_end_to_end=round(base_rate, 1),
        baseline_own_dms_per_s=round(own_base, 1),
        own_vs_baseline=round(own_rate / own_base, 2),
        first_dm_s=round(unpaced["first_dm_s"], 3) if unpaced["first_dm_s"] is not None else None,
        paced_limit_per_s=args.paced_limit,
        paced_dms=paced["sent"],
        paced_rate_per_s=round(paced_rate, 1),
        paced_fraction_of_limit=round(paced_rate / args.paced_limit, 3),
        paced_max_sends_in_any_1s=paced["max_sends_in_any_1s"],
        paced_requests=paced["requests"],
        paced_requests_per_s=round(paced_request_rate, 1),
        paced_requests_fraction_of_limit=round(paced_request_rate / args.paced_limit, 3),
        paced_max_requests_in_any_1s=paced["max_requests_in_any_1s"],
        paced_within_limit=max(paced["max_sends_in_any_1s"], paced["max_requests_in_any_1s"]) <= args.paced_limit,
        responses_429=rate_limited,
        rss_start_mb=round(rss_start, 1),
        peak_rss_mb=round(rss_mb(), 1),
    )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--paced-limit", type=float, default=200.0)
    parser.add_argument("--paced-messages", type=int, default=2_000)
    parser.add_argument("--baseline-messages", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "mysql+aiomysql://root@127.0.0.1:3306/test"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    out = asyncio.run(main(parser.parse_args()))
    print(json.dumps(out), flush=True)
    # Discord counts per second in a sliding window: the pacer must never go over its limit in any.
    assert out["paced_within_limit"], (
        f"paced sends went over the limit of {out['paced_limit_per_s']}/s in some second: "
        f"{out['paced_max_sends_in_any_1s']} DMs, {out['paced_max_requests_in_any_1s']} requests"
    )

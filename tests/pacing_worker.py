"""A real bot process that only sends DMs, for the two-process pacing test.

    python -m tests.pacing_worker --db URL --redis URL --port STANDIN_PORT --rate R --name NAME

The unmodified bot (settings, wiring, its sender and pacer, discord.py's HTTP client) sends what is in
the outbox to the recording stand-in for Discord in the test's process. Prints READY once logged in,
then the number of DMs it sent once the outbox has nothing pending.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
from sqlalchemy import func, select

import tests.outbox_worker  # noqa: F401  (registers the "test_note" renderer)
from bot.app import create_bot
from bot.settings import Settings
from domain.clock import SystemClock
from domain.models import OutboxMessage
from domain.store import Store
from tests.fault_worker import ToStandIn


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--name", required=True)
    args = p.parse_args()
    store = Store.from_url(args.db, SystemClock(), pool_size=8)
    settings = Settings(
        _env_file=None,
        database_url=args.db,
        redis_url=args.redis,
        instance_id=args.name,
        metrics_port=-1,
        scheduler_enabled=False,
        outbox_poll_seconds=0.1,
        shard_count=1,
        dm_global_rate=args.rate,  # the bot's budget: both processes share it
    )
    connector = aiohttp.TCPConnector(resolver=ToStandIn(args.port), ssl=False)
    # Small claims, so that both processes have messages in hand at once (one claim of 100 would
    # leave the other process idle while the first paces through them).
    bot = create_bot(settings, store=store, connector=connector, sender_options={"batch_size": 4})
    await bot.login("stand-in-token")  # setup_hook: the sender starts polling the outbox
    print("READY", flush=True)
    while True:
        async with store.session() as s:
            pending = (
                await s.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
                )
            ).scalar_one()
        if not pending:
            break
        await asyncio.sleep(0.2)
    await bot.services.sender.idle()
    sent = bot.services.sender.stats.sent
    await bot.close()
    await store.dispose()
    print(sent, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

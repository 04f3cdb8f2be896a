"""APScheduler drives the jobs in production; the jobs claim their work in the database."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from domain.clock import SystemClock
from domain.models import ScheduledNotice
from domain.redis_client import make_redis
from domain.store import Store
from notifier.pacing import Pacer
from notifier.scheduler import Jobs, start_scheduler
from notifier.sender import OutboxSender
from tests import backends
from tests.factories import on_sale_show


class NoTransport:
    async def send_dm(self, recipient_id, message, *, nonce):
        return 1


async def test_scheduler_runs_the_due_notices_of_every_process_once(store, gateway):
    real = Store(store.engine, SystemClock())
    await on_sale_show(real, genres=["indie"])
    two, senders = [], []
    for _ in range(2):  # two processes' schedulers on one database
        sender = OutboxSender(real, NoTransport(), pacer=Pacer(enabled=False), poll_interval=3600)
        senders.append(sender)
        two.append(start_scheduler(Jobs(real, gateway, make_redis(backends.REDIS_URL)), tick_seconds=0.2))
    try:
        from domain import notices

        key = await notices.plan_weekly_digest(real)
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with real.session() as s:
                notice = (await s.execute(select(ScheduledNotice).where(ScheduledNotice.key == key))).scalar_one()
            if notice.status == "done":
                break
        assert notice.status == "done"
        assert {j.id for j in two[0].get_jobs()} == {"recover", "queues", "notices", "digest", "cleanup", "reports"}
    finally:
        for scheduler in two:
            scheduler.pause()
        await asyncio.sleep(0.5)  # let jobs already running finish before the loop closes
        for scheduler in two:
            scheduler.shutdown(wait=False)
        for sender in senders:
            await sender.idle()
            await sender.stop()

"""Timed work: expired holds, on-sale reminders, the weekly digest, refunds left pending.

APScheduler provides the timing (interval and cron triggers). It keeps no state that matters: each
job claims its work through the database (conditional UPDATEs, SKIP LOCKED), so several processes may
run the same schedule and each piece of work still happens once, and a restart loses nothing because
what is due is read from the store, not from the scheduler's memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from domain import alerts, booking, queue, waitlist
from domain.payments import PaymentGateway
from domain.store import Store
from notifier.sender import OutboxSender

log = logging.getLogger("picket.scheduler")


@dataclass
class Jobs:
    store: Store
    gateway: PaymentGateway
    sender: OutboxSender
    redis: object = None

    async def release_expired_holds(self) -> int:
        """Lapsed holds go back; seats that came back go to waitlisted fans first."""
        released = await booking.release_expired_holds(self.store)
        promoted = 0
        for show_id in await waitlist.shows_with_waiting(self.store):
            promoted += len(await waitlist.promote(self.store, self.gateway, show_id))
        if promoted:
            self.sender.kick()
        return released

    async def send_due_notices(self) -> int:
        queued = await alerts.run_due_notices(self.store)
        if queued:
            self.sender.kick()
        return queued

    async def weekly_digest(self) -> int:
        await alerts.plan_weekly_digest(self.store)
        return await self.send_due_notices()

    async def admit_queues(self) -> int:
        messaged = await queue.admit_all(self.store, self.redis)
        if messaged:
            self.sender.kick()
        return messaged

    async def settle_refunds(self) -> int:
        return await booking.settle_refunds(self.store, self.gateway)

    async def run_all(self) -> None:
        """Every periodic job once, as the scheduler would. For tests and the demo, which run in
        SimCord's virtual time where APScheduler's wall-clock triggers do not apply."""
        await self.release_expired_holds()
        await self.admit_queues()
        await self.send_due_notices()
        await self.settle_refunds()


def start_scheduler(jobs: Jobs, *, tick_seconds: float = 30.0) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    common = dict(coalesce=True, max_instances=1, misfire_grace_time=300)
    scheduler.add_job(jobs.release_expired_holds, IntervalTrigger(seconds=tick_seconds), id="holds", **common)
    scheduler.add_job(jobs.send_due_notices, IntervalTrigger(seconds=tick_seconds), id="notices", **common)
    scheduler.add_job(jobs.admit_queues, IntervalTrigger(seconds=min(tick_seconds, 5)), id="queues", **common)
    scheduler.add_job(jobs.settle_refunds, IntervalTrigger(seconds=max(tick_seconds, 60)), id="refunds", **common)
    scheduler.add_job(jobs.weekly_digest, CronTrigger(day_of_week="mon", hour=10, minute=0), id="digest", **common)
    scheduler.start()
    log.info("scheduler started: holds/notices every %ss, digest Mondays 10:00 UTC", tick_seconds)
    return scheduler

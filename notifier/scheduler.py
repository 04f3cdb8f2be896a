"""Timed work: recovery (expired holds, refunds, half-finished payments and promotions, a lost
queue), queue admission, on-sale reminders, the weekly digest, and the cleanup of what ended shows
and old DMs leave behind.

APScheduler provides the timing (interval and cron triggers). It keeps no state that matters: each
job claims its work through the database (conditional UPDATEs, SKIP LOCKED), so several processes may
run the same schedule and each piece of work still happens once, and a restart loses nothing because
what is due is read from the store, not from the scheduler's memory. DMs a job queues are sent at
once: the store wakes the sender after each commit that queued one (domain/outbox.on_queued).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from redis.asyncio import Redis

from domain import notices, outbox, queue, queue_places, recovery, reports, waitlist
from domain.payments import PaymentGateway
from domain.store import Store

log = logging.getLogger("picket.scheduler")


@dataclass
class Jobs:
    store: Store
    gateway: PaymentGateway
    redis: Redis

    async def recover(self) -> recovery.RecoveryReport:
        """Lapsed holds go back (to waitlisted fans first), owed refunds are sent, and whatever a
        dead process left half done is finished (see ``domain.recovery``)."""
        return await recovery.recover(self.store, self.gateway, self.redis)

    async def send_due_notices(self) -> int:
        return await notices.run_due_notices(self.store)

    async def weekly_digest(self) -> int:
        await notices.plan_weekly_digest(self.store)
        return await self.send_due_notices()

    async def clean_up(self) -> int:
        """Storage that would otherwise only grow: the queue state of shows that ended, the
        waitlists of shows that started (their fans are told), sent DMs past their retention, the
        on-sale journal of shows a month past their start."""
        told = await waitlist.close_started(self.store)
        await queue_places.purge_ended(self.store, self.redis)
        await outbox.purge_sent(self.store)
        await queue_places.purge_activity(self.store)
        return told

    async def onsale_reports(self) -> int:
        """Each on-sale's report to its organizer, once: at the sell-out, or when sales close."""
        return await reports.watch(self.store)

    async def admit_queues(self) -> int:
        return await queue.admit_all(self.store, self.redis)


def start_scheduler(jobs: Jobs, *, tick_seconds: float = 30.0) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    common = dict(coalesce=True, max_instances=1, misfire_grace_time=300)
    scheduler.add_job(jobs.recover, IntervalTrigger(seconds=tick_seconds), id="recover", **common)
    scheduler.add_job(jobs.send_due_notices, IntervalTrigger(seconds=tick_seconds), id="notices", **common)
    scheduler.add_job(jobs.admit_queues, IntervalTrigger(seconds=min(tick_seconds, 5)), id="queues", **common)
    scheduler.add_job(jobs.clean_up, IntervalTrigger(seconds=max(tick_seconds, 60)), id="cleanup", **common)
    scheduler.add_job(jobs.onsale_reports, IntervalTrigger(seconds=tick_seconds), id="reports", **common)
    scheduler.add_job(jobs.weekly_digest, CronTrigger(day_of_week="mon", hour=10, minute=0), id="digest", **common)
    scheduler.start()
    log.info("scheduler started: recovery/notices every %ss, digest Mondays 10:00 UTC", tick_seconds)
    return scheduler

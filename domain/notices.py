"""Scheduled notices fans asked for by following or by "Remind me": the on-sale reminders (24 h and 1 h
before sales open), the weekly digest, and running them when due. Each one is a fan-out in batches
(domain/alerts.py), written while the sender sends."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import alerts, errors
from domain.alerts import (
    DIGEST,
    REMINDER,
    REMINDER_LEADS,
    advance_fan_out,
    alert_sources,
    interest_keys,
    start_fan_out,
)
from domain.models import ReminderRequest, ScheduledNotice, Show, ShowStatus
from domain.store import Store, rowcount


async def request_reminder(store: Store, show_id: int, fan_id: int) -> datetime:
    """ "Remind me": returns the on-sale time the fan will be reminded of."""

    async def work(s: AsyncSession) -> datetime:
        show = await s.get(Show, show_id)
        if show is None:
            raise errors.ShowNotFound(show_id)
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        if show.on_sale_at <= store.now():
            raise errors.AlreadyDone("reminder.sale_open", title=show.title)
        await s.execute(
            store.insert_ignore(
                ReminderRequest.__table__, show_id=show.id, fan_discord_id=fan_id, created_at=store.now()
            )
        )
        return show.on_sale_at

    return await store.transaction(work)


async def plan_show_notices(store: Store, s: AsyncSession, show: Show) -> None:
    """(Re)plan a show's on-sale reminders: 24 h and 1 h before sales open, those still ahead; and its
    ticket holders' reminders before the start (domain/reminders.py)."""
    await s.execute(
        delete(ScheduledNotice).where(ScheduledNotice.show_id == show.id, ScheduledNotice.status == "pending")
    )
    now = store.now()
    for lead, delta in REMINDER_LEADS.items():
        due = show.on_sale_at - delta
        if due > now and show.status != ShowStatus.CANCELLED.value:
            key = f"show:{show.id}:onsale-{lead}:{int(show.on_sale_at.timestamp())}"
            await s.execute(
                store.insert_ignore(
                    ScheduledNotice.__table__,
                    key=key,
                    kind=REMINDER,
                    show_id=show.id,
                    due_at=due,
                    status="pending",
                    fanned_out=0,
                )
            )
    from domain import reminders  # (reminders builds on this module)

    await reminders.plan(store, s, show)  # and the ticket holders' reminders before the start


async def plan_weekly_digest(store: Store) -> str:
    """Plan this ISO week's digest (idempotent: every process may call it; one row results)."""
    now = store.now()
    year, week, _ = now.isocalendar()
    key = f"digest:{year}-W{week:02d}"

    async def work(s: AsyncSession) -> None:
        await s.execute(
            store.insert_ignore(
                ScheduledNotice.__table__,
                key=key,
                kind=DIGEST,
                show_id=None,
                due_at=now,
                status="pending",
                fanned_out=0,
            )
        )

    await store.transaction(work)
    return key


async def run_due_notices(store: Store, *, limit: int = 20) -> int:
    """Fan out every notice that is due. Returns the number of messages queued."""
    async with store.session() as s:
        due = (
            (
                await s.execute(
                    select(ScheduledNotice.id)
                    .where(ScheduledNotice.status == "pending", ScheduledNotice.due_at <= store.now())
                    .order_by(ScheduledNotice.due_at)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
    queued = 0
    for notice_id in due:
        queued += await store.transaction(partial(_run_notice, store, notice_id=notice_id))
    return queued


async def _run_notice(store: Store, s: AsyncSession, notice_id: int) -> int:
    claimed = await s.execute(
        update(ScheduledNotice)
        .where(ScheduledNotice.id == notice_id, ScheduledNotice.status == "pending")
        .values(status="done", done_at=store.now())
    )
    if rowcount(claimed) != 1:
        return 0  # another process took it
    notice = await s.get_one(ScheduledNotice, notice_id)
    if notice.kind == REMINDER:
        n = await _fan_out_reminder(store, s, notice)
    elif notice.kind == "holder_reminder":
        from domain import reminders

        n = await reminders.fan_out(store, s, notice)
    else:
        n = await _fan_out_digest(store, s, notice)
    notice.fanned_out = n
    return n


async def _fan_out_reminder(store: Store, s: AsyncSession, notice: ScheduledNotice) -> int:
    """The show's followers and the fans who pressed "Remind me", one reminder each: the first
    batch now, the rest by the sender's fan-out lane. Returns the rows written now."""
    show = await s.get(Show, notice.show_id)
    if show is None or show.status == ShowStatus.CANCELLED.value or show.on_sale_at <= store.now():
        return 0  # stale: sales already open (a long outage) or the show is off
    lead = "1h" if "onsale-1h" in notice.key else "24h"
    artists, genres = await interest_keys(s, show.id)
    job, _ = await start_fan_out(
        store,
        s,
        key=f"reminder:{notice.key}"[:120],
        kind=REMINDER,
        show_id=show.id,
        payload={"show_id": show.id, "lead": lead},
        dedupe_prefix=f"reminder:{notice.key}:",
        sources=alert_sources(artists, genres, reminders_of=show.id),
        guild_id=show.guild_id,
    )
    return await advance_fan_out(store, s, job, rows=alerts.INLINE_BATCH)


async def _fan_out_digest(store: Store, s: AsyncSession, notice: ScheduledNotice) -> int:
    """Shows created in the past week, still ahead, matched against each fan's follows: one digest
    per fan, written a batch of fans at a time like an alert (the first batch now). Returns the rows
    written now."""
    now = store.now()
    recent = (
        (
            await s.execute(
                select(Show.id).where(
                    Show.created_at > now - timedelta(days=7),
                    Show.starts_at > now,
                    Show.status != ShowStatus.CANCELLED.value,
                )
            )
        )
        .scalars()
        .all()
    )
    if not recent:
        return 0
    job, _ = await start_fan_out(
        store,
        s,
        key=notice.key[:120],
        kind=DIGEST,
        show_id=None,
        payload={},
        dedupe_prefix=f"{notice.key}:",
        sources=[["digest", sorted(recent)]],
    )
    return await advance_fan_out(store, s, job, rows=alerts.INLINE_BATCH)

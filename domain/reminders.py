"""Holder reminders: every ticket holder is DMed before the show (24 h and 2 h before by default;
the organizer may choose other times per show), with the venue, the time and a button that sends
a fresh entry code.

Each reminder is a ``ScheduledNotice`` (kind :data:`HOLDER`) planned with the show's on-sale
reminders (domain/alerts.py ``plan_show_notices``, so a moved start re-plans them and a cancelled
show drops them); its key carries the start it was planned for. The scheduler's notice job claims
a due one with a conditional UPDATE and, in that transaction, queues one outbox row per holder
under a dedupe key of (notice, fan): one DM per holder per reminder, across processes and restarts.

Quiet hours (``/alerts``) hold a reminder back until they end, except a reminder this close to the
start (:data:`URGENT_WITHIN`): one held until morning would come after the doors open. A reminder
is about a ticket the fan bought, not an alert they follow: the alerts switch does not stop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, notices
from domain.models import ScheduledNotice, Show, ShowStatus, Ticket, TicketStatus
from domain.outbox import enqueue
from domain.store import Store

HOLDER = "holder_reminder"  # the notice's kind and the DM's
DEFAULT_HOURS = (24, 2)
URGENT_WITHIN = 2  # hours: a reminder at most this long before the start ignores quiet hours
MAX_REMINDERS = 3
MAX_HOURS = 24 * 14


def hours_of(show: Show) -> tuple[int, ...]:
    """The show's reminder times, in hours before the start, largest first."""
    hours = show.holder_reminder_hours
    if hours is None:
        return DEFAULT_HOURS
    return tuple(sorted({int(h) for h in hours}, reverse=True))


def respects_quiet_hours(kind: str, payload: dict[str, Any]) -> bool:
    """Whether a DM of this kind waits for the fan's quiet hours to end (the sender asks)."""
    return kind == HOLDER and not payload.get("urgent")


def parse_hours(text: str) -> tuple[int, ...]:
    """ "24, 2" -> (24, 2). Whole hours from 1 to two weeks, at most three; "none" (or 0) turns the
    reminders off."""
    raw = [p.strip().lower().removesuffix("h").strip() for p in (text or "").replace(";", ",").split(",")]
    raw = [p for p in raw if p]
    if raw in (["none"], ["off"], ["0"]):
        return ()
    if not raw:
        raise errors.InvalidInput("reminders.bad_hours", value="", most=MAX_HOURS, count=MAX_REMINDERS)
    hours = set()
    for part in raw:
        if not part.isdigit() or not 1 <= int(part) <= MAX_HOURS:
            raise errors.InvalidInput("reminders.bad_hours", value=part[:20], most=MAX_HOURS, count=MAX_REMINDERS)
        hours.add(int(part))
    if len(hours) > MAX_REMINDERS:
        raise errors.InvalidInput("reminders.too_many", count=MAX_REMINDERS)
    return tuple(sorted(hours, reverse=True))


async def plan(store: Store, s: AsyncSession, show: Show) -> None:
    """Plan the show's holder reminders still ahead (called by ``plan_show_notices`` after it drops
    the show's pending notices). A reminder already sent for this start is not planned again."""
    if show.status == ShowStatus.CANCELLED.value:
        return
    now = store.now()
    start = int(show.starts_at.timestamp())
    for hours in hours_of(show):
        due = show.starts_at - timedelta(hours=hours)
        if due > now:
            key = f"show:{show.id}:doors-{hours}h:{start}"
            await s.execute(
                store.insert_ignore(
                    ScheduledNotice.__table__,
                    key=key,
                    kind=HOLDER,
                    show_id=show.id,
                    due_at=due,
                    status="pending",
                    fanned_out=0,
                )
            )


@dataclass(frozen=True)
class ReminderTimes:
    show_id: int
    title: str
    starts_at: datetime
    hours: tuple[int, ...]  # largest first; empty: none

    @property
    def times(self) -> tuple[datetime, ...]:
        return tuple(self.starts_at - timedelta(hours=h) for h in self.hours)


async def set_hours(store: Store, show_id: int, organizer_discord_id: int, text: str) -> ReminderTimes:
    """``/show reminders``: the organizer's own times for this show's holder reminders ("24, 2",
    "none"). Reminders already sent stay sent; the new times still ahead are planned."""
    from domain import shows
    from domain.organizers import check_organizer

    hours = parse_hours(text)

    async def work(s: AsyncSession) -> ReminderTimes:
        show = await shows.load_show(s, show_id)
        await check_organizer(s, show, organizer_discord_id, "edit")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled_no_edit", title=show.title)
        show.holder_reminder_hours = list(hours)
        await s.flush()
        await notices.plan_show_notices(store, s, show)
        return ReminderTimes(show.id, show.title, show.starts_at, hours_of(show))

    return await store.transaction(work)


async def fan_out(store: Store, s: AsyncSession, notice: ScheduledNotice) -> int:
    """One DM per holder of a live ticket, for a due holder reminder (inside the claiming transaction)."""
    from domain.alerts import _insert_outbox_for, _reachable
    from domain.models import Fan

    show = await s.get(Show, notice.show_id)
    if show is None or show.status == ShowStatus.CANCELLED.value or show.starts_at <= store.now():
        return 0  # stale: the show is off, or started during an outage
    if f":{int(show.starts_at.timestamp())}" not in notice.key:
        return 0  # planned for a start that has since moved (a re-plan raced this one)
    hours = int(notice.key.split(":doors-")[1].split("h")[0])
    holders = (
        select(Ticket.holder_discord_id.label("fan"))
        .outerjoin(Fan, Fan.discord_id == Ticket.holder_discord_id)
        .where(
            Ticket.show_id == show.id,
            Ticket.status == TicketStatus.VALID.value,
            _reachable(Ticket.holder_discord_id, require_alerts=False),
        )
    )
    payload = {"show_id": show.id, "hours": hours, "urgent": hours <= URGENT_WITHIN}
    return await _insert_outbox_for(
        store, s, holders, kind=HOLDER, payload=payload, dedupe_prefix=f"holder:{notice.key}:"
    )


async def send_codes(store: Store, show_id: int, fan_id: int) -> int:
    """The reminder's "show my ticket" button: a DM with a fresh entry code (signed when it is sent)
    for each of the fan's valid tickets for the show, as /ticket show sends one. Returns how many."""

    async def work(s: AsyncSession) -> int:
        show = await s.get(Show, show_id)
        if show is None:
            raise errors.ShowNotFound(show_id)
        ids = (
            (
                await s.execute(
                    select(Ticket.id)
                    .where(
                        Ticket.show_id == show_id,
                        Ticket.holder_discord_id == fan_id,
                        Ticket.status == TicketStatus.VALID.value,
                    )
                    .order_by(Ticket.id)
                    .limit(MAX_CODES)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            raise errors.NotFound("reminders.no_ticket", title=show.title)
        stamp = f"{store.now().timestamp():.3f}"
        for ticket_id in ids:
            await enqueue(
                store,
                s,
                kind="ticket_code",
                recipient_discord_id=fan_id,
                payload={"ticket_id": ticket_id, "show_id": show_id, "holder": fan_id},
                dedupe_key=f"code:{ticket_id}:{stamp}",
            )
        return len(ids)

    return await store.transaction(work)


MAX_CODES = 10  # codes one press sends (a fan holds at most the show's per-fan limit anyway)

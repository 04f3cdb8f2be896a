"""Interest alerts, on-sale reminders and the weekly digest: who gets told, and when.

Fan-outs are written into the outbox with one ``INSERT ... SELECT`` whose rows carry a dedupe key per
(cause, fan): a fan who follows both the artist and the genre of a show is one row, and running the
same fan-out twice (a retried transaction, two processes) adds nothing. Timed fan-outs are
``ScheduledNotice`` rows claimed by a conditional UPDATE, so with many processes each runs once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, delete, literal, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Select

from domain import errors
from domain.models import (
    Fan,
    Follow,
    FollowKind,
    OutboxMessage,
    OutboxStatus,
    ReminderRequest,
    ScheduledNotice,
    Show,
    ShowArtist,
    ShowGenre,
    ShowStatus,
)
from domain.specs import parse_timezone
from domain.store import Store, rowcount

ALERT = "show_alert"
REMINDER = "onsale_reminder"
DIGEST = "digest"
# Messages a fan opted into by following; they obey the alerts switch and quiet hours.
INTEREST_KINDS = frozenset({ALERT, REMINDER, DIGEST})
REMINDER_LEADS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}


@dataclass(frozen=True)
class FanSettings:
    discord_id: int
    alerts_enabled: bool = True
    timezone: str = "UTC"
    quiet_start_hour: int | None = None
    quiet_end_hour: int | None = None
    dms_closed: bool = False
    dms_closed_told: bool = False

    @property
    def dms_blocked(self) -> bool:
        """DMs were found closed and the fan has not been told yet: interest DMs are skipped (each
        would be one more refused request). Once told, DMs are tried again."""
        return self.dms_closed and not self.dms_closed_told

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the fan's quiet hours end, if ``now`` falls inside them; None otherwise."""
        start, end = self.quiet_start_hour, self.quiet_end_hour
        if start is None or end is None or start == end:
            return None
        local = now.astimezone(ZoneInfo(self.timezone))
        hour = local.hour
        inside = start <= hour < end if start < end else (hour >= start or hour < end)
        if not inside:
            return None
        until = local.replace(hour=end, minute=0, second=0, microsecond=0)
        if until <= local:
            until += timedelta(days=1)
        return until.astimezone(now.tzinfo)


# --- fan settings ---------------------------------------------------------------------------------


def _default_fan_row(fan_id: int) -> dict[str, Any]:
    return dict(discord_id=fan_id, alerts_enabled=True, timezone="UTC", dms_closed=False)


async def fan_settings(store: Store, fan_id: int) -> FanSettings:
    return (await fan_settings_many(store, [fan_id]))[fan_id]


async def fan_settings_many(store: Store, fans: list[int]) -> dict[int, FanSettings]:
    async with store.session() as s:
        rows = (await s.execute(select(Fan).where(Fan.discord_id.in_(set(fans))))).scalars().all()
    found = {r.discord_id: FanSettings(r.discord_id, r.alerts_enabled, r.timezone, r.quiet_start_hour, r.quiet_end_hour, r.dms_closed, r.dms_closed_told) for r in rows}
    return {f: found.get(f, FanSettings(f)) for f in fans}


async def update_fan_settings(
    store: Store,
    fan_id: int,
    *,
    alerts_enabled: bool | None = None,
    quiet_start_hour: int | None = None,
    quiet_end_hour: int | None = None,
    timezone: str | None = None,
) -> FanSettings:
    """``/alerts``. Quiet hours are whole local hours; equal start and end means no quiet hours.
    Using a command also reopens a fan whose DMs had been found closed: they are back."""
    if timezone is not None:
        parse_timezone(timezone)  # InvalidInput quoting a short excerpt
    for field, hour in (("Quiet hours start", quiet_start_hour), ("Quiet hours end", quiet_end_hour)):
        if hour is not None and not 0 <= hour <= 23:
            raise errors.InvalidInput("input.hour", field=field, value=hour)
    if (quiet_start_hour is None) != (quiet_end_hour is None):
        raise errors.InvalidInput("alerts.quiet_hours_pair")

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(Fan.__table__, **_default_fan_row(fan_id)))
        row = await s.get_one(Fan, fan_id)
        row.dms_closed = row.dms_closed_told = False
        if alerts_enabled is not None:
            row.alerts_enabled = alerts_enabled
        if timezone is not None:
            row.timezone = timezone
        if quiet_start_hour is not None:
            row.quiet_start_hour, row.quiet_end_hour = quiet_start_hour, quiet_end_hour

    await store.transaction(work)
    return await fan_settings(store, fan_id)


async def take_dms_closed_notice(store: Store, fan_id: int) -> bool:
    """True once after a DM to ``fan_id`` was refused because their DMs are closed: the caller tells
    the fan (their next command). From then on DMs are tried again; the first that gets through
    clears the flag, one refused again sets it anew (and the fan is told again).

    A read for every command; the write only when there is something to tell, and conditional, so
    two commands at once tell the fan once."""
    async with store.session() as s:
        row = (await s.execute(select(Fan.dms_closed, Fan.dms_closed_told).where(Fan.discord_id == fan_id))).first()
    if row is None or not row.dms_closed or row.dms_closed_told:
        return False

    async def work(s: AsyncSession) -> bool:
        result = await s.execute(
            update(Fan)
            .where(Fan.discord_id == fan_id, Fan.dms_closed.is_(True), Fan.dms_closed_told.is_(False))
            .values(dms_closed_told=True)
        )
        return rowcount(result) == 1

    return await store.transaction(work)


# --- who is interested in a show -------------------------------------------------------------------


async def _interest_keys(s: AsyncSession, show_id: int) -> tuple[list[str], list[str]]:
    artists = list((await s.execute(select(ShowArtist.key).where(ShowArtist.show_id == show_id))).scalars())
    genres = list((await s.execute(select(ShowGenre.key).where(ShowGenre.show_id == show_id))).scalars())
    return artists, genres


def _reachable(fan_column: InstrumentedAttribute[int], *, require_alerts: bool) -> ColumnElement[bool]:
    """Fans with no settings row have the defaults (alerts on, DMs open)."""
    cond = or_(Fan.discord_id.is_(None), Fan.dms_closed.is_(False), Fan.dms_closed_told.is_(True))
    if require_alerts:
        cond = and_(cond, or_(Fan.discord_id.is_(None), Fan.alerts_enabled.is_(True)))
    return cond


def _followers_select(artist_keys: list[str], genre_keys: list[str]) -> Select[tuple[int]]:
    matches = []
    if artist_keys:
        matches.append(and_(Follow.kind == FollowKind.ARTIST.value, Follow.key.in_(artist_keys)))
    if genre_keys:
        matches.append(and_(Follow.kind == FollowKind.GENRE.value, Follow.key.in_(genre_keys)))
    return (
        select(Follow.fan_discord_id.label("fan"))
        .outerjoin(Fan, Fan.discord_id == Follow.fan_discord_id)
        .where(or_(*matches) if matches else literal(False), _reachable(Follow.fan_discord_id, require_alerts=True))
    )


async def _insert_outbox_for(store: Store, s: AsyncSession, fans_select: Select[tuple[int]], *, kind: str, payload: dict[str, Any], dedupe_prefix: str) -> int:
    """One outbox row per distinct fan of ``fans_select`` (a query with a ``fan`` column)."""
    now = store.now()
    fans = fans_select.subquery()
    distinct_fans = select(fans.c.fan).distinct().subquery()
    rows = select(
        literal(kind, String).label("kind"),
        distinct_fans.c.fan,
        literal(json.dumps(payload), String).label("payload"),
        (literal(dedupe_prefix, String) + cast(distinct_fans.c.fan, String)).label("dedupe_key"),
        literal(OutboxStatus.PENDING.value, String).label("status"),
        literal(0).label("attempts"),
        literal(now, OutboxMessage.__table__.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, OutboxMessage.__table__.c.created_at.type).label("created_at"),
    )
    result = await s.execute(
        store.insert_ignore_from_select(
            OutboxMessage.__table__,
            ["kind", "recipient_discord_id", "payload", "dedupe_key", "status", "attempts", "next_attempt_at", "created_at"],
            rows,
        )
    )
    return max(rowcount(result), 0)


async def fan_out_announcement(store: Store, s: AsyncSession, show: Show) -> int:
    """Queue one alert DM per fan following any of the show's artists or genres (inside the
    announcing transaction). A show announced again alerts nobody twice."""
    artists, genres = await _interest_keys(s, show.id)
    return await _insert_outbox_for(
        store, s, _followers_select(artists, genres), kind=ALERT, payload={"show_id": show.id}, dedupe_prefix=f"alert:{show.id}:"
    )


# --- reminders and the digest ----------------------------------------------------------------------


async def request_reminder(store: Store, show_id: int, fan_id: int) -> datetime:
    """"Remind me": returns the on-sale time the fan will be reminded of."""

    async def work(s: AsyncSession) -> datetime:
        show = await s.get(Show, show_id)
        if show is None:
            raise errors.ShowNotFound(show_id)
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        if show.on_sale_at <= store.now():
            raise errors.AlreadyDone("reminder.sale_open", title=show.title)
        await s.execute(store.insert_ignore(ReminderRequest.__table__, show_id=show.id, fan_discord_id=fan_id, created_at=store.now()))
        return show.on_sale_at

    return await store.transaction(work)


async def plan_show_notices(store: Store, s: AsyncSession, show: Show) -> None:
    """(Re)plan a show's on-sale reminders: 24 h and 1 h before sales open, those still ahead; and its
    ticket holders' reminders before the start (domain/reminders.py)."""
    await s.execute(delete(ScheduledNotice).where(ScheduledNotice.show_id == show.id, ScheduledNotice.status == "pending"))
    now = store.now()
    for lead, delta in REMINDER_LEADS.items():
        due = show.on_sale_at - delta
        if due > now and show.status != ShowStatus.CANCELLED.value:
            key = f"show:{show.id}:onsale-{lead}:{int(show.on_sale_at.timestamp())}"
            await s.execute(store.insert_ignore(ScheduledNotice.__table__, key=key, kind=REMINDER, show_id=show.id, due_at=due, status="pending", fanned_out=0))
    from domain import reminders  # (reminders builds on this module)

    await reminders.plan(store, s, show)  # and the ticket holders' reminders before the start


async def plan_weekly_digest(store: Store) -> str:
    """Plan this ISO week's digest (idempotent: every process may call it; one row results)."""
    now = store.now()
    year, week, _ = now.isocalendar()
    key = f"digest:{year}-W{week:02d}"

    async def work(s: AsyncSession) -> None:
        await s.execute(store.insert_ignore(ScheduledNotice.__table__, key=key, kind=DIGEST, show_id=None, due_at=now, status="pending", fanned_out=0))

    await store.transaction(work)
    return key


async def run_due_notices(store: Store, *, limit: int = 20) -> int:
    """Fan out every notice that is due. Returns the number of messages queued."""
    async with store.session() as s:
        due = (
            await s.execute(
                select(ScheduledNotice.id)
                .where(ScheduledNotice.status == "pending", ScheduledNotice.due_at <= store.now())
                .order_by(ScheduledNotice.due_at)
                .limit(limit)
            )
        ).scalars().all()
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
    show = await s.get(Show, notice.show_id)
    if show is None or show.status == ShowStatus.CANCELLED.value or show.on_sale_at <= store.now():
        return 0  # stale: sales already open (a long outage) or the show is off
    lead = "1h" if "onsale-1h" in notice.key else "24h"
    artists, genres = await _interest_keys(s, show.id)
    asked = (
        select(ReminderRequest.fan_discord_id.label("fan"))
        .outerjoin(Fan, Fan.discord_id == ReminderRequest.fan_discord_id)
        .where(ReminderRequest.show_id == show.id, _reachable(ReminderRequest.fan_discord_id, require_alerts=False))
    )
    fans = union(_followers_select(artists, genres), asked)
    return await _insert_outbox_for(
        store, s, select(fans.subquery().c.fan), kind=REMINDER, payload={"show_id": show.id, "lead": lead}, dedupe_prefix=f"reminder:{notice.key}:"
    )


async def _fan_out_digest(store: Store, s: AsyncSession, notice: ScheduledNotice) -> int:
    """Shows created in the past week, still ahead, matched against each fan's follows."""
    now = store.now()
    recent = (
        await s.execute(
            select(Show.id).where(Show.created_at > now - timedelta(days=7), Show.starts_at > now, Show.status != ShowStatus.CANCELLED.value)
        )
    ).scalars().all()
    if not recent:
        return 0
    pairs: set[tuple[int, int]] = set()
    for table, kind in ((ShowArtist, FollowKind.ARTIST), (ShowGenre, FollowKind.GENRE)):
        rows = await s.execute(
            select(Follow.fan_discord_id, table.show_id)
            .join(table, and_(table.key == Follow.key, Follow.kind == kind.value))
            .outerjoin(Fan, Fan.discord_id == Follow.fan_discord_id)
            .where(table.show_id.in_(recent), _reachable(Follow.fan_discord_id, require_alerts=True))
        )
        pairs.update(rows.tuples().all())
    per_fan: dict[int, list[int]] = defaultdict(list)
    for fan, show_id in sorted(pairs):
        per_fan[fan].append(show_id)
    n = 0
    for fan, show_ids in per_fan.items():
        result = await s.execute(
            store.insert_ignore(
                OutboxMessage.__table__,
                dedupe_key=f"{notice.key}:{fan}",
                kind=DIGEST,
                recipient_discord_id=fan,
                payload={"show_ids": show_ids[:10]},
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        n += max(rowcount(result), 0)
    return n

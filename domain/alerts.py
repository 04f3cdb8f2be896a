"""Interest alerts, on-sale reminders and the weekly digest: who gets told, and when.

Fan-outs are written into the outbox by ``INSERT ... SELECT`` whose rows carry a dedupe key per
(cause, fan): a fan who follows both the artist and the genre of a show is one row, and running the
same fan-out twice (a retried transaction, two processes) adds nothing. Timed fan-outs are
``ScheduledNotice`` rows claimed by a conditional UPDATE, so with many processes each runs once.

A big artist's followers are not written in one statement: an announcement (or reminder) is a
``FanOut`` row walked in batches of a few thousand followers (keyset on the follow id), each batch
its own transaction that also moves the cursor. The first batch is written with the announcement
itself, so the sender starts on it at once; the sender writes the rest as it goes
(:func:`fan_out_step`), and whichever process drains next resumes after a crash. Memory and
transaction size stay the same for 1,000 or 1,000,000 followers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Select, Subquery

from domain import alert_roles
from domain.models import (
    AlertRoleMember,
    DMChannel,
    Fan,
    FanOut,
    Follow,
    FollowKind,
    OutboxMessage,
    OutboxStatus,
    ReminderRequest,
    Show,
    ShowArtist,
    ShowGenre,
    ShowStatus,
)
from domain.outbox import PRIORITIES, priority_of
from domain.store import Store, rowcount

ALERT = "show_alert"
REMINDER = "onsale_reminder"
DIGEST = "digest"
ROLE_POST = alert_roles.ROLE_POST  # a server channel post pinging the show's alert roles
# Messages a fan opted into by following; they obey the alerts switch and quiet hours.
INTEREST_KINDS = frozenset({ALERT, REMINDER, DIGEST})
REMINDER_LEADS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}


# --- who is interested in a show -------------------------------------------------------------------


async def interest_keys(s: AsyncSession, show_id: int) -> tuple[list[str], list[str]]:
    artists = list((await s.execute(select(ShowArtist.key).where(ShowArtist.show_id == show_id))).scalars())
    genres = list((await s.execute(select(ShowGenre.key).where(ShowGenre.show_id == show_id))).scalars())
    return artists, genres


def _reachable(fan_column: InstrumentedAttribute[int], *, require_alerts: bool) -> ColumnElement[bool]:
    """Fans with no settings row have the defaults (alerts on, DMs open)."""
    cond = or_(Fan.discord_id.is_(None), Fan.dms_closed.is_(False), Fan.dms_closed_told.is_(True))
    if require_alerts:
        cond = and_(cond, or_(Fan.discord_id.is_(None), Fan.alerts_enabled.is_(True)))
    return cond


async def _insert_outbox_for(
    store: Store,
    s: AsyncSession,
    fans_select: Select[tuple[int]],
    *,
    kind: str,
    payload: dict[str, Any],
    dedupe_prefix: str,
) -> int:
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
        literal(priority_of(kind), Integer).label("priority"),
    )
    result = await s.execute(
        store.insert_ignore_from_select(
            OutboxMessage.__table__,
            [
                "kind",
                "recipient_discord_id",
                "payload",
                "dedupe_key",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
                "priority",
            ],
            rows,
        )
    )
    return max(rowcount(result), 0)


# --- fan-outs in batches ---------------------------------------------------------------------------

# Followers walked per transaction by the sender's fan-out lane, and inside the announcing (or
# reminding) transaction: small enough that neither memory nor a transaction grows with the artist.
FAN_OUT_BATCH = 2000
INLINE_BATCH = 1000


@dataclass(frozen=True)
class AlertPlan:
    """What an announcement set going, for the organizer: how many fans get a DM, how many of them
    already have a DM channel open (one request each instead of two), how many messages of the same
    or a higher priority wait before them, and how many channel posts ping an alert role instead."""

    followers: int = 0
    known_channels: int = 0
    ahead: int = 0
    role_posts: int = 0
    queued_now: int = 0  # outbox rows written with the announcement (the first batch)

    @property
    def requests(self) -> int:
        """Discord requests the DMs take: one per message, one more per DM channel still to open."""
        return self.ahead + 2 * self.followers - min(self.known_channels, self.followers) + self.role_posts


def alert_sources(artists: list[str], genres: list[str], *, reminders_of: int | None = None) -> list[list[Any]]:
    out: list[list[Any]] = [[FollowKind.ARTIST.value, key] for key in sorted(artists)] + [
        [FollowKind.GENRE.value, key] for key in sorted(genres)
    ]
    if reminders_of is not None:
        out.append(["reminders", reminders_of])
    return out


def _not_pinged(
    job_roles: list[int] | None, pinged_at: datetime, fan_column: InstrumentedAttribute[int]
) -> ColumnElement[bool]:
    """Not a member of an alert role that a channel post pinged for this show (at ``pinged_at``)."""
    if not job_roles:
        return literal(True)
    return ~exists().where(
        AlertRoleMember.fan_discord_id == fan_column,
        AlertRoleMember.role_id.in_(job_roles),
        AlertRoleMember.joined_at <= pinged_at,
        or_(AlertRoleMember.left_at.is_(None), AlertRoleMember.left_at > pinged_at),
    )


def _source_parts(
    source: list[Any],
) -> tuple[InstrumentedAttribute[int], InstrumentedAttribute[int], list[ColumnElement[bool]], bool]:
    """(cursor column, fan column, conditions, alerts switch applies) of one fan-out source."""
    kind, ref = source
    if kind == "reminders":  # fans who pressed "Remind me": walked by fan id along (show_id, fan)
        return ReminderRequest.fan_discord_id, ReminderRequest.fan_discord_id, [ReminderRequest.show_id == ref], False
    # followers of one artist or genre: walked by follow id along the (kind, key) index
    return Follow.id, Follow.fan_discord_id, [Follow.kind == kind, Follow.key == ref], True


def _fans_of(
    source: list[Any], job_roles: list[int] | None, pinged_at: datetime, *extra: ColumnElement[bool]
) -> Select[tuple[int]]:
    _cursor, fan, conds, require_alerts = _source_parts(source)
    return (
        select(fan.label("fan"))
        .outerjoin(Fan, Fan.discord_id == fan)
        .where(*conds, *extra, _reachable(fan, require_alerts=require_alerts), _not_pinged(job_roles, pinged_at, fan))
    )


async def advance_fan_out(store: Store, s: AsyncSession, job: FanOut, *, rows: int) -> int:
    """Walk about ``rows`` followers from the job's cursor, queueing their DMs, and move the cursor
    (in the caller's transaction). Returns the outbox rows written."""
    queued = 0
    left = rows
    sources = list(job.sources)
    while left > 0 and job.source_index < len(sources):
        source = sources[job.source_index]
        if source[0] == "digest":  # each fan's own list of shows: grouped here, a batch of fans at a time
            n, hi = await _digest_slice(store, s, job, source[1], left)
        else:
            cursor, _fan, conds, _ = _source_parts(source)
            after = cursor > job.last_id
            hi = (
                await s.execute(select(cursor).where(*conds, after).order_by(cursor).offset(left - 1).limit(1))
            ).scalar()
            bounds = (after,) if hi is None else (after, cursor <= hi)
            n = await _insert_outbox_for(
                store,
                s,
                _fans_of(source, job.exclude_role_ids, job.created_at, *bounds),
                kind=job.kind,
                payload=job.payload,
                dedupe_prefix=job.dedupe_prefix,
            )
        queued += n
        if hi is None:  # this source is done: on to the next one
            job.source_index += 1
            job.last_id = 0
            left -= max(n, 1)
        else:
            job.last_id = hi
            left = 0
    job.written += queued
    if job.source_index >= len(sources):
        job.status = "done"
        job.done_at = store.now()
    return queued


async def fan_out_step(store: Store, *, batch: int = FAN_OUT_BATCH) -> int | None:
    """Write the next batch of the oldest unfinished fan-out (the sender's fan-out lane calls this
    while it sends). Returns the outbox rows written, or None when no fan-out is left. Two processes
    never walk the same fan-out at once (its row is locked, SKIP LOCKED), and a batch commits with
    the cursor, so a crash loses nothing and repeats nothing."""

    async def work(s: AsyncSession) -> int | None:
        job = (
            await s.execute(
                select(FanOut)
                .where(FanOut.status == "pending")
                .order_by(FanOut.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if job is None:
            return None
        if job.show_id is not None:
            show = await s.get(Show, job.show_id)
            if show is None or show.status == ShowStatus.CANCELLED.value:  # nobody is told of a cancelled show
                job.status, job.done_at = "done", store.now()
                return 0
        return await advance_fan_out(store, s, job, rows=batch)

    return await store.transaction(work)


async def fan_outs_pending(store: Store) -> bool:
    async with store.session() as s:
        return (await s.execute(select(FanOut.id).where(FanOut.status == "pending").limit(1))).first() is not None


async def start_fan_out(
    store: Store,
    s: AsyncSession,
    *,
    key: str,
    kind: str,
    show_id: int | None,
    payload: dict[str, Any],
    dedupe_prefix: str,
    sources: list[list[Any]],
    guild_id: int | None = None,
    exclude_role_ids: list[int] | None = None,
) -> tuple[FanOut, bool]:
    """The fan-out named ``key``: created, or (it ran before: announced again) walked again from
    the start over today's followers (their dedupe keys skip whoever was told already). Returns
    (job, whether it existed)."""
    now = store.now()
    find = select(FanOut).where(FanOut.key == key).with_for_update()
    job = (await s.execute(find)).scalar_one_or_none()
    if job is not None:
        job.sources = sources
        if exclude_role_ids:
            job.exclude_role_ids = sorted(set(job.exclude_role_ids or []) | set(exclude_role_ids))
        if job.status == "done":
            job.status, job.source_index, job.last_id, job.done_at = "pending", 0, 0, None
        return job, True
    await s.execute(
        store.insert_ignore(
            FanOut.__table__,
            key=key,
            kind=kind,
            show_id=show_id,
            payload=payload,
            dedupe_prefix=dedupe_prefix,
            sources=sources,
            guild_id=guild_id,
            exclude_role_ids=exclude_role_ids or None,
            source_index=0,
            last_id=0,
            status="pending",
            total=0,
            written=0,
            created_at=now,
        )
    )
    return (await s.execute(find)).scalar_one(), False


async def _count_recipients(s: AsyncSession, job: FanOut, *, not_yet_told: bool) -> tuple[int, int]:
    """(fans the job will DM, of them those with a DM channel open). ``not_yet_told``: only fans
    with no row of this fan-out yet (a show announced again)."""
    selects = []
    for source in job.sources:
        _cursor, fan, _conds, _ = _source_parts(source)
        extra: tuple[ColumnElement[bool], ...] = ()
        if not_yet_told:
            extra = (
                ~exists().where(OutboxMessage.dedupe_key == literal(job.dedupe_prefix, String) + cast(fan, String)),
            )
        selects.append(_fans_of(source, job.exclude_role_ids, job.created_at, *extra))
    if not selects:
        return 0, 0
    fans = (union(*selects) if len(selects) > 1 else selects[0]).subquery()
    row = (
        await s.execute(
            select(func.count(), func.count(DMChannel.user_discord_id))
            .select_from(fans)
            .outerjoin(DMChannel, DMChannel.user_discord_id == fans.c.fan)
        )
    ).one()
    return int(row[0]), int(row[1])


async def _waiting_ahead(s: AsyncSession, kind: str, *, besides: int) -> int:
    """Messages that go out before a new ``kind`` fan-out: pending ones of the same or a higher
    priority, and what other unfinished fan-outs of them still have to write."""
    priority = priority_of(kind)
    pending = (
        await s.execute(
            select(func.count()).where(
                OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.priority <= priority
            )
        )
    ).scalar_one()
    kinds = [k for k, p in PRIORITIES.items() if p <= priority]
    unwritten = (
        await s.execute(
            select(func.coalesce(func.sum(FanOut.total - FanOut.written), 0)).where(
                FanOut.status == "pending", FanOut.id != besides, FanOut.kind.in_(kinds), FanOut.total > FanOut.written
            )
        )
    ).scalar_one()
    return int(pending) + int(unwritten)


async def announce_alerts(store: Store, s: AsyncSession, show: Show) -> AlertPlan:
    """Inside the announcing transaction: ping the show's alert roles in their servers' channels
    (domain/alert_roles.py; a server opts in), and start the DMs to every fan following any of the
    show's artists or genres, but members of a pinged role, who got the ping. The first batch is
    written here; the sender writes the rest while it sends. A show announced again alerts nobody
    twice and pings no role twice, but reaches who followed since."""
    artists, genres = await interest_keys(s, show.id)
    posts, pinged = await alert_roles.queue_role_posts(store, s, show, artists, genres)
    job, existed = await start_fan_out(
        store,
        s,
        key=f"alert:{show.id}",
        kind=ALERT,
        show_id=show.id,
        payload={"show_id": show.id},
        dedupe_prefix=f"alert:{show.id}:",
        sources=alert_sources(artists, genres),
        guild_id=show.guild_id,
        exclude_role_ids=pinged,
    )
    followers, known = await _count_recipients(s, job, not_yet_told=existed)
    job.total = job.written + followers
    ahead = await _waiting_ahead(s, ALERT, besides=job.id)
    queued = await advance_fan_out(store, s, job, rows=INLINE_BATCH)
    return AlertPlan(followers=followers, known_channels=known, ahead=ahead, role_posts=posts, queued_now=queued)


async def fan_out_announcement(store: Store, s: AsyncSession, show: Show) -> int:
    """Queue an alert DM for every fan following any of the show's artists or genres (inside the
    announcing transaction); returns the rows written now (the rest follow in batches). A show
    announced again alerts nobody twice."""
    return (await announce_alerts(store, s, show)).queued_now


def _digest_pairs(show_ids: list[int], *extra: ColumnElement[bool]) -> Subquery:
    """(fan, show) for every reachable fan following an artist or genre of ``show_ids``."""
    parts = [
        select(Follow.fan_discord_id.label("fan"), table.show_id.label("show"))
        .join(table, and_(table.key == Follow.key, Follow.kind == kind.value))
        .outerjoin(Fan, Fan.discord_id == Follow.fan_discord_id)
        .where(table.show_id.in_(show_ids), _reachable(Follow.fan_discord_id, require_alerts=True), *extra)
        for table, kind in ((ShowArtist, FollowKind.ARTIST), (ShowGenre, FollowKind.GENRE))
    ]
    return union(*parts).subquery()


async def _digest_slice(
    store: Store, s: AsyncSession, job: FanOut, show_ids: list[int], rows: int
) -> tuple[int, int | None]:
    """Digests for the next ``rows`` fans (by fan id) after the cursor. Returns (rows written, the
    last fan done, or None when no fan is left)."""
    after = Follow.fan_discord_id > job.last_id
    fans = _digest_pairs(show_ids, after)
    hi = (await s.execute(select(fans.c.fan).distinct().order_by(fans.c.fan).offset(rows - 1).limit(1))).scalar()
    bounded = _digest_pairs(show_ids, after, *(() if hi is None else (Follow.fan_discord_id <= hi,)))
    per_fan: dict[int, list[int]] = defaultdict(list)
    for fan, show_id in (
        await s.execute(select(bounded.c.fan, bounded.c.show).order_by(bounded.c.fan, bounded.c.show))
    ).all():
        per_fan[fan].append(show_id)
    if not per_fan:
        return 0, hi
    now = store.now()
    values = [
        {
            "dedupe_key": f"{job.dedupe_prefix}{fan}",
            "kind": DIGEST,
            "recipient_discord_id": fan,
            "payload": {"show_ids": ids[:10]},
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "priority": priority_of(DIGEST),
        }
        for fan, ids in per_fan.items()
    ]
    stmt = insert(OutboxMessage).values(values).prefix_with("OR IGNORE" if store.dialect == "sqlite" else "IGNORE")
    result = await s.execute(stmt)
    return max(rowcount(result), 0), hi

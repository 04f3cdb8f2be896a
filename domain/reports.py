"""The on-sale report: how an on-sale went, for the show's organizer.

Most figures are read back from the store of record (tickets, holds, waitlist entries). What no
other row keeps is appended to ``onsale_activity`` by the step that did it, inside that step's own
transaction, so the log cannot disagree with what happened:

- ``joined``: a fan took a place in the queue (the queue's write-through journal, domain/queue.py);
- ``admitted``: the queue let a fan in (domain/queue.py ``admit``);
- ``limit``: a fan let in was refused a hold at the show's per-fan limit (domain/queue.py ``reserve``);
- ``wl_declined`` / ``wl_lapsed`` / ``wl_passed``: a waitlist promotion that did not become the
  fan's (refused or card declined, an offer that ran out, an offer passed on; domain/waitlist_promotion.py);
- ``sold_out`` (at: the sale of the last seat) and ``reported``: written by :func:`watch`, the
  scheduler's job that DMs the organizer the report once, when the show sells out or, failing
  that, when sales close at the start.

No Discord here: :func:`onsale_report` returns plain figures; notifier/ words and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import String, Table, and_, bindparam, exists, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import (
    Hold,
    HoldStatus,
    OnSaleActivity,
    Organizer,
    QueuePlace,
    SeatStatus,
    Show,
    ShowSeat,
    ShowStatus,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from domain.outbox import enqueue
from domain.store import Store

JOINED = "joined"
ADMITTED = "admitted"
LIMIT = "limit"
WL_DECLINED = "wl_declined"
WL_LAPSED = "wl_lapsed"
WL_PASSED = "wl_passed"
SOLD_OUT = "sold_out"
REPORTED = "reported"

REPORT_DM = "onsale_report"
# How long after its start a show that never sold out is still looked at for its closing report.
CLOSED_REPORT_WINDOW = timedelta(days=1)


# --- the record, written by the steps themselves ---------------------------------------------------


async def note(
    s: AsyncSession, show_id: int, kind: str, fan_id: int | None, at: datetime, detail: str | None = None
) -> None:
    """Append one activity row, inside the caller's transaction."""
    await s.execute(
        insert(OnSaleActivity).values(
            show_id=show_id, kind=kind, fan_discord_id=fan_id, at=at, detail=(detail or None) and detail[:60]
        )
    )


_ACTIVITY = cast(Table, OnSaleActivity.__table__)  # bulk rows as Core inserts: no ORM bookkeeping per row


async def note_many(s: AsyncSession, show_id: int, kind: str, fans: list[int], at: datetime) -> None:
    """One row of ``kind`` for each fan, at ``at``, in the caller's transaction (one multi-row INSERT)."""
    if fans:
        await s.execute(
            insert(_ACTIVITY),
            [dict(show_id=show_id, kind=kind, fan_discord_id=f, at=at, detail=None) for f in fans],
        )


async def note_admitted(s: AsyncSession, show_id: int, fans: list[int], at: datetime) -> None:
    """The fans let in (their places' rows, in ``queue_places``), in the admission's own transaction:
    one INSERT ... SELECT from those rows, so a fan's values do not cross the driver again."""
    if fans:
        await s.execute(_ADMITTED_FROM_PLACES, {"show": show_id, "fans": fans, "at": at})


_ADMITTED_FROM_PLACES = insert(_ACTIVITY).from_select(
    ["show_id", "kind", "fan_discord_id", "at"],
    select(
        QueuePlace.show_id,
        literal(ADMITTED, String),
        QueuePlace.fan_discord_id,
        bindparam("at", type_=OnSaleActivity.at.type),
    ).where(QueuePlace.show_id == bindparam("show"), QueuePlace.fan_discord_id.in_(bindparam("fans", expanding=True))),
)


async def note_joins(s: AsyncSession, places: list[dict[str, Any]]) -> None:
    """The queue's new places (rows of ``queue_places``: show_id, fan_discord_id, joined_at), in the
    journal's own transaction, after the places were written: one INSERT ... SELECT a show for a whole
    burst, read from those rows, so a join's values cross the driver once (escaping them was most of
    the joining process's CPU; bench/onsale.py)."""
    fans: dict[int, list[int]] = {}
    for p in places:
        fans.setdefault(p["show_id"], []).append(p["fan_discord_id"])
    for show_id, joined in fans.items():
        await s.execute(_JOINS_FROM_PLACES, {"show": show_id, "fans": joined})


_JOINS_FROM_PLACES = insert(_ACTIVITY).from_select(
    ["show_id", "kind", "fan_discord_id", "at"],
    select(QueuePlace.show_id, literal(JOINED, String), QueuePlace.fan_discord_id, QueuePlace.joined_at).where(
        QueuePlace.show_id == bindparam("show"), QueuePlace.fan_discord_id.in_(bindparam("fans", expanding=True))
    ),
)


async def note_refusal(store: Store, show_id: int, fan_id: int) -> None:
    """A hold refused at the per-fan limit (the refusal itself wrote nothing: this is its own row)."""
    await store.transaction(lambda s: note(s, show_id, LIMIT, fan_id, store.now()))


# --- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitlistOutcomes:
    joined: int = 0  # fans who ever joined the show's waitlist
    promoted: int = 0  # got tickets from it
    declined: int = 0  # a promotion refused (per-fan limit) or their card declined
    lapsed: int = 0  # an offer ran out
    passed: int = 0  # an offer passed on by the fan
    offered: int = 0  # an offer open now
    waiting: int = 0  # still waiting


@dataclass(frozen=True)
class OnSaleReport:
    show_id: int
    title: str
    timezone: str
    on_sale_at: datetime
    starts_at: datetime
    capacity: int
    sold: int  # live tickets (valid or checked in)
    joined_before: int  # distinct fans whose first place was taken before the open
    joined_after: int  # distinct fans who first joined after it
    admitted: int  # distinct fans the queue let in
    admission_rate: int  # the show's setting, fans per minute
    admitted_per_minute: float | None  # what the queue did: fans let in per minute, from the open to the last one
    longest_wait: timedelta | None  # from the open (or a later join) to being let in, the longest of any fan
    in_line: int | None  # fans in line right now (from the queue; None when it was not asked)
    sold_out_after: timedelta | None  # from the open to the sale of the last seat; None: not sold out
    limit_refusals: int  # holds refused at the per-fan limit
    limit_fans: int  # distinct fans refused there
    holds_lapsed: int  # holds that ran out before payment
    waitlist: WaitlistOutcomes = field(default_factory=WaitlistOutcomes)
    join_times: tuple[datetime, ...] = ()  # each fan's first join, for the chart
    sale_times: tuple[datetime, ...] = ()  # when each live ticket was issued, for the chart
    # The journal was deleted (the show started more than journal_kept() ago: domain/queue_places.py
    # purge_activity): what only it kept (joins, admissions, refusals at the limit, the waitlist's
    # declines, lapsed and passed offers) is not known, and reads 0 above. Tickets, holds and waitlist
    # entries are still counted.
    journal_cleared: bool = False

    @property
    def joined(self) -> int:
        return self.joined_before + self.joined_after


def journal_kept() -> timedelta:
    """How long after its start a show's on-sale journal is kept (domain/queue_places.py deletes it
    then; that module imports this one, hence the import here)."""
    from domain.queue_places import ACTIVITY_KEPT_AFTER_START

    return ACTIVITY_KEPT_AFTER_START


async def onsale_report(store: Store, show_id: int, *, in_line: int | None = None) -> OnSaleReport:
    """The figures of a show's on-sale, read now. ``in_line``: the queue's current length, when the
    caller can ask the queue (domain/queue.py ``line_length``)."""
    now = store.now()
    async with store.session() as s:
        show = await s.get(Show, show_id)
        if show is None:
            raise errors.ShowNotFound(show_id)
        first_join: dict[int | None, datetime] = dict(
            (
                await s.execute(
                    select(OnSaleActivity.fan_discord_id, func.min(OnSaleActivity.at))
                    .where(OnSaleActivity.show_id == show_id, OnSaleActivity.kind == JOINED)
                    .group_by(OnSaleActivity.fan_discord_id)
                )
            )
            .tuples()
            .all()
        )
        first_admit: dict[int | None, datetime] = dict(
            (
                await s.execute(
                    select(OnSaleActivity.fan_discord_id, func.min(OnSaleActivity.at))
                    .where(OnSaleActivity.show_id == show_id, OnSaleActivity.kind == ADMITTED)
                    .group_by(OnSaleActivity.fan_discord_id)
                )
            )
            .tuples()
            .all()
        )
        counted: dict[str, int] = dict(
            (
                await s.execute(
                    select(OnSaleActivity.kind, func.count())
                    .where(
                        OnSaleActivity.show_id == show_id,
                        OnSaleActivity.kind.in_((LIMIT, WL_DECLINED, WL_LAPSED, WL_PASSED)),
                    )
                    .group_by(OnSaleActivity.kind)
                )
            )
            .tuples()
            .all()
        )
        limit_fans = (
            await s.execute(
                select(func.count(func.distinct(OnSaleActivity.fan_discord_id))).where(
                    OnSaleActivity.show_id == show_id, OnSaleActivity.kind == LIMIT
                )
            )
        ).scalar_one()
        sold_out_at = (
            await s.execute(
                select(func.min(OnSaleActivity.at)).where(
                    OnSaleActivity.show_id == show_id, OnSaleActivity.kind == SOLD_OUT
                )
            )
        ).scalar_one()
        capacity = (await s.execute(select(func.count()).where(ShowSeat.show_id == show_id))).scalar_one()
        sold = (
            await s.execute(
                select(func.count()).where(Ticket.show_id == show_id, Ticket.status != TicketStatus.REVOKED.value)
            )
        ).scalar_one()
        if sold_out_at is None and await _sold_out(s, show_id):
            sold_out_at = await _last_sale(s, show_id)
        sale_times = (
            (
                await s.execute(
                    select(Ticket.issued_at)
                    .where(Ticket.show_id == show_id, Ticket.status != TicketStatus.REVOKED.value)
                    .order_by(Ticket.issued_at)
                )
            )
            .scalars()
            .all()
        )
        lapsed = (
            await s.execute(
                select(func.count()).where(
                    Hold.show_id == show_id,
                    or_(
                        Hold.status == HoldStatus.EXPIRED.value,
                        and_(Hold.status == HoldStatus.ACTIVE.value, Hold.expires_at <= now),
                    ),
                )
            )
        ).scalar_one()
        entries: dict[str, int] = dict(
            (
                await s.execute(
                    select(WaitlistEntry.status, func.count())
                    .where(WaitlistEntry.show_id == show_id)
                    .group_by(WaitlistEntry.status)
                )
            )
            .tuples()
            .all()
        )
        journal = (await s.execute(select(exists().where(OnSaleActivity.show_id == show_id)))).scalar_one()
    on_sale = show.on_sale_at
    before = sum(1 for at in first_join.values() if at < on_sale)
    waits = [at - max(first_join.get(fan, on_sale), on_sale) for fan, at in first_admit.items()]
    last_admit = max(first_admit.values(), default=None)
    per_minute = None
    if last_admit is not None:
        span = max((last_admit - on_sale).total_seconds(), 60.0)
        per_minute = round(len(first_admit) * 60 / span, 1)
    return OnSaleReport(
        show_id=show.id,
        title=show.title,
        timezone=show.timezone or "UTC",
        on_sale_at=on_sale,
        starts_at=show.starts_at,
        capacity=capacity,
        sold=sold,
        joined_before=before,
        joined_after=len(first_join) - before,
        admitted=len(first_admit),
        admission_rate=show.admission_per_minute,
        admitted_per_minute=per_minute,
        longest_wait=max((max(w, timedelta(0)) for w in waits), default=None),
        in_line=in_line,
        sold_out_after=None if sold_out_at is None else max(sold_out_at - on_sale, timedelta(0)),
        limit_refusals=counted.get(LIMIT, 0),
        limit_fans=limit_fans,
        holds_lapsed=lapsed,
        waitlist=WaitlistOutcomes(
            joined=sum(entries.values()),
            promoted=entries.get(WaitlistStatus.PROMOTED.value, 0),
            declined=counted.get(WL_DECLINED, 0),
            lapsed=counted.get(WL_LAPSED, 0),
            passed=counted.get(WL_PASSED, 0),
            offered=entries.get("offered", 0),
            waiting=entries.get(WaitlistStatus.WAITING.value, 0),
        ),
        join_times=tuple(sorted(first_join.values())),
        sale_times=tuple(sale_times),
        journal_cleared=not journal and show.starts_at <= now - journal_kept(),
    )


async def organizer_report(store: Store, redis: Redis | None, show_id: int, organizer_discord_id: int) -> OnSaleReport:
    """``/show report``: the report, for the show's organizer only, with the queue's current line."""
    from domain import queue, shows

    await shows.require_organizer(store, show_id, organizer_discord_id, "sales")
    in_line = await queue.line_length(redis, show_id) if redis is not None else None
    return await onsale_report(store, show_id, in_line=in_line)


async def _sold_out(s: AsyncSession, show_id: int) -> bool:
    """Every seat sold: none on sale, none held by a buyer, none kept for the waitlist."""
    open_seats = (
        await s.execute(
            select(func.count()).where(
                ShowSeat.show_id == show_id, ShowSeat.status.in_((SeatStatus.AVAILABLE.value, SeatStatus.HELD.value))
            )
        )
    ).scalar_one()
    seats = (await s.execute(select(func.count()).where(ShowSeat.show_id == show_id))).scalar_one()
    return seats > 0 and open_seats == 0


async def _last_sale(s: AsyncSession, show_id: int) -> datetime | None:
    return (
        await s.execute(
            select(func.max(Ticket.issued_at)).where(
                Ticket.show_id == show_id, Ticket.status != TicketStatus.REVOKED.value
            )
        )
    ).scalar_one()


# --- the organizer's DM -----------------------------------------------------------------------------


async def watch(store: Store) -> int:
    """The scheduler's job: DM each on-sale's organizer its report once, when the show sells out
    or, if it never does, when sales close at its start. Safe in many processes: the DM's dedupe
    key makes it one, whoever gets there. Returns the reports queued."""
    now = store.now()
    reported = exists().where(OnSaleActivity.show_id == Show.id, OnSaleActivity.kind == REPORTED)
    async with store.session() as s:
        candidates = (
            (
                await s.execute(
                    select(Show.id).where(
                        Show.status == ShowStatus.SCHEDULED.value,
                        Show.on_sale_at <= now,
                        Show.starts_at > now - CLOSED_REPORT_WINDOW,
                        ~reported,
                    )
                )
            )
            .scalars()
            .all()
        )
    queued = 0
    for show_id in candidates:

        async def work(s: AsyncSession, show_id: int = show_id) -> int:
            return await _report_if_due(store, s, show_id)

        queued += await store.transaction(work)
    return queued


async def _report_if_due(store: Store, s: AsyncSession, show_id: int) -> int:
    now = store.now()
    show = await s.get(Show, show_id)
    if show is None or show.status != ShowStatus.SCHEDULED.value:
        return 0
    if await _sold_out(s, show_id):
        why = "sold_out"
        await note(s, show_id, SOLD_OUT, None, await _last_sale(s, show_id) or now)
    elif now >= show.starts_at:
        why = "closed"
    else:
        return 0
    await note(s, show_id, REPORTED, None, now, why)
    organizer = await s.get(Organizer, show.organizer_id)
    if organizer is None:
        return 0
    await enqueue(
        store,
        s,
        kind=REPORT_DM,
        recipient_discord_id=organizer.discord_id,
        payload={"show_id": show_id, "why": why},
        dedupe_key=f"report:{show_id}:onsale",
    )
    return 1

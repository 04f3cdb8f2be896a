"""A show's seats: what a seat is to a fan, where each one stands, and how a seat comes back.

A seat that comes back (a cancelled ticket, a hold that ended, added capacity) goes to the show's
waitlist first: :func:`return_seats` keeps it back for waiting fans, the waitlist's promotion
(domain/waitlist_promotion.py) takes it, and what no waiting fan can take goes on sale
(:func:`release_kept_seats`). The use cases that return seats (domain/cancellations.py,
domain/capacity.py) run the promotion themselves; the scheduler's pass catches the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from domain import errors
from domain.models import PriceTier, SeatStatus, ShowSeat, WaitlistEntry, WaitlistStatus
from domain.shows import load_show
from domain.store import Store


@dataclass(frozen=True)
class SeatView:
    id: int
    section: str
    row_label: str
    seat_number: int
    tier: str
    price_cents: int

    @property
    def label(self) -> str:
        if not self.row_label:
            return f"{self.section} · general admission #{self.seat_number}"
        return f"Section {self.section} · row {self.row_label} · seat {self.seat_number}"


async def seat_views(s: AsyncSession, where: ColumnElement[bool]) -> tuple[SeatView, ...]:
    rows = (
        await s.execute(
            select(ShowSeat, PriceTier.name, PriceTier.price_cents)
            .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
            .where(where)
            .order_by(ShowSeat.position)
        )
    ).all()
    return tuple(SeatView(r.id, r.section, r.row_label, r.seat_number, name, price) for r, name, price in rows)


# A seat that comes back (a cancelled ticket, a hold that ended) while fans wait on the show's
# waitlist is kept for them: held by no hold, until ``now + WAITLIST_FIRST``. Waitlist promotion may
# take it at once; a buyer only once that time has passed, so a promotion that never comes (a crash)
# cannot keep the seat off sale for longer.
WAITLIST_FIRST = timedelta(seconds=60)


def sellable(now: datetime | ColumnElement[datetime], *, for_waitlist: bool = False) -> ColumnElement[bool]:
    """SQL condition: a seat a new hold may take. A buyer: a free seat, or one held by a hold that
    has run out. A waitlist promotion: only a seat kept back for the waitlist (one that came back),
    never a seat on sale, so the waitlist cannot overtake the fans the queue is selling to."""
    if for_waitlist:
        return kept_for_waitlist()
    return or_(
        ShowSeat.status == SeatStatus.AVAILABLE.value,
        and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.held_until <= now),
    )


def kept_for_waitlist() -> ColumnElement[bool]:
    return and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.hold_id.is_(None))


def _on_sale_or_held() -> ColumnElement[bool]:
    """SQL condition: a seat a buyer can take now or may get when a buyer's hold ends (so the queue
    is still selling it); not sold, not kept for the waitlist."""
    return or_(
        ShowSeat.status == SeatStatus.AVAILABLE.value,
        and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.hold_id.is_not(None)),
    )


async def seats_still_selling(s: AsyncSession, show_id: int, tier_id: int | None = None) -> int:
    """Seats of a show (of one tier) that are on sale or held by a buyer: while there are any, the
    queue is selling them and the waitlist is not open."""
    q = select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show_id, _on_sale_or_held())
    if tier_id is not None:
        q = q.where(ShowSeat.tier_id == tier_id)
    return (await s.execute(q)).scalar_one()


async def return_seats(store: Store, s: AsyncSession, show_id: int, where: ColumnElement[bool]) -> None:
    """Seats come back (a cancelled ticket, an ended hold, added capacity): kept for the waitlist
    first when a waiting fan could take them (one waiting for any tier, or for the seat's tier; the
    caller, or the next scheduler tick, promotes them), otherwise straight back on sale."""
    tiers = set(
        (
            await s.execute(
                select(WaitlistEntry.tier_id)
                .where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
                .distinct()
            )
        ).scalars()
    )
    kept: dict[str, object] = dict(status=SeatStatus.HELD.value, hold_id=None, held_until=store.now() + WAITLIST_FIRST)
    on_sale: dict[str, object] = dict(status=SeatStatus.AVAILABLE.value, hold_id=None, held_until=None)
    seats = and_(ShowSeat.show_id == show_id, where)
    if None in tiers:
        steps = [(seats, kept)]
    elif tiers:
        steps = [
            (and_(seats, ShowSeat.tier_id.in_(tiers)), kept),
            (and_(seats, ShowSeat.tier_id.not_in(tiers)), on_sale),
        ]
    else:
        steps = [(seats, on_sale)]
    for condition, values in steps:
        await s.execute(update(ShowSeat).where(condition).values(**values).execution_options(synchronize_session=False))


async def has_kept_seats(store: Store, show_id: int) -> bool:
    async with store.session() as s:
        return (
            await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show_id, kept_for_waitlist()).limit(1))
        ).first() is not None


async def release_kept_seats(store: Store, show_id: int) -> None:
    """After a promotion pass: seats kept for the waitlist that no waiting fan could take go on sale.
    Seats a waiting fan could still take stay kept: another process's promotion pass may be taking
    them right now (its entries were locked, so this pass skipped them), and a pass that never comes
    (a crash) only keeps them until ``WAITLIST_FIRST`` runs out."""

    async def work(s: AsyncSession) -> None:
        kept = dict(
            (
                await s.execute(
                    select(ShowSeat.tier_id, func.count())
                    .where(ShowSeat.show_id == show_id, kept_for_waitlist())
                    .group_by(ShowSeat.tier_id)
                )
            )
            .tuples()
            .all()
        )
        if not kept:
            return
        smallest = dict(
            (
                await s.execute(
                    select(WaitlistEntry.tier_id, func.min(WaitlistEntry.quantity))
                    .where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
                    .group_by(WaitlistEntry.tier_id)
                )
            )
            .tuples()
            .all()
        )
        if None in smallest and smallest[None] <= sum(kept.values()):
            return  # a fan waiting for any tier fits
        release = [tier for tier, n in kept.items() if not (tier in smallest and smallest[tier] <= n)]
        if release:
            await s.execute(
                update(ShowSeat)
                .where(ShowSeat.show_id == show_id, kept_for_waitlist(), ShowSeat.tier_id.in_(release))
                .values(status=SeatStatus.AVAILABLE.value, held_until=None)
                .execution_options(synchronize_session=False)
            )

    await store.transaction(work)


@dataclass(frozen=True)
class SeatState:
    id: int
    section: str
    row_label: str
    seat_number: int
    state: str  # available | held | sold (a lapsed hold reads as available)


@dataclass(frozen=True)
class SeatChoice:
    """What a fan picking seats sees: the show's title, how many seats one fan may take, and seats
    in best-first order (every seat of the show, or the free ones of one section)."""

    title: str
    per_fan_limit: int
    seats: list[SeatState]

    @property
    def sections_with_free_seats(self) -> list[str]:
        return list(dict.fromkeys(s.section for s in self.seats if s.state == SeatStatus.AVAILABLE.value))


_SEAT_COLUMNS = (ShowSeat.id, ShowSeat.section, ShowSeat.row_label, ShowSeat.seat_number, ShowSeat.status)


async def seat_states(store: Store, show_id: int) -> list[SeatState]:
    """Every seat of a show in best-first order, for the seat map. Read from the replica: a seat it
    still shows free may be gone, and the hold (on the primary) then refuses it."""
    return (await seat_picker(store, show_id)).seats


async def seat_picker(store: Store, show_id: int) -> SeatChoice:
    """The seat map's seats with the show's title and per-fan limit, in one read (the replica)."""
    now = store.now()
    async with store.read_session() as s:
        show = await load_show(s, show_id)
        rows = await s.execute(
            select(*_SEAT_COLUMNS, ShowSeat.held_until).where(ShowSeat.show_id == show_id).order_by(ShowSeat.position)
        )
        out = []
        for sid, section, row, number, status, held_until in rows.tuples():
            if status == SeatStatus.HELD.value and held_until is not None and held_until <= now:
                status = SeatStatus.AVAILABLE.value
            out.append(SeatState(sid, section, row, number, status))
    return SeatChoice(show.title, show.per_fan_limit, out)


async def free_in_section(store: Store, show_id: int, section: str, *, most: int) -> SeatChoice:
    """The best ``most`` seats a buyer could take now in one section (the replica): the database
    picks them, rather than every seat of the show being read to find a few."""
    now = store.now()
    async with store.read_session() as s:
        show = await load_show(s, show_id)
        rows = await s.execute(
            select(*_SEAT_COLUMNS)
            .where(ShowSeat.show_id == show_id, ShowSeat.section == section, sellable(now))
            .order_by(ShowSeat.position)
            .limit(most)
        )
        free = [SeatState(sid, sec, row, n, SeatStatus.AVAILABLE.value) for sid, sec, row, n, _ in rows.tuples()]
    return SeatChoice(show.title, show.per_fan_limit, free)


@dataclass(frozen=True)
class TierAvailability:
    tier: str
    price_cents: int
    available: int
    held: int
    sold: int


async def availability(store: Store, show_id: int) -> list[TierAvailability]:
    """Seats per tier by state, for the sales report (read from the replica, it may lag: never to
    decide a sale). A hold past its expiry counts as available: it is, to a buyer."""
    now = store.now()
    async with store.read_session() as s:
        await load_show(s, show_id)
        tiers = (
            (await s.execute(select(PriceTier).where(PriceTier.show_id == show_id).order_by(PriceTier.id)))
            .scalars()
            .all()
        )
        counts = (
            await s.execute(
                select(ShowSeat.tier_id, ShowSeat.status, ShowSeat.held_until, func.count())
                .where(ShowSeat.show_id == show_id)
                .group_by(ShowSeat.tier_id, ShowSeat.status, ShowSeat.held_until)
            )
        ).all()
    by_tier: dict[int, dict[str, int]] = {t.id: {"available": 0, "held": 0, "sold": 0} for t in tiers}
    for tier_id, status, held_until, n in counts:
        if status == SeatStatus.HELD.value and held_until is not None and held_until <= now:
            status = SeatStatus.AVAILABLE.value
        by_tier[tier_id][status] += n
    return [TierAvailability(t.name, t.price_cents, **by_tier[t.id]) for t in tiers]


async def seat_ids_by_label(store: Store, show_id: int, labels: list[tuple[str, str, int]]) -> list[int]:
    """Seat ids for (section, row, number) triples; SeatNotFound naming the first that is not there."""
    async with store.session() as s:
        await load_show(s, show_id)
        ids = []
        for section, row, number in labels:
            sid = (
                await s.execute(
                    select(ShowSeat.id).where(
                        ShowSeat.show_id == show_id,
                        ShowSeat.section == section,
                        ShowSeat.row_label == row,
                        ShowSeat.seat_number == number,
                    )
                )
            ).scalar_one_or_none()
            if sid is None:
                raise errors.SeatNotFound(f"{section} {row}{number}", show_id)  # the seat as labelled
            ids.append(sid)
        return ids

"""Holds: a fan reserves seats until a deadline, and the rules that keep a seat from being sold twice.

How double sales are made impossible, with many bot processes on one database:
1. A seat changes state only through a conditional UPDATE (``... WHERE status = 'available' OR the
   hold on it has expired``), and a hold succeeds only if the UPDATE touched every seat it asked for.
   Two buyers racing for a seat: the database lets exactly one UPDATE match.
2. A fan's seats for a show are counted in ``fan_show_quotas`` and raised with
   ``UPDATE ... SET seats = seats + n WHERE seats + n <= limit``: concurrent holds by one fan cannot
   slip past the per-fan limit.
3. Tickets carry ``active_seat_key`` under a UNIQUE index (domain/orders.py issues them): even a bug
   above could not issue two live tickets for one seat; the transaction would fail instead.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Integer, Select, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, telemetry
from domain.models import FanShowQuota, Hold, HoldStatus, PriceTier, SeatStatus, Show, ShowSeat, ShowStatus
from domain.seats import SeatView, kept_for_waitlist, return_seats, seat_views, sellable
from domain.shows import load_show
from domain.specs import excerpt
from domain.store import Store, rowcount

DEFAULT_HOLD_TTL = timedelta(minutes=5)


MAX_SEATS_PER_HOLD = 50


@dataclass(frozen=True)
class HoldSummary:
    """A hold as its fan sees it: the seats reserved and until when."""

    id: int
    show_id: int
    fan_id: int
    status: str
    expires_at: datetime
    seats: tuple[SeatView, ...]

    @property
    def total_cents(self) -> int:
        return sum(s.price_cents for s in self.seats)


class SaleFacts(Protocol):
    """What a hold checks of its show: a Show, or the columns the group commit reads of it."""

    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def on_sale_at(self) -> datetime: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def per_fan_limit(self) -> int: ...


def check_on_sale(show: SaleFacts, now: datetime) -> None:
    if show.status == ShowStatus.CANCELLED.value:
        raise errors.ShowCancelled("show.cancelled", title=show.title)
    if now < show.on_sale_at:
        raise errors.SaleNotOpen("sale.not_open", title=show.title, opens_at=show.on_sale_at)
    if now >= show.starts_at:
        raise errors.SaleNotOpen("sale.closed", title=show.title)


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or quantity <= 0:
        raise errors.InvalidInput("quantity.not_positive", value=quantity)
    if quantity > MAX_SEATS_PER_HOLD:
        raise errors.InvalidInput("quantity.too_many", most=MAX_SEATS_PER_HOLD)


async def _reserve_quota(store: Store, s: AsyncSession, show: Show, fan_id: int, quantity: int) -> None:
    await s.execute(store.insert_ignore(FanShowQuota.__table__, show_id=show.id, fan_discord_id=fan_id, seats=0))
    raised = await s.execute(
        update(FanShowQuota)
        .where(
            FanShowQuota.show_id == show.id,
            FanShowQuota.fan_discord_id == fan_id,
            FanShowQuota.seats + quantity <= show.per_fan_limit,
        )
        .values(seats=FanShowQuota.seats + quantity)
    )
    if rowcount(raised) != 1:
        have = (
            await s.execute(
                select(FanShowQuota.seats).where(FanShowQuota.show_id == show.id, FanShowQuota.fan_discord_id == fan_id)
            )
        ).scalar_one()
        raise limit_refusal(show, have)


def limit_refusal(show: SaleFacts, have: int) -> errors.FanLimitExceeded:
    """The refusal of a fan who already has ``have`` seats of the show, at or near its per-fan limit."""
    left = max(0, show.per_fan_limit - have)
    return errors.FanLimitExceeded("fan.limit", title=show.title, limit=show.per_fan_limit, have=have, left=left)


async def pick_best(
    s: AsyncSession,
    show_id: int,
    now: datetime,
    n: int,
    *,
    tier_id: int | None = None,
    for_waitlist: bool = False,
    lock: bool = True,
) -> list[int]:
    """The best ``n`` seats (or fewer) a new hold may take, in position order: free seats first, then
    seats whose hold ran out; for a waitlist promotion, only seats kept back for the waitlist, never
    seats on sale. ``lock``: FOR UPDATE SKIP LOCKED, so buyers picking at once get different seats
    (each query is one index range read, so it locks just the rows it hands back)."""
    picked: list[int] = []
    for state in (_KEPT,) if for_waitlist else (_FREE, _LAPSED):
        params = {"show_id": show_id, "n": n - len(picked), "now": now, "tier_id": tier_id}
        q = _pick(state, tier_id is not None, lock)
        picked += list((await s.execute(q, params)).scalars())
        if len(picked) == n:
            break
    return picked


_FREE, _LAPSED, _KEPT = range(3)  # the seats pick_best looks at: free, held by a hold that ran out, kept back


@functools.cache
def _pick(state: int, by_tier: bool, lock: bool) -> Select[tuple[int]]:
    """pick_best's read, built once (a hot sale's batches read it for every few dozen fans): ``state``
    one of _FREE, _LAPSED, _KEPT; parameters show_id, n, and now and tier_id where they apply."""
    cond = (
        ShowSeat.status == SeatStatus.AVAILABLE.value,
        and_(
            ShowSeat.status == SeatStatus.HELD.value,
            ShowSeat.held_until <= bindparam("now", type_=ShowSeat.held_until.type),
        ),
        kept_for_waitlist(),
    )[state]
    q = select(ShowSeat.id).where(ShowSeat.show_id == bindparam("show_id"), cond)
    if by_tier:
        q = q.where(ShowSeat.tier_id == bindparam("tier_id")).with_hint(
            ShowSeat, "FORCE INDEX (ix_show_seats_pick)", "mysql"
        )
    else:
        q = q.with_hint(ShowSeat, "FORCE INDEX (ix_show_seats_free)", "mysql")
    q = q.order_by(ShowSeat.position).limit(bindparam("n", type_=Integer))
    return q.with_for_update(skip_locked=True) if lock else q


async def release_quota(s: AsyncSession, show_id: int, fan_id: int, quantity: int) -> None:
    await s.execute(
        update(FanShowQuota)
        .where(FanShowQuota.show_id == show_id, FanShowQuota.fan_discord_id == fan_id)
        .values(seats=FanShowQuota.seats - quantity)
    )


async def end_hold(store: Store, s: AsyncSession, hold: Hold, status: HoldStatus) -> bool:
    """Move an active hold to released/expired, freeing its seats and its quota. Exactly once:
    the conditional UPDATE on the hold lets only one caller (or process) do it."""
    ended = await s.execute(
        update(Hold).where(Hold.id == hold.id, Hold.status == HoldStatus.ACTIVE.value).values(status=status.value)
    )
    if rowcount(ended) != 1:
        return False
    await return_seats(
        store, s, hold.show_id, and_(ShowSeat.hold_id == hold.id, ShowSeat.status == SeatStatus.HELD.value)
    )
    await release_quota(s, hold.show_id, hold.fan_discord_id, hold.quantity)
    return True


async def _hold_summary(s: AsyncSession, hold: Hold) -> HoldSummary:
    seats = await seat_views(s, ShowSeat.hold_id == hold.id)
    return HoldSummary(hold.id, hold.show_id, hold.fan_discord_id, hold.status, hold.expires_at, seats)


async def hold_seats(
    store: Store,
    *,
    show_id: int,
    fan_id: int,
    seat_ids: list[int] | None = None,
    quantity: int | None = None,
    tier: str | None = None,
    ttl: timedelta = DEFAULT_HOLD_TTL,
) -> HoldSummary:
    """Reserve seats for a fan until ``now + ttl``: the given seats, or the best ``quantity`` available.

    All or nothing: if any requested seat is taken, nothing is held and nothing is written.
    """
    if seat_ids is not None:
        if not seat_ids:
            raise errors.InvalidInput("seats.none")
        if len(set(seat_ids)) != len(seat_ids):
            raise errors.InvalidInput("seats.twice")
        quantity = len(seat_ids)
    elif quantity is None:
        raise errors.InvalidInput("quantity.missing")
    _check_quantity(quantity)
    if seat_ids is None and tier is None:  # best available: with the other fans asking right now
        from domain.hold_batch import hold_best  # it builds on this module

        hold = await hold_best(store, show_id, fan_id, quantity, ttl)
    else:
        hold = await hold_seats_alone(store, show_id, fan_id, seat_ids, quantity, tier, ttl)
    telemetry.count("hold_created")  # here only: a batch may leave a fan to the one-fan path
    return hold


async def hold_seats_alone(
    store: Store,
    show_id: int,
    fan_id: int,
    seat_ids: list[int] | None,
    quantity: int,
    tier: str | None,
    ttl: timedelta = DEFAULT_HOLD_TTL,
) -> HoldSummary:
    """:func:`hold_seats` for one fan in a transaction of its own."""
    for attempt in range(6):
        try:
            return await store.transaction(
                lambda s: hold_seats_in(store, s, show_id, fan_id, seat_ids, quantity, tier, ttl, final=attempt == 5)  # noqa: B023  (awaited before the next attempt)
            )
        except _Contended:
            # Best-available found fewer free seats than wanted only because other buyers' transactions
            # have them locked right now; they may roll back. Look again shortly.
            await asyncio.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable: the last attempt is final and never contended")


class _Contended(Exception):
    pass


async def hold_seats_in(
    store: Store,
    s: AsyncSession,
    show_id: int,
    fan_id: int,
    seat_ids: list[int] | None,
    quantity: int,
    tier_name: str | None,
    ttl: timedelta,
    final: bool = False,
    for_waitlist: bool = False,
) -> HoldSummary:
    now = store.now()
    show = await load_show(s, show_id)
    check_on_sale(show, now)
    tier_id = None
    if tier_name is not None:
        tier_id = (
            await s.execute(select(PriceTier.id).where(PriceTier.show_id == show.id, PriceTier.name == tier_name))
        ).scalar_one_or_none()
        if tier_id is None:
            raise errors.InvalidInput("tier.unknown", title=show.title, tier=excerpt(tier_name))

    # The fan's own lapsed holds no longer count against their limit.
    own_lapsed = (
        (
            await s.execute(
                select(Hold).where(
                    Hold.show_id == show.id,
                    Hold.fan_discord_id == fan_id,
                    Hold.status == HoldStatus.ACTIVE.value,
                    Hold.expires_at <= now,
                )
            )
        )
        .scalars()
        .all()
    )
    for old in own_lapsed:
        await end_hold(store, s, old, HoldStatus.EXPIRED)

    await _reserve_quota(store, s, show, fan_id, quantity)
    hold = Hold(
        show_id=show.id,
        fan_discord_id=fan_id,
        quantity=quantity,
        status=HoldStatus.ACTIVE.value,
        expires_at=now + ttl,
        created_at=now,
    )
    s.add(hold)
    await s.flush()

    if seat_ids is not None:
        found = set(
            (
                await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show.id, ShowSeat.id.in_(seat_ids)))
            ).scalars()
        )
        missing = [sid for sid in seat_ids if sid not in found]
        if missing:
            raise errors.SeatNotFound(", ".join(f"#{m}" for m in missing), show.id)  # seat ids, as chosen
        wanted = list(seat_ids)
    else:
        # Free seats first, then seats whose hold ran out: each query is one index range read in
        # position order, so SKIP LOCKED locks just the rows it hands back.
        wanted = await pick_best(s, show.id, now, quantity, tier_id=tier_id, for_waitlist=for_waitlist, lock=not final)
        if len(wanted) < quantity:
            if not final and store.dialect != "sqlite":
                # SKIP LOCKED hid seats other buyers' open transactions have locked. If enough seats
                # would be free without them, those buyers may yet roll back: look again shortly.
                count = select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show.id, sellable(now))
                if tier_id is not None:
                    count = count.where(ShowSeat.tier_id == tier_id)
                if (await s.execute(count)).scalar_one() >= quantity:
                    raise _Contended()
            if not wanted:
                if tier_name:
                    raise errors.SoldOut("sold_out.tier", title=show.title, tier=tier_name)
                raise errors.SoldOut("sold_out.show", title=show.title)
            if tier_name:
                raise errors.SeatUnavailable(
                    "seats.few_left_tier", title=show.title, tier=tier_name, left=len(wanted), asked=quantity
                )
            raise errors.SeatUnavailable("seats.few_left", title=show.title, left=len(wanted), asked=quantity)

    taken = await s.execute(
        update(ShowSeat)
        .where(ShowSeat.show_id == show.id, ShowSeat.id.in_(wanted), sellable(now, for_waitlist=for_waitlist))
        .values(status=SeatStatus.HELD.value, hold_id=hold.id, held_until=hold.expires_at)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != len(wanted):
        if seat_ids is None and not final:
            raise _Contended()
        raise errors.SeatUnavailable("seats.taken")
    return await _hold_summary(s, hold)


async def get_hold(store: Store, hold_id: int, fan_id: int) -> HoldSummary:
    async with store.session() as s:
        hold = await owned_hold(s, hold_id, fan_id)
        return await _hold_summary(s, hold)


async def owned_hold(s: AsyncSession, hold_id: int, fan_id: int, *, lock: bool = False) -> Hold:
    q = select(Hold).where(Hold.id == hold_id)
    if lock:
        q = q.with_for_update()
    hold = (await s.execute(q)).scalar_one_or_none()
    if hold is None:
        raise errors.HoldNotFound(hold_id)
    if hold.fan_discord_id != fan_id:
        raise errors.NotPermitted("hold.not_yours", hold_id=hold_id)
    return hold


async def release_hold(store: Store, hold_id: int, fan_id: int) -> None:
    """The fan gives seats back before paying."""

    async def work(s: AsyncSession) -> None:
        hold = await owned_hold(s, hold_id, fan_id, lock=True)
        if hold.status != HoldStatus.ACTIVE.value:
            raise errors.AlreadyDone("hold.inactive")
        await end_hold(store, s, hold, HoldStatus.RELEASED)

    await store.transaction(work)
    telemetry.count("hold_ended", reason="released")


async def release_expired_holds(store: Store, *, batch: int = 500) -> int:
    """Return seats of every hold past its expiry to sale. Safe to run in many processes at once:
    rows are claimed with SKIP LOCKED and each hold ends exactly once. Returns holds released."""

    async def work(s: AsyncSession) -> int:
        holds = (
            (
                await s.execute(
                    select(Hold)
                    .where(Hold.status == HoldStatus.ACTIVE.value, Hold.expires_at <= store.now())
                    .order_by(Hold.expires_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        n = 0
        for hold in holds:
            n += await end_hold(store, s, hold, HoldStatus.EXPIRED)
        return n

    total = 0
    while True:
        n = await store.transaction(work)
        total += n
        telemetry.count("hold_ended", n, reason="expired")
        if n < batch:
            return total

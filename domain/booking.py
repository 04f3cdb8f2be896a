"""Holds, purchases and cancellations: the rules that keep a seat from being sold twice.

How double sales are made impossible, with many bot processes on one database:
1. A seat changes state only through a conditional UPDATE (``... WHERE status = 'available' OR the
   hold on it has expired``), and a hold succeeds only if the UPDATE touched every seat it asked for.
   Two buyers racing for a seat: the database lets exactly one UPDATE match.
2. A fan's seats for a show are counted in ``fan_show_quotas`` and raised with
   ``UPDATE ... SET seats = seats + n WHERE seats + n <= limit``: concurrent holds by one fan cannot
   slip past the per-fan limit.
3. Tickets carry ``active_seat_key`` under a UNIQUE index: even a bug above could not issue two live
   tickets for one seat; the transaction would fail instead.

Payment happens between two transactions (a provider call must not hold row locks), keyed by an
idempotency key derived from the order, so a double click or a retry charges once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, telemetry
from domain.models import (
    FanShowQuota,
    Hold,
    HoldStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    PriceTier,
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
from domain.alerts import plan_show_notices
from domain.outbox import enqueue
from domain.refunds import RefundPolicy
from domain.payments import PaymentGateway, PaymentResult, PaymentTimeout
from domain.shows import check_organizer, load_show
from domain.specs import excerpt
from domain.store import Store

DEFAULT_HOLD_TTL = timedelta(minutes=5)
MAX_SEATS_PER_HOLD = 50


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


@dataclass(frozen=True)
class HoldView:
    id: int
    show_id: int
    fan_discord_id: int
    status: str
    expires_at: datetime
    seats: tuple[SeatView, ...]

    @property
    def total_cents(self) -> int:
        return sum(s.price_cents for s in self.seats)


@dataclass(frozen=True)
class TicketView:
    id: int
    order_id: int
    show_id: int
    holder_discord_id: int
    status: str
    seat: SeatView
    checked_in_at: datetime | None = None
    refund_pending: bool = False  # set by cancel_ticket: the refund is owed but the provider has not confirmed it yet
    refund_cents: int | None = None  # set by cancel_ticket: what the show's cancellation policy refunds
    fee_cents: int = 0  # set by cancel_ticket: the cancellation fee kept


@dataclass(frozen=True)
class OrderView:
    id: int
    show_id: int
    fan_discord_id: int
    status: str
    amount_cents: int
    organizer_amount_cents: int
    currency: str
    tickets: tuple[TicketView, ...]


# A seat that comes back (a cancelled ticket, a hold that ended) while fans wait on the show's
# waitlist is kept for them: held by no hold, until ``now + WAITLIST_FIRST``. Waitlist promotion may
# take it at once; a buyer only once that time has passed, so a promotion that never comes (a crash)
# cannot keep the seat off sale for longer.
WAITLIST_FIRST = timedelta(seconds=60)


def _sellable(now: datetime, *, for_waitlist: bool = False):
    """SQL condition: a seat a new hold may take. A buyer: a free seat, or one held by a hold that
    has run out. A waitlist promotion: only a seat kept back for the waitlist (one that came back),
    never a seat on sale, so the waitlist cannot overtake the fans the queue is selling to."""
    if for_waitlist:
        return _kept_for_waitlist()
    return or_(
        ShowSeat.status == SeatStatus.AVAILABLE.value,
        and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.held_until <= now),
    )


def _kept_for_waitlist():
    return and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.hold_id.is_(None))


def _on_sale_or_held():
    """SQL condition: a seat a buyer can take now or may get when a buyer's hold ends (so the queue
    is still selling it); not sold, not kept for the waitlist."""
    return or_(ShowSeat.status == SeatStatus.AVAILABLE.value, and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.hold_id.is_not(None)))


async def seats_still_selling(s: AsyncSession, show_id: int, tier_id: int | None = None) -> int:
    """Seats of a show (of one tier) that are on sale or held by a buyer: while there are any, the
    queue is selling them and the waitlist is not open."""
    q = select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show_id, _on_sale_or_held())
    if tier_id is not None:
        q = q.where(ShowSeat.tier_id == tier_id)
    return (await s.execute(q)).scalar_one()


async def return_seats(store: Store, s: AsyncSession, show_id: int, where) -> None:
    """Seats come back (a cancelled ticket, an ended hold, added capacity): kept for the waitlist
    first when a waiting fan could take them (one waiting for any tier, or for the seat's tier; the
    caller, or the next scheduler tick, promotes them), otherwise straight back on sale."""
    tiers = set(
        (
            await s.execute(
                select(WaitlistEntry.tier_id).where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value).distinct()
            )
        ).scalars()
    )
    kept = dict(status=SeatStatus.HELD.value, hold_id=None, held_until=store.now() + WAITLIST_FIRST)
    on_sale = dict(status=SeatStatus.AVAILABLE.value, hold_id=None, held_until=None)
    seats = and_(ShowSeat.show_id == show_id, where)
    if None in tiers:
        steps = [(seats, kept)]
    elif tiers:
        steps = [(and_(seats, ShowSeat.tier_id.in_(tiers)), kept), (and_(seats, ShowSeat.tier_id.not_in(tiers)), on_sale)]
    else:
        steps = [(seats, on_sale)]
    for condition, values in steps:
        await s.execute(update(ShowSeat).where(condition).values(**values).execution_options(synchronize_session=False))


async def has_kept_seats(store: Store, show_id: int) -> bool:
    async with store.session() as s:
        return (await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show_id, _kept_for_waitlist()).limit(1))).first() is not None


async def release_kept_seats(store: Store, show_id: int) -> None:
    """After a promotion pass: seats kept for the waitlist that no waiting fan could take go on sale.
    Seats a waiting fan could still take stay kept: another process's promotion pass may be taking
    them right now (its entries were locked, so this pass skipped them), and a pass that never comes
    (a crash) only keeps them until ``WAITLIST_FIRST`` runs out."""

    async def work(s: AsyncSession) -> None:
        kept = dict(
            (await s.execute(select(ShowSeat.tier_id, func.count()).where(ShowSeat.show_id == show_id, _kept_for_waitlist()).group_by(ShowSeat.tier_id))).all()
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
            ).all()
        )
        if None in smallest and smallest[None] <= sum(kept.values()):
            return  # a fan waiting for any tier fits
        release = [tier for tier, n in kept.items() if not (tier in smallest and smallest[tier] <= n)]
        if release:
            await s.execute(
                update(ShowSeat)
                .where(ShowSeat.show_id == show_id, _kept_for_waitlist(), ShowSeat.tier_id.in_(release))
                .values(status=SeatStatus.AVAILABLE.value, held_until=None)
                .execution_options(synchronize_session=False)
            )

    await store.transaction(work)


def failure(stored: str | None, cls: type[errors.DomainError], default: str) -> errors.DomainError:
    """The refusal for an order that failed earlier: its stored code (``Order.failure_reason``), or
    ``default`` for an order that failed before codes were stored (an English sentence then)."""
    return cls(stored if stored and errors.CODE.fullmatch(stored) else default)


def _check_on_sale(show: Show, now: datetime) -> None:
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


async def _reserve_quota(store: Store, s: AsyncSession, show: Show, fan: int, quantity: int) -> None:
    await s.execute(store.insert_ignore(FanShowQuota.__table__, show_id=show.id, fan_discord_id=fan, seats=0))
    raised = await s.execute(
        update(FanShowQuota)
        .where(
            FanShowQuota.show_id == show.id,
            FanShowQuota.fan_discord_id == fan,
            FanShowQuota.seats + quantity <= show.per_fan_limit,
        )
        .values(seats=FanShowQuota.seats + quantity)
    )
    if raised.rowcount != 1:
        have = (
            await s.execute(
                select(FanShowQuota.seats).where(FanShowQuota.show_id == show.id, FanShowQuota.fan_discord_id == fan)
            )
        ).scalar_one()
        left = max(0, show.per_fan_limit - have)
        raise errors.FanLimitExceeded("fan.limit", title=show.title, limit=show.per_fan_limit, have=have, left=left)


async def _release_quota(s: AsyncSession, show_id: int, fan: int, quantity: int) -> None:
    await s.execute(
        update(FanShowQuota)
        .where(FanShowQuota.show_id == show_id, FanShowQuota.fan_discord_id == fan)
        .values(seats=FanShowQuota.seats - quantity)
    )


async def end_hold(store: Store, s: AsyncSession, hold: Hold, status: HoldStatus) -> bool:
    """Move an active hold to released/expired, freeing its seats and its quota. Exactly once:
    the conditional UPDATE on the hold lets only one caller (or process) do it."""
    ended = await s.execute(
        update(Hold).where(Hold.id == hold.id, Hold.status == HoldStatus.ACTIVE.value).values(status=status.value)
    )
    if ended.rowcount != 1:
        return False
    await return_seats(store, s, hold.show_id, and_(ShowSeat.hold_id == hold.id, ShowSeat.status == SeatStatus.HELD.value))
    await _release_quota(s, hold.show_id, hold.fan_discord_id, hold.quantity)
    return True


async def _seat_views(s: AsyncSession, where) -> tuple[SeatView, ...]:
    rows = (
        await s.execute(
            select(ShowSeat, PriceTier.name, PriceTier.price_cents)
            .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
            .where(where)
            .order_by(ShowSeat.position)
        )
    ).all()
    return tuple(SeatView(r.id, r.section, r.row_label, r.seat_number, name, price) for r, name, price in rows)


async def _hold_view(s: AsyncSession, hold: Hold) -> HoldView:
    seats = await _seat_views(s, ShowSeat.hold_id == hold.id)
    return HoldView(hold.id, hold.show_id, hold.fan_discord_id, hold.status, hold.expires_at, seats)


async def hold_seats(
    store: Store,
    *,
    show_id: int,
    fan_discord_id: int,
    seat_ids: list[int] | None = None,
    quantity: int | None = None,
    tier: str | None = None,
    ttl: timedelta = DEFAULT_HOLD_TTL,
) -> HoldView:
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

    for attempt in range(6):
        try:
            hold = await store.transaction(
                lambda s: hold_seats_in(store, s, show_id, fan_discord_id, seat_ids, quantity, tier, ttl, final=attempt == 5)
            )
            telemetry.count("hold_created")
            return hold
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
    fan: int,
    seat_ids: list[int] | None,
    quantity: int,
    tier_name: str | None,
    ttl: timedelta,
    final: bool = False,
    for_waitlist: bool = False,
) -> HoldView:
    now = store.now()
    show = await load_show(s, show_id)
    _check_on_sale(show, now)
    tier_id = None
    if tier_name is not None:
        tier_id = (
            await s.execute(select(PriceTier.id).where(PriceTier.show_id == show.id, PriceTier.name == tier_name))
        ).scalar_one_or_none()
        if tier_id is None:
            raise errors.InvalidInput("tier.unknown", title=show.title, tier=excerpt(tier_name))

    # The fan's own lapsed holds no longer count against their limit.
    own_lapsed = (
        await s.execute(
            select(Hold).where(
                Hold.show_id == show.id,
                Hold.fan_discord_id == fan,
                Hold.status == HoldStatus.ACTIVE.value,
                Hold.expires_at <= now,
            )
        )
    ).scalars().all()
    for old in own_lapsed:
        await end_hold(store, s, old, HoldStatus.EXPIRED)

    await _reserve_quota(store, s, show, fan, quantity)
    hold = Hold(
        show_id=show.id,
        fan_discord_id=fan,
        quantity=quantity,
        status=HoldStatus.ACTIVE.value,
        expires_at=now + ttl,
        created_at=now,
    )
    s.add(hold)
    await s.flush()

    if seat_ids is not None:
        found = set(
            (await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show.id, ShowSeat.id.in_(seat_ids)))).scalars()
        )
        missing = [sid for sid in seat_ids if sid not in found]
        if missing:
            raise errors.SeatNotFound(", ".join(f"#{m}" for m in missing), show.id)  # seat ids, as chosen
        wanted = list(seat_ids)
    else:
        # Free seats first, then seats whose hold ran out: each query is one index range read in
        # position order, so SKIP LOCKED locks just the rows it hands back.
        wanted = []
        states = [
            ShowSeat.status == SeatStatus.AVAILABLE.value,
            and_(ShowSeat.status == SeatStatus.HELD.value, ShowSeat.held_until <= now),
        ]
        if for_waitlist:  # only seats kept back for the waitlist, never seats on sale
            states = [_kept_for_waitlist()]
        for state in states:
            q = select(ShowSeat.id).where(ShowSeat.show_id == show.id, state)
            if tier_id is not None:
                q = q.where(ShowSeat.tier_id == tier_id).with_hint(ShowSeat, "FORCE INDEX (ix_show_seats_pick)", "mysql")
            else:
                q = q.with_hint(ShowSeat, "FORCE INDEX (ix_show_seats_free)", "mysql")
            q = q.order_by(ShowSeat.position).limit(quantity - len(wanted))
            if not final:
                q = q.with_for_update(skip_locked=True)
            wanted += list((await s.execute(q)).scalars())
            if len(wanted) == quantity:
                break
        if len(wanted) < quantity:
            if not final and store.dialect != "sqlite":
                # SKIP LOCKED hid seats other buyers' open transactions have locked. If enough seats
                # would be free without them, those buyers may yet roll back: look again shortly.
                count = select(func.count()).select_from(ShowSeat).where(ShowSeat.show_id == show.id, _sellable(now))
                if tier_id is not None:
                    count = count.where(ShowSeat.tier_id == tier_id)
                if (await s.execute(count)).scalar_one() >= quantity:
                    raise _Contended()
            if not wanted:
                if tier_name:
                    raise errors.SoldOut("sold_out.tier", title=show.title, tier=tier_name)
                raise errors.SoldOut("sold_out.show", title=show.title)
            if tier_name:
                raise errors.SeatUnavailable("seats.few_left_tier", title=show.title, tier=tier_name, left=len(wanted), asked=quantity)
            raise errors.SeatUnavailable("seats.few_left", title=show.title, left=len(wanted), asked=quantity)

    taken = await s.execute(
        update(ShowSeat)
        .where(ShowSeat.show_id == show.id, ShowSeat.id.in_(wanted), _sellable(now, for_waitlist=for_waitlist))
        .values(status=SeatStatus.HELD.value, hold_id=hold.id, held_until=hold.expires_at)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != len(wanted):
        if seat_ids is None and not final:
            raise _Contended()
        raise errors.SeatUnavailable("seats.taken")
    return await _hold_view(s, hold)


async def get_hold(store: Store, hold_id: int, fan_discord_id: int) -> HoldView:
    async with store.session() as s:
        hold = await _owned_hold(s, hold_id, fan_discord_id)
        return await _hold_view(s, hold)


async def _owned_hold(s: AsyncSession, hold_id: int, fan: int, *, lock: bool = False) -> Hold:
    q = select(Hold).where(Hold.id == hold_id)
    if lock:
        q = q.with_for_update()
    hold = (await s.execute(q)).scalar_one_or_none()
    if hold is None:
        raise errors.HoldNotFound(hold_id)
    if hold.fan_discord_id != fan:
        raise errors.NotPermitted("hold.not_yours", hold_id=hold_id)
    return hold


async def release_hold(store: Store, hold_id: int, fan_discord_id: int) -> None:
    """The fan gives seats back before paying."""

    async def work(s: AsyncSession) -> None:
        hold = await _owned_hold(s, hold_id, fan_discord_id, lock=True)
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
            await s.execute(
                select(Hold)
                .where(Hold.status == HoldStatus.ACTIVE.value, Hold.expires_at <= store.now())
                .order_by(Hold.expires_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars().all()
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


# --- purchase -------------------------------------------------------------------------------------


async def purchase(
    store: Store,
    gateway: PaymentGateway,
    *,
    hold_id: int,
    fan_discord_id: int,
    fan_name: str | None = None,
    authorization: str | None = None,
) -> OrderView:
    """Pay for a hold and issue one ticket per seat. Idempotent: calling it again for the same hold
    (double click, retry after a timeout) returns the same order and never charges twice."""
    prepared = await store.transaction(lambda s: _prepare_order(store, s, hold_id, fan_discord_id))
    if isinstance(prepared, OrderView):
        return prepared
    order_id, key, amount, currency = prepared
    try:
        result = await gateway.charge(
            idempotency_key=key, amount_cents=amount, currency=currency, customer=fan_discord_id, authorization=authorization
        )
    except PaymentTimeout:
        telemetry.count("payment", kind="charge", outcome="timeout")
        raise errors.DomainError("payment.timeout") from None
    outcome = await settle_charge(store, gateway, order_id, result, fan_name)
    if isinstance(outcome, OrderView):
        return outcome
    raise outcome


async def settle_charge(store: Store, gateway: PaymentGateway, order_id: int, result: PaymentResult, fan_name: str | None = None):
    """Record the provider's answer for an order's charge: tickets and their DM when it went
    through and the seats are still held; a refund when it went through too late; the failure
    otherwise. Returns the paid OrderView or the DomainError to show. Used by :func:`purchase` and by
    recovery, which gets the answer of a charge whose process died by looking its key up."""
    outcome = await store.transaction(lambda s: _settle_order(store, s, order_id, result, fan_name))
    if isinstance(outcome, tuple):  # settled just now, not found settled by an earlier call
        outcome, what = outcome
        telemetry.count("payment", kind="charge", outcome="succeeded" if result.ok else "declined")
        if what != "late":
            telemetry.count("order", outcome=what)
        if what == "paid":
            telemetry.count("ticket_issued", len(outcome.tickets))
        elif result.ok:  # the charge went through but the seats were lost (the hold ran out mid-payment)
            await settle_refunds(store, gateway, [f"order:{order_id}:refund"])
    return outcome


async def _prepare_order(store: Store, s: AsyncSession, hold_id: int, fan: int):
    now = store.now()
    hold = await _owned_hold(s, hold_id, fan, lock=True)
    order = (await s.execute(select(Order).where(Order.hold_id == hold.id))).scalar_one_or_none()
    if order is not None:
        if order.status == OrderStatus.PAID.value:
            return await _order_view(s, order)
        if order.status == OrderStatus.FAILED.value:
            raise failure(order.failure_reason, errors.PaymentDeclined, "payment.failed")
    if order is None:
        if hold.status != HoldStatus.ACTIVE.value or hold.expires_at <= now:
            raise errors.HoldExpired("hold.expired")
        show = await load_show(s, hold.show_id)
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.ShowCancelled("show.cancelled", title=show.title)
        amount = (
            await s.execute(
                select(func.coalesce(func.sum(PriceTier.price_cents), 0))
                .select_from(ShowSeat)
                .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
                .where(ShowSeat.hold_id == hold.id)
            )
        ).scalar_one()
        order = Order(
            show_id=hold.show_id,
            fan_discord_id=fan,
            hold_id=hold.id,
            status=OrderStatus.PENDING.value,
            amount_cents=int(amount),
            organizer_amount_cents=int(amount),
            currency=show.currency,
            created_at=now,
        )
        s.add(order)
        await s.flush()
    key = f"order:{order.id}:charge"
    await s.execute(
        store.insert_ignore(
            Payment.__table__,
            idempotency_key=key,
            order_id=order.id,
            kind=PaymentKind.CHARGE.value,
            amount_cents=order.amount_cents,
            currency=order.currency,
            status=PaymentStatus.PENDING.value,
            created_at=now,
        )
    )
    return order.id, key, order.amount_cents, order.currency


async def _settle_order(store: Store, s: AsyncSession, order_id: int, result: PaymentResult, fan_name: str | None):
    """Second half of a purchase. Returns the paid OrderView, or the DomainError to raise once this
    transaction (which records the failure) has committed; paired with what happened ("paid",
    "failed", "late") when this call settled the order, alone when an earlier one had."""
    now = store.now()
    order = (await s.execute(select(Order).where(Order.id == order_id).with_for_update())).scalar_one()
    if order.status in (OrderStatus.PAID.value, OrderStatus.REFUNDED.value):
        return await _order_view(s, order)
    charge = (await s.execute(select(Payment).where(Payment.idempotency_key == f"order:{order.id}:charge"))).scalar_one()
    if order.status == OrderStatus.FAILED.value:
        # Settled before (declined, or given up by recovery): an answer arriving now changes nothing,
        # except that money taken late goes back.
        if result.ok and charge.status != PaymentStatus.SUCCEEDED.value:
            charge.status, charge.provider_ref = PaymentStatus.SUCCEEDED.value, result.reference
            await queue_refund(store, s, order_id=order.id, key=f"order:{order.id}:refund", amount=order.amount_cents)
            return failure(order.failure_reason, errors.HoldExpired, "payment.late_refunded"), "late"
        return failure(order.failure_reason, errors.PaymentDeclined, "payment.failed")
    hold = (await s.execute(select(Hold).where(Hold.id == order.hold_id).with_for_update())).scalar_one()
    if not result.ok:
        charge.status = PaymentStatus.DECLINED.value
        charge.detail = (result.reason or "declined")[:200]
        order.status = OrderStatus.FAILED.value
        order.failure_reason = "payment.declined"  # a code: rendered in the fan's language when shown
        await end_hold(store, s, hold, HoldStatus.RELEASED)
        if result.reason:
            return errors.PaymentDeclined("payment.declined_because", provider_reason=excerpt(result.reason).rstrip(".")), "failed"
        return errors.PaymentDeclined("payment.declined"), "failed"
    charge.status = PaymentStatus.SUCCEEDED.value
    charge.provider_ref = result.reference
    seats = (
        await s.execute(
            select(ShowSeat).where(ShowSeat.hold_id == hold.id, ShowSeat.status == SeatStatus.HELD.value).with_for_update()
        )
    ).scalars().all()
    if hold.status != HoldStatus.ACTIVE.value or len(seats) != hold.quantity:
        order.status = OrderStatus.FAILED.value
        order.failure_reason = "payment.late_refunded"
        await end_hold(store, s, hold, HoldStatus.EXPIRED)
        await queue_refund(store, s, order_id=order.id, key=f"order:{order.id}:refund", amount=order.amount_cents)
        return errors.HoldExpired("payment.late_refunded"), "failed"
    prices = dict((await s.execute(select(PriceTier.id, PriceTier.price_cents).where(PriceTier.show_id == order.show_id))).all())
    await s.execute(
        update(ShowSeat)
        .where(ShowSeat.hold_id == hold.id, ShowSeat.status == SeatStatus.HELD.value)
        .values(status=SeatStatus.SOLD.value, held_until=None)
        .execution_options(synchronize_session=False)
    )
    for seat in seats:
        s.add(
            Ticket(
                order_id=order.id,
                show_id=order.show_id,
                show_seat_id=seat.id,
                holder_discord_id=order.fan_discord_id,
                price_cents=prices[seat.tier_id],
                status=TicketStatus.VALID.value,
                active_seat_key=seat.id,
                issued_at=now,
            )
        )
    await s.execute(update(Hold).where(Hold.id == hold.id).values(status=HoldStatus.CONVERTED.value))
    order.status = OrderStatus.PAID.value
    order.paid_at = now
    await s.flush()
    await enqueue(
        store,
        s,
        kind="tickets_issued",
        recipient_discord_id=order.fan_discord_id,
        payload={"order_id": order.id, "show_id": order.show_id, "holder_name": fan_name},
        dedupe_key=f"order:{order.id}:tickets",
    )
    return await _order_view(s, order), "paid"


async def queue_refund(store: Store, s: AsyncSession, *, order_id: int, key: str, amount: int) -> None:
    """Record a refund owed, inside the transaction that makes it owed (a cancellation). The
    provider is called after commit by :func:`settle_refunds`; a crash in between leaves a pending
    row that the next settle sends, with the same idempotency key."""
    currency = await _currency_of(s, order_id)
    await s.execute(
        store.insert_ignore(
            Payment.__table__,
            idempotency_key=key,
            order_id=order_id,
            kind=PaymentKind.REFUND.value,
            amount_cents=amount,
            currency=currency,
            status=PaymentStatus.PENDING.value,
            created_at=store.now(),
        )
    )


async def settle_refunds(store: Store, gateway: PaymentGateway, keys: list[str] | None = None) -> int:
    """Send pending refunds to the provider (the given ones, or every pending one). Returns how many
    succeeded. Safe to repeat and to run in several processes: the provider dedupes by key.
    A refund the provider does not answer stays pending (the next run retries it under the same key)
    and the others are still sent."""
    async with store.session() as s:
        q = select(Payment).where(Payment.kind == PaymentKind.REFUND.value, Payment.status == PaymentStatus.PENDING.value)
        if keys is not None:
            q = q.where(Payment.idempotency_key.in_(keys))
        pending = (await s.execute(q)).scalars().all()
        charges = dict(
            (
                await s.execute(
                    select(Payment.order_id, Payment.provider_ref).where(
                        Payment.order_id.in_({p.order_id for p in pending}),
                        Payment.kind == PaymentKind.CHARGE.value,
                        Payment.status == PaymentStatus.SUCCEEDED.value,
                    )
                )
            ).all()
        )
    done = 0
    for refund in pending:
        charge_ref = charges.get(refund.order_id)
        if charge_ref is None or refund.amount_cents == 0:
            result = PaymentResult(True, reference=None, reason="nothing was charged")
        else:
            try:
                result = await gateway.refund(idempotency_key=refund.idempotency_key, charge_reference=charge_ref, amount_cents=refund.amount_cents)
            except PaymentTimeout:
                telemetry.count("payment", kind="refund", outcome="timeout")
                continue

        async def record(s: AsyncSession, refund=refund, result=result) -> None:
            await s.execute(
                update(Payment)
                .where(Payment.id == refund.id, Payment.status == PaymentStatus.PENDING.value)
                .values(
                    status=PaymentStatus.SUCCEEDED.value if result.ok else PaymentStatus.DECLINED.value,
                    provider_ref=result.reference,
                    detail=result.reason,
                )
            )

        await store.transaction(record)
        telemetry.count("payment", kind="refund", outcome="succeeded" if result.ok else "declined")
        done += result.ok
    return done


async def _currency_of(s: AsyncSession, order_id: int) -> str:
    return (await s.execute(select(Order.currency).where(Order.id == order_id))).scalar_one()


# --- tickets ---------------------------------------------------------------------------------------


async def ticket_views(s: AsyncSession, where) -> tuple[TicketView, ...]:
    rows = (
        await s.execute(
            select(Ticket, ShowSeat, PriceTier.name)
            .join(ShowSeat, ShowSeat.id == Ticket.show_seat_id)
            .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
            .where(where)
            .order_by(Ticket.id)
        )
    ).all()
    return tuple(
        TicketView(
            id=t.id,
            order_id=t.order_id,
            show_id=t.show_id,
            holder_discord_id=t.holder_discord_id,
            status=t.status,
            seat=SeatView(seat.id, seat.section, seat.row_label, seat.seat_number, tier, t.price_cents),
            checked_in_at=t.checked_in_at,
        )
        for t, seat, tier in rows
    )


async def _order_view(s: AsyncSession, order: Order) -> OrderView:
    tickets = await ticket_views(s, Ticket.order_id == order.id)
    return OrderView(
        order.id,
        order.show_id,
        order.fan_discord_id,
        order.status,
        order.amount_cents,
        order.organizer_amount_cents,
        order.currency,
        tickets,
    )


async def get_order(store: Store, order_id: int) -> OrderView:
    async with store.session() as s:
        order = await s.get(Order, order_id)
        if order is None:
            raise errors.OrderNotFound(order_id)
        return await _order_view(s, order)


async def list_tickets(store: Store, fan_discord_id: int, *, show_id: int | None = None, include_revoked: bool = False) -> list[TicketView]:
    """A fan's own tickets. There is no way to list someone else's."""
    cond = Ticket.holder_discord_id == fan_discord_id
    if show_id is not None:
        cond = and_(cond, Ticket.show_id == show_id)
    if not include_revoked:
        cond = and_(cond, Ticket.status != TicketStatus.REVOKED.value)
    async with store.session() as s:
        return list(await ticket_views(s, cond))


async def cancel_ticket(store: Store, gateway: PaymentGateway, *, ticket_id: int, fan_discord_id: int) -> TicketView:
    """The holder gives a ticket back before the show's cancellation deadline: the price minus the
    show's cancellation fee at this moment is refunded (domain/refunds.py), the seat goes back (to
    the waitlist first). After the deadline: CancellationClosed, and nothing changes."""

    async def work(s: AsyncSession):
        now = store.now()
        ticket = (await s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update())).scalar_one_or_none()
        if ticket is None or ticket.holder_discord_id != fan_discord_id:
            # Same answer for "no such ticket" and "not yours": ticket ids are not to be probed.
            raise errors.TicketNotFound(ticket_id)
        if ticket.status == TicketStatus.REVOKED.value:
            raise errors.AlreadyDone("ticket.already_cancelled", ticket_id=ticket.id)
        if ticket.status == TicketStatus.CHECKED_IN.value:
            raise errors.NotPermitted("ticket.used_no_refund", ticket_id=ticket.id)
        show = await s.get(Show, ticket.show_id)
        if now >= show.starts_at:
            raise errors.NotPermitted("ticket.cancel_too_late", title=show.title)
        policy = RefundPolicy.from_row(show.cancel_deadline_hours, show.refund_fees)
        quote = policy.quote(ticket.price_cents, show.starts_at, now)
        if quote is None:
            raise errors.CancellationClosed(show.title, policy.deadline(show.starts_at))
        ticket.status = TicketStatus.REVOKED.value
        ticket.active_seat_key = None
        ticket.revoked_reason = "cancelled"
        await return_seats(store, s, ticket.show_id, and_(ShowSeat.id == ticket.show_seat_id, ShowSeat.status == SeatStatus.SOLD.value))
        await _release_quota(s, ticket.show_id, ticket.holder_discord_id, 1)
        live = (
            await s.execute(
                select(func.count()).where(Ticket.order_id == ticket.order_id, Ticket.status != TicketStatus.REVOKED.value, Ticket.id != ticket.id)
            )
        ).scalar_one()
        order = await s.get(Order, ticket.order_id)
        if live == 0:
            order.status = OrderStatus.REFUNDED.value
        await queue_refund(store, s, order_id=order.id, key=f"ticket:{ticket.id}:refund", amount=quote.refund)
        await enqueue(
            store,
            s,
            kind="ticket_cancelled",
            recipient_discord_id=ticket.holder_discord_id,
            payload={"ticket_id": ticket.id, "show_id": ticket.show_id, "refund_cents": quote.refund, "fee_cents": quote.fee},
            dedupe_key=f"ticket:{ticket.id}:cancelled",
        )
        await s.flush()
        return quote

    quote = await store.transaction(work)
    key = f"ticket:{ticket_id}:refund"
    await settle_refunds(store, gateway, [key])
    async with store.session() as s:
        view = (await ticket_views(s, Ticket.id == ticket_id))[0]
        refund = (await s.execute(select(Payment.status).where(Payment.idempotency_key == key))).scalar_one_or_none()
    # The ticket is cancelled either way; a refund the provider did not answer is retried by recovery.
    return replace(view, refund_pending=refund == PaymentStatus.PENDING.value, refund_cents=quote.refund, fee_cents=quote.fee)


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


# --- cancelling a whole show ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShowCancellation:
    show_id: int
    tickets_revoked: int
    orders_refunded: int
    fans_notified: int


async def cancel_show(store: Store, gateway: PaymentGateway, *, show_id: int, organizer_discord_id: int) -> ShowCancellation:
    """The organizer calls the show off: every order refunded, every ticket revoked, every active hold
    released, every ticket holder and waitlisted fan told by DM. One transaction records all of it
    (refunds as pending payments, DMs in the outbox); the refunds are then sent to the provider."""
    async def work(s: AsyncSession) -> tuple[ShowCancellation, list[str]]:
        show = (await s.execute(select(Show).where(Show.id == show_id).with_for_update())).scalar_one_or_none()
        if show is None:
            raise errors.ShowNotFound(show_id)
        await check_organizer(s, show, organizer_discord_id, "cancel")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.AlreadyDone("show.already_cancelled", title=show.title)
        show.status = ShowStatus.CANCELLED.value
        await plan_show_notices(store, s, show)  # drops its pending reminders
        for hold in (await s.execute(select(Hold).where(Hold.show_id == show.id, Hold.status == HoldStatus.ACTIVE.value))).scalars().all():
            await end_hold(store, s, hold, HoldStatus.RELEASED)
        tickets = (
            await s.execute(select(Ticket).where(Ticket.show_id == show.id, Ticket.status != TicketStatus.REVOKED.value).with_for_update())
        ).scalars().all()
        per_order: dict[int, int] = {}
        per_fan: dict[int, int] = {}
        for t in tickets:
            t.status = TicketStatus.REVOKED.value
            t.active_seat_key = None
            t.revoked_reason = "show_cancelled"
            per_order[t.order_id] = per_order.get(t.order_id, 0) + t.price_cents
            per_fan[t.holder_discord_id] = per_fan.get(t.holder_discord_id, 0) + t.price_cents
        await s.execute(
            update(ShowSeat)
            .where(ShowSeat.show_id == show.id, or_(ShowSeat.status == SeatStatus.SOLD.value, _kept_for_waitlist()))
            .values(status=SeatStatus.AVAILABLE.value, held_until=None)
        )
        keys = []
        for order_id, amount in per_order.items():
            key = f"order:{order_id}:show-cancelled"
            await queue_refund(store, s, order_id=order_id, key=key, amount=amount)
            keys.append(key)
            await s.execute(update(Order).where(Order.id == order_id).values(status=OrderStatus.REFUNDED.value))
        waiting = (
            await s.execute(
                select(WaitlistEntry).where(WaitlistEntry.show_id == show.id, WaitlistEntry.status.in_((WaitlistStatus.WAITING.value, "offered")))
            )
        ).scalars().all()
        for entry in waiting:
            entry.status = WaitlistStatus.LEFT.value
            entry.active_key = None
        notify = {fan: (refund, "tickets") for fan, refund in per_fan.items()}
        for entry in waiting:
            notify.setdefault(entry.fan_discord_id, (0, "waitlist"))
        # Fans in the on-sale queue (their places are written through): the line is closed too.
        # The admission tick closes the Redis line and tells anyone it still finds, under the same
        # dedupe key, so each fan hears of the cancellation once.
        for fan in (await s.execute(select(QueuePlace.fan_discord_id).where(QueuePlace.show_id == show.id))).scalars():
            notify.setdefault(fan, (0, "queue"))
        for fan, (refund, was) in notify.items():
            await tell_show_cancelled(store, s, show.id, fan, refund_cents=refund, was=was)
        return ShowCancellation(show.id, len(tickets), len(per_order), len(notify)), keys

    summary, keys = await store.transaction(work)
    await settle_refunds(store, gateway, keys)
    return summary


async def tell_show_cancelled(store: Store, s: AsyncSession, show_id: int, fan: int, *, refund_cents: int = 0, was: str = "queue") -> None:
    """Queue the one "show cancelled" DM a fan gets (as a ticket holder, a waitlisted or a queued
    fan): keyed by show and fan, so telling them again, from any process, folds into it."""
    await enqueue(
        store,
        s,
        kind="show_cancelled",
        recipient_discord_id=fan,
        payload={"show_id": show_id, "refund_cents": refund_cents, "was": was},
        dedupe_key=f"show:{show_id}:cancelled:{fan}",
    )

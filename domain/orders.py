"""Orders and their money: a purchase pays for a hold and issues its tickets; refunds owed are
recorded with the change that owes them and then sent to the provider.

Payment happens between two transactions (a provider call must not hold row locks), keyed by an
idempotency key derived from the order, so a double click or a retry charges once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, telemetry
from domain.holds import end_hold, owned_hold
from domain.models import (
    Hold,
    HoldStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    PriceTier,
    SeatStatus,
    ShowSeat,
    ShowStatus,
    Ticket,
    TicketStatus,
)
from domain.outbox import enqueue
from domain.payments import PaymentGateway, PaymentResult, PaymentTimeout
from domain.shows import load_show
from domain.specs import excerpt
from domain.store import Store
from domain.tickets import TicketView, ticket_views


@dataclass(frozen=True)
class OrderSummary:
    """An order as its fan sees it: what was paid and the tickets it issued."""

    id: int
    show_id: int
    fan_id: int
    status: str
    amount_cents: int
    organizer_amount_cents: int
    currency: str
    tickets: tuple[TicketView, ...]


def failure(stored: str | None, cls: type[errors.DomainError], default: str) -> errors.DomainError:
    """The refusal for an order that failed earlier: its stored code (``Order.failure_reason``), or
    ``default`` for an order that failed before codes were stored (an English sentence then)."""
    return cls(stored if stored and errors.CODE.fullmatch(stored) else default)


async def purchase(
    store: Store,
    gateway: PaymentGateway,
    *,
    hold_id: int,
    fan_id: int,
    fan_name: str | None = None,
    authorization: str | None = None,
) -> OrderSummary:
    """Pay for a hold and issue one ticket per seat. Idempotent: calling it again for the same hold
    (double click, retry after a timeout) returns the same order and never charges twice."""
    from domain import order_batch  # it builds on this module

    prepared = await order_batch.prepare(store, hold_id, fan_id)  # with the other fans paying right now
    if isinstance(prepared, OrderSummary):
        return prepared
    order_id, key, amount, currency = prepared
    try:
        result = await gateway.charge(
            idempotency_key=key, amount_cents=amount, currency=currency, customer=fan_id, authorization=authorization
        )
    except PaymentTimeout:
        telemetry.count("payment", kind="charge", outcome="timeout")
        raise errors.DomainError("payment.timeout") from None
    settled = await order_batch.settle(store, order_id, result, fan_name)
    outcome = await _after_settling(store, gateway, order_id, result, settled)
    if isinstance(outcome, OrderSummary):
        return outcome
    raise outcome


async def prepare_alone(store: Store, hold_id: int, fan_id: int) -> OrderSummary | tuple[int, str, int, str]:
    """The first half of :func:`purchase` for one order, in a transaction of its own."""
    return await store.transaction(lambda s: _prepare_order(store, s, hold_id, fan_id))


async def settle_alone(
    store: Store, order_id: int, result: PaymentResult, fan_name: str | None
) -> OrderSummary | errors.DomainError | tuple[OrderSummary | errors.DomainError, str]:
    """The second half of :func:`purchase` for one order, in a transaction of its own."""
    return await store.transaction(lambda s: _settle_order(store, s, order_id, result, fan_name))


async def settle_charge(
    store: Store, gateway: PaymentGateway, order_id: int, result: PaymentResult, fan_name: str | None = None
) -> OrderSummary | errors.DomainError:
    """Record the provider's answer for an order's charge: tickets and their DM when it went
    through and the seats are still held; a refund when it went through too late; the failure
    otherwise. Returns the paid OrderSummary or the DomainError to show. Used by :func:`purchase` and by
    recovery, which gets the answer of a charge whose process died by looking its key up."""
    return await _after_settling(
        store, gateway, order_id, result, await settle_alone(store, order_id, result, fan_name)
    )


async def _after_settling(
    store: Store,
    gateway: PaymentGateway,
    order_id: int,
    result: PaymentResult,
    outcome: OrderSummary | errors.DomainError | tuple[OrderSummary | errors.DomainError, str],
) -> OrderSummary | errors.DomainError:
    """After the settling transaction committed: count what happened, send a refund owed."""
    if isinstance(outcome, tuple):  # settled just now, not found settled by an earlier call
        outcome, what = outcome
        telemetry.count("payment", kind="charge", outcome="succeeded" if result.ok else "declined")
        if what != "late":
            telemetry.count("order", outcome=what)
        if what == "paid" and isinstance(outcome, OrderSummary):  # "paid" always comes with the summary
            telemetry.count("ticket_issued", len(outcome.tickets))
        elif result.ok:  # the charge went through but the seats were lost (the hold ran out mid-payment)
            await settle_refunds(store, gateway, [f"order:{order_id}:refund"])
    return outcome


async def _prepare_order(
    store: Store, s: AsyncSession, hold_id: int, fan_id: int
) -> OrderSummary | tuple[int, str, int, str]:
    now = store.now()
    hold = await owned_hold(s, hold_id, fan_id, lock=True)
    order = (await s.execute(select(Order).where(Order.hold_id == hold.id))).scalar_one_or_none()
    if order is not None:
        if order.status == OrderStatus.PAID.value:
            return await _order_summary(s, order)
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
            fan_discord_id=fan_id,
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


async def _settle_order(
    store: Store, s: AsyncSession, order_id: int, result: PaymentResult, fan_name: str | None
) -> OrderSummary | errors.DomainError | tuple[OrderSummary | errors.DomainError, str]:
    """Second half of a purchase. Returns the paid OrderSummary, or the DomainError to raise once this
    transaction (which records the failure) has committed; paired with what happened ("paid",
    "failed", "late") when this call settled the order, alone when an earlier one had."""
    now = store.now()
    order = (await s.execute(select(Order).where(Order.id == order_id).with_for_update())).scalar_one()
    if order.status in (OrderStatus.PAID.value, OrderStatus.REFUNDED.value):
        return await _order_summary(s, order)
    charge = (
        await s.execute(select(Payment).where(Payment.idempotency_key == f"order:{order.id}:charge"))
    ).scalar_one()
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
            return errors.PaymentDeclined(
                "payment.declined_because", provider_reason=excerpt(result.reason).rstrip(".")
            ), "failed"
        return errors.PaymentDeclined("payment.declined"), "failed"
    charge.status = PaymentStatus.SUCCEEDED.value
    charge.provider_ref = result.reference
    seats = (
        (
            await s.execute(
                select(ShowSeat)
                .where(ShowSeat.hold_id == hold.id, ShowSeat.status == SeatStatus.HELD.value)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    if hold.status != HoldStatus.ACTIVE.value or len(seats) != hold.quantity:
        order.status = OrderStatus.FAILED.value
        order.failure_reason = "payment.late_refunded"
        await end_hold(store, s, hold, HoldStatus.EXPIRED)
        await queue_refund(store, s, order_id=order.id, key=f"order:{order.id}:refund", amount=order.amount_cents)
        return errors.HoldExpired("payment.late_refunded"), "failed"
    prices = dict(
        (await s.execute(select(PriceTier.id, PriceTier.price_cents).where(PriceTier.show_id == order.show_id)))
        .tuples()
        .all()
    )
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
    return await _order_summary(s, order), "paid"


async def _order_summary(s: AsyncSession, order: Order) -> OrderSummary:
    tickets = await ticket_views(s, Ticket.order_id == order.id)
    return OrderSummary(
        order.id,
        order.show_id,
        order.fan_discord_id,
        order.status,
        order.amount_cents,
        order.organizer_amount_cents,
        order.currency,
        tickets,
    )


async def get_order(store: Store, order_id: int) -> OrderSummary:
    async with store.session() as s:
        order = await s.get(Order, order_id)
        if order is None:
            raise errors.OrderNotFound(order_id)
        return await _order_summary(s, order)


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
        q = select(Payment).where(
            Payment.kind == PaymentKind.REFUND.value, Payment.status == PaymentStatus.PENDING.value
        )
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
            )
            .tuples()
            .all()
        )
    done = 0
    for refund in pending:
        charge_ref = charges.get(refund.order_id)
        if charge_ref is None or refund.amount_cents == 0:
            result = PaymentResult(True, reference=None, reason="nothing was charged")
        else:
            try:
                result = await gateway.refund(
                    idempotency_key=refund.idempotency_key,
                    charge_reference=charge_ref,
                    amount_cents=refund.amount_cents,
                )
            except PaymentTimeout:
                telemetry.count("payment", kind="refund", outcome="timeout")
                continue

        async def record(s: AsyncSession, refund: Payment = refund, result: PaymentResult = result) -> None:
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

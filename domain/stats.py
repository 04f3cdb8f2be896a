"""Counts read back from the store of record (demo summary, sales reports, metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import func, select, text

from domain import queue, seats
from domain.models import (
    Hold,
    HoldStatus,
    Order,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    ShowSeat,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from domain.store import Store


@dataclass(frozen=True)
class ShowTotals:
    seats: int
    sold: int  # live tickets (valid or checked in)
    oversold: int  # live tickets beyond one per seat: must always be 0
    checked_in: int
    promoted: int  # waitlist entries promoted to tickets


async def show_totals(store: Store, show_id: int) -> ShowTotals:
    live = Ticket.status != TicketStatus.REVOKED.value
    async with store.session() as s:
        seats = (await s.execute(select(func.count()).where(ShowSeat.show_id == show_id))).scalar_one()
        sold, distinct_seats = (
            await s.execute(
                select(func.count(), func.count(func.distinct(Ticket.show_seat_id))).where(
                    Ticket.show_id == show_id, live
                )
            )
        ).one()
        checked_in = (
            await s.execute(
                select(func.count()).where(Ticket.show_id == show_id, Ticket.status == TicketStatus.CHECKED_IN.value)
            )
        ).scalar_one()
        promoted = (
            await s.execute(
                select(func.count()).where(
                    WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.PROMOTED.value
                )
            )
        ).scalar_one()
    return ShowTotals(seats=seats, sold=sold, oversold=sold - distinct_seats, checked_in=checked_in, promoted=promoted)


@dataclass(frozen=True)
class SalesReport:
    show_id: int
    tiers: tuple[seats.TierAvailability, ...]
    revenue_cents: int  # live tickets, at the price paid
    refunded_cents: int
    waitlist_waiting: int
    issued_times: tuple[datetime, ...]  # every ticket issued, for the sales chart


async def sales_report(store: Store, show_id: int) -> SalesReport:
    tiers = await seats.availability(store, show_id)
    async with store.read_session() as s:  # the sales chart may lag a moment: the replica
        revenue = (
            await s.execute(
                select(func.coalesce(func.sum(Ticket.price_cents), 0)).where(
                    Ticket.show_id == show_id, Ticket.status != TicketStatus.REVOKED.value
                )
            )
        ).scalar_one()
        refunded = (
            await s.execute(
                select(func.coalesce(func.sum(Payment.amount_cents), 0))
                .join(Order, Order.id == Payment.order_id)
                .where(
                    Order.show_id == show_id,
                    Payment.kind == PaymentKind.REFUND.value,
                    Payment.status == PaymentStatus.SUCCEEDED.value,
                )
            )
        ).scalar_one()
        waiting = (
            await s.execute(
                select(func.count()).where(
                    WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value
                )
            )
        ).scalar_one()
        issued = (
            (await s.execute(select(Ticket.issued_at).where(Ticket.show_id == show_id).order_by(Ticket.issued_at)))
            .scalars()
            .all()
        )
    return SalesReport(show_id, tuple(tiers), int(revenue), int(refunded), waiting, tuple(issued))


@dataclass(frozen=True)
class SharedState:
    """What every process sees the same (the metrics' gauges): read from the store and Redis."""

    holds_active: int  # active and not yet past expiry
    holds_overdue: int  # active past expiry, not yet released
    outbox_backlog: int  # DMs due now and not yet sent (not those held for quiet hours or a retry)
    waitlist_waiting: int
    queue_lengths: dict[int, int]  # show id -> fans waiting in its on-sale line


async def shared_state(store: Store, redis: Redis) -> SharedState:
    now = store.now()
    active_hold = Hold.status == HoldStatus.ACTIVE.value
    async with store.session() as s:
        active = (
            await s.execute(select(func.count()).select_from(Hold).where(active_hold, Hold.expires_at > now))
        ).scalar_one()
        overdue = (
            await s.execute(select(func.count()).select_from(Hold).where(active_hold, Hold.expires_at <= now))
        ).scalar_one()
        backlog = (
            await s.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now)
            )
        ).scalar_one()
        waiting = (
            await s.execute(
                select(func.count())
                .select_from(WaitlistEntry)
                .where(WaitlistEntry.status == WaitlistStatus.WAITING.value)
            )
        ).scalar_one()
    lengths = {show: await queue.line_length(redis, show) for show in await queue.active_shows(redis)}
    return SharedState(
        holds_active=active,
        holds_overdue=overdue,
        outbox_backlog=backlog,
        waitlist_waiting=waiting,
        queue_lengths=lengths,
    )


async def ping_database(store: Store) -> None:
    """Raises when the database does not answer (the health check)."""
    async with store.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

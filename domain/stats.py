"""Counts read back from the store of record (demo summary, sales reports, metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from domain import seats
from domain.models import Order, Payment, PaymentKind, PaymentStatus, ShowSeat, Ticket, TicketStatus, WaitlistEntry, WaitlistStatus
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
                select(func.count(), func.count(func.distinct(Ticket.show_seat_id))).where(Ticket.show_id == show_id, live)
            )
        ).one()
        checked_in = (
            await s.execute(select(func.count()).where(Ticket.show_id == show_id, Ticket.status == TicketStatus.CHECKED_IN.value))
        ).scalar_one()
        promoted = (
            await s.execute(
                select(func.count()).where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.PROMOTED.value)
            )
        ).scalar_one()
    return ShowTotals(seats=seats, sold=sold, oversold=sold - distinct_seats, checked_in=checked_in, promoted=promoted)


@dataclass(frozen=True)
class SalesReport:
    show_id: int
    tiers: tuple  # of seats.TierAvailability
    revenue_cents: int  # live tickets, at the price paid
    refunded_cents: int
    waitlist_waiting: int
    issued_times: tuple  # datetime of every ticket issued, for the sales chart


async def sales_report(store: Store, show_id: int) -> SalesReport:
    tiers = await seats.availability(store, show_id)
    async with store.session() as s:
        revenue = (
            await s.execute(
                select(func.coalesce(func.sum(Ticket.price_cents), 0)).where(Ticket.show_id == show_id, Ticket.status != TicketStatus.REVOKED.value)
            )
        ).scalar_one()
        refunded = (
            await s.execute(
                select(func.coalesce(func.sum(Payment.amount_cents), 0))
                .join(Order, Order.id == Payment.order_id)
                .where(Order.show_id == show_id, Payment.kind == PaymentKind.REFUND.value, Payment.status == PaymentStatus.SUCCEEDED.value)
            )
        ).scalar_one()
        waiting = (
            await s.execute(
                select(func.count()).where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
            )
        ).scalar_one()
        issued = (await s.execute(select(Ticket.issued_at).where(Ticket.show_id == show_id).order_by(Ticket.issued_at))).scalars().all()
    return SalesReport(show_id, tuple(tiers), int(revenue), int(refunded), waiting, tuple(issued))

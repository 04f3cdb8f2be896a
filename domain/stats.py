"""Counts read back from the store of record (demo summary, sales reports, metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from domain.models import ShowSeat, Ticket, TicketStatus, WaitlistEntry, WaitlistStatus
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

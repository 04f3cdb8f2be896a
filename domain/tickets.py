"""Tickets as their holder sees them: a fan's own tickets, each with its seat and price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from domain.models import PriceTier, ShowSeat, Ticket, TicketStatus
from domain.seats import SeatView
from domain.store import Store


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


async def ticket_views(s: AsyncSession, where: ColumnElement[bool]) -> tuple[TicketView, ...]:
    # Columns, not ORM objects: the on-sale's settling batch reads every ticket it issued here.
    rows = await s.execute(
        select(
            Ticket.id,
            Ticket.order_id,
            Ticket.show_id,
            Ticket.holder_discord_id,
            Ticket.status,
            Ticket.price_cents,
            Ticket.checked_in_at,
            ShowSeat.id,
            ShowSeat.section,
            ShowSeat.row_label,
            ShowSeat.seat_number,
            PriceTier.name,
        )
        .join(ShowSeat, ShowSeat.id == Ticket.show_seat_id)
        .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
        .where(where)
        .order_by(Ticket.id)
    )
    return tuple(
        TicketView(
            id=tid,
            order_id=order_id,
            show_id=show_id,
            holder_discord_id=holder,
            status=status,
            seat=SeatView(seat_id, section, row_label, number, tier, price),
            checked_in_at=checked_in_at,
        )
        for tid, order_id, show_id, holder, status, price, checked_in_at, seat_id, section, row_label, number, tier in rows.tuples()
    )


async def list_tickets(
    store: Store, fan_id: int, *, show_id: int | None = None, include_revoked: bool = False
) -> list[TicketView]:
    """A fan's own tickets. There is no way to list someone else's."""
    cond = Ticket.holder_discord_id == fan_id
    if show_id is not None:
        cond = and_(cond, Ticket.show_id == show_id)
    if not include_revoked:
        cond = and_(cond, Ticket.status != TicketStatus.REVOKED.value)
    async with store.session() as s:
        return list(await ticket_views(s, cond))

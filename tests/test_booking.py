"""Holding, paying for and cancelling seats, as a fan would see it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import cancellations, errors, holds, orders, seats, tickets
from domain.models import OutboxMessage, SeatStatus, ShowSeat, Ticket, TicketStatus
from tests.factories import on_sale_show
from tests.snapshot import table_counts


async def seat_ids(store, show_id):
    async with store.session() as s:
        return list(
            (
                await s.execute(select(ShowSeat.id).where(ShowSeat.show_id == show_id).order_by(ShowSeat.position))
            ).scalars()
        )


async def test_hold_and_pay_issues_one_ticket_per_seat(store, gateway):
    show = await on_sale_show(store, tiers={"Standard": 4500})
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=42, quantity=2)
    assert [s.label for s in hold.seats] == ["Section A · row A · seat 1", "Section A · row A · seat 2"]
    assert hold.total_cents == 9000

    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=42)

    assert order.status == "paid"
    assert order.amount_cents == 9000
    assert order.organizer_amount_cents == 9000  # no commission
    assert [t.seat.label for t in order.tickets] == ["Section A · row A · seat 1", "Section A · row A · seat 2"]
    assert {t.holder_discord_id for t in order.tickets} == {42}
    assert gateway.charged_total == 9000
    assert [t.id for t in await tickets.list_tickets(store, 42)] == [t.id for t in order.tickets]
    avail = await seats.availability(store, show.id)
    assert (avail[0].available, avail[0].held, avail[0].sold) == (8, 0, 2)
    async with store.session() as s:
        dms = (await s.execute(select(OutboxMessage.kind, OutboxMessage.recipient_discord_id))).all()
    assert dms == [("tickets_issued", 42)]


async def test_choosing_specific_seats_and_losing_one_holds_nothing(store):
    show = await on_sale_show(store)
    ids = await seat_ids(store, show.id)
    await holds.hold_seats(store, show_id=show.id, fan_id=1, seat_ids=[ids[3]])
    before = await table_counts(store)
    with pytest.raises(errors.SeatUnavailable):
        await holds.hold_seats(store, show_id=show.id, fan_id=2, seat_ids=[ids[2], ids[3]])
    assert await table_counts(store) == before
    avail = await seats.availability(store, show.id)
    assert avail[0].held == 1  # ids[2] was not left held by the failed attempt


async def test_double_clicked_pay_charges_once(store, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=7, quantity=3)
    a, b = await asyncio.gather(
        orders.purchase(store, gateway, hold_id=hold.id, fan_id=7),
        orders.purchase(store, gateway, hold_id=hold.id, fan_id=7),
    )
    assert a.id == b.id and a.status == b.status == "paid"
    assert gateway.successful_charges == 1
    assert gateway.charged_total == 3 * 4500
    assert len(await tickets.list_tickets(store, 7)) == 3


async def test_declined_payment_releases_the_seats(store, gateway):
    show = await on_sale_show(store)
    gateway.declined_customers.add(9)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=9, quantity=2)
    with pytest.raises(errors.PaymentDeclined, match="declined"):
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=9)
    avail = await seats.availability(store, show.id)
    assert (avail[0].available, avail[0].held, avail[0].sold) == (10, 0, 0)
    assert await tickets.list_tickets(store, 9) == []
    # the fan's quota was given back: they can hold their full limit again
    await holds.hold_seats(store, show_id=show.id, fan_id=9, quantity=4)


async def test_expired_hold_returns_seats_to_sale(store, gateway, clock):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=4, ttl=timedelta(minutes=5))
    clock.advance(minutes=5, seconds=1)
    # Before any sweep ran, another fan can already take a seat whose hold ran out.
    other = await holds.hold_seats(store, show_id=show.id, fan_id=6, seat_ids=[hold.seats[0].id])
    assert other.seats[0].id == hold.seats[0].id
    assert await holds.release_expired_holds(store) == 1
    assert await holds.release_expired_holds(store) == 0  # exactly once
    avail = await seats.availability(store, show.id)
    assert (avail[0].available, avail[0].held) == (9, 1)
    with pytest.raises(errors.HoldExpired):
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)
    assert gateway.successful_charges == 0


async def test_hold_lost_during_payment_is_refunded(store, gateway, clock):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=1, ttl=timedelta(minutes=5))

    class SlowGateway:
        async def charge(self, **kw):
            clock.advance(minutes=6)  # the provider takes longer than the hold lasts...
            await holds.hold_seats(
                store, show_id=show.id, fan_id=8, seat_ids=[hold.seats[0].id]
            )  # ...and the seat is taken
            return await gateway.charge(**kw)

        refund = gateway.refund

    with pytest.raises(errors.HoldExpired, match="refunded"):
        await orders.purchase(store, SlowGateway(), hold_id=hold.id, fan_id=5)
    assert gateway.successful_charges == 1
    assert sum(amt for res, _, amt in gateway.refunds.values() if res.ok) == 4500
    assert await tickets.list_tickets(store, 5) == []


async def test_cancel_refunds_and_returns_the_seat(store, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=3, quantity=2)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=3)
    ticket = order.tickets[0]

    with pytest.raises(errors.TicketNotFound):
        await cancellations.cancel_ticket(store, gateway, ticket_id=ticket.id, fan_id=4)  # not the holder

    cancelled = await cancellations.cancel_ticket(store, gateway, ticket_id=ticket.id, fan_id=3)
    assert cancelled.status == TicketStatus.REVOKED.value
    assert sum(amt for res, _, amt in gateway.refunds.values() if res.ok) == 4500
    with pytest.raises(errors.AlreadyDone):
        await cancellations.cancel_ticket(store, gateway, ticket_id=ticket.id, fan_id=3)
    avail = await seats.availability(store, show.id)
    assert (avail[0].available, avail[0].sold) == (9, 1)
    # the seat can be sold again, to someone else
    again = await holds.hold_seats(store, show_id=show.id, fan_id=11, seat_ids=[ticket.seat.id])
    await orders.purchase(store, gateway, hold_id=again.id, fan_id=11)
    assert [t.seat.id for t in await tickets.list_tickets(store, 11)] == [ticket.seat.id]


async def test_per_fan_limit_counts_holds_and_tickets(store, gateway):
    show = await on_sale_show(store, per_fan_limit=4)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=3)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1)
    with pytest.raises(errors.FanLimitExceeded, match="add 0 more"):
        await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1)


async def test_concurrent_holds_by_one_fan_cannot_pass_the_limit(store):
    show = await on_sale_show(store, seatmap="A:4x10:Standard", per_fan_limit=4)
    results = await asyncio.gather(
        *(holds.hold_seats(store, show_id=show.id, fan_id=77, quantity=2) for _ in range(6)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, holds.HoldSummary)]
    assert len(won) == 2
    assert all(isinstance(r, errors.FanLimitExceeded) for r in results if r not in won)
    assert sum(len(h.seats) for h in won) == 4


async def test_sold_out_then_waitlist_hint(store):
    show = await on_sale_show(store, seatmap="Floor:3:GA", tiers={"GA": 2000})
    await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=3)
    with pytest.raises(errors.SoldOut, match="waitlist"):
        await holds.hold_seats(store, show_id=show.id, fan_id=2, quantity=1)


async def _buyer(store, gateway, show_id, fan, seat_ids, rng):
    """One fan: tries a couple of specific seats, then best available; pays if a hold succeeds."""
    attempts = [[rng.choice(seat_ids)], [rng.choice(seat_ids)], None]
    for choice in attempts:
        try:
            if choice is None:
                hold = await holds.hold_seats(store, show_id=show_id, fan_id=fan, quantity=1)
            else:
                hold = await holds.hold_seats(store, show_id=show_id, fan_id=fan, seat_ids=choice)
        except (errors.SeatUnavailable, errors.SoldOut):
            continue
        order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=fan)
        return order.tickets[0].seat.id
    return None


async def assert_sold_exactly_once(store, show_id, expected):
    async with store.session() as s:
        live = (
            (await s.execute(select(Ticket.show_seat_id).where(Ticket.show_id == show_id, Ticket.status != "revoked")))
            .scalars()
            .all()
        )
        sold = (
            await s.execute(
                select(func.count()).where(ShowSeat.show_id == show_id, ShowSeat.status == SeatStatus.SOLD.value)
            )
        ).scalar_one()
    assert len(live) == expected, f"{len(live)} tickets for {expected} seats"
    assert len(set(live)) == len(live), "a seat was sold twice"
    assert sold == expected


@pytest.mark.integration  # 50 connections racing: seconds, not milliseconds
async def test_fifty_buyers_race_for_ten_seats(store, gateway):
    """50 fans, each on its own database connection, race for 10 seats: exactly 10 sold, no seat twice."""
    import random

    show = await on_sale_show(store, seatmap="A:1x10:Standard")
    ids = await seat_ids(store, show.id)
    rng = random.Random(1)
    results = await asyncio.gather(*(_buyer(store, gateway, show.id, 100 + i, ids, rng) for i in range(50)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 10
    assert sorted(winners) == sorted(ids)
    await assert_sold_exactly_once(store, show.id, 10)
    assert gateway.successful_charges == 10


async def test_a_section_picker_offers_only_that_sections_free_seats_best_first(store):
    show = await on_sale_show(store, seatmap="A:1x5:Standard, B:1x5:Standard")
    choice = await seats.seat_picker(store, show.id)
    assert choice.sections_with_free_seats == ["A", "B"]
    b_first = [s.id for s in choice.seats if s.section == "B"][:2]
    await holds.hold_seats(store, show_id=show.id, fan_id=1, seat_ids=b_first)

    picked = await seats.free_in_section(store, show.id, "B", most=2)

    assert picked.title == "Night Shift" and picked.per_fan_limit == 4
    assert [s.seat_number for s in picked.seats] == [3, 4]  # the held two are not offered

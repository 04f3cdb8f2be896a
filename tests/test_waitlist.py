"""The cancellation waitlist promotes the next fan automatically: charged, ticketed, DMed, once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from domain import booking, waitlist
from domain.models import OutboxMessage, Ticket
from domain.store import Store
from tests import backends
from tests.factories import on_sale_show
from tests.test_booking import assert_sold_exactly_once
from tests.test_dm_delivery import buy


async def test_cancellations_promote_the_first_waiting_fans(world, gateway):
    show = await world.show(seatmap="A:1x4:Standard")
    holders = world.fans[:4]
    for fan in holders:
        await buy(world, fan, show)
    waiters = [world.guild.add_member(world.env.create_user(f"wait{i}")) for i in range(3)]
    for i, fan in enumerate(waiters):
        res = await fan.slash(world.channel, "waitlist join", show=show.id)
        assert f"#{i + 1} on the waitlist" in res.response.content
    for holder in holders[:2]:
        ticket_id = int(holder.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
        done = await holder.slash(world.channel, "ticket cancel", ticket=ticket_id)
        assert "is cancelled" in done.response.content
    await world.env.settle()
    for fan in waiters[:2]:
        dms = fan.user.dm_channel.history()
        assert len(dms) == 1 and dms[0].attachments[0].filename.startswith("ticket-")  # charged, QR ticket by DM
    assert waiters[2].user.dm_channel.history() == []
    still = await waiters[2].slash(world.channel, "waitlist status", show=show.id)
    assert "You are #1 on the waitlist" in still.response.content
    assert gateway.successful_charges == 6  # 4 buyers + 2 promotions


async def test_simultaneous_cancellations_and_two_promoting_processes(store, gateway):
    show = await on_sale_show(store, seatmap="A:2x10:Standard", per_fan_limit=4)
    buyers = list(range(100, 120))
    tickets = []
    for fan in buyers:
        hold = await booking.hold_seats(store, show_id=show.id, fan_discord_id=fan, quantity=1)
        tickets.append((await booking.purchase(store, gateway, hold_id=hold.id, fan_discord_id=fan)).tickets[0].id)
    wants = {500 + i: (2 if i % 3 == 0 else 1) for i in range(15)}
    for fan, quantity in wants.items():
        await waitlist.join_waitlist(store, show_id=show.id, fan_discord_id=fan, quantity=quantity)

    other = Store.from_url(backends.database_url(), store.clock, pool_size=20)
    try:
        await asyncio.gather(*(booking.cancel_ticket(store, gateway, ticket_id=t, fan_discord_id=f) for t, f in zip(tickets, buyers)))
        results = await asyncio.gather(waitlist.promote(store, gateway, show.id), waitlist.promote(other, gateway, show.id))
    finally:
        await other.dispose()
    promoted = [p for r in results for p in r if p.outcome == "promoted"]
    async with store.session() as s:
        per_fan = dict(
            (await s.execute(select(Ticket.holder_discord_id, func.count()).where(Ticket.show_id == show.id, Ticket.status != "revoked").group_by(Ticket.holder_discord_id))).all()
        )
        dms = dict(
            (await s.execute(select(OutboxMessage.recipient_discord_id, func.count()).where(OutboxMessage.kind == "tickets_issued").group_by(OutboxMessage.recipient_discord_id))).all()
        )
    assert sum(per_fan.values()) == 20  # every returned seat went to a waiting fan
    await assert_sold_exactly_once(store, show.id, 20)
    for fan, quantity in wants.items():
        assert per_fan.get(fan, 0) in (0, quantity), f"fan {fan} got {per_fan.get(fan)} for {quantity}"
    assert len({p.fan_discord_id for p in promoted}) == len(promoted)  # nobody promoted twice
    for p in promoted:
        assert dms[p.fan_discord_id] == 1  # one ticket DM per promotion

"""One user action, one domain call: each use case does the whole job (a seat that comes back goes to
the waitlist first, whoever calls), and the store itself wakes the sender after a commit that queued
a DM, so no caller has to remember to."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain import cancellations, capacity, errors, follows, holds, onsale, orders, outbox, tickets, waitlist
from domain.models import Follow, OutboxMessage
from tests.factories import on_sale_show
from tests.test_dm_delivery import buy


async def _sold_out_to_fan_1(store, gateway, waiting: dict[int, int]):
    show = await on_sale_show(store, seatmap="A:1x2:Standard")
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=2)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    for fan, quantity in waiting.items():
        await waitlist.join_waitlist(store, show_id=show.id, fan_id=fan, quantity=quantity, gateway=gateway)
    return show, order


async def test_cancelling_a_ticket_gives_its_seat_to_the_waiting_fan_in_the_same_call(store, gateway):
    show, order = await _sold_out_to_fan_1(store, gateway, {20: 1})
    seat = order.tickets[0].seat

    cancelled = await cancellations.cancel_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=1)

    assert cancelled.status == "revoked" and cancelled.refund_cents == cancelled.seat.price_cents
    assert [t.seat.id for t in await tickets.list_tickets(store, 20)] == [seat.id]  # no later step needed
    assert await waitlist.waitlist_position(store, show_id=show.id, fan_id=20) is None


async def test_added_seats_go_to_the_waiting_fans_first_in_the_same_call_the_rest_on_sale(store, gateway):
    show, _ = await _sold_out_to_fan_1(store, gateway, {20: 2})

    done = await capacity.add_seats(store, gateway, show.id, 1, "B:1x3:Standard")

    assert (done.added, done.given) == (3, 1)
    assert len(await tickets.list_tickets(store, 20)) == 2
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=1)  # the third seat is on sale
    assert hold.seats[0].section == "B"
    with pytest.raises(errors.NotPermitted):  # only the show's organizer adds seats, and nothing changes
        await capacity.add_seats(store, gateway, show.id, 2, "C:1x3:Standard")


async def test_book_reserves_at_once_when_it_is_the_fans_turn_and_only_queues_otherwise(store, redis, gateway):
    show = await on_sale_show(store, admission_per_minute=1)  # a burst of one: the first fan is let in

    first = await onsale.book(store, redis, show_id=show.id, fan_id=7, quantity=2)
    second = await onsale.book(store, redis, show_id=show.id, fan_id=8, quantity=2)

    assert first.status.state == "admitted" and len(first.hold.seats) == 2
    assert second.status.state == "queued" and second.hold is None


async def test_unfollowing_an_artist_and_a_genre_is_one_call(store):
    await follows.follow_all(store, 5, [("artist", "The Nightjars"), ("genre", "indie")])

    assert await follows.unfollow_all(store, 5, [("artist", "the nightjars"), ("genre", "jazz")]) == [True, False]
    assert [(f.kind, f.name) for f in await follows.list_follows(store, 5)] == [("genre", "indie")]


async def test_the_store_calls_back_after_a_commit_that_queued_a_message_and_only_then(store):
    calls = []
    stop = outbox.on_queued(store, lambda: calls.append("queued"))

    async def queue_one(s, key):
        await outbox.enqueue(store, s, kind="ticket_code", recipient_discord_id=1, payload={}, dedupe_key=key)

    await store.transaction(lambda s: queue_one(s, "a"))
    assert calls == ["queued"]
    with pytest.raises(RuntimeError):  # rolled back: nothing was queued, nobody is woken

        async def fails(s):
            await queue_one(s, "b")
            raise RuntimeError("boom")

        await store.transaction(fails)
    await follows.follow(store, 1, "artist", "The Nightjars")  # a commit that queued nothing
    async with store.session() as s:  # a read
        await s.execute(select(Follow))
    assert calls == ["queued"]
    stop()
    await store.transaction(lambda s: queue_one(s, "c"))
    assert calls == ["queued"]
    async with store.session() as s:
        assert len((await s.execute(OutboxMessage.__table__.select())).all()) == 2


async def test_a_dm_queued_by_a_domain_call_outside_any_command_goes_out_at_once(world, gateway):
    """Nothing kicks the sender by hand any more: a purchase made by a plain domain call (no cog, no
    job) reaches the fan as soon as it commits, without waiting for the outbox poll (hourly here)."""
    show = await world.show()
    fan = world.fans[3]
    hold = await holds.hold_seats(world.store, show_id=show.id, fan_id=fan.id, quantity=2)
    await orders.purchase(world.store, gateway, hold_id=hold.id, fan_id=fan.id)
    await (
        world.bot.services.sender.idle()
    )  # the drain the commit started (SimCord's settle only sees the bot's own tasks)
    await world.env.settle()
    [dm] = fan.user.dm_channel.history()
    assert len(dm.attachments) == 2  # the two QR tickets


async def test_a_cancel_through_the_bot_tells_the_waiting_fan_at_once(world, gateway):
    show = await world.show(seatmap="A:1x1:Standard")
    holder, waiting = world.fans[0], world.fans[1]
    await buy(world, holder, show)
    joined = await waiting.slash(world.channel, "waitlist join", show=show.id)
    assert "#1 on the waitlist" in joined.response.content
    [ticket] = await tickets.list_tickets(world.store, holder.id)

    done = await holder.slash(world.channel, "ticket cancel", ticket=ticket.id)

    assert "is cancelled" in done.response.content
    await world.env.settle()
    [dm] = waiting.user.dm_channel.history()
    assert dm.attachments[0].filename.startswith("ticket-")

"""The cancellation waitlist promotes the next fan automatically: charged, ticketed, DMed, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from domain import cancellations, holds, orders, organizers, seats, tickets, waitlist, waitlist_promotion
from domain.models import OutboxMessage, Ticket
from domain.store import Store
from notifier.errors_text import refusal_text
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


@pytest.mark.integration  # concurrent cancellations and promotion passes: seconds, not milliseconds
async def test_simultaneous_cancellations_and_two_promoting_processes(store, gateway):
    show = await on_sale_show(store, seatmap="A:2x10:Standard", per_fan_limit=4)
    buyers = list(range(100, 120))
    tickets = []
    for fan in buyers:
        hold = await holds.hold_seats(store, show_id=show.id, fan_id=fan, quantity=1)
        tickets.append((await orders.purchase(store, gateway, hold_id=hold.id, fan_id=fan)).tickets[0].id)
    wants = {500 + i: (2 if i % 3 == 0 else 1) for i in range(15)}
    for fan, quantity in wants.items():
        await waitlist.join_waitlist(store, show_id=show.id, fan_id=fan, quantity=quantity)

    other = Store.from_url(backends.database_url(), store.clock, pool_size=20)
    try:
        await asyncio.gather(
            *(
                cancellations.revoke_ticket(store, gateway, ticket_id=t, fan_id=f)
                for t, f in zip(tickets, buyers, strict=True)
            )
        )
        results = await asyncio.gather(
            waitlist_promotion.promote(store, gateway, show.id), waitlist_promotion.promote(other, gateway, show.id)
        )
    finally:
        await other.dispose()
    promoted = [p for r in results for p in r if p.outcome == "promoted"]
    async with store.session() as s:
        per_fan = dict(
            (
                await s.execute(
                    select(Ticket.holder_discord_id, func.count())
                    .where(Ticket.show_id == show.id, Ticket.status != "revoked")
                    .group_by(Ticket.holder_discord_id)
                )
            ).all()
        )
        dms = dict(
            (
                await s.execute(
                    select(OutboxMessage.recipient_discord_id, func.count())
                    .where(OutboxMessage.kind == "tickets_issued")
                    .group_by(OutboxMessage.recipient_discord_id)
                )
            ).all()
        )
    assert sum(per_fan.values()) == 20  # every returned seat went to a waiting fan
    await assert_sold_exactly_once(store, show.id, 20)
    for fan, quantity in wants.items():
        assert per_fan.get(fan, 0) in (0, quantity), f"fan {fan} got {per_fan.get(fan)} for {quantity}"
    assert len({p.fan_id for p in promoted}) == len(promoted)  # nobody promoted twice
    for p in promoted:
        assert dms[p.fan_id] == 1  # one ticket DM per promotion


async def test_joining_authorizes_the_card_and_a_declined_charge_passes_the_seat_on(store, gateway):
    from sqlalchemy import select as sel

    from domain import errors
    from domain.models import WaitlistEntry
    from tests.snapshot import table_counts

    show = await on_sale_show(store, seatmap="A:1x2:Standard")
    for fan in (1, 2):
        hold = await holds.hold_seats(store, show_id=show.id, fan_id=fan, quantity=1)
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=fan)
    gateway.unauthorizable_customers.add(30)
    before = await table_counts(store)
    try:
        await waitlist.join_waitlist(store, show_id=show.id, fan_id=30, quantity=1, gateway=gateway)
        raise AssertionError("an unauthorizable card joined the waitlist")
    except errors.PaymentDeclined as refused:
        assert refused.code == "waitlist.card_declined_because" and "not added to the waitlist" in refused.message
    assert await table_counts(store) == before
    first = await waitlist.join_waitlist(store, show_id=show.id, fan_id=31, quantity=1, gateway=gateway)
    second = await waitlist.join_waitlist(store, show_id=show.id, fan_id=32, quantity=1, gateway=gateway)
    assert (first.position, second.position) == (1, 2)
    gateway.declined_customers.add(31)  # authorized when joining, declined when charged
    ticket = (await tickets.list_tickets(store, 1))[0]
    await cancellations.revoke_ticket(store, gateway, ticket_id=ticket.id, fan_id=1)
    outcomes = await waitlist_promotion.promote(store, gateway, show.id)
    assert [(p.fan_id, p.outcome) for p in outcomes] == [(31, "declined"), (32, "promoted")]
    assert [t.seat.id for t in await tickets.list_tickets(store, 32)] == [ticket.seat.id]
    async with store.session() as s:
        auths = (
            await s.execute(sel(WaitlistEntry.payment_authorization).where(WaitlistEntry.fan_discord_id == 32))
        ).scalar_one()
        told = (
            await s.execute(
                sel(OutboxMessage.kind, OutboxMessage.payload).where(OutboxMessage.recipient_discord_id == 31)
            )
        ).all()
    assert gateway.authorizations[auths] == 32  # the promotion charged the saved authorization
    assert [kind for kind, _ in told] == ["waitlist_declined"]
    # The DM keeps why as a code and params (worded when sent, in the fan's language), not an English sentence.
    payload = told[0][1]
    assert payload["refusal"] == {
        "code": "payment.declined_because",
        "params": {"provider_reason": "Your card was declined"},
    }
    assert "reason" not in payload
    assert (
        refusal_text(payload, "ko") == "결제가 거절되었습니다 (Your card was declined). 예약하신 좌석은 해제되었습니다."
    )


async def test_offer_mode_waits_for_the_fan_then_passes_the_offer_on(world, gateway):
    """In offer mode the next fan gets a DM offer with the seats held for them; accepting charges
    their saved authorization; letting it run out passes the seats to the following fan."""
    from datetime import timedelta as td

    from domain import shows as shows_domain

    org = await organizers.register_organizer(world.store, world.guild.id, world.organizer.id, "org")
    now = world.store.now()
    show = await shows_domain.create_show(
        world.store,
        organizer_id=org.id,
        venue_name="Hall",
        seatmap_spec="A:1x2:Standard",
        title="Offer Night",
        artists=["X"],
        genres=[],
        starts_at=now + td(days=5),
        on_sale_at=now - td(hours=1),
        tiers={"Standard": 3000},
        waitlist_mode="offer",
    )
    holders = world.fans[:2]
    for fan in holders:
        await buy(world, fan, show)
    slow, quick = world.fans[2], world.fans[3]
    for fan in (slow, quick):
        await fan.slash(world.channel, "waitlist join", show=show.id)
    for holder in holders:
        ticket_id = int(holder.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
        await holder.slash(world.channel, "ticket cancel", ticket=ticket_id)
    await world.env.settle()
    offer = slow.user.dm_channel.history()[-1]
    assert "came back and you're next" in offer.content
    assert "came back and you're next" in quick.user.dm_channel.history()[-1].content  # two seats, two offers
    accepted = await quick.user.click(quick.user.dm_channel.history()[-1], label="Accept")
    assert any(
        "Accepted: order #" in (m.content or "") for m in [accepted.response, *accepted.followups] if m is not None
    )
    await world.env.settle()
    assert any(a.filename.startswith("ticket-") for m in quick.user.dm_channel.history() for a in m.attachments)

    await world.env.advance_time(16 * 60)  # the slow fan's offer runs out
    await waitlist_promotion.promote(world.store, gateway, show.id)
    await world.bot.services.sender.idle()  # the drain the store's commit started
    await world.bot.services.sender.drain()
    assert "ran out before you accepted" in slow.user.dm_channel.history()[-1].content
    late = await slow.user.click(offer, label="Accept")
    texts = [m.content or "" for m in [late.response, *late.followups] if m is not None]
    assert any("no longer open" in t for t in texts), texts
    assert gateway.successful_charges == 3  # two buyers and the fan who accepted


async def test_raising_capacity_serves_the_waitlist_first(world, gateway):
    show = await world.show(seatmap="A:1x1:Standard")
    await buy(world, world.fans[0], show)
    waiting = world.fans[1]
    await waiting.slash(world.channel, "waitlist join", show=show.id, quantity=2)
    refused = await world.fans[2].slash(world.channel, "show seats", show=show.id, seatmap="B:1x4:Standard")
    assert (
        refused.response.content
        == f"{world.fans[2].mention} is not a registered organizer here. Use /organizer register first."
    )
    clash = await world.organizer.slash(world.channel, "show seats", show=show.id, seatmap="A:1x4:Standard")
    assert "already exists" in clash.response.content
    added = await world.organizer.slash(world.channel, "show seats", show=show.id, seatmap="B:1x4:Standard")
    assert (
        added.response.content.startswith("Added 4 seats")
        and "1 waitlisted fan(s) got them first" in added.response.content
    )
    await world.env.settle()
    tickets = [a for m in waiting.user.dm_channel.history() for a in m.attachments if a.filename.startswith("ticket-")]
    assert len(tickets) == 2  # the quantity asked for, no more
    avail = await seats.availability(world.store, show.id)
    assert (avail[0].sold, avail[0].available) == (3, 2)


async def _sold_out_to_fan_1(store, gateway, waiting: dict[int, int]):
    show = await on_sale_show(store, seatmap="A:1x2:Standard")
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=2)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    for fan, quantity in waiting.items():
        await waitlist.join_waitlist(store, show_id=show.id, fan_id=fan, quantity=quantity, gateway=gateway)
    return show, order


async def test_a_cancelled_seat_is_never_on_sale_before_the_waitlist_had_it(store, gateway, clock):
    import pytest

    from domain import errors

    show, order = await _sold_out_to_fan_1(store, gateway, {20: 1})
    seat = order.tickets[0].seat
    await cancellations.revoke_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=1)
    # Another shard's buyer strikes between the cancel and the promotion that follows it:
    with pytest.raises(errors.SoldOut):
        await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=1)
    with pytest.raises(errors.SeatUnavailable):
        await holds.hold_seats(store, show_id=show.id, fan_id=30, seat_ids=[seat.id])

    [promotion] = await waitlist_promotion.promote(store, gateway, show.id)

    assert promotion.fan_id == 20 and promotion.outcome == "promoted"
    [ticket] = await tickets.list_tickets(store, 20)
    assert ticket.seat.id == seat.id


async def test_a_returned_seat_no_waiting_fan_fits_goes_on_sale_after_the_promotion_pass(store, gateway, clock):
    show, order = await _sold_out_to_fan_1(store, gateway, {20: 2})  # wants two; one comes back
    await cancellations.revoke_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=1)
    assert await waitlist_promotion.promote(store, gateway, show.id) == []
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=1)
    assert hold.seats[0].id == order.tickets[0].seat.id


async def test_a_seat_kept_for_a_promotion_that_never_came_goes_on_sale_a_minute_later(store, gateway, clock):
    import pytest

    from domain import errors

    show, order = await _sold_out_to_fan_1(store, gateway, {20: 1})
    await cancellations.revoke_ticket(store, gateway, ticket_id=order.tickets[0].id, fan_id=1)  # then the process dies
    with pytest.raises(errors.SoldOut):
        await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=1)
    clock.advance(seats.WAITLIST_FIRST.total_seconds() + 1)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=1)
    assert hold.seats[0].id == order.tickets[0].seat.id

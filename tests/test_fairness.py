"""Fairness: while a show is on sale the queue is the only way in. The waitlist only ever gets seats
that came back (a cancel, a lapsed hold, added capacity), never seats the queue is selling; a
cancelled or started show lets nobody in and tells the fans in line, once. And storage that only
grew: the queue state of ended shows and old sent DMs are deleted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from domain import (
    cancellations,
    holds,
    orders,
    organizers,
    outbox,
    queue,
    queue_places,
    tickets,
    waitlist,
    waitlist_promotion,
)
from domain.models import OutboxMessage, QueuePlace, Show, WaitlistEntry
from tests.factories import on_sale_show
from tests.snapshot import table_counts
from tests.test_dm_delivery import buy


def texts(fan) -> list[str]:
    return [m.content or "" for m in fan.user.dm_channel.history()]


async def delivered(world) -> None:
    """Every DM queued so far reaches the fans."""
    await world.bot.services.sender.idle()
    await world.bot.services.sender.drain()
    await world.env.settle()


# --- the waitlist never takes seats the queue is selling ---------------------------------------------


async def test_joining_the_waitlist_during_an_open_on_sale_sends_the_fan_to_the_queue(world, gateway):
    show = await world.show(seatmap="A:1x10:Standard")
    await buy(world, world.fans[0], show)
    jumper = world.fans[1]
    before = await table_counts(world.store)
    res = await jumper.slash(world.channel, "waitlist join", show=show.id, quantity=4)
    assert res.ephemeral and "still has seats on sale: join the queue" in res.response.content
    assert await table_counts(world.store) == before  # nothing written
    await world.bot.jobs.recover()  # the recovery tick promotes waitlists
    await world.env.settle()
    assert jumper.user.dm_channel.history() == []  # no tickets ahead of the fans in the queue
    assert gateway.successful_charges == 1


async def test_a_sold_out_tier_has_a_waitlist_while_the_others_sell_through_the_queue(world, gateway):
    show = await world.show(seatmap="V:1x1:VIP, S:1x4:Standard", tiers={"VIP": 9000, "Standard": 4500})
    await buy(world, world.fans[0], show)  # best available: the VIP seat
    vip_fan, any_fan = world.fans[1], world.fans[2]
    ok = await vip_fan.slash(world.channel, "waitlist join", show=show.id, tier="VIP")
    assert "#1 on the waitlist" in ok.response.content
    refused = await any_fan.slash(world.channel, "waitlist join", show=show.id)
    assert "still has seats on sale: join the queue" in refused.response.content
    refused = await any_fan.slash(world.channel, "waitlist join", show=show.id, tier="Standard")
    assert refused.response.content.startswith("Tier Standard of “Night Shift” still has seats on sale")


async def test_a_seat_of_a_tier_nobody_waits_for_goes_straight_back_to_the_queue(store, gateway, clock):
    show = await on_sale_show(store, seatmap="V:1x1:VIP, S:1x4:Standard", tiers={"VIP": 9000, "Standard": 4500})
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1, tier="VIP")
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    await waitlist.join_waitlist(store, show_id=show.id, fan_id=20, quantity=1, tier="VIP")
    standard = await holds.hold_seats(store, show_id=show.id, fan_id=2, quantity=1, tier="Standard")
    await holds.release_hold(store, standard.id, 2)
    # The released Standard seat is the queue's to sell at once, not kept for a VIP waitlist:
    again = await holds.hold_seats(store, show_id=show.id, fan_id=3, seat_ids=[standard.seats[0].id])
    assert again.seats[0].id == standard.seats[0].id


async def test_promotion_takes_only_seats_that_came_back_never_seats_on_sale(store, gateway, clock):
    show = await on_sale_show(store, seatmap="A:1x3:Standard")
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=3)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    await waitlist.join_waitlist(store, show_id=show.id, fan_id=20, quantity=2)
    first, second = order.tickets[0], order.tickets[1]
    await cancellations.revoke_ticket(store, gateway, ticket_id=first.id, fan_id=1)
    assert await waitlist_promotion.promote(store, gateway, show.id) == []  # one seat for a fan wanting two: on sale
    await cancellations.revoke_ticket(store, gateway, ticket_id=second.id, fan_id=1)
    assert await waitlist_promotion.promote(store, gateway, show.id) == []  # the first seat is the queue's now
    assert await tickets.list_tickets(store, 20) == []
    taken = await holds.hold_seats(store, show_id=show.id, fan_id=30, quantity=2)
    assert {s.id for s in taken.seats} == {first.seat.id, second.seat.id}


async def test_the_waitlist_button_before_the_open_says_when_sales_open_and_writes_nothing(world, gateway, monkeypatch):
    from tests.simcord_ext import actor_locale

    show = await world.show(opens_in=timedelta(days=1))
    posted = await world.organizer.slash(world.channel, "show announce", show=show.id, channel=world.channel)
    assert "Announced" in posted.response.content
    announcement = world.channel.last_message
    fan = world.fans[0]
    before = await table_counts(world.store)
    clicked = await fan.click(announcement, label="Join waitlist")
    assert clicked.ephemeral and clicked.response.content.startswith("Sales for “Night Shift” open <t:")
    assert "/queue join" in clicked.response.content
    with actor_locale(monkeypatch, "ko"):
        korean = await world.fans[1].click(announcement, label="Join waitlist")
    assert "예매는 <t:" in korean.response.content and "오픈합니다" in korean.response.content
    assert await table_counts(world.store) == before
    await world.env.advance_time(86400 + 60)  # sales open; the recovery tick runs
    await world.bot.jobs.recover()
    await delivered(world)
    assert not any("could not be yours" in t for t in texts(fan))


# --- a cancelled or started show closes its line -------------------------------------------------------


async def test_cancelling_closes_the_line_and_tells_each_queued_fan_once(world, gateway):
    show = await world.show(seatmap="A:1x10:Standard", opens_in=timedelta(minutes=10), admission_per_minute=6)
    fans = world.fans[:4]
    for fan in fans:
        await fan.slash(world.channel, "queue join", show=show.id)
    await world.env.advance_time(10 * 60 + 11)
    await world.bot.jobs.admit_queues()  # one fan let in (a burst of one), three still in line
    await delivered(world)
    turns = {f.id for f in fans if any("It's your turn" in t for t in texts(f))}
    assert len(turns) == 1

    ask = await world.organizer.slash(world.channel, "show cancel", show=show.id)
    await world.organizer.click(ask.response, label="Yes, cancel the show")
    assert "fans notified" in ask.response.content
    for _ in range(3):  # admission ticks, on any process, after the cancel
        await world.env.advance_time(60)
        await world.bot.jobs.admit_queues()
        await world.bot.jobs.recover()
    await delivered(world)
    for fan in fans:
        told = [t for t in texts(fan) if "has been cancelled" in t]
        assert len(told) == 1, (fan.id, texts(fan))
        assert "queue is closed and nothing was charged" in told[0]
        assert sum("It's your turn" in t for t in texts(fan)) == (fan.id in turns)  # no turn after the cancel
    late = await fans[0].slash(world.channel, "queue join", show=show.id)
    assert "was cancelled" in late.response.content
    assert await queue.active_shows(world.bot.services.redis) == []


async def test_a_started_show_lets_nobody_in_and_tells_the_line(world, gateway):
    show = await world.show(
        seatmap="A:1x10:Standard", opens_in=timedelta(minutes=10), starts_in=timedelta(hours=1), admission_per_minute=6
    )
    fans = world.fans[:3]
    for fan in fans:
        await fan.slash(world.channel, "queue join", show=show.id)
    await world.env.advance_time(3600 + 60)  # the show starts with the whole line still waiting
    await world.bot.jobs.admit_queues()
    await world.bot.jobs.admit_queues()
    await delivered(world)
    for fan in fans:
        assert not any("It's your turn" in t for t in texts(fan))
        assert sum("has started, so its sales are closed" in t for t in texts(fan)) == 1


# --- offers lapse whether or not anyone waits --------------------------------------------------------


async def test_the_last_offer_lapses_and_its_seat_goes_back_with_nobody_waiting(world, gateway):
    from domain import shows as shows_domain

    org = await organizers.register_organizer(world.store, world.guild.id, world.organizer.id, "org")
    now = world.store.now()
    show = await shows_domain.create_show(
        world.store,
        organizer_id=org.id,
        venue_name="Hall",
        seatmap_spec="A:1x1:Standard",
        title="Offer Night",
        artists=["X"],
        genres=[],
        starts_at=now + timedelta(days=5),
        on_sale_at=now - timedelta(hours=1),
        tiers={"Standard": 3000},
        waitlist_mode="offer",
    )
    holder, slow, later = world.fans[0], world.fans[1], world.fans[2]
    await buy(world, holder, show)
    await slow.slash(world.channel, "waitlist join", show=show.id)
    ticket_id = int(holder.user.dm_channel.history()[0].embeds[0].fields[0].name.split("#")[1])
    await holder.slash(world.channel, "ticket cancel", ticket=ticket_id)
    await world.env.settle()
    assert "came back and you're next" in texts(slow)[-1]

    await world.env.advance_time(16 * 60)  # the offer runs out; nobody waits behind it
    await world.bot.jobs.recover()
    await delivered(world)
    assert "ran out before you accepted" in texts(slow)[-1]
    async with world.store.session() as s:
        assert (await s.execute(select(WaitlistEntry.status))).scalar_one() == "left"
    await buy(world, later, show)  # the seat is on sale again
    assert gateway.successful_charges == 2


# --- storage that only grew ---------------------------------------------------------------------------


class _Quiet:
    async def send_dm(self, recipient_id, message, *, nonce):
        return 1


async def _queue_keys(redis, show_id: int) -> list[str]:
    return [k async for k in redis.scan_iter(match=f"pq:{{{show_id}}}:*")]


async def _rows(store, model, *where) -> int:
    async with store.session() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_the_queue_state_of_ended_shows_and_old_sent_dms_are_deleted(store, redis, clock, gateway):
    from notifier.pacing import Pacer
    from notifier.scheduler import Jobs
    from notifier.sender import OutboxSender

    sender = OutboxSender(store, _Quiet(), pacer=Pacer(enabled=False), poll_interval=3600)
    jobs = Jobs(store, gateway, redis)
    over = await on_sale_show(store, starts_in=timedelta(days=1), admission_per_minute=6)
    called_off = await on_sale_show(store, starts_in=timedelta(days=30), admission_per_minute=6)
    for show in (over, called_off):
        for fan in range(1, 41):
            await queue.join(store, redis, show.id, fan)
    await queue.admit_all(store, redis)
    for show in (over, called_off):
        assert await _queue_keys(redis, show.id) and await _rows(store, QueuePlace, QueuePlace.show_id == show.id) == 40
    await cancellations.cancel_show(store, gateway, show_id=called_off.id, organizer_discord_id=1)
    await sender.drain()  # the turn and cancellation DMs go out
    sent = await _rows(store, OutboxMessage, OutboxMessage.status == "sent")
    assert sent >= 40

    await jobs.clean_up()  # the cancelled show has ended; the other has not started
    assert (
        await _queue_keys(redis, called_off.id) == []
        and await _rows(store, QueuePlace, QueuePlace.show_id == called_off.id) == 0
    )
    assert await _queue_keys(redis, over.id) and await _rows(store, QueuePlace, QueuePlace.show_id == over.id) == 40
    assert await _rows(store, OutboxMessage) == sent  # sent just now: kept

    clock.advance(seconds=(timedelta(days=1) + queue_places.ENDED_AFTER_START).total_seconds())  # the show is over
    await jobs.clean_up()
    await jobs.clean_up()  # again, as another process would: nothing left to do, nothing breaks
    assert await _queue_keys(redis, over.id) == [] and await _rows(store, QueuePlace) == 0
    assert await queue.active_shows(redis) == []
    async with store.session() as s:
        s.add(
            OutboxMessage(
                kind="queue_turn",
                recipient_discord_id=9,
                payload={"show_id": over.id},
                dedupe_key="pending-one",
                status="pending",
                attempts=0,
                next_attempt_at=store.now(),
                created_at=store.now(),
            )
        )
        await s.commit()
    clock.advance(seconds=(outbox.RETENTION + timedelta(minutes=1)).total_seconds())
    await jobs.clean_up()
    assert await _rows(store, OutboxMessage) == 1  # the sent ones are gone; the pending one stays
    await sender.stop()


async def test_an_alert_outlives_the_retention_while_its_show_is_upcoming(store, clock):
    from domain import alerts, follows, shows

    await follows.follow(store, 77, "artist", "The Nightjars")
    show = await on_sale_show(store, starts_in=timedelta(days=60))
    await shows.record_announcement(store, show.id, 1, 5, 1000)
    async with store.session() as s:
        await s.execute(OutboxMessage.__table__.update().values(status="sent", sent_at=store.now()))
        await s.commit()
    clock.advance(seconds=(outbox.RETENTION + timedelta(days=1)).total_seconds())
    assert await outbox.purge_sent(store) == 0

    async def announce_again(s):
        return await alerts.fan_out_announcement(store, s, await s.get(Show, show.id))

    again = await store.transaction(announce_again)
    assert again == 0  # announced again: nobody alerted twice
    clock.advance(days=60)
    assert await outbox.purge_sent(store) == 1


async def test_a_started_shows_waitlist_closes_and_its_fans_are_told_once(store, redis, clock, gateway):
    from notifier.pacing import Pacer
    from notifier.scheduler import Jobs
    from notifier.sender import OutboxSender

    show = await on_sale_show(store, seatmap="A:1x1:Standard", starts_in=timedelta(hours=2))
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=1)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    await waitlist.join_waitlist(store, show_id=show.id, fan_id=20, quantity=1)
    sender = OutboxSender(store, _Quiet(), pacer=Pacer(enabled=False), poll_interval=3600)
    jobs = Jobs(store, gateway, redis)
    await jobs.clean_up()
    assert await waitlist.waitlist_position(store, show_id=show.id, fan_id=20) is not None  # not started yet
    clock.advance(hours=2)
    await jobs.clean_up()
    await jobs.clean_up()
    assert await waitlist.waitlist_position(store, show_id=show.id, fan_id=20) is None
    assert await waitlist_promotion.shows_with_waiting(store) == []  # the promotion pass no longer visits it
    assert (
        await _rows(
            store, OutboxMessage, OutboxMessage.recipient_discord_id == 20, OutboxMessage.kind == "queue_closed"
        )
        == 1
    )
    await sender.idle()
    await sender.stop()

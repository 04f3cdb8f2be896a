"""Recovery: what a crash leaves half done is finished on the next start (or tick), and nothing
paid for is lost. Each test stops a flow where a killed process would have stopped it, then runs
``recovery.recover`` as a freshly started process would. (tests/test_fault_injection.py kills
real processes with SIGKILL; these pin down each in-between state.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import (
    cancellations,
    errors,
    holds,
    orders,
    outbox,
    queue,
    queue_keys,
    queue_places,
    recovery,
    waitlist,
    waitlist_promotion,
)
from domain.models import Hold, Order, OutboxMessage, QueuePlace, Ticket, WaitlistEntry
from domain.payments import SandboxGateway
from tests.factories import on_sale_show

LATER = recovery.IN_FLIGHT_GRACE + timedelta(seconds=1)


async def scalar(store, q):
    async with store.session() as s:
        return (await s.execute(q)).scalar_one()


async def test_a_charge_whose_answer_was_lost_becomes_tickets_and_their_dm(store, clock, tmp_path):
    ledger = tmp_path / "provider.sqlite3"
    gateway = SandboxGateway(ledger)
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=2)
    gateway.lost_answers_left = 1  # the provider charges; the process dies before hearing back
    with pytest.raises(errors.DomainError):
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)
    gateway.close()
    assert await scalar(store, select(func.count()).select_from(Ticket)) == 0

    restarted = SandboxGateway(ledger)  # the provider's records outlive the bot
    report = await recovery.recover(store, restarted, None)
    assert report.charges_settled == 0  # the charge may still be in flight in a live process: wait

    clock.advance(LATER.total_seconds())
    report = await recovery.recover(store, restarted, None)
    assert report.charges_settled == 1
    assert await scalar(store, select(Order.status)) == "paid"
    assert await scalar(store, select(func.count()).select_from(Ticket).where(Ticket.holder_discord_id == 5)) == 2
    assert await scalar(store, select(OutboxMessage.kind)) == "tickets_issued"
    assert restarted.successful_charges == 1  # looked up, never charged again
    assert (await recovery.recover(store, restarted, None)).charges_settled == 0  # once


async def test_a_charge_answered_after_the_seats_were_resold_is_refunded(store, clock, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=1)
    gateway.lost_answers_left = 1
    with pytest.raises(errors.DomainError):
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)
    clock.advance(minutes=10)  # past the hold and the grace...
    taken = await holds.hold_seats(store, show_id=show.id, fan_id=6, seat_ids=[hold.seats[0].id])  # ...and resold

    await recovery.recover(store, gateway, None)

    assert await scalar(store, select(Order.status).where(Order.fan_discord_id == 5)) == "failed"
    assert await scalar(store, select(func.count()).select_from(Ticket)) == 0
    assert sum(amt for res, _, amt in gateway.refunds.values() if res.ok) == 4500
    assert await scalar(store, select(Hold.status).where(Hold.id == hold.id)) == "expired"
    assert (
        await scalar(store, select(Hold.status).where(Hold.id == taken.id)) == "active"
    )  # the new buyer keeps the seat


async def test_a_charge_the_provider_never_saw_is_given_up_once_the_hold_is_gone(store, clock, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=1)
    gateway.timeouts_left = 1  # nothing reaches the provider
    with pytest.raises(errors.DomainError):
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)

    clock.advance(LATER.total_seconds())
    await recovery.recover(store, gateway, None)
    assert await scalar(store, select(Order.status)) == "pending"  # the fan may still press Pay

    from bot import metrics
    from domain import telemetry

    telemetry.install(metrics.SINK)  # as the bot does: what recovery did shows on the dashboard
    sample = metrics.REGISTRY.get_sample_value
    expired = sample("picket_holds_ended_total", {"reason": "expired"}) or 0
    abandoned = sample("picket_recovery_actions_total", {"action": "charge_abandoned"}) or 0
    clock.advance(minutes=5)
    report = await recovery.recover(store, gateway, None)
    assert report.charges_abandoned == 1 and report.holds_released == 1
    assert sample("picket_holds_ended_total", {"reason": "expired"}) - expired == 1
    assert sample("picket_recovery_actions_total", {"action": "charge_abandoned"}) - abandoned == 1
    assert await scalar(store, select(Order.status)) == "failed"
    assert gateway.successful_charges == 0
    with pytest.raises(errors.PaymentDeclined):  # a late press of Pay changes nothing
        await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)
    assert gateway.successful_charges == 0


async def _sold_out_with_waitlist(store, gateway, waiting_fans):
    show = await on_sale_show(store, seatmap="A:1x2:Standard")
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=1, quantity=2)
    order = await orders.purchase(store, gateway, hold_id=hold.id, fan_id=1)
    for fan in waiting_fans:
        await waitlist.join_waitlist(store, show_id=show.id, fan_id=fan, quantity=1, gateway=gateway)
    return show, order


async def test_a_promotion_interrupted_after_the_hold_is_finished(store, clock, gateway):
    show, order = await _sold_out_with_waitlist(store, gateway, [20, 21])
    # The seat comes back; the process claims fan 20 and holds the seat, then dies before charging.
    await _cancel_without_promoting(store, gateway, order.tickets[0].id)
    kind, entry_id, fan, hold_id = await store.transaction(lambda s: waitlist_promotion._claim_next(store, s, show.id))
    assert (kind, fan) == ("hold", 20)

    clock.advance(LATER.total_seconds())
    report = await recovery.recover(store, gateway, None)

    assert report.promotions_finished == 1
    assert await scalar(store, select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id)) == "promoted"
    assert (
        await scalar(
            store,
            select(func.count()).select_from(Ticket).where(Ticket.holder_discord_id == 20, Ticket.status == "valid"),
        )
        == 1
    )
    assert await scalar(store, select(WaitlistEntry.status).where(WaitlistEntry.fan_discord_id == 21)) == "waiting"
    kinds = await _outbox_kinds(store, 20)
    assert kinds == ["tickets_issued"]


async def test_a_promotion_whose_hold_ran_out_goes_back_to_its_place(store, clock, gateway):
    show, order = await _sold_out_with_waitlist(store, gateway, [20, 21])
    await _cancel_without_promoting(store, gateway, order.tickets[0].id)
    _, entry_id, _, _ = await store.transaction(lambda s: waitlist_promotion._claim_next(store, s, show.id))

    clock.advance(minutes=10)  # the crashed promotion's hold ran out long ago
    report = await recovery.recover(store, gateway, None)

    assert report.promotions_requeued == 1
    # Back in line at the front (places are by entry id), and promoted again by the same pass.
    assert await scalar(store, select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id)) == "promoted"
    assert await scalar(store, select(WaitlistEntry.status).where(WaitlistEntry.fan_discord_id == 21)) == "waiting"
    assert await scalar(store, select(func.count()).select_from(Ticket).where(Ticket.holder_discord_id == 20)) == 1


async def _cancel_without_promoting(store, gateway, ticket_id):
    """The fan's cancel commits (``revoke_ticket``, the first step of ``cancel_ticket``); the
    promotion that follows it never does: the process died in between."""
    await cancellations.revoke_ticket(store, gateway, ticket_id=ticket_id, fan_id=1)


async def _outbox_kinds(store, fan):
    async with store.session() as s:
        return list(
            (
                await s.execute(
                    select(OutboxMessage.kind)
                    .where(OutboxMessage.recipient_discord_id == fan)
                    .order_by(OutboxMessage.id)
                )
            ).scalars()
        )


async def test_dms_claimed_by_this_instance_before_it_died_are_resent_at_once(store, clock, gateway):
    show = await on_sale_show(store)
    hold = await holds.hold_seats(store, show_id=show.id, fan_id=5, quantity=1)
    await orders.purchase(store, gateway, hold_id=hold.id, fan_id=5)
    claimed = await outbox.claim_due(store, "shard-0", limit=10, lease=timedelta(minutes=2))
    assert len(claimed) == 1
    assert await outbox.claim_due(store, "shard-0", limit=10, lease=timedelta(minutes=2)) == []  # leased

    report = await recovery.recover(store, gateway, None, worker_id="shard-0")  # shard-0 restarts

    assert report.dms_released == 1
    again = await outbox.claim_due(store, "shard-0", limit=10, lease=timedelta(minutes=2))
    assert [m.id for m in again] == [claimed[0].id]  # same row, so the same nonce


async def test_a_lost_redis_gets_its_lines_back_in_the_old_order(store, redis, clock):
    show = await on_sale_show(store, opens_in=timedelta(minutes=10), admission_per_minute=2)
    for fan in range(1, 41):
        await queue.join(store, redis, show.id, fan)  # random places, drawn before the open
    clock.advance(minutes=11)
    q = await queue.show_queue(store, show.id)
    admitted = await queue.admit(store, redis, q)
    line_before = [int(f) for f in await redis.zrange(queue_keys.show_keys(show.id)["line"], 0, -1)]
    assert len(line_before) == 40 - len(admitted) and admitted

    await redis.flushdb()  # Redis restarts with nothing
    assert await queue.join(store, redis, show.id, 99) is not None  # the first join puts the lines back first

    line_after = [int(f) for f in await redis.zrange(queue_keys.show_keys(show.id)["line"], 0, -1)]
    # The newcomer is last. (The lost admission clock lets the head in at once: a burst of at most
    # 10 seconds' worth, then the organizer's rate again.)
    assert line_after[-1] == 99
    assert line_after[:-1] == line_before[len(line_before) - len(line_after) + 1 :]  # the same order
    for fan in admitted:  # their turn goes on
        assert (await queue.status(store, redis, show.id, fan)).state == "admitted"
    assert (await queue.status(store, redis, show.id, line_after[0])).position == 1  # old place, not a new one
    assert await scalar(store, select(func.count()).select_from(QueuePlace)) == 41


async def test_restoring_twice_or_from_two_processes_restores_once(store, redis, clock):
    import asyncio

    show = await on_sale_show(store, opens_in=timedelta(minutes=-1), admission_per_minute=1)
    for fan in range(1, 21):
        await queue.join(store, redis, show.id, fan)
    before = [int(f) for f in await redis.zrange(queue_keys.show_keys(show.id)["line"], 0, -1)]
    await redis.flushdb()
    counts = await asyncio.gather(queue_places.restore_lines(store, redis), queue_places.restore_lines(store, redis))
    assert sorted(counts) == [0, 20]  # one of them rebuilt the line, the other found it claimed
    assert [int(f) for f in await redis.zrange(queue_keys.show_keys(show.id)["line"], 0, -1)] == before
    assert await queue_places.restore_lines(store, redis) == 0


async def test_admission_goes_on_after_redis_is_lost_without_anyone_joining(store, redis, clock):
    show = await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=60)
    for fan in range(1, 31):
        await queue.join(store, redis, show.id, fan)
    await redis.flushdb()  # lost before the open
    clock.advance(minutes=1, seconds=5)
    assert await queue.admit_all(store, redis) > 0  # the admission tick rebuilt the line first
    assert await queue.line_length(redis, show.id) + len(await queue.admission_order(redis, show.id)) == 30

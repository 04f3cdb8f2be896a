"""Finishing what a crash left half done.

Every step of a booking commits before the next begins, so a process killed at any point leaves the
store in one of a few known in-between states. :func:`recover` moves each of them on; it runs when a
bot process starts and then on the scheduler's tick (another process may have died), and it is safe
with many processes running it at once: each step claims its rows with conditional UPDATEs or goes
through functions that are idempotent by key.

| left behind by a crash                          | what recovery does                                  |
|-------------------------------------------------|-----------------------------------------------------|
| DMs claimed by this instance's previous run     | released at once and resent with the same nonce     |
| a charge sent, the answer never recorded        | looked up at the provider by its idempotency key;   |
|                                                 | charged -> tickets + DM (or a refund if too late);  |
|                                                 | never charged and the hold gone -> order failed     |
| a waitlist promotion between hold and payment   | finished (charge the saved authorization), or the   |
|                                                 | fan goes back to their place when the hold is gone  |
| holds past their expiry                         | released; the seats go to the waitlist first        |
| refunds owed but not sent                       | sent, by idempotency key                            |
| Redis lost the on-sale lines                    | rebuilt from ``queue_places`` in the old order      |

Unsent DMs need no step of their own: they are rows in the outbox, sent by whichever process
drains next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import holds, orders, queue_places, telemetry, waitlist_promotion
from domain.models import (
    Hold,
    HoldStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    WaitlistEntry,
)
from domain.payments import PaymentGateway, PaymentTimeout
from domain.store import Store, rowcount

# A charge younger than this may still be waiting for its answer in a live process: leave it.
# It must exceed the payment client's own timeout.
IN_FLIGHT_GRACE = timedelta(minutes=2)


@dataclass
class RecoveryReport:
    dms_released: int = 0
    charges_settled: int = 0
    charges_abandoned: int = 0
    promotions_finished: int = 0
    promotions_requeued: int = 0
    holds_released: int = 0
    refunds_sent: int = 0
    queue_places_restored: int = 0

    @property
    def anything(self) -> bool:
        return any(vars(self).values())


async def release_own_claims(store: Store, worker_id: str) -> int:
    """DMs this instance claimed before it died are sent again now rather than after the claim
    lapses. Discord folds the resend into the first message by its nonce (the outbox id)."""

    async def work(s: AsyncSession) -> int:
        result = await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.claimed_by == worker_id, OutboxMessage.status == OutboxStatus.PENDING.value)
            .values(claimed_by=None, claimed_until=None)
        )
        return rowcount(result)

    return await store.transaction(work)


async def reconcile_charges(
    store: Store, gateway: PaymentGateway, *, grace: timedelta = IN_FLIGHT_GRACE
) -> tuple[int, int]:
    """Charges recorded as sent whose answer was never recorded: ask the provider by key.
    Returns (settled from the provider's answer, given up because the provider never saw them)."""
    now = store.now()
    async with store.session() as s:
        pending = (
            await s.execute(
                select(Payment.order_id, Payment.idempotency_key, Hold.status, Hold.expires_at)
                .join(Order, Order.id == Payment.order_id)
                .join(Hold, Hold.id == Order.hold_id)
                .where(
                    Payment.kind == PaymentKind.CHARGE.value,
                    Payment.status == PaymentStatus.PENDING.value,
                    Payment.created_at <= now - grace,
                    Order.status == OrderStatus.PENDING.value,
                )
                .order_by(Payment.id)
            )
        ).all()
    settled = abandoned = 0
    for order_id, key, hold_status, expires_at in pending:
        try:
            result = await gateway.lookup(idempotency_key=key)
        except PaymentTimeout:
            continue  # the provider is not answering; the next tick asks again
        if result is not None:
            await orders.settle_charge(store, gateway, order_id, result)
            settled += 1
            telemetry.count("recovery", action="charge_settled")
        elif hold_status != HoldStatus.ACTIVE.value or expires_at <= now:
            # Never charged, and the seats are gone: the fan cannot finish this order any more.
            if await store.transaction(partial(_abandon_order, order_id=order_id)):
                abandoned += 1
                telemetry.count("recovery", action="charge_abandoned")
        # else: never charged and the hold still runs; the fan may still press Pay (same key).
    return settled, abandoned


async def _abandon_order(s: AsyncSession, order_id: int) -> bool:
    done = await s.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == OrderStatus.PENDING.value)
        .values(
            status=OrderStatus.FAILED.value, failure_reason="payment.never_completed"
        )  # a code, rendered when shown
    )
    if rowcount(done) != 1:
        return False
    await s.execute(
        update(Payment)
        .where(Payment.idempotency_key == f"order:{order_id}:charge", Payment.status == PaymentStatus.PENDING.value)
        .values(status=PaymentStatus.DECLINED.value, detail="never reached the provider")
    )
    return True


async def finish_promotions(
    store: Store, gateway: PaymentGateway, *, grace: timedelta = IN_FLIGHT_GRACE
) -> tuple[int, int]:
    """Waitlist entries a crash left 'promoting' (seats held for the fan, charge not finished).
    Returns (finished, put back in line)."""
    now = store.now()
    async with store.session() as s:
        stuck = (
            await s.execute(
                select(WaitlistEntry, Hold)
                .join(Hold, Hold.id == WaitlistEntry.hold_id)
                .where(WaitlistEntry.status == waitlist_promotion.PROMOTING, Hold.created_at <= now - grace)
                .order_by(WaitlistEntry.id)
            )
        ).all()
    finished = requeued = 0
    for entry, hold in stuck:
        order = await _order_of_hold(store, hold.id)
        if order is not None and order.status == OrderStatus.PENDING.value:
            continue  # its charge is reconciled first (reconcile_charges); the next pass sees the outcome
        if (
            order is not None
            and order.status == OrderStatus.PAID.value
            or hold.status == HoldStatus.ACTIVE.value
            and hold.expires_at > now
        ):
            done = await waitlist_promotion.complete_promotion(
                store, gateway, entry.id, entry.fan_discord_id, hold.id, entry.show_id
            )
            finished += done.outcome == "promoted"
            telemetry.count("recovery", action="promotion_finished")
        elif await store.transaction(partial(waitlist_promotion.requeue, entry_id=entry.id)):
            requeued += 1
            telemetry.count("recovery", action="promotion_requeued")
    return finished, requeued


async def _order_of_hold(store: Store, hold_id: int) -> Order | None:
    async with store.session() as s:
        return (await s.execute(select(Order).where(Order.hold_id == hold_id))).scalar_one_or_none()


async def recover(
    store: Store,
    gateway: PaymentGateway,
    redis: Redis | None,
    *,
    worker_id: str | None = None,
    grace: timedelta = IN_FLIGHT_GRACE,
) -> RecoveryReport:
    """Run every recovery step once (see the module's table). Safe to call at any time."""
    report = RecoveryReport()
    if worker_id is not None:
        report.dms_released = await release_own_claims(store, worker_id)
        telemetry.count("recovery", report.dms_released, action="dm_resent")
    report.charges_settled, report.charges_abandoned = await reconcile_charges(store, gateway, grace=grace)
    report.promotions_finished, report.promotions_requeued = await finish_promotions(store, gateway, grace=grace)
    report.holds_released = await holds.release_expired_holds(store)
    for show_id in await waitlist_promotion.shows_with_waiting(store):
        await waitlist_promotion.promote(store, gateway, show_id)
    report.refunds_sent = await orders.settle_refunds(store, gateway)
    if redis is not None:
        report.queue_places_restored = await queue_places.restore_lines(store, redis)
    return report

"""Cancellations: a fan gives a ticket back, an organizer calls a whole show off.

A ticket given back is refunded as the show's cancellation policy says (domain/refunds.py) and its
seat goes to the waitlist first: :func:`cancel_ticket` is the whole use case, promotion included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, waitlist_promotion
from domain.holds import end_hold, release_quota
from domain.models import (
    Hold,
    HoldStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    QueuePlace,
    SeatStatus,
    Show,
    ShowSeat,
    ShowStatus,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from domain.notices import plan_show_notices
from domain.orders import queue_refund, settle_refunds
from domain.organizers import check_organizer
from domain.outbox import enqueue, enqueue_many
from domain.payments import PaymentGateway
from domain.refunds import RefundPolicy, RefundQuote
from domain.seats import kept_for_waitlist, return_seats
from domain.store import Store
from domain.tickets import TicketView, ticket_views


async def cancel_ticket(store: Store, gateway: PaymentGateway, *, ticket_id: int, fan_id: int) -> TicketView:
    """``/ticket cancel``: the holder gives a ticket back (:func:`revoke_ticket`: refunded as the
    show's policy says), then the seat goes to the show's waitlist first. Returns the cancelled
    ticket with its refund."""
    cancelled = await revoke_ticket(store, gateway, ticket_id=ticket_id, fan_id=fan_id)
    await waitlist_promotion.promote(store, gateway, cancelled.show_id)
    return cancelled


async def revoke_ticket(store: Store, gateway: PaymentGateway, *, ticket_id: int, fan_id: int) -> TicketView:
    """The first step of :func:`cancel_ticket`. The holder gives a ticket back before the show's
    cancellation deadline: the price minus the show's cancellation fee at this moment is refunded
    (domain/refunds.py), the seat comes back, kept for the waitlist when fans wait for it (their
    promotion is the next step; a crash before it only keeps the seat until ``WAITLIST_FIRST`` runs
    out). After the deadline: CancellationClosed, and nothing changes."""

    async def work(s: AsyncSession) -> RefundQuote:
        now = store.now()
        ticket = (await s.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update())).scalar_one_or_none()
        if ticket is None or ticket.holder_discord_id != fan_id:
            # Same answer for "no such ticket" and "not yours": ticket ids are not to be probed.
            raise errors.TicketNotFound(ticket_id)
        if ticket.status == TicketStatus.REVOKED.value:
            raise errors.AlreadyDone("ticket.already_cancelled", ticket_id=ticket.id)
        if ticket.status == TicketStatus.CHECKED_IN.value:
            raise errors.NotPermitted("ticket.used_no_refund", ticket_id=ticket.id)
        show = await s.get_one(Show, ticket.show_id)
        if now >= show.starts_at:
            raise errors.NotPermitted("ticket.cancel_too_late", title=show.title)
        policy = RefundPolicy.from_row(show.cancel_deadline_hours, show.refund_fees)
        quote = policy.quote(ticket.price_cents, show.starts_at, now)
        if quote is None:
            raise errors.CancellationClosed(show.title, policy.deadline(show.starts_at))
        ticket.status = TicketStatus.REVOKED.value
        ticket.active_seat_key = None
        ticket.revoked_reason = "cancelled"
        await return_seats(
            store, s, ticket.show_id, and_(ShowSeat.id == ticket.show_seat_id, ShowSeat.status == SeatStatus.SOLD.value)
        )
        await release_quota(s, ticket.show_id, ticket.holder_discord_id, 1)
        live = (
            await s.execute(
                select(func.count()).where(
                    Ticket.order_id == ticket.order_id,
                    Ticket.status != TicketStatus.REVOKED.value,
                    Ticket.id != ticket.id,
                )
            )
        ).scalar_one()
        order = await s.get_one(Order, ticket.order_id)
        if live == 0:
            order.status = OrderStatus.REFUNDED.value
        await queue_refund(store, s, order_id=order.id, key=f"ticket:{ticket.id}:refund", amount=quote.refund)
        await enqueue(
            store,
            s,
            kind="ticket_cancelled",
            recipient_discord_id=ticket.holder_discord_id,
            payload={
                "ticket_id": ticket.id,
                "show_id": ticket.show_id,
                "refund_cents": quote.refund,
                "fee_cents": quote.fee,
            },
            dedupe_key=f"ticket:{ticket.id}:cancelled",
        )
        await s.flush()
        return quote

    quote = await store.transaction(work)
    key = f"ticket:{ticket_id}:refund"
    await settle_refunds(store, gateway, [key])
    async with store.session() as s:
        view = (await ticket_views(s, Ticket.id == ticket_id))[0]
        refund = (await s.execute(select(Payment.status).where(Payment.idempotency_key == key))).scalar_one_or_none()
    # The ticket is cancelled either way; a refund the provider did not answer is retried by recovery.
    return replace(
        view, refund_pending=refund == PaymentStatus.PENDING.value, refund_cents=quote.refund, fee_cents=quote.fee
    )


@dataclass(frozen=True)
class ShowCancellation:
    show_id: int
    tickets_revoked: int
    orders_refunded: int
    fans_notified: int


async def cancel_show(
    store: Store, gateway: PaymentGateway, *, show_id: int, organizer_discord_id: int
) -> ShowCancellation:
    """The organizer calls the show off: every order refunded, every ticket revoked, every active hold
    released, every ticket holder and waitlisted fan told by DM. One transaction records all of it
    (refunds as pending payments, DMs in the outbox); the refunds are then sent to the provider."""

    async def work(s: AsyncSession) -> tuple[ShowCancellation, list[str]]:
        show = (await s.execute(select(Show).where(Show.id == show_id).with_for_update())).scalar_one_or_none()
        if show is None:
            raise errors.ShowNotFound(show_id)
        await check_organizer(s, show, organizer_discord_id, "cancel")
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.AlreadyDone("show.already_cancelled", title=show.title)
        show.status = ShowStatus.CANCELLED.value
        await plan_show_notices(store, s, show)  # drops its pending reminders
        for hold in (
            (await s.execute(select(Hold).where(Hold.show_id == show.id, Hold.status == HoldStatus.ACTIVE.value)))
            .scalars()
            .all()
        ):
            await end_hold(store, s, hold, HoldStatus.RELEASED)
        tickets = (
            (
                await s.execute(
                    select(Ticket)
                    .where(Ticket.show_id == show.id, Ticket.status != TicketStatus.REVOKED.value)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        per_order: dict[int, int] = {}
        per_fan: dict[int, int] = {}
        for t in tickets:
            t.status = TicketStatus.REVOKED.value
            t.active_seat_key = None
            t.revoked_reason = "show_cancelled"
            per_order[t.order_id] = per_order.get(t.order_id, 0) + t.price_cents
            per_fan[t.holder_discord_id] = per_fan.get(t.holder_discord_id, 0) + t.price_cents
        await s.execute(
            update(ShowSeat)
            .where(ShowSeat.show_id == show.id, or_(ShowSeat.status == SeatStatus.SOLD.value, kept_for_waitlist()))
            .values(status=SeatStatus.AVAILABLE.value, held_until=None)
        )
        keys = []
        for order_id, amount in per_order.items():
            key = f"order:{order_id}:show-cancelled"
            await queue_refund(store, s, order_id=order_id, key=key, amount=amount)
            keys.append(key)
            await s.execute(update(Order).where(Order.id == order_id).values(status=OrderStatus.REFUNDED.value))
        waiting = (
            (
                await s.execute(
                    select(WaitlistEntry).where(
                        WaitlistEntry.show_id == show.id,
                        WaitlistEntry.status.in_((WaitlistStatus.WAITING.value, "offered")),
                    )
                )
            )
            .scalars()
            .all()
        )
        for entry in waiting:
            entry.status = WaitlistStatus.LEFT.value
            entry.active_key = None
        notify = {fan: (refund, "tickets") for fan, refund in per_fan.items()}
        for entry in waiting:
            notify.setdefault(entry.fan_discord_id, (0, "waitlist"))
        # Fans in the on-sale queue (their places are written through): the line is closed too.
        # The admission tick closes the Redis line and tells anyone it still finds, under the same
        # dedupe key, so each fan hears of the cancellation once.
        for fan in (await s.execute(select(QueuePlace.fan_discord_id).where(QueuePlace.show_id == show.id))).scalars():
            notify.setdefault(fan, (0, "queue"))
        for fan, (refund, was) in notify.items():
            await tell_show_cancelled(store, s, show.id, fan, refund_cents=refund, was=was)
        return ShowCancellation(show.id, len(tickets), len(per_order), len(notify)), keys

    summary, keys = await store.transaction(work)
    await settle_refunds(store, gateway, keys)
    return summary


async def tell_show_cancelled(
    store: Store, s: AsyncSession, show_id: int, fan_id: int, *, refund_cents: int = 0, was: str = "queue"
) -> None:
    """Queue the one "show cancelled" DM a fan gets (as a ticket holder, a waitlisted or a queued
    fan): keyed by show and fan, so telling them again, from any process, folds into it."""
    await enqueue(
        store,
        s,
        kind="show_cancelled",
        recipient_discord_id=fan_id,
        payload={"show_id": show_id, "refund_cents": refund_cents, "was": was},
        dedupe_key=f"show:{show_id}:cancelled:{fan_id}",
    )


async def tell_many_show_cancelled(
    store: Store, s: AsyncSession, show_id: int, fans: Sequence[int], *, refund_cents: int = 0, was: str = "queue"
) -> None:
    """:func:`tell_show_cancelled` for many fans told alike (same payload, same dedupe keys), in one
    statement."""
    await enqueue_many(
        store,
        s,
        kind="show_cancelled",
        messages=[
            (fan, {"show_id": show_id, "refund_cents": refund_cents, "was": was}, f"show:{show_id}:cancelled:{fan}")
            for fan in fans
        ],
    )

"""Changes reach ticket holders: when an organizer moves a show (a new start, a new venue) or changes
its seat map, every holder and every waitlisted fan gets one DM saying what changed, old and new.
A material change (a new date or a new venue) lets a holder refund their tickets in full with one
click, whatever the show's cancellation policy, until the show starts.

The change is a ``ShowChange`` row and its DMs are outbox rows, written in the transaction that makes
the change (``shows.update_show`` and ``capacity.add_sections`` call :func:`tell`), so an edit that
commits has told everyone and one that rolls back has told no one. Each DM's dedupe key is
(change, fan): one DM per fan per change, however many tickets they hold or lists they are on.

:func:`edit_show` and :func:`add_seats` are the organizer's calls: the same as ``shows.update_show``
and ``capacity.add_seats``, and they also return what was told (for the organizer's reply).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import (
    FanShowQuota,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    SeatStatus,
    Show,
    ShowChange,
    ShowSeat,
    ShowStatus,
    Ticket,
    TicketStatus,
    Venue,
    VenueSection,
    WaitlistEntry,
    WaitlistStatus,
)
from domain.outbox import enqueue
from domain.payments import PaymentGateway
from domain.specs import clean_name
from domain.store import Store

if TYPE_CHECKING:
    from domain.shows import ShowView

DM = "show_changed"

# The notices the running edit's transaction wrote (its last attempt's): how edit_show learns
# what update_show told, without changing what update_show returns.
_told: ContextVar[list[ChangeNotice] | None] = ContextVar("picket_show_change", default=None)


@dataclass(frozen=True)
class Before:
    """What holders bought, as it was before the edit."""

    starts_at: datetime
    timezone: str
    venue_id: int
    venue_name: str


@dataclass(frozen=True)
class ChangeNotice:
    id: int
    show_id: int
    what: dict[str, Any]
    material: bool
    told: int  # holders and waitlisted fans DMed


async def snapshot(s: AsyncSession, show: Show) -> Before:
    venue = await s.get(Venue, show.venue_id)
    box = _told.get()
    if box is not None:
        box.clear()  # a retried transaction starts again
    return Before(show.starts_at, show.timezone or "UTC", show.venue_id, venue.name if venue else "")


async def move_venue(store: Store, s: AsyncSession, show: Show, name: str) -> None:
    """The show moves to a venue of another name with the same seat map (its seats stay as sold)."""
    name = clean_name(name, field="Venue", most=200)
    venue = await s.get(Venue, show.venue_id)
    assert venue is not None  # a show's venue is never deleted
    if venue.name == name:
        return
    moved = Venue(organizer_id=venue.organizer_id, name=name, seatmap_spec=venue.seatmap_spec, created_at=store.now())
    s.add(moved)
    await s.flush()
    for sec in (
        (await s.execute(select(VenueSection).where(VenueSection.venue_id == venue.id).order_by(VenueSection.position)))
        .scalars()
        .all()
    ):
        s.add(
            VenueSection(
                venue_id=moved.id,
                name=sec.name,
                rows=sec.rows,
                seats_per_row=sec.seats_per_row,
                default_tier=sec.default_tier,
                position=sec.position,
            )
        )
    show.venue_id = moved.id
    await s.flush()


def _local_date(when: datetime, zone: str) -> date:
    return when.astimezone(ZoneInfo(zone or "UTC")).date()


async def tell(
    store: Store, s: AsyncSession, show: Show, before: Before | None, *, sections: list[tuple[str, int]] | None = None
) -> ChangeNotice | None:
    """Record what changed for the show's holders and DM each of them and each waitlisted fan once.
    Nothing a holder bought changed (a new title, a new on-sale time): nothing is written."""
    what: dict[str, Any] = {}
    material = False
    if before is not None and show.starts_at != before.starts_at:
        what["start"] = [int(before.starts_at.timestamp()), int(show.starts_at.timestamp())]
        material |= _local_date(before.starts_at, before.timezone) != _local_date(show.starts_at, show.timezone)
    if before is not None and show.venue_id != before.venue_id:
        venue = await s.get(Venue, show.venue_id)
        what["venue"] = [before.venue_name, venue.name if venue else ""]
        material = True
    if sections:
        what["sections"] = [[name, seats] for name, seats in sections]
    if not what or show.status == ShowStatus.CANCELLED.value:
        return None
    now = store.now()
    change = ShowChange(show_id=show.id, what=what, material=material, told=0, created_at=now)
    s.add(change)
    await s.flush()
    holders: dict[int, int] = {}
    for fan, price in (
        await s.execute(
            select(Ticket.holder_discord_id, Ticket.price_cents).where(
                Ticket.show_id == show.id, Ticket.status == TicketStatus.VALID.value
            )
        )
    ).all():
        holders[fan] = holders.get(fan, 0) + price
    waiting = set(
        (
            await s.execute(
                select(WaitlistEntry.fan_discord_id).where(
                    WaitlistEntry.show_id == show.id,
                    WaitlistEntry.status.in_((WaitlistStatus.WAITING.value, "offered")),
                )
            )
        ).scalars()
    )
    for fan in sorted(set(holders) | waiting):
        payload: dict[str, Any] = {"show_id": show.id, "change_id": change.id, "holder": fan in holders}
        if material and fan in holders:
            payload["refund_cents"] = holders[fan]
        await enqueue(
            store, s, kind=DM, recipient_discord_id=fan, payload=payload, dedupe_key=f"change:{change.id}:{fan}"
        )
    change.told = len(set(holders) | waiting)
    notice = ChangeNotice(change.id, show.id, what, material, change.told)
    box = _told.get()
    if box is not None:
        box.append(notice)
    return notice


@contextlib.contextmanager
def _collecting() -> Iterator[list[ChangeNotice]]:
    box: list[ChangeNotice] = []
    token = _told.set(box)
    try:
        yield box
    finally:
        _told.reset(token)


@dataclass(frozen=True)
class Edited:
    show: ShowView
    change: ChangeNotice | None


async def edit_show(store: Store, show_id: int, organizer_discord_id: int, **fields: Any) -> Edited:
    """``/show edit``: ``shows.update_show`` (``venue=`` moves the show to a venue of that name), and
    what its holders and waitlisted fans were told."""
    from domain import shows

    with _collecting() as box:
        show = await shows.update_show(store, show_id, organizer_discord_id, **fields)
    return Edited(show, box[-1] if box else None)


@dataclass(frozen=True)
class SeatsAdded:
    added: int  # seats the new sections hold
    given: int  # waitlisted fans who got them first
    change: ChangeNotice | None


async def add_seats(
    store: Store, gateway: PaymentGateway, show_id: int, organizer_discord_id: int, seatmap_spec: str
) -> SeatsAdded:
    """``/show seats``: ``capacity.add_seats`` (the new seats to waiting fans first, the rest on
    sale), and what its holders and waitlisted fans were told."""
    from domain import capacity  # (capacity builds on this module)

    with _collecting() as box:
        done = await capacity.add_seats(store, gateway, show_id, organizer_discord_id, seatmap_spec)
    return SeatsAdded(done.added, done.given, box[-1] if box else None)


# --- the one-click refund of a material change ----------------------------------------------------


@dataclass(frozen=True)
class ChangeRefund:
    show_id: int
    title: str
    currency: str
    tickets: int
    amount_cents: int
    pending: bool = False  # the provider has not confirmed it yet (retried automatically)


async def refund(store: Store, gateway: PaymentGateway, *, change_id: int, fan_id: int) -> ChangeRefund:
    """The holder's "refund my tickets" after a material change: every ticket of theirs for the show
    bought before the change is voided and refunded in full (no cancellation fee, whatever the
    deadline), until the show starts. Seats go back (to the waitlist first)."""
    from domain import waitlist_promotion
    from domain.orders import queue_refund, settle_refunds
    from domain.seats import return_seats

    async def work(s: AsyncSession) -> tuple[ChangeRefund, list[str]]:
        now = store.now()
        change = await s.get(ShowChange, change_id) if isinstance(change_id, int) and 0 < change_id < 2**63 else None
        if change is None:
            raise errors.NotFound("change.not_found")
        show = (await s.execute(select(Show).where(Show.id == change.show_id).with_for_update())).scalar_one()
        if show.status == ShowStatus.CANCELLED.value:
            raise errors.AlreadyDone("change.show_cancelled", title=show.title)
        if not change.material:
            raise errors.NotPermitted("change.not_material", title=show.title)
        if now >= show.starts_at:
            raise errors.NotPermitted("ticket.cancel_too_late", title=show.title)
        tickets = (
            (
                await s.execute(
                    select(Ticket)
                    .where(
                        Ticket.show_id == show.id,
                        Ticket.holder_discord_id == fan_id,
                        Ticket.status == TicketStatus.VALID.value,
                        Ticket.issued_at <= change.created_at,
                    )
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        if not tickets:
            raise errors.AlreadyDone("change.nothing_to_refund", title=show.title)
        per_order: dict[int, int] = {}
        for ticket in tickets:
            ticket.status, ticket.active_seat_key, ticket.revoked_reason = (
                TicketStatus.REVOKED.value,
                None,
                "show_changed",
            )
            per_order[ticket.order_id] = per_order.get(ticket.order_id, 0) + ticket.price_cents
        await s.flush()
        seat_ids = [t.show_seat_id for t in tickets]
        await return_seats(store, s, show.id, (ShowSeat.id.in_(seat_ids)) & (ShowSeat.status == SeatStatus.SOLD.value))
        await s.execute(
            update(FanShowQuota)
            .where(FanShowQuota.show_id == show.id, FanShowQuota.fan_discord_id == fan_id)
            .values(seats=FanShowQuota.seats - len(tickets))
        )
        keys: list[str] = []
        for order_id, amount in per_order.items():
            key = f"change:{change.id}:order:{order_id}"
            await queue_refund(store, s, order_id=order_id, key=key, amount=amount)
            keys.append(key)
            live = (
                await s.execute(
                    select(Ticket.id)
                    .where(Ticket.order_id == order_id, Ticket.status != TicketStatus.REVOKED.value)
                    .limit(1)
                )
            ).first()
            if live is None:
                await s.execute(update(Order).where(Order.id == order_id).values(status=OrderStatus.REFUNDED.value))
        return ChangeRefund(show.id, show.title, show.currency, len(tickets), sum(per_order.values())), keys

    done, keys = await store.transaction(work)
    await settle_refunds(store, gateway, keys)
    async with store.session() as s:
        statuses = (await s.execute(select(Payment.status).where(Payment.idempotency_key.in_(keys)))).scalars().all()
    await waitlist_promotion.promote(store, gateway, done.show_id)  # the seats that came back: the waitlist first
    return ChangeRefund(**{**done.__dict__, "pending": any(st == PaymentStatus.PENDING.value for st in statuses)})


async def get_change(store: Store, change_id: int) -> ChangeNotice | None:
    async with store.session() as s:
        row = await s.get(ShowChange, change_id)
    return None if row is None else ChangeNotice(row.id, row.show_id, row.what, row.material, row.told)

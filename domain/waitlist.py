"""The cancellation waitlist: fans joining it (once it opens), their place, leaving it, and the
lists of shows that started being closed. What the list then does with seats that come back (the
promotion, offers) is domain/waitlist_promotion.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors
from domain.models import PriceTier, Show, ShowStatus, WaitlistEntry, WaitlistStatus
from domain.outbox import enqueue
from domain.payments import PaymentGateway
from domain.seats import seats_still_selling
from domain.shows import load_show
from domain.specs import excerpt
from domain.store import Store, rowcount


@dataclass(frozen=True)
class WaitlistView:
    entry_id: int
    show_id: int
    fan_id: int
    tier: str | None
    quantity: int
    position: int


def _active_key(show_id: int, fan_id: int) -> str:
    return f"{show_id}:{fan_id}"


async def _position(s: AsyncSession, entry: WaitlistEntry) -> int:
    ahead = (
        await s.execute(
            select(func.count()).where(
                WaitlistEntry.show_id == entry.show_id,
                WaitlistEntry.status == WaitlistStatus.WAITING.value,
                WaitlistEntry.id < entry.id,
            )
        )
    ).scalar_one()
    return ahead + 1


async def join_waitlist(
    store: Store,
    *,
    show_id: int,
    fan_id: int,
    quantity: int,
    tier: str | None = None,
    gateway: PaymentGateway | None = None,
) -> WaitlistView:
    """Join a show's waitlist (once per fan; joining again returns the current place). With a
    gateway, the fan's card is authorized now and that authorization is charged on promotion."""
    authorization = None
    if gateway is not None:
        existing = await waitlist_position(store, show_id=show_id, fan_id=fan_id)
        if existing is not None:
            return existing
        await _validate_join(store, show_id, quantity, tier)
        auth = await gateway.authorize(customer=fan_id)
        if not auth.ok:
            if auth.reason:
                raise errors.PaymentDeclined(
                    "waitlist.card_declined_because", provider_reason=excerpt(auth.reason).rstrip(".")
                )
            raise errors.PaymentDeclined("waitlist.card_declined")
        authorization = auth.reference

    async def work(s: AsyncSession) -> WaitlistView:
        show = await load_show(s, show_id)
        tier_id = await _check_join(store, s, show, quantity, tier)
        await s.execute(
            store.insert_ignore(
                WaitlistEntry.__table__,
                active_key=_active_key(show.id, fan_id),
                show_id=show.id,
                tier_id=tier_id,
                fan_discord_id=fan_id,
                quantity=quantity,
                status=WaitlistStatus.WAITING.value,
                payment_authorization=authorization,
                created_at=store.now(),
            )
        )
        entry = (
            await s.execute(select(WaitlistEntry).where(WaitlistEntry.active_key == _active_key(show.id, fan_id)))
        ).scalar_one()
        return WaitlistView(
            entry.id, show.id, fan_id, tier if entry.tier_id else None, entry.quantity, await _position(s, entry)
        )

    return await store.transaction(work)


async def leave_waitlist(store: Store, *, show_id: int, fan_id: int) -> bool:
    async def work(s: AsyncSession) -> bool:
        res = await s.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.active_key == _active_key(show_id, fan_id))
            .values(status=WaitlistStatus.LEFT.value, active_key=None)
        )
        return rowcount(res) > 0

    return await store.transaction(work)


async def waitlist_position(store: Store, *, show_id: int, fan_id: int) -> WaitlistView | None:
    async with store.session() as s:
        entry = (
            await s.execute(select(WaitlistEntry).where(WaitlistEntry.active_key == _active_key(show_id, fan_id)))
        ).scalar_one_or_none()
        if entry is None:
            return None
        tier = (await s.get_one(PriceTier, entry.tier_id)).name if entry.tier_id else None
        return WaitlistView(entry.id, entry.show_id, fan_id, tier, entry.quantity, await _position(s, entry))


async def _check_join(store: Store, s: AsyncSession, show: Show, quantity: int, tier: str | None) -> int | None:
    """Refuse a join the waitlist cannot serve; returns the tier's id (None: any tier). The waitlist
    gets only seats that come back, so it opens once the queue has nothing left to sell: before the
    open, and while seats of the show (or of the tier asked for) are on sale or held by buyers, the
    answer is the queue. Writes nothing."""
    if show.status == ShowStatus.CANCELLED.value:
        raise errors.ShowCancelled("show.cancelled", title=show.title)
    if not isinstance(quantity, int) or quantity <= 0:
        raise errors.InvalidInput("quantity.not_positive", value=quantity)
    if quantity > show.per_fan_limit:
        raise errors.FanLimitExceeded("fan.limit_per_show", title=show.title, limit=show.per_fan_limit)
    tier_id = None
    if tier is not None:
        tier_id = (
            await s.execute(select(PriceTier.id).where(PriceTier.show_id == show.id, PriceTier.name == tier))
        ).scalar_one_or_none()
        if tier_id is None:
            raise errors.InvalidInput("tier.unknown", title=show.title, tier=excerpt(tier))
    now = store.now()
    if now < show.on_sale_at:
        raise errors.SaleNotOpen("waitlist.sale_not_open", title=show.title, opens_at=show.on_sale_at)
    if now >= show.starts_at:
        raise errors.SaleNotOpen("sale.closed", title=show.title)
    if await seats_still_selling(s, show.id, tier_id):
        if tier is not None:
            raise errors.QueueFirst("waitlist.queue_first_tier", title=show.title, tier=tier)
        raise errors.QueueFirst("waitlist.queue_first", title=show.title)
    return tier_id


async def _validate_join(store: Store, show_id: int, quantity: int, tier: str | None) -> None:
    """The checks join_waitlist makes, run before asking the gateway for an authorization."""
    async with store.session() as s:
        await _check_join(store, s, await load_show(s, show_id), quantity, tier)


async def close_started(store: Store) -> int:
    """Waitlists of shows that have started are closed: nothing can come back any more. Each fan
    still waiting is told once (by dedupe key) and leaves the list, so the promotion pass stops
    visiting the show. Safe in many processes. Returns the fans told."""

    async def work(s: AsyncSession) -> int:
        entries = (
            (
                await s.execute(
                    select(WaitlistEntry)
                    .where(
                        WaitlistEntry.status == WaitlistStatus.WAITING.value,
                        WaitlistEntry.show_id.in_(select(Show.id).where(Show.starts_at <= store.now())),
                    )
                    .limit(500)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for entry in entries:
            entry.status, entry.active_key = WaitlistStatus.LEFT.value, None
            await enqueue(
                store,
                s,
                kind="queue_closed",
                recipient_discord_id=entry.fan_discord_id,
                payload={"show_id": entry.show_id, "line": "waitlist"},
                dedupe_key=f"waitlist:{entry.id}:closed",
            )
        return len(entries)

    total = 0
    while n := await store.transaction(work):
        total += n
    return total

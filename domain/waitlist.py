"""The cancellation waitlist: fans waiting, in order, for seats that come back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, reports, telemetry
from domain.holds import DEFAULT_HOLD_TTL, end_hold, hold_seats_in
from domain.models import Hold, HoldStatus, PriceTier, Show, ShowStatus, WaitlistEntry, WaitlistStatus
from domain.orders import OrderSummary, purchase
from domain.outbox import enqueue
from domain.payments import PaymentGateway
from domain.seats import has_kept_seats, release_kept_seats, seats_still_selling
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


# --- promotion ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    entry_id: int
    fan_id: int
    order_id: int | None
    outcome: str  # "promoted" | "declined" | "offered"
    reason: str | None = None


async def _claim_next(store: Store, s: AsyncSession, show_id: int) -> tuple[str, int, int, Any] | None:
    """Claim the first waiting fan whose request fits the seats now free, and hold those seats for
    them, in one transaction: the entry moves waiting -> promoting by a conditional UPDATE and the
    seats by the hold rules (domain/holds.py), so two processes promoting at once never pick the same fan or seat.
    Returns (what happened, entry id, fan, the hold's id or, when refused, the refusal's payload)."""
    show = await s.get_one(Show, show_id)
    ttl = timedelta(minutes=show.offer_minutes) if show.waitlist_mode == "offer" else DEFAULT_HOLD_TTL
    entries = (
        (
            await s.execute(
                select(WaitlistEntry)
                .where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
                .order_by(WaitlistEntry.id)
                .limit(50)
                .with_for_update(skip_locked=True)
            )
        )
        .scalars()
        .all()
    )
    for entry in entries:
        tier = (await s.get_one(PriceTier, entry.tier_id)).name if entry.tier_id else None
        try:
            async with s.begin_nested():
                hold = await hold_seats_in(
                    store,
                    s,
                    show_id,
                    entry.fan_discord_id,
                    None,
                    entry.quantity,
                    tier,
                    ttl,
                    final=True,
                    for_waitlist=True,
                )
        except (errors.SoldOut, errors.SeatUnavailable):
            continue  # not enough seats for this request yet; a smaller one further down may fit
        except errors.DomainError as refused:  # over the per-fan limit, show off sale...
            entry.status, entry.active_key = WaitlistStatus.LEFT.value, None
            await reports.note(s, show_id, reports.WL_DECLINED, entry.fan_discord_id, store.now(), refused.code)
            return ("refused", entry.id, entry.fan_discord_id, refused.to_payload())
        offering = show.waitlist_mode == "offer"
        claimed = await s.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING.value)
            .values(status=OFFERED if offering else PROMOTING, hold_id=hold.id)
        )
        if rowcount(claimed) == 1:
            if offering:
                await enqueue(
                    store,
                    s,
                    kind="waitlist_offer",
                    recipient_discord_id=entry.fan_discord_id,
                    payload={"show_id": show_id, "entry_id": entry.id, "expires": int(hold.expires_at.timestamp())},
                    dedupe_key=f"waitlist:{entry.id}:offer",
                )
                return ("offered", entry.id, entry.fan_discord_id, hold.id)
            return ("hold", entry.id, entry.fan_discord_id, hold.id)
    return None


async def promote(store: Store, gateway: PaymentGateway, show_id: int, *, limit: int = 100) -> list[Promotion]:
    """Give seats that came back to the waitlist, first come first served: charge the fan's saved
    authorization, issue and DM the tickets (the purchase's own outbox message), and take them off
    the list. A declined charge passes the seats to the next fan and tells the declined one why."""
    done: list[Promotion] = []
    await store.transaction(lambda s: _lapse_offers(store, s, show_id))
    if not await has_kept_seats(store, show_id):
        return done  # promotion only ever takes seats kept for the waitlist: nothing to give
    async with store.session() as s:
        show = await load_show(s, show_id)
    if show.status == ShowStatus.CANCELLED.value or store.now() >= show.starts_at:
        return done  # sales are closed: nobody is promoted (or told a seat "could not be theirs")
    for _ in range(limit):
        claim = await store.transaction(lambda s: _claim_next(store, s, show_id))
        if claim is None:
            break
        kind, entry_id, fan, detail = claim
        if kind in ("hold", "offered"):
            telemetry.count("hold_created")
        if kind == "offered":
            telemetry.count("waitlist", outcome="offered")
            done.append(Promotion(entry_id, fan, None, "offered"))
            continue
        if kind == "refused":
            await store.transaction(
                partial(
                    enqueue,
                    store,
                    kind="waitlist_declined",
                    recipient_discord_id=fan,
                    payload={"show_id": show_id, "refusal": detail},
                    dedupe_key=f"waitlist:{entry_id}:refused",
                )
            )
            done.append(Promotion(entry_id, fan, None, "declined", detail["code"]))
            continue
        done.append(await complete_promotion(store, gateway, entry_id, fan, detail, show_id))
    await release_kept_seats(store, show_id)  # what no waiting fan could take goes on sale
    return done


async def complete_promotion(
    store: Store, gateway: PaymentGateway, entry_id: int, fan_id: int, hold_id: int, show_id: int
) -> Promotion:
    """Second half of a promotion, once the seats are held for the fan: charge their saved
    authorization (the purchase writes the tickets and their DM), then take them off the list; or,
    when the charge is refused, tell them why and let the seats go to the next fan. Idempotent
    (the purchase is, by hold), so recovery can finish a promotion a crash interrupted.
    """
    try:
        authorization = await store.transaction(lambda s: _authorization(s, entry_id))
        order = await purchase(store, gateway, hold_id=hold_id, fan_id=fan_id, authorization=authorization)
    except errors.DomainError as failed:
        refusal = failed.to_payload()

        async def decline(s: AsyncSession) -> None:
            await s.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id)
                .values(status=WaitlistStatus.LEFT.value, active_key=None)
            )
            await enqueue(
                store,
                s,
                kind="waitlist_declined",
                recipient_discord_id=fan_id,
                payload={"show_id": show_id, "refusal": refusal},
                dedupe_key=f"waitlist:{entry_id}:declined",
            )
            await reports.note(s, show_id, reports.WL_DECLINED, fan_id, store.now(), refusal["code"])

        await store.transaction(decline)
        telemetry.count("waitlist", outcome="declined")
        return Promotion(entry_id, fan_id, None, "declined", failed.code)
    moved = await store.transaction(
        lambda s: s.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id, WaitlistEntry.status != WaitlistStatus.PROMOTED.value)
            .values(status=WaitlistStatus.PROMOTED.value, active_key=None)
        )
    )
    if rowcount(moved):
        telemetry.count("waitlist", outcome="promoted")
    return Promotion(entry_id, fan_id, order.id, "promoted")


async def requeue(s: AsyncSession, entry_id: int) -> bool:
    """A promotion that cannot finish (its hold ran out while no process was charging it): the fan
    goes back to their old place (places are by entry id)."""
    done = await s.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == PROMOTING)
        .values(status=WaitlistStatus.WAITING.value, hold_id=None)
    )
    return rowcount(done) == 1


async def shows_with_waiting(store: Store) -> list[int]:
    """Shows the promotion pass must visit: a fan waits, or an offer is open (it may have lapsed,
    whether or not anyone waits behind it)."""
    async with store.session() as s:
        return list(
            (
                await s.execute(
                    select(WaitlistEntry.show_id)
                    .where(WaitlistEntry.status.in_((WaitlistStatus.WAITING.value, OFFERED)))
                    .distinct()
                )
            ).scalars()
        )


async def _authorization(s: AsyncSession, entry_id: int) -> str | None:
    return (
        await s.execute(select(WaitlistEntry.payment_authorization).where(WaitlistEntry.id == entry_id))
    ).scalar_one()


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


OFFERED = "offered"
PROMOTING = "promoting"  # seats held for the fan, their charge under way


async def _lapse_offers(store: Store, s: AsyncSession, show_id: int) -> None:
    """Offers whose time ran out pass on: the fan leaves the list (told by DM) and the seats return."""
    now = store.now()
    open_offers = (
        (
            await s.execute(
                select(WaitlistEntry)
                .where(WaitlistEntry.show_id == show_id, WaitlistEntry.status == OFFERED)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    for entry in open_offers:
        hold = await s.get(Hold, entry.hold_id) if entry.hold_id else None
        if hold is not None and hold.status == HoldStatus.ACTIVE.value and hold.expires_at > now:
            continue
        if hold is not None and hold.status == HoldStatus.CONVERTED.value:
            continue
        if hold is not None:
            await end_hold(store, s, hold, HoldStatus.EXPIRED)
        entry.status, entry.active_key = WaitlistStatus.LEFT.value, None
        await reports.note(s, show_id, reports.WL_LAPSED, entry.fan_discord_id, now)
        await enqueue(
            store,
            s,
            kind="waitlist_declined",
            recipient_discord_id=entry.fan_discord_id,
            payload={"show_id": show_id, "refusal": {"code": "waitlist.offer_lapsed", "params": {}}},
            dedupe_key=f"waitlist:{entry.id}:lapsed",
        )


async def accept_offer(store: Store, gateway: PaymentGateway, *, entry_id: int, fan_id: int) -> OrderSummary:
    """The fan accepts a waitlist offer: their saved authorization is charged for the held seats."""
    async with store.session() as s:
        entry = await s.get(WaitlistEntry, entry_id)
    if entry is None or entry.fan_discord_id != fan_id:
        raise errors.NotFound("offer.not_found")
    if entry.status == WaitlistStatus.PROMOTED.value:
        raise errors.AlreadyDone("offer.already_accepted")
    if entry.status != OFFERED or entry.hold_id is None:  # an offer always holds its seats
        raise errors.HoldExpired("offer.closed")
    order = await purchase(
        store, gateway, hold_id=entry.hold_id, fan_id=fan_id, authorization=entry.payment_authorization
    )
    await store.transaction(
        lambda s: s.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id)
            .values(status=WaitlistStatus.PROMOTED.value, active_key=None)
        )
    )
    return order


async def decline_offer(store: Store, gateway: PaymentGateway, *, entry_id: int, fan_id: int) -> None:
    """The fan passes: the seats go to the next fan at once."""

    async def work(s: AsyncSession) -> int:
        entry = (
            await s.execute(select(WaitlistEntry).where(WaitlistEntry.id == entry_id).with_for_update())
        ).scalar_one_or_none()
        if entry is None or entry.fan_discord_id != fan_id or entry.status != OFFERED:
            raise errors.NotFound("offer.not_found")
        hold = await s.get(Hold, entry.hold_id)
        if hold is not None:
            await end_hold(store, s, hold, HoldStatus.RELEASED)
        entry.status, entry.active_key = WaitlistStatus.LEFT.value, None
        await reports.note(s, entry.show_id, reports.WL_PASSED, fan_id, store.now())
        return entry.show_id

    show_id = await store.transaction(work)
    await promote(store, gateway, show_id)


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

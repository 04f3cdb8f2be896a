"""The waitlist's promotion: seats that came back (kept for the waitlist by domain/seats.py) go to
the fans waiting for them, first come first served: held and charged to the card they saved when
joining (domain/waitlist.py), or offered for minutes when the show's mode is ``offer``, which the
fan accepts or passes on. A promotion a crash interrupted is finished by domain/recovery.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import errors, reports, telemetry
from domain.holds import DEFAULT_HOLD_TTL, end_hold, hold_seats_in
from domain.models import Hold, HoldStatus, PriceTier, Show, ShowStatus, WaitlistEntry, WaitlistStatus
from domain.orders import OrderSummary, purchase
from domain.outbox import enqueue
from domain.payments import PaymentGateway
from domain.seats import has_kept_seats, release_kept_seats
from domain.shows import load_show
from domain.store import Store, rowcount

OFFERED = "offered"
PROMOTING = "promoting"  # seats held for the fan, their charge under way


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

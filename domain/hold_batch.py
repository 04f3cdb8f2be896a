"""Best-available holds of one show, taken together (group commit, domain/batching.py).

The fans asking for the best N seats of a show while the previous batch commits are served by one
transaction: one look at the show, one quota row each (locked, checked in Python), one pick of the
best free seats for all of them (``FOR UPDATE SKIP LOCKED``), dealt out in arrival order, one insert
of their holds and one UPDATE of the seats. Each fan still gets exactly their own seats, or their
own refusal: the per-fan limit is checked per fan. A fan the picked seats cannot serve in full asks
again in a later batch while other buyers' open transactions have enough seats locked that may come
back; is told "sold out" when no seat is left at all; and is otherwise served alone afterwards by the
one-fan path (domain/holds.py), which tells how many seats are left. So the batch never answers
"sold out" while seats may come back.
The rules that keep a seat from being sold twice (holds.py's docstring) are the same: the seats'
UPDATE is conditional and must touch every seat picked, or the whole batch is served fan by fan.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Integer, Update, bindparam, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain import errors
from domain.batching import ALONE, Batcher, BatchInterrupted, batcher_for, numbered
from domain.holds import (
    HoldSummary,
    SaleFacts,
    check_on_sale,
    hold_seats_alone,
    limit_refusal,
    pick_best,
)
from domain.models import FanShowQuota, Hold, HoldStatus, PriceTier, SeatStatus, Show, ShowSeat
from domain.seats import SeatView, sellable
from domain.store import Store, rowcount


@dataclass(frozen=True)
class _Ask:
    show_id: int
    fan_id: int
    quantity: int
    ttl: timedelta


# A fan whose batch found too few seats only because other buyers' open transactions have the rest
# locked asks again in a later batch, after a pause, this many times before the one-fan path (which
# waits for those seats itself, one transaction per look): at the end of a hot sale, when every
# process's last batch meets the others' locks, one batch looks again for all of them instead of a
# transaction each, several times over.
BATCH_TRIES = 4


class _SeatsLocked(Exception):
    """The outcome of a fan the batch's seats could not serve while seats may still come free."""


async def hold_best(store: Store, show_id: int, fan_id: int, quantity: int, ttl: timedelta) -> HoldSummary:
    """The best ``quantity`` seats of the show for the fan, in the current batch of the show."""
    batcher = batcher_for(store, "holds", lambda: _make(store))
    ask = _Ask(show_id, fan_id, quantity, ttl)
    for attempt in range(BATCH_TRIES):
        try:
            return await batcher.submit((show_id, ttl), ask)
        except _SeatsLocked:
            await asyncio.sleep(0.02 * (attempt + 1))  # those buyers commit (the seats are gone) or roll back
    return await hold_seats_alone(store, show_id, fan_id, None, quantity, None, ttl)


def _make(store: Store) -> Batcher[_Ask, HoldSummary]:
    async def run_batch(key: Hashable, asks: list[_Ask]) -> list[object]:
        show_id, ttl = cast(tuple[int, timedelta], key)  # the key hold_best gives
        return await store.transaction(lambda s: _hold_many(store, s, show_id, ttl, asks))

    async def run_one(ask: _Ask) -> HoldSummary:
        return await hold_seats_alone(store, ask.show_id, ask.fan_id, None, ask.quantity, None, ask.ttl)

    return Batcher(run_batch, run_one, distinct=lambda ask: ask.fan_id)


# The batch's reads, built once: a hot sale runs a batch for every few dozen fans, and building a
# statement costs this box as much CPU as running it (bench/purchase_steps.py).
_SHOW = select(Show.title, Show.status, Show.on_sale_at, Show.starts_at, Show.per_fan_limit).where(
    Show.id == bindparam("show_id")
)
_LAPSED = select(Hold.fan_discord_id).where(
    Hold.show_id == bindparam("show_id"),
    Hold.fan_discord_id.in_(bindparam("fans", expanding=True)),
    Hold.status == HoldStatus.ACTIVE.value,
    Hold.expires_at <= bindparam("now", type_=Hold.expires_at.type),
)
_QUOTAS = (
    select(FanShowQuota.fan_discord_id, FanShowQuota.seats)
    .where(
        FanShowQuota.show_id == bindparam("show_id"),
        FanShowQuota.fan_discord_id.in_(bindparam("fans", expanding=True)),
    )
    .with_for_update()
)
_NEW_HOLDS = insert(Hold).returning(Hold.id, Hold.fan_discord_id)
_ADD_TO_QUOTAS = (
    update(FanShowQuota)
    .where(
        FanShowQuota.show_id == bindparam("show"), FanShowQuota.fan_discord_id.in_(bindparam("fans", expanding=True))
    )
    .values(seats=FanShowQuota.seats + bindparam("add", type_=Integer))
)
_SEAT_VIEWS = (
    select(
        ShowSeat.hold_id,
        ShowSeat.id,
        ShowSeat.section,
        ShowSeat.row_label,
        ShowSeat.seat_number,
        PriceTier.name,
        PriceTier.price_cents,
    )
    .join(PriceTier, PriceTier.id == ShowSeat.tier_id)
    .where(ShowSeat.hold_id.in_(bindparam("holds", expanding=True)))
    .order_by(ShowSeat.position)
)


@functools.cache
def _take_seats(n: int) -> Update:
    """The UPDATE giving ``n`` picked seats to their holds (parameters seat0..., hold0..., now,
    until), built once for each batch size. (An UPDATE's parameters may not bear a column's name.)"""
    now = bindparam("now", type_=ShowSeat.held_until.type)
    return (
        update(ShowSeat)
        .where(ShowSeat.id.in_([bindparam(f"seat{i}") for i in range(n)]), sellable(now))
        .values(
            status=SeatStatus.HELD.value,
            hold_id=case({bindparam(f"seat{i}"): bindparam(f"hold{i}") for i in range(n)}, value=ShowSeat.id),
            held_until=bindparam("until", type_=ShowSeat.held_until.type),
        )
    )


async def _hold_many(store: Store, s: AsyncSession, show_id: int, ttl: timedelta, asks: list[_Ask]) -> list[object]:
    now = store.now()
    conn = await s.connection()
    show = cast(SaleFacts | None, (await conn.execute(_SHOW, {"show_id": show_id})).one_or_none())
    try:
        if show is None:
            raise errors.ShowNotFound(show_id)
        check_on_sale(show, now)
    except errors.DomainError:  # no such show, not on sale: each fan hears it from the one-fan path
        return [ALONE] * len(asks)
    fans = [a.fan_id for a in asks]

    # Each fan's count of seats for the show, locked until the commit, then checked here. Every fan
    # gets a row first (INSERT that skips the rows there, in one lock order for all; a row another
    # buyer just made is waited for), then all are read: two statements, whoever is new. A row this
    # batch made and does not use is taken away again below: a refusal writes nothing.
    await conn.execute(
        store.insert_ignore_many(FanShowQuota.__table__),
        [{"show_id": show_id, "fan_discord_id": f, "seats": 0} for f in sorted(set(fans))],
    )
    have = dict((await conn.execute(_QUOTAS, {"show_id": show_id, "fans": fans})).tuples().all())
    # A fan's own lapsed hold no longer counts against their limit, and only a fan already holding
    # seats can have one (none, in an on-sale's rush of first buyers: no read at all). Those few are
    # served by the one-fan path after this batch, which ends the lapsed hold first.
    holding = [f for f, n in have.items() if n > 0]
    lapsed = (
        set((await conn.execute(_LAPSED, {"show_id": show_id, "fans": holding, "now": now})).scalars())
        if holding
        else set()
    )
    outcomes: list[object] = [ALONE] * len(asks)
    within: list[int] = []
    for i, ask in enumerate(asks):
        held = have.get(ask.fan_id, 0)
        if ask.fan_id in lapsed:
            continue  # ALONE
        if held + ask.quantity > show.per_fan_limit:
            outcomes[i] = limit_refusal(show, held)
        else:
            within.append(i)

    # The best seats for all of them at once, dealt out in arrival order.
    wanted = sum(asks[i].quantity for i in within)
    picked = await pick_best(s, show_id, now, wanted) if wanted else []
    served: list[tuple[int, list[int]]] = []
    at = 0
    for i in within:
        n = asks[i].quantity
        if at + n <= len(picked):
            served.append((i, picked[at : at + n]))
            at += n
    got_seats = {i for i, _ in served}
    short = [i for i in within if i not in got_seats]
    if short:
        # Seats a buyer could take that this batch did not pick are locked by other buyers' open
        # transactions: the fans short of seats ask again in a later batch (hold_best). With none,
        # and every seat picked dealt out, the show is sold out once this batch commits, as the
        # one-fan path would answer; otherwise that path tells each fan how many are left.
        most = max(asks[i].quantity for i in short)
        locked = await _count_sellable(s, show_id, now, most=len(picked) + most) - len(picked)
        for i in short:
            if locked + len(picked) - at >= asks[i].quantity:  # enough if those buyers let go
                outcomes[i] = _SeatsLocked()
            elif locked == 0 and at == len(picked):
                outcomes[i] = errors.SoldOut("sold_out.show", title=show.title)
    # Fans the picked seats could not serve in full are served alone, after this batch.
    # (A row with no seats is as good as none: one this batch found, not made, may go too.)
    unserved = set(fans) - {asks[i].fan_id for i, _ in served}
    if unserved:
        await conn.execute(
            delete(FanShowQuota).where(
                FanShowQuota.show_id == show_id,
                FanShowQuota.fan_discord_id.in_(sorted(unserved)),
                FanShowQuota.seats == 0,
            )
        )
    if not served:
        return outcomes

    expires = now + ttl
    rows = [
        {
            "show_id": show_id,
            "fan_discord_id": asks[i].fan_id,
            "quantity": asks[i].quantity,
            "status": HoldStatus.ACTIVE.value,
            "expires_at": expires,
            "created_at": now,
        }
        for i, _ in served
    ]
    hold_of = {fan: hid for hid, fan in (await conn.execute(_NEW_HOLDS, rows))}
    seat_hold = {seat: hold_of[asks[i].fan_id] for i, seats in served for seat in seats}
    size, assign = numbered(list(seat_hold.items()), ("seat", "hold"), (-1, None))  # no seat -1
    taken = await conn.execute(_take_seats(size), {**assign, "now": now, "until": expires})
    if rowcount(taken) != len(seat_hold):
        raise BatchInterrupted("a picked seat was not there to take")
    by_quantity: dict[int, list[int]] = defaultdict(list)
    for i, _ in served:
        by_quantity[asks[i].quantity].append(asks[i].fan_id)
    for n, group in by_quantity.items():
        await conn.execute(_ADD_TO_QUOTAS, {"show": show_id, "fans": group, "add": n})

    views = await _seat_views_by_hold(conn, list(hold_of.values()))
    for i, _ in served:
        hid = hold_of[asks[i].fan_id]
        outcomes[i] = HoldSummary(hid, show_id, asks[i].fan_id, HoldStatus.ACTIVE.value, expires, views[hid])
    return outcomes


async def _count_sellable(s: AsyncSession, show_id: int, now: datetime, *, most: int) -> int:
    """Seats a buyer could take now (free, or held by a hold that ran out), locked or not; counted up
    to ``most`` (the end of a big sale has thousands of held seats to step over)."""
    found = select(ShowSeat.id).where(ShowSeat.show_id == show_id, sellable(now)).limit(most).subquery()
    return int((await s.execute(select(func.count()).select_from(found))).scalar_one())


async def _seat_views_by_hold(conn: AsyncConnection, hold_ids: list[int]) -> dict[int, tuple[SeatView, ...]]:
    rows = await conn.execute(_SEAT_VIEWS, {"holds": hold_ids})
    out: dict[int, list[SeatView]] = defaultdict(list)
    for hid, sid, section, row_label, number, tier, price in rows.tuples():
        if hid is not None:
            out[hid].append(SeatView(sid, section, row_label, number, tier, price))
    return {hid: tuple(out[hid]) for hid in hold_ids}

"""The waiting queue's rules, on the configured Redis (fakeredis or a real server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import errors, queue
from tests.factories import on_sale_show


async def test_before_the_open_places_are_random_after_it_first_come_first_served(store, redis, clock):
    show = await on_sale_show(store, opens_in=timedelta(minutes=10), admission_per_minute=60)
    early = list(range(1, 201))
    for fan in early:
        assert (await queue.join(store, redis, show.id, fan)).state == "lobby"
    clock.advance(minutes=10)
    late = [1001, 1002, 1003]
    for fan in late:
        st = await queue.join(store, redis, show.id, fan)
        assert st.state == "queued"
    assert (await queue.status(store, redis, show.id, 1003)).position == 203  # behind everyone who came before
    clock.advance(seconds=1000)  # enough for everyone at 60/min, in bursts of 10
    let_in = []
    for _ in range(40):
        let_in += await queue.admit(store, redis, await queue.show_queue(store, show.id))
        clock.advance(seconds=10)
    assert sorted(let_in) == sorted(early + late)
    assert let_in[-3:] == late  # the late ones, in their order, after every early fan
    assert let_in[:200] != early  # the early ones not in join order


async def test_one_place_per_fan_and_rejoining_goes_to_the_back(store, redis, clock):
    show = await on_sale_show(store, admission_per_minute=1)
    for fan in (1, 2, 3):
        await queue.join(store, redis, show.id, fan)
    # the burst lets the first one in; 2 and 3 wait
    assert (await queue.status(store, redis, show.id, 1)).state == "admitted"
    again = await queue.join(store, redis, show.id, 2)
    assert again.position == 1  # joining twice keeps the place
    assert await queue.leave(store, redis, show.id, 2)
    back = await queue.join(store, redis, show.id, 2)
    assert back.position == 2  # behind 3 now


async def test_only_admitted_fans_can_hold(store, redis, clock):
    show = await on_sale_show(store, opens_in=timedelta(minutes=5))
    await queue.join(store, redis, show.id, 7)
    with pytest.raises(errors.SaleNotOpen):
        await queue.reserve(store, redis, show_id=show.id, fan_id=7, quantity=1)
    clock.advance(minutes=5)
    with pytest.raises(errors.NotAdmitted, match="not your turn"):
        await queue.reserve(store, redis, show_id=show.id, fan_id=7, quantity=1)
    clock.advance(seconds=30)
    assert await queue.admit(store, redis, await queue.show_queue(store, show.id)) == [7]
    hold = await queue.reserve(store, redis, show_id=show.id, fan_id=7, quantity=2)
    assert len(hold.seats) == 2


async def test_fans_let_in_by_someone_elses_join_are_told_by_dm(store, redis, clock):
    from sqlalchemy import select

    from domain.models import OutboxMessage, QueuePlace

    show = await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=6)  # a burst of 1
    for fan in (1, 2):
        await queue.join(store, redis, show.id, fan)
    clock.advance(minutes=2)
    assert (await queue.join(store, redis, show.id, 3)).state == "queued"  # its join lets the head in
    async with store.session() as s:
        told = (await s.execute(select(OutboxMessage.recipient_discord_id, OutboxMessage.kind))).all()
        turns = dict((await s.execute(select(QueuePlace.fan_discord_id, QueuePlace.admitted_until))).all())
    let_in = [f for f in (1, 2) if (await queue.status(store, redis, show.id, f)).state == "admitted"]
    assert len(let_in) == 1
    assert told == [(let_in[0], queue.ADMISSION_DM)]  # the fan let in hears it; the joiner read the reply
    assert turns[let_in[0]] is not None and turns[3] is None  # the turn is written through with the DM

"""The waiting queue's rules, on the configured Redis (fakeredis or a real server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import errors, queue
from tests.factories import on_sale_show


async def test_before_the_open_places_are_random_after_it_first_come_first_served(store, redis, clock):
    # a house for everyone: the live-turns cap holds nobody back
    show = await on_sale_show(
        store, seatmap="A:10x25:Standard", opens_in=timedelta(minutes=10), admission_per_minute=60
    )
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


# --- what the queue reads about a show, cached in the process -------------------------------------------


async def test_an_organizers_edit_is_seen_by_the_very_next_join(store, redis, clock, gateway):
    from domain import cancellations, shows

    show = await on_sale_show(store, opens_in=timedelta(minutes=10), admission_per_minute=60)
    assert (await queue.join(store, redis, show.id, 1)).state == "lobby"  # the show's facts are read now
    await shows.update_show(store, show.id, 1, on_sale_at=clock.now())  # sales open now, not in 10 minutes
    opened = await queue.join(store, redis, show.id, 2)
    assert opened.state in ("queued", "admitted")  # no longer the lobby
    assert (await queue.status(store, redis, show.id, 1)).state != "lobby"
    await cancellations.cancel_show(store, gateway, show_id=show.id, organizer_discord_id=1)
    with pytest.raises(errors.ShowCancelled):
        await queue.join(store, redis, show.id, 3)


async def test_a_shows_row_updated_by_statement_is_seen_by_the_next_join(store, redis, clock):
    from sqlalchemy import update

    from domain.models import Show

    show = await on_sale_show(store, opens_in=timedelta(minutes=-1), admission_per_minute=1)
    other = await on_sale_show(store, opens_in=timedelta(minutes=-1), admission_per_minute=1)
    for fan in (1, 2, 3):
        await queue.join(store, redis, show.id, fan)
        await queue.join(store, redis, other.id, fan)
    assert (await queue.status(store, redis, show.id, 3)).eta_seconds == 2 * 60  # two ahead, one a minute
    async with store.session() as s:  # by id
        await s.execute(update(Show).where(Show.id == show.id).values(admission_per_minute=60))
    assert (await queue.join(store, redis, show.id, 3)).eta_seconds == 2
    async with store.session() as s:  # every show
        await s.execute(update(Show).values(admission_per_minute=30))
    assert (await queue.join(store, redis, other.id, 3)).eta_seconds == 4
    assert (await queue.status(store, redis, show.id, 3)).eta_seconds == 4


async def test_a_show_edited_by_another_process_is_seen_within_a_second(store, redis, clock):
    import asyncio

    from sqlalchemy import update

    from domain import show_facts
    from domain.models import Show

    show = await on_sale_show(store, opens_in=timedelta(minutes=10))
    assert (await queue.join(store, redis, show.id, 1)).state == "lobby"
    async with store.engine.begin() as conn:  # not through this process's sessions: as another process would
        await conn.execute(update(Show).where(Show.id == show.id).values(status="cancelled"))
    await asyncio.sleep(show_facts.TTL)
    with pytest.raises(errors.ShowCancelled):
        await queue.join(store, redis, show.id, 2)


# --- a burst of joins -----------------------------------------------------------------------------------


async def test_a_burst_of_joins_gets_the_answers_single_joins_would(store, redis, clock):
    import asyncio

    from sqlalchemy import func, select

    from domain import reports
    from domain.models import OnSaleActivity, QueuePlace
    from domain.queue_keys import show_keys

    show = await on_sale_show(store, opens_in=timedelta(minutes=10), admission_per_minute=6)
    early = list(range(1, 301))
    answers = await asyncio.gather(*(queue.join(store, redis, show.id, f) for f in early + early[:50]))
    assert {a.state for a in answers} == {"lobby"}
    assert await queue.line_length(redis, show.id) == 300  # one place each, however often they asked
    line = [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)]
    async with store.session() as s:
        rows = (await s.execute(select(QueuePlace.fan_discord_id).order_by(QueuePlace.score))).scalars().all()
        joined = (
            await s.execute(
                select(func.count()).select_from(OnSaleActivity).where(OnSaleActivity.kind == reports.JOINED)
            )
        ).scalar_one()
    assert list(rows) == line  # every place written through, in the line's order
    assert joined == 300

    clock.advance(minutes=10)  # the open: nobody let in yet (the rate has let nobody in)
    late = list(range(1001, 1101))
    answers = await asyncio.gather(*(queue.join(store, redis, show.id, f) for f in late + late[:10]))
    positions = {f: a.position for f, a in zip(late + late[:10], answers, strict=True)}
    assert sorted(positions.values()) == list(range(301, 401))  # behind the early fans, one place each
    for fan in late:
        assert (await queue.status(store, redis, show.id, fan)).position == positions[fan]
    assert [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)][:300] == line


async def test_a_burst_right_after_the_open_lets_fans_in_at_the_rate(store, redis, clock):
    import asyncio

    from sqlalchemy import select

    from domain.models import OutboxMessage

    show = await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=6)  # a burst of 1
    for fan in (1, 2):
        await queue.join(store, redis, show.id, fan)
    clock.advance(minutes=2)
    answers = await asyncio.gather(*(queue.join(store, redis, show.id, f) for f in range(10, 30)))
    assert {a.state for a in answers} == {"queued"}  # one let in: an early fan, the head of the line
    assert sorted(a.position for a in answers) == list(range(2, 22))
    let_in = await queue.admission_order(redis, show.id)
    assert len(let_in) == 1 and let_in[0] in (1, 2)
    async with store.session() as s:
        told = (await s.execute(select(OutboxMessage.recipient_discord_id, OutboxMessage.kind))).all()
    assert told == [(let_in[0], queue.ADMISSION_DM)]  # the fan let in is told; the joiners read their replies

    clock.advance(minutes=10)  # the rate lets everyone still waiting in, at once, each reading it in the reply
    show2 = await on_sale_show(
        store, seatmap="A:5x10:Standard", opens_in=timedelta(minutes=-1), admission_per_minute=6000
    )
    answers = await asyncio.gather(*(queue.join(store, redis, show2.id, f) for f in range(100, 150)))
    assert {a.state for a in answers} == {"admitted"}


async def test_a_burst_after_redis_lost_the_line_keeps_the_old_order(store, redis, clock):
    import asyncio

    from domain.queue_keys import show_keys

    show = await on_sale_show(store, opens_in=timedelta(minutes=10))
    for fan in range(1, 31):
        await queue.join(store, redis, show.id, fan)
    old = [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)]
    await redis.flushdb()  # Redis restarts empty
    answers = await asyncio.gather(*(queue.join(store, redis, show.id, f) for f in list(range(20, 51))))
    assert {a.state for a in answers} == {"lobby"}
    after = [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)]
    assert len(after) == 50
    assert [f for f in after if f <= 30] == old  # the old places, in the old order; the newcomers drawn among them


async def test_the_places_written_through_are_the_exact_scores_redis_holds(store, redis, clock):
    """Before the open, places are random draws: the copy the line is rebuilt from must hold each
    one whole (it held 14 of its 17 digits, so a rebuilt lobby could reorder two close draws)."""
    from sqlalchemy import select

    from domain.models import QueuePlace
    from domain.queue_keys import show_keys

    show = await on_sale_show(store, opens_in=timedelta(minutes=10))
    for fan in range(1, 41):
        await queue.join(store, redis, show.id, fan)
    held = {int(f): score for f, score in await redis.zrange(show_keys(show.id)["line"], 0, -1, withscores=True)}
    async with store.session() as s:
        written = dict((await s.execute(select(QueuePlace.fan_discord_id, QueuePlace.score))).tuples().all())
    assert written == held


async def test_a_fan_let_in_before_their_place_is_written_through_is_still_told_and_counted(store, redis, clock):
    """Admission draws fans from Redis; a fan's place row may still be committing (their join's
    write-through) or be missing. They still get their "your turn" DM and the report's row."""
    from sqlalchemy import delete, select

    from domain.models import OnSaleActivity, OutboxMessage, QueuePlace

    show = await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=600)
    for fan in (1, 2, 3):
        await queue.join(store, redis, show.id, fan)
    async with store.session() as s:  # fan 2's row not there (yet)
        await s.execute(delete(QueuePlace).where(QueuePlace.fan_discord_id == 2))
    clock.advance(minutes=2)

    assert sorted(await queue.admit(store, redis, await queue.show_queue(store, show.id))) == [1, 2, 3]
    async with store.session() as s:
        told = (await s.execute(select(OutboxMessage.recipient_discord_id, OutboxMessage.kind))).tuples().all()
        counted = (await s.execute(select(OnSaleActivity.fan_discord_id, OnSaleActivity.kind))).tuples().all()
    assert sorted(f for f, kind in told if kind == queue.ADMISSION_DM) == [1, 2, 3]
    assert sorted(f for f, kind in counted if kind == "admitted") == [1, 2, 3]


async def test_discord_sized_fan_ids_keep_their_exact_places_when_redis_loses_the_line(store, redis, clock):
    from domain.queue_keys import show_keys

    show = await on_sale_show(store, opens_in=timedelta(minutes=10))
    fans = [812_345_678_901_234_567 + 2 * k for k in range(20)]  # snowflakes: past a double's 53 bits
    for fan in fans:
        await queue.join(store, redis, show.id, fan)
    old = [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)]
    await redis.flushdb()  # Redis restarts empty; the line comes back from the places written through
    assert (await queue.join(store, redis, show.id, fans[0])).state == "lobby"
    assert [int(f) for f in await redis.zrange(show_keys(show.id)["line"], 0, -1)] == old
    assert sorted(old) == fans


async def test_a_redis_that_forgot_the_scripts_still_runs_the_queue(store, redis, clock):
    show = await on_sale_show(store, opens_in=timedelta(minutes=1), admission_per_minute=60)
    await queue.join(store, redis, show.id, 1)
    await redis.script_flush()  # a restarted Redis knows no script (domain.queue_keys.Script loads them again)
    assert (await queue.join(store, redis, show.id, 2)).state == "lobby"
    clock.advance(minutes=2)
    await redis.script_flush()
    assert sorted(await queue.admit(store, redis, await queue.show_queue(store, show.id))) == [1, 2]
    await redis.script_flush()
    assert (await queue.status(store, redis, show.id, 2)).state == "admitted"


async def test_a_read_that_raced_an_edit_does_not_keep_the_old_facts(store, redis, clock, monkeypatch):
    import asyncio

    from domain import show_facts, shows

    show = await on_sale_show(store, opens_in=timedelta(minutes=10))
    read, release = asyncio.Event(), asyncio.Event()
    load = show_facts._load

    async def slow_load(store, show_id):  # a read that saw the row before the edit, answering after its commit
        facts = await load(store, show_id)
        read.set()
        await release.wait()
        return facts

    monkeypatch.setattr(show_facts, "_load", slow_load)
    racing = asyncio.ensure_future(queue.join(store, redis, show.id, 1))
    await read.wait()
    monkeypatch.undo()
    await shows.update_show(store, show.id, 1, on_sale_at=clock.now())  # sales open now
    release.set()
    assert (await racing).state == "lobby"  # it asked before the edit
    assert (await queue.join(store, redis, show.id, 2)).state != "lobby"  # the next one sees the edit


# --- the live-turns cap: no more fans choosing at once than there are seats they could take ---------


async def test_a_crowd_bigger_than_the_house_is_let_in_only_as_seats_can_serve_them(store, redis, clock):
    from sqlalchemy import func, select

    from domain.models import OutboxMessage

    show = await on_sale_show(store, seatmap="A:1x3:Standard", opens_in=timedelta(minutes=1), admission_per_minute=600)
    crowd = list(range(1, 11))
    for fan in crowd:
        await queue.join(store, redis, show.id, fan)
    clock.advance(minutes=2)  # the rate alone would let all ten in at once
    q = await queue.show_queue(store, show.id)
    first = await queue.admit(store, redis, q)
    assert len(first) == 3  # three seats: three fans choosing, seven still in line with their places
    assert await queue.admit(store, redis, q) == []
    waiting = [f for f in crowd if f not in first]
    assert sorted([(await queue.status(store, redis, show.id, f)).position for f in waiting]) == list(range(1, 8))

    await queue.reserve(store, redis, show_id=show.id, fan_id=first[0], quantity=2)  # two seats taken by one fan
    assert await queue.admit(store, redis, q) == []  # one seat left, and two fans still choosing
    clock.advance(minutes=3)
    await queue.reserve(store, redis, show_id=show.id, fan_id=first[1], quantity=1)  # the house is held
    with pytest.raises(errors.SoldOut):
        await queue.reserve(store, redis, show_id=show.id, fan_id=first[2], quantity=1)
    assert await queue.admit(store, redis, q) == []  # nothing to choose from: nobody else is let in
    held = await queue.status(store, redis, show.id, waiting[0])
    assert held.state == "queued" and held.waiting_for_seats and held.eta_seconds is None  # no time it cannot keep

    clock.advance(minutes=3)  # the first fan's hold runs out (the second's runs on): two seats to take again
    nxt = await queue.admit(store, redis, q)
    # the fan told "sold out" chooses no more: both seats go to the head of the line
    assert len(nxt) == 2 and set(nxt) <= set(waiting)
    still = [f for f in waiting if f not in nxt]
    assert all([(await queue.status(store, redis, show.id, f)).waiting_for_seats for f in still])
    assert (await queue.status(store, redis, show.id, nxt[0])).state == "admitted"
    async with store.session() as s:
        dms = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    assert dms == 5  # a "your turn" DM for each fan let in, none for those held back


async def test_only_the_fans_behind_the_seats_left_are_told_they_wait_for_seats(store, redis, clock):
    show = await on_sale_show(store, seatmap="A:1x3:Standard", opens_in=timedelta(minutes=1), admission_per_minute=6)
    for fan in range(1, 7):
        await queue.join(store, redis, show.id, fan)
    clock.advance(minutes=2)
    q = await queue.show_queue(store, show.id)
    assert len(await queue.admit(store, redis, q)) == 1  # the rate: one now; two seats left for the line
    by_place = {}
    for fan in range(1, 7):
        st = await queue.status(store, redis, show.id, fan)
        if st.state == "queued":
            by_place[st.position] = st
    assert sorted(by_place) == [1, 2, 3, 4, 5]
    assert [by_place[p].waiting_for_seats for p in sorted(by_place)] == [False, False, True, True, True]
    assert by_place[1].eta_seconds == 10 and by_place[3].eta_seconds is None  # a time only where a seat waits
    late = await queue.join(store, redis, show.id, 7)  # the join's own reply says the same
    assert (late.position, late.waiting_for_seats, late.eta_seconds) == (6, True, None)


async def test_a_fan_who_leaves_or_does_not_choose_in_time_makes_room_for_the_next(store, redis, clock):
    show = await on_sale_show(store, seatmap="A:1x1:Standard", opens_in=timedelta(minutes=1), admission_per_minute=600)
    for fan in (1, 2, 3):
        await queue.join(store, redis, show.id, fan)
    clock.advance(minutes=2)
    q = await queue.show_queue(store, show.id)
    (first,) = await queue.admit(store, redis, q)
    assert await queue.admit(store, redis, q) == []
    await queue.leave(store, redis, show.id, first)  # gives up their turn
    (second,) = await queue.admit(store, redis, q)
    assert second != first
    assert await queue.admit(store, redis, q) == []  # the second is choosing: the third waits
    clock.advance(seconds=queue.CHOOSING_SECONDS + 1)  # the second has not chosen in two minutes
    (third,) = await queue.admit(store, redis, q)
    assert third not in (first, second)
    assert (await queue.status(store, redis, show.id, second)).state == "admitted"  # keeps the rest of the turn


async def test_a_redis_error_after_the_hold_still_gives_the_fan_their_hold(store, redis, clock, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    show = await on_sale_show(store, opens_in=timedelta(minutes=1))
    await queue.join(store, redis, show.id, 7)
    clock.advance(minutes=2)
    assert await queue.admit(store, redis, await queue.show_queue(store, show.id)) == [7]

    async def redis_lost(*_args):
        raise RedisConnectionError("Redis went away after the hold committed")

    monkeypatch.setattr(queue, "_done_choosing", redis_lost)
    hold = await queue.reserve(store, redis, show_id=show.id, fan_id=7, quantity=2)
    assert len(hold.seats) == 2  # the seats are the fan's: the cap's bookkeeping is not worth an error
